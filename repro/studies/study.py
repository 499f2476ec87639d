"""A study: one base run config, a grid of overrides, and the claims its results must satisfy.

A study YAML is a runnable LightningCLI config (``repro fit --config`` trains its base run) plus
three keys the single run ignores::

    study:  {paper, name, scale, description, x, figure ...}
    grid:   {model.init_args.backbone.init_args.width: [1, 2, 4], seed_everything: [0, 1, 2]}
    claims: [{type: peak_exceeds_ends, name: ..., ...}, ...]

A grid key maps to a list of values, or to named cases: ``method: {ERM: {model.init_args.loss: ce},
CB-RS: {data.init_args.sampler: class_balanced}}`` sets each case's dotted keys together and records
the case's name under the grid key (``method: CB-RS``), for rows of a paper's table that differ in
more than one setting.

``study.controls`` names negative controls: variants of the study (config overrides ``set``, grid axes ``grid``)
where the paper's own reasoning predicts the effect is absent, each listing the claims that must FAIL there
(``must_fail``). In a study with controls every claim has a ``name`` and is listed by a control, or says in
``no_control`` why none can exist (see ``repro.studies.robustness``).

Each grid point is a run; its results are cached under a hash of its resolved config, so rerunning
a study only runs what is missing.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import itertools
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from repro.errors import ReproError

# Trainer keys that change how a run is displayed or stored, never its numbers.
NOT_HYPERPARAMETERS = ("logger", "enable_progress_bar", "enable_model_summary", "default_root_dir")


# What a study file may hold at its top level: the study's own keys and a LightningCLI run config's.
TOP_LEVEL_KEYS = ("study", "grid", "claims", "seed_everything", "trainer", "model", "data", "optimizer",
                  "lr_scheduler", "ckpt_path", "run")


def read_yaml(path: Path) -> tuple[dict, dict[str, int]]:
    """A YAML file's top-level mapping and the line of each top-level key; a syntax error is one
    :class:`ReproError` naming the file, the line and the fix."""
    text = path.read_text()
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ReproError(f"{where}: YAML syntax error ({problem}); fix the file there (indentation, a missing ':' "
                         "or an unclosed quote or bracket are the usual causes)") from None
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        raise ReproError(f"{path}: the file must be a mapping of keys (study, grid, claims, model, data, trainer, "
                         f"...), got {type(raw).__name__}")
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value} if isinstance(node, yaml.MappingNode) else {}
    return raw, lines


def short_name(key: str) -> str:
    """``model.init_args.backbone.init_args.width`` → ``width``; ``seed_everything`` → ``seed``."""
    last = key.split(".")[-1]
    return "seed" if last == "seed_everything" else last


def set_dotted(cfg: dict, key: str, value: Any) -> None:
    node = cfg
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def get_dotted(cfg: dict, key: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def config_hash(resolved: dict) -> str:
    """Stable 12-hex-digit hash of a resolved run config, blind to non-hyperparameter keys."""
    cfg = {k: v for k, v in resolved.items() if k not in ("run", "study", "grid", "claims")}
    trainer = {k: v for k, v in (cfg.get("trainer") or {}).items() if k not in NOT_HYPERPARAMETERS}
    cfg["trainer"] = trainer
    blob = json.dumps(cfg, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class RunSpec:
    """One grid point: its overrides (short names → values) and its full run config."""

    overrides: dict[str, Any]
    config: dict

    @property
    def name(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.overrides.items()) or "base"


@dataclass
class Control:
    """A negative control: the study under ``settings`` (dotted key → value) and ``grid`` (axes replaced), where
    the paper predicts the effect of each claim in ``must_fail`` is absent."""

    name: str
    why: str
    settings: dict[str, Any]
    grid: dict[str, list]
    must_fail: list[str]


CONTROL_KEYS = ("why", "set", "grid", "must_fail")


def parse_controls(path: Path, meta: dict, claims: list[dict]) -> list[Control]:
    """``study.controls`` checked against the claims: every ``must_fail`` names a claim, every claim is some
    control's or says ``no_control``; one :class:`ReproError` naming the fix otherwise."""
    spec = meta.get("controls")
    if spec is None:
        return []
    where = f"{path}: study.controls"
    if not isinstance(spec, dict) or not spec:
        raise ReproError(f"{where} must map control names to {{why, set, grid, must_fail}}, got {spec!r}")
    names = [c.get("name") for c in claims]
    if None in names:
        raise ReproError(f"{path}: claims[{names.index(None)}] has no `name`; in a study with controls every claim "
                         "is named (a control's must_fail lists claims by name)")
    controls, covered = [], set()
    for cname, body in spec.items():
        if not isinstance(body, dict):
            raise ReproError(f"{where}.{cname} must be a mapping {{why, set, grid, must_fail}}, got {body!r}")
        unknown = sorted(set(body) - set(CONTROL_KEYS))
        if unknown:
            raise ReproError(f"{where}.{cname}: unknown keys {unknown}; a control has {', '.join(CONTROL_KEYS)}")
        why, must_fail = body.get("why"), body.get("must_fail")
        if not isinstance(why, str) or not why.strip():
            raise ReproError(f"{where}.{cname}: give `why`, one line of the paper's reason the effect is absent here")
        if not isinstance(must_fail, list) or not must_fail:
            raise ReproError(f"{where}.{cname}: `must_fail` must list the names of the claims that must fail here")
        missing = [m for m in must_fail if m not in names]
        if missing:
            close = difflib.get_close_matches(str(missing[0]), [str(n) for n in names], n=1)
            raise ReproError(f"{where}.{cname}.must_fail: no claim named {missing[0]!r}"
                             + (f"; did you mean {close[0]!r}?" if close else f"; the claims: {names}"))
        settings, grid = body.get("set") or {}, body.get("grid") or {}
        if not isinstance(settings, dict) or not isinstance(grid, dict) or not (settings or grid):
            raise ReproError(f"{where}.{cname}: give `set` (dotted key: value) and/or `grid` (dotted key: [values]) "
                             "mappings that make the control differ from the study")
        for key, values in grid.items():
            if not isinstance(values, list | dict) or not values:
                raise ReproError(f"{where}.{cname}.grid: {key!r} must map to a non-empty list, got {values!r}")
        covered.update(must_fail)
        controls.append(Control(str(cname), why.strip(), dict(settings), dict(grid), list(must_fail)))
    for claim in claims:
        if claim["name"] not in covered and not str(claim.get("no_control") or "").strip():
            raise ReproError(f"{path}: claim {claim['name']!r} is in no control's must_fail; add it to a control "
                             "where the paper predicts no effect, or say why none can exist in its `no_control`")
    return controls


@dataclass
class Study:
    path: Path
    paper: str
    name: str
    scale: str
    description: str
    base: dict
    grid: dict[str, list]
    claims: list[dict]
    meta: dict = field(default_factory=dict)
    # the command line's --set / --grid for this invocation: part of what the results are (see with_overrides)
    overrides: dict = field(default_factory=dict)
    controls: list[Control] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Study:
        path = Path(path)
        if not path.is_file():
            raise ReproError(f"no study file {path}; `repro list` shows the studies there are")
        raw, lines = read_yaml(path)
        unknown = [k for k in raw if k not in TOP_LEVEL_KEYS]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ReproError(f"{path}:{lines.get(key, '?')}: unknown top-level key {key!r}; {hint}a study file has "
                             f"{', '.join(TOP_LEVEL_KEYS)}")
        for key, kind, what in (("study", dict, "a mapping (paper, name, scale, x, ...)"),
                                ("grid", dict, "a mapping of dotted keys to value lists or named cases"),
                                ("claims", list, "a list of claims, each {type: ..., ...}"),
                                ("model", dict, "a mapping with class_path and init_args"),
                                ("data", dict, "a mapping with class_path and init_args"),
                                ("trainer", dict, "a mapping of Trainer arguments")):
            if raw.get(key) is not None and not isinstance(raw[key], kind):
                raise ReproError(f"{path}:{lines.get(key, '?')}: {key} must be {what}, got "
                                 f"{type(raw[key]).__name__} {raw[key]!r}")
        for i, claim in enumerate(raw.get("claims") or []):
            if not isinstance(claim, dict) or "type" not in claim:
                raise ReproError(f"{path}: claims[{i}] must be a mapping with a `type` (a claim name or an import "
                                 f"path), got {claim!r}")
        meta = raw.get("study") or {}
        controls = parse_controls(path, meta, raw.get("claims") or [])
        grid = raw.get("grid") or {}
        for key, values in grid.items():
            cases = isinstance(values, dict) and values and all(isinstance(v, dict) for v in values.values())
            if not cases and (not isinstance(values, list) or not values):
                raise ReproError(f"{path}: grid key {key!r} must map to a non-empty list of values or to named "
                                 f"cases {{name: {{dotted.key: value, ...}}}}, got {values!r}")
        base = {k: v for k, v in raw.items() if k not in ("study", "grid", "claims")}
        return cls(
            path=path,
            paper=meta.get("paper", path.parent.name),
            name=meta.get("name", path.stem),
            scale=meta.get("scale", "quick" if "quick" in path.stem else "paper"),
            description=meta.get("description", "").strip(),
            base=base,
            grid=grid,
            claims=raw.get("claims") or [],
            meta=meta,
            controls=controls,
        )

    def runs(self, overrides: dict[str, list] | None = None) -> list[RunSpec]:
        """Every grid point, in grid order (``overrides`` replace grid keys, e.g. a shorter width list)."""
        grid = dict(self.grid)
        for key, values in (overrides or {}).items():
            if isinstance(self.grid.get(key), dict) and not isinstance(values, dict):  # a subset of the cases
                unknown = [v for v in values if v not in self.grid[key]]
                if unknown:
                    raise ReproError(f"{self.path}: {key} has no case {unknown[0]!r}; its cases: "
                                     f"{', '.join(self.grid[key])}")
                values = {v: self.grid[key][v] for v in values}
            grid[key] = values
        keys = list(grid)
        specs = []
        for values in itertools.product(*(list(grid[k]) for k in keys)):
            cfg = copy.deepcopy(self.base)
            for key, value in zip(keys, values, strict=True):
                if isinstance(grid[key], dict):  # a named case: several dotted keys at once
                    for dotted, setting in grid[key][value].items():
                        set_dotted(cfg, dotted, setting)
                else:
                    set_dotted(cfg, key, value)
            specs.append(RunSpec({short_name(k): v for k, v in zip(keys, values, strict=True)}, cfg))
        return specs

    def control(self, name: str) -> Control:
        for control in self.controls:
            if control.name == name:
                return control
        known = ", ".join(c.name for c in self.controls) or "none (add study.controls)"
        raise ReproError(f"{self.path}: no control {name!r}; its controls: {known}")

    def with_overrides(self, settings: dict[str, Any], grid: dict[str, list]) -> Study:
        """This study as the command line changed it: ``overrides`` records the ``--set``/``--grid`` values (the report
        and claims.json say so) and the title names them (a figure of a 0%-noise run is not titled "20% noise")."""
        overrides = {k: v for k, v in (("set", dict(settings)), ("grid", dict(grid))) if v}
        if not overrides:
            return self
        meta = dict(self.meta)
        meta["title"] = f"{meta.get('title', self.name)} [{' '.join(self.flags(overrides))}]"
        return dataclasses.replace(self, meta=meta, overrides=overrides)

    @staticmethod
    def flags(overrides: dict) -> list[str]:
        """``--set KEY=VALUE`` / ``--grid KEY=[...]`` arguments that give ``overrides`` again (YAML flow values)."""
        def text(value: Any) -> str:
            return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("\n...").strip()
        return [f"--{flag} {shlex.quote(f'{key}={text(value)}')}" for flag in ("set", "grid")
                for key, value in (overrides.get(flag) or {}).items()]

    def command(self, verb: str = "reproduce") -> str:
        """The ``repro`` command that gives these results again: the study by name when it is its paper's own config
        file, else by its path, with the command line's overrides."""
        from repro.papers import study_path

        try:
            own = study_path(self.paper, self.path.stem).resolve() == self.path.resolve()
        except ReproError:
            own = False
        study = self.path.stem if own else shlex.quote(str(self.path))
        return " ".join([f"repro {verb} {self.paper} --study {study}", *self.flags(self.overrides)])

    @property
    def x_key(self) -> str | None:
        """The grid key a study's figure and claims run along (``study.x``), by its short name."""
        return self.meta.get("x")

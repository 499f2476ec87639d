"""ReproCLI: LightningCLI with the library's defaults — loggers, checkpoints, manifest, data→model links.

Every run, whether started by ``repro fit`` or by a study, goes through this class, so a study's
run and a hand-launched run with the same YAML are the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.cli import LightningCLI, SaveConfigCallback

from repro.atomic import atomic_path
from repro.checkpoints import AtomicCheckpointIO
from repro.resume import RngState, RunCheckpoint
from repro.tracking import TrimHistoryOnResume, build_loggers, manifest, wandb_run_id, write_manifest
from repro.training.classifier import Classifier

# Lightning 2.6 itself calls jsonargparse APIs that jsonargparse 4.49+ deprecates: a warning per run that no user
# can act on.
os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")

# Keys of a study YAML that are not part of a run; ``repro fit`` accepts and ignores them, so one
# file is both a study and a runnable config.
STUDY_KEYS = ("study", "grid", "claims")


@dataclass
class RunSettings:
    """Where a run writes and how it is named in W&B (not hyperparameters: not in the config hash)."""

    out_dir: str | None = None
    name: str | None = None
    project: str | None = None
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    checkpoint_minutes: float = 5.0
    run_id: str | None = None  # the W&B run id (a study derives it from the config hash); default: from hash + folder
    log_checkpoints: bool = False  # online W&B only: upload the checkpoints as artifacts
    grid: dict[str, Any] | None = None  # the grid point (short names → values), for W&B panels' grouping


def default_precision() -> str:
    """bf16 autocast where the GPU supports it, full fp32 elsewhere (CPU autocast is slow)."""
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def paper_of(study: Any, model: pl.LightningModule) -> str:
    """The paper a run belongs to: its config's ``study.paper``, else the module's ``paper`` class attribute,
    else ``adhoc`` (never where the module's code sits)."""
    if isinstance(study, dict) and study.get("paper"):
        return str(study["paper"])
    return getattr(model, "paper", None) or "adhoc"


class AtomicSaveConfig(SaveConfigCallback):
    """Writes the run's ``config.yaml`` atomically (temporary file + rename), once, on rank 0."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.already_saved:
            return
        log_dir = trainer.log_dir  # a collective under DDP (rank 0's folder is broadcast): every rank asks
        if trainer.is_global_zero and log_dir is not None:
            path = Path(log_dir) / self.config_filename
            with atomic_path(path) as tmp:
                self.parser.save(self.config, str(tmp), skip_none=False, overwrite=True, multifile=self.multifile)
            self.save_config(trainer, pl_module, stage)
            self.already_saved = True
        self.already_saved = trainer.strategy.broadcast(self.already_saved)


class ReproCLI(LightningCLI):
    """``repro fit|validate|test`` and the runner behind every study."""

    def __init__(self, args: Any = None, run: bool = True, extra_callbacks: Sequence[Callback] = (), **kwargs):
        self.extra_callbacks = list(extra_callbacks)
        kwargs.setdefault("parser_kwargs", {})
        if not run:
            kwargs["parser_kwargs"].setdefault("exit_on_error", False)
        super().__init__(
            Classifier,
            pl.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=AtomicSaveConfig,
            save_config_kwargs={"overwrite": True},
            trainer_defaults={"precision": default_precision(), "num_sanity_val_steps": 0},
            auto_configure_optimizers=False,
            args=args,
            run=run,
            **kwargs,
        )

    def parse_arguments(self, parser, args: Any) -> None:
        # A dict comes from a study or a test, never from the shell: parse it without LightningCLI's
        # warning about sys.argv (which then holds the caller's own arguments).
        if isinstance(args, dict):
            self.config = parser.parse_object(args)
        else:
            super().parse_arguments(parser, args)

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_class_arguments(RunSettings, "run")
        for key in STUDY_KEYS:
            parser.add_argument(f"--{key}", type=Any, default=None, help="study file key (ignored by a single run)")
        # The data decides the classes and the input shape; the model is built to match.
        parser.link_arguments("data", "model.init_args.num_classes", compute_fn=lambda d: d.num_classes,
                              apply_on="instantiate")
        parser.link_arguments("data", "model.init_args.in_shape", compute_fn=lambda d: tuple(d.in_shape),
                              apply_on="instantiate")

    def resolved_config(self) -> dict:
        """The full config of this run as plain data (what W&B stores and the cache hashes)."""
        parser = self._parser(self.subcommand)
        cfg = self.config.get(str(self.subcommand), self.config)
        return yaml.safe_load(parser.dump(cfg, skip_link_targets=False, skip_none=False, skip_validation=True))

    def summary(self) -> str:
        """What a finished ``repro fit|validate|test`` prints: its final metrics and where the run went."""
        metrics = {k: float(v) for k, v in self.trainer.callback_metrics.items() if v.numel() == 1}
        lines = [f"  {k:<28} {v:.4g}" for k, v in sorted(metrics.items())]
        where = getattr(self, "out_dir", None)
        return "\n".join(["final metrics:" if lines else "no metrics logged", *lines,
                          *([f"run folder: {where} (config.yaml, metrics.csv, checkpoints/)"] if where else [])])

    def run_dir(self) -> Path:
        settings = self._get(self.config, "run")
        if settings.out_dir:
            return Path(settings.out_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return Path("results") / "fit" / f"{type(self.model).__name__}-{stamp}"

    def instantiate_trainer(self, **kwargs: Any) -> pl.Trainer:
        settings = self._get(self.config, "run")
        trainer_cfg = self._get(self.config_init, "trainer")
        run_dir = self.run_dir()
        self.out_dir = run_dir  # where this run writes (`repro fit` prints it)
        paper = paper_of(self._get(self.config, "study"), self.model)
        if trainer_cfg.get("logger") in (None, True):
            from repro.studies.study import config_hash

            resolved = self.resolved_config()
            kwargs["logger"] = build_loggers(
                run_dir,
                project=settings.project or f"repro-{paper}",
                group=settings.group,
                name=settings.name or run_dir.name,
                tags=list(settings.tags),
                config={**resolved, "manifest": manifest()},
                members=list(getattr(self.model, "members", None) or []),
                run_id=settings.run_id or wandb_run_id(config_hash(resolved), f"{settings.group}:{run_dir.resolve()}"),
                log_checkpoints=settings.log_checkpoints,
            )
        if trainer_cfg.get("default_root_dir") is None:
            kwargs["default_root_dir"] = str(run_dir)
        callbacks = [*self.extra_callbacks, TrimHistoryOnResume(), RngState()]
        if trainer_cfg.get("enable_checkpointing") is not False:
            callbacks.append(RunCheckpoint(run_dir / "checkpoints", settings.checkpoint_minutes))
        self.trainer_defaults["callbacks"] = callbacks
        if trainer_cfg.get("plugins") is None:
            kwargs["plugins"] = [AtomicCheckpointIO()]
        if pl.utilities.rank_zero_only.rank == 0:
            write_manifest(run_dir)
        return super().instantiate_trainer(**kwargs)

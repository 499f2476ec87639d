"""Where a run's record goes: W&B (offline unless an API key is configured), a local CSV, a manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import netrc
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment

from repro.atomic import write_text

PACKAGES = ("torch", "torchvision", "pytorch-lightning", "torchmetrics", "timm", "wandb", "jsonargparse", "numpy")


def wandb_mode() -> str:
    """``WANDB_MODE`` if set (``online``, ``offline``, ``disabled``); else online only with an API key.

    Offline runs land in ``<run_dir>/wandb`` and upload later with ``wandb sync``.
    """
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("//")[-1].split("/")[0]
        if netrc.netrc().authenticators(host):
            return "online"
    except (FileNotFoundError, netrc.NetrcParseError):
        pass
    return "offline"


class _HistoryWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv; this one keeps it, so a resumed run
    appends to its history (the epoch-wise studies read it). Whole-file rewrites (a new column, a resume) are
    atomic: a kill leaves the old history or the new one, never a truncated one."""

    rows = 0  # data rows in the file on disk

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as f:
                reader = csv.reader(f)
                self.metrics_keys = sorted(next(reader, []))
                self.rows = sum(1 for _ in reader)

    def save(self) -> None:
        pending = len(self.metrics)
        super().save()
        self.rows += pending

    def _rewrite(self, fieldnames: list[str], rows: list[dict]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.metrics_file_path, buf.getvalue())

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        with open(self.metrics_file_path, newline="") as f:
            rows = list(csv.DictReader(f))
        self._rewrite(fieldnames, rows)

    def drop_after(self, step: int, rows: int | None = None) -> None:
        """Forget what the interrupted run logged after its checkpoint: the resumed run logs it again. ``rows``:
        the history's length when the checkpoint was written (exact); without it (an older checkpoint), the rows
        logged after ``step``."""
        if not os.path.isfile(self.metrics_file_path):
            return
        with open(self.metrics_file_path, newline="") as f:
            old = list(csv.DictReader(f))
        if rows is not None:
            kept = old[:rows]
        else:
            kept = [r for r in old if not r.get("step") or int(float(r["step"])) <= step]
        if len(kept) < len(old):
            self._rewrite(self.metrics_keys, kept)
        self.rows = len(kept)


class HistoryCSVLogger(CSVLogger):
    """CSVLogger whose metrics.csv survives a resume (see :class:`_HistoryWriter`), flushed at every checkpoint so
    the history on disk reaches at least the step a resume starts from."""

    def after_save_checkpoint(self, checkpoint_callback) -> None:
        self.save()

    @property
    @rank_zero_experiment
    def experiment(self) -> _HistoryWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _HistoryWriter(log_dir=self.log_dir)
        return self._experiment


HISTORY_ROWS = "repro_history_rows"  # checkpoint key: metrics.csv's length when the checkpoint was written


def history_rows(trainer: pl.Trainer) -> int | None:
    """The data rows of the run's metrics.csv on disk (call after flushing the loggers); None without one."""
    for logger in trainer.loggers:
        if isinstance(logger, HistoryCSVLogger) and logger._experiment is not None:
            return logger.experiment.rows
    return None


class TrimHistoryOnResume(pl.Callback):
    """After a checkpoint is restored, drop the CSV rows the interrupted run logged past it; an offline W&B run
    (which W&B cannot resume: each attempt writes a new ``offline-run-*`` folder) is rebuilt from that history, see
    :func:`replay_offline_history`."""

    def __init__(self) -> None:
        self.rows: int | None = None

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        self.rows = checkpoint.get(HISTORY_ROWS)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_rank != 0:
            return
        csv_loggers = [lg for lg in trainer.loggers if isinstance(lg, HistoryCSVLogger)]
        for logger in csv_loggers if trainer.global_step else []:
            logger.experiment.drop_after(trainer.global_step, self.rows)
        # also from step 0: an attempt stopped before its first checkpoint left an offline run of the same id
        if csv_loggers:
            replay_offline_history(trainer, Path(csv_loggers[0].experiment.metrics_file_path))


def replay_offline_history(trainer: pl.Trainer, history: Path) -> None:
    """Give a resumed offline W&B run the whole history of its grid point, once: the interrupted attempts' offline
    folders of the same run id move to ``<run_dir>/wandb-superseded/`` (out of ``wandb sync``'s way) and the CSV
    history up to the restored checkpoint is logged again into the new run before training continues. Online,
    ``resume="allow"`` continues the server's run instead."""
    rows = None
    for logger in trainer.loggers:
        if not isinstance(logger, WandbLogger) or logger._offline is False or logger._experiment is None:
            continue
        run = logger.experiment
        current = Path(run.dir).parent  # <run_dir>/wandb/offline-run-<time>-<id>/files
        for old in current.parent.glob(f"offline-run-*-{run.id}"):
            if old != current:
                aside = current.parent.parent / "wandb-superseded"
                aside.mkdir(exist_ok=True)
                old.replace(aside / old.name)
        if rows is None:
            with open(history, newline="") if history.exists() else io.StringIO() as f:
                rows = list(csv.DictReader(f))
        for row in rows:
            if not row.get("step"):
                continue
            metrics = {k: float(v) for k, v in row.items() if k != "step" and v not in ("", None)}
            logger.log_metrics(metrics, step=int(float(row["step"])))


class QuietWandbLogger(WandbLogger):
    """WandbLogger without the ``anonymous`` argument Lightning always passes to ``wandb.init`` (as None): W&B warns
    of it on every run ("The anonymous setting has no effect"), a warning no user can act on."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)


class MemberWandbLogger(QuietWandbLogger):
    """One stacked member's own W&B run: it keeps the ``member<i>/`` metrics with the prefix removed and
    drops the other members' and the members' means, so W&B shows N ordinary runs for N stacked models."""

    def __init__(self, member: int, **kwargs) -> None:
        super().__init__(reinit="create_new", **kwargs)  # several W&B runs live in one process
        self.member = member

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        own = f"member{self.member}/"
        mine = {k[len(own):]: v for k, v in metrics.items() if k.startswith(own)}
        shared = {k: v for k, v in metrics.items() if not k.startswith("member") and k not in mine}
        super().log_metrics({**shared, **mine}, step)


RESULT_KEY = "repro_result"


def record_result(trainer: pl.Trainer, result: dict) -> None:
    """Put a finished run's result (what ``result.json`` holds) into the summary of each of its W&B runs, as JSON
    text under ``repro_result``, so a study trained elsewhere (sweep agents, another machine) is collected from W&B
    into the same rows (``repro collect --from wandb``)."""
    text = json.dumps(result)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger._experiment.summary[RESULT_KEY] = text


def finish_wandb(trainer: pl.Trainer) -> None:
    """Finish every W&B run a trainer's loggers started (a stacked run has one per member), and any run left open
    in this process; without W&B installed or enabled there is nothing to finish."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger._experiment.finish()
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()

def wandb_run_id(config_hash: str, group: str | None) -> str:
    """A grid point's W&B run id: its config hash, plus a digest of its group (the study) because W&B ids are unique
    per project and two studies of one paper may hold the same run. Stable across resumes, reruns and machines."""
    return f"{config_hash}-{hashlib.sha256((group or '').encode()).hexdigest()[:6]}"


def member_run_id(run_id: str, member: int) -> str:
    return f"{run_id}-m{member}"


def build_loggers(
    run_dir: Path, *, project: str, group: str | None, name: str, tags: list[str], config: dict,
    members: list[dict] | None = None, run_id: str | None = None, log_checkpoints: bool = False,
) -> list[Logger]:
    """CSVLogger always (``<run_dir>/metrics.csv``); WandbLogger unless W&B is disabled — one W&B run per
    member of a stacked model (``members``: ``[{"seed": 0}, ...]``), named and configured as that member.
    ``run_id`` (a member's is ``<run_id>-m<i>``) with ``resume="allow"``: a resumed run continues its W&B run."""
    loggers: list[Logger] = [HistoryCSVLogger(save_dir=str(run_dir), name="", version="")]
    mode = wandb_mode()
    if mode == "disabled":
        return loggers
    common = {"project": project, "group": group, "tags": tags, "save_dir": str(run_dir),
              "offline": mode == "offline", "settings": {"silent": True}}
    if run_id:
        common["resume"] = "allow"
    if log_checkpoints and mode == "online":
        common["log_model"] = True
    if not members:
        return [*loggers, QuietWandbLogger(name=name, config=config, id=run_id, **common)]
    for i, member in enumerate(members):
        label = ",".join(f"{k}={v}" for k, v in member.items())
        loggers.append(MemberWandbLogger(i, name=f"{name},{label}", config={**config, "member": member},
                                         id=member_run_id(run_id, i) if run_id else None, **common))
    return loggers


def git_state(cwd: Path | None = None) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        return {"sha": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def manifest() -> dict:
    """What produced a result: code version, packages, device."""
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
    return {
        "git": git_state(Path(__file__).resolve().parent),
        "python": sys.version.split()[0],
        "packages": versions,
        "device": device,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
        # the same seed on another CPU capability draws other initial weights (torch's vectorised RNG kernels)
        "cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
        "command": sys.argv,
    }


def write_manifest(run_dir: Path) -> Path:
    return write_text(run_dir / "manifest.json", json.dumps(manifest(), indent=2))

"""The Pitfalls of Simplicity Bias in Neural Networks (Shah et al., NeurIPS 2020, arXiv:2006.07710): the module of
every study of this package.

Networks are trained with SGD and cross-entropy on block datasets (``repro.data.slabs``: a simple coordinate S,
linear or 5-slab, and complex coordinates S^c, 5- or 7-slabs, under a random rotation) until the epoch's mean
training loss falls below ``stop_loss`` (0.01). After training the module measures, on the test set, how much
each model relies on S and on S^c (``randomized.py``): the ROC-AUC and accuracy of the score logit₊ − logit₋ on
the original, the S-randomized and the S^c-randomized test sets, and the KS statistic between the scores of the
true positives before and after randomizing; optionally the share of an ℓ2 universal adversarial perturbation's
energy on S, and the accuracy of ensembles of the stacked members (logits averaged)::

    repro reproduce simplicity_bias --scale quick     # LMS-5 and MS-(5,7), FCNs, about a minute on 2 cores

Stacked members (``stack_seeds``) stop one by one: a member whose epoch loss fell below ``stop_loss`` is frozen
(its loss no longer enters the summed loss) and the run ends when every member has stopped.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from repro.data.seeds import draw_seed
from repro.errors import ConfigValueError
from repro.papers.simplicity_bias.randomized import (
    energy_share,
    randomize,
    randomize_rows,
    score,
    score_stats,
    universal_perturbation,
)
from repro.training.classifier import BackboneFactory, Classifier

__all__ = ["SimplicityBias"]

UAP_KEYS = {"eps", "lr", "steps", "epochs", "batch_size"}


class SimplicityBias(Classifier):
    """Cross-entropy until the training loss is below ``stop_loss``; S- and S^c-randomized test metrics.

    Args:
        stop_loss: stop a model when its mean training loss over an epoch is below this (``None``: train for
            ``trainer.max_epochs``).
        uap: settings of the ℓ2 universal adversarial perturbation (``eps``, ``lr``, ``steps`` per batch,
            ``epochs`` over the test set, ``batch_size``); ``None`` skips it.
        ensemble_sizes: also log the test accuracy of the ensemble of the first k stacked members, for each k
            (sizes beyond the stack are skipped, with a warning).
        **kwargs: :class:`~repro.training.classifier.Classifier` arguments.

    Logged per model (``member<i>/`` for a stack) at each validation pass: ``test/auc``, ``test/auc_s_rand``,
    ``test/auc_sc_rand``, ``test/accuracy_s_rand``, ``test/accuracy_sc_rand``, ``test/ks_s_rand``,
    ``test/ks_sc_rand``, ``train/stop_epoch`` (the epochs a model trained; ``train/stopped`` 1 when it reached
    ``stop_loss``), and with ``uap`` ``test/uap_share_s`` and ``test/uap_accuracy``; ``test/ensemble<k>_accuracy``.
    """

    paper = "simplicity_bias"

    def __init__(self, backbone: BackboneFactory, *, stop_loss: float | None = 0.01, uap: dict | None = None,
                 ensemble_sizes: Sequence[int] = (), **kwargs) -> None:
        super().__init__(backbone, **kwargs)
        if stop_loss is not None and stop_loss <= 0:
            raise ConfigValueError(f"model.init_args.stop_loss must be > 0 (or null), got {stop_loss}")
        if uap is not None and set(uap) != UAP_KEYS:
            raise ConfigValueError(f"model.init_args.uap needs exactly the keys {sorted(UAP_KEYS)}, got {sorted(uap)}")
        bad = [k for k in ensemble_sizes if k < 1]
        if bad:
            raise ConfigValueError(f"model.init_args.ensemble_sizes {bad}: an ensemble takes at least one member")
        if any(k > self.num_members for k in ensemble_sizes):  # e.g. a one-seed smoke run of a stacked study
            warnings.warn(f"model.init_args.ensemble_sizes {list(ensemble_sizes)}: only sizes up to the "
                          f"{self.num_members} stacked member(s) are evaluated", stacklevel=2)
        self.stop_loss = stop_loss
        self.uap = dict(uap) if uap is not None else None
        self.ensemble_sizes = [int(k) for k in ensemble_sizes]
        self.stop_epoch = [0] * self.num_members  # 0: still training
        self._loss_sum = torch.zeros(self.num_members)
        self._batches = 0

    # -- the stopping rule -------------------------------------------------------------------------------
    def _active(self, device) -> torch.Tensor:
        return torch.tensor([e == 0 for e in self.stop_epoch], device=device, dtype=torch.bool)

    def training_loss(self, batch):
        losses = super().training_loss(batch)
        flat = self.member_axis(losses)
        self._loss_sum += flat.detach().float().cpu()
        self._batches += 1
        if self.stop_loss is None:
            return losses
        masked = flat * self._active(flat.device)  # a stopped member gets no gradient from the loss
        return masked if self.stacked else masked[0]

    def on_train_epoch_end(self) -> None:
        if self._batches:
            mean = (self._loss_sum / self._batches).tolist()
            for i, loss in enumerate(mean):
                if self.stop_loss is not None and self.stop_epoch[i] == 0 and loss < self.stop_loss:
                    self.stop_epoch[i] = self.current_epoch + 1
        self._loss_sum.zero_()
        self._batches = 0
        if self.stop_loss is not None and all(self.stop_epoch):
            self.trainer.should_stop = True

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["stop_epoch"] = list(self.stop_epoch)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.stop_epoch = list(checkpoint.get("stop_epoch", self.stop_epoch))

    # -- the evaluation ------------------------------------------------------------------------------------
    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        data = self.trainer.datamodule
        if "test" not in getattr(data, "splits", {}):
            return
        per_member = self.evaluate_reliance(data)
        values = {f"member{i}/{k}": v for i, vals in enumerate(per_member) for k, v in vals.items()} \
            if self.stacked else dict(per_member[0])
        if self.stacked:
            values.update({k: float(np.mean([m[k] for m in per_member])) for k in per_member[0]})
        self.log_dict(values, sync_dist=False)

    def _forward_members(self, x: torch.Tensor) -> torch.Tensor:
        """(M, N, C) logits of every member on the same inputs (N, d)."""
        return self.member_axis(self(x))

    def _randomized(self, data, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, tuple]:
        """The original, S-randomized and S^c-randomized test inputs; the rotation and S of a block source (None
        and () for two stacked image sources, where S is the top image)."""
        from repro.data.sources.slabs import BLOCK_SETS, block_rotation
        from repro.data.sources.stacked_pairs import STACKED_PAIRS

        gen = torch.Generator().manual_seed(draw_seed(None, "randomize"))
        if data.source in STACKED_PAIRS:
            pair = STACKED_PAIRS[data.source]
            return {"": x, "_s_rand": randomize_rows(x, pair.rows("top"), gen),
                    "_sc_rand": randomize_rows(x, pair.rows("bottom"), gen)}, None, ()
        if data.source not in BLOCK_SETS:
            raise ConfigValueError(f"{type(self).__name__} evaluates block sources ({', '.join(BLOCK_SETS)}) and "
                                   f"stacked image pairs ({', '.join(STACKED_PAIRS)}), got {data.source!r}")
        rotation, simple = block_rotation(data.source)
        complex_ = [c for c in range(x.shape[1]) if c not in simple]
        return {"": x, "_s_rand": randomize(x, rotation, simple, gen),
                "_sc_rand": randomize(x, rotation, complex_, gen)}, rotation, simple

    @torch.no_grad()
    def evaluate_reliance(self, data) -> list[dict[str, float]]:
        """Each member's metrics on the test split of ``data`` (a block source or two stacked image sources)."""
        dtype = next(self.parameters()).dtype
        x, y = data.normalize(data.splits["test"]["x"]).to(dtype), data.splits["test"]["y"]
        inputs, rotation, simple = self._randomized(data, x)
        logits = {k: self._forward_members(v) for k, v in inputs.items()}
        scores = {k: score(v).double().cpu().numpy() for k, v in logits.items()}
        labels = y.cpu().numpy()
        out = []
        for i in range(self.num_members):
            row = {"test/auc": score_stats(scores[""][i], labels)["auc"],
                   "train/stop_epoch": float(self.stop_epoch[i] or self.current_epoch + 1),
                   "train/stopped": float(self.stop_epoch[i] > 0)}
            for key in ("_s_rand", "_sc_rand"):
                st = score_stats(scores[key][i], labels, reference=scores[""][i])
                row.update({f"test/auc{key}": st["auc"], f"test/accuracy{key}": st["accuracy"],
                            f"test/ks{key}": st["ks"]})
            out.append(row)
        if self.uap is not None and rotation is not None:
            self._add_uap(out, x, y, rotation, simple)
        if self.trainer.state.fn == "validate" and self.trainer.is_global_zero and rotation is not None:
            self._save_scores(scores, labels, x, rotation)
        for k in (k for k in self.ensemble_sizes if k <= self.num_members):
            accuracy = float((logits[""][:k].mean(0).argmax(-1) == y).float().mean())
            for row in out:
                row[f"test/ensemble{k}_accuracy"] = accuracy
        return out

    def _save_scores(self, scores: dict, labels: np.ndarray, x: torch.Tensor, rotation: torch.Tensor) -> None:
        """``scores.npz`` in the run folder, for the figures: every member's scores on the original, S- and
        S^c-randomized test sets, the labels, and member 0's predictions on 20 000 probes whose un-rotated
        coordinates 0 and 1 are uniform in [−1, 1] and whose others come from random test rows."""
        from pathlib import Path

        from repro.atomic import atomic_path
        from repro.data.slabs import rotate, unrotate

        gen = torch.Generator().manual_seed(draw_seed(None, "probes"))
        probes = unrotate(x.double(), rotation)[torch.randint(len(x), (20_000,), generator=gen)]
        probes[:, :2] = 2 * torch.rand(20_000, 2, generator=gen, dtype=torch.float64) - 1
        predicted = self._forward_members(rotate(probes, rotation).to(x.dtype))[0].argmax(-1)
        with atomic_path(Path(self.trainer.default_root_dir) / "scores.npz") as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, original=scores[""], s_rand=scores["_s_rand"], sc_rand=scores["_sc_rand"],
                                y=labels, probes=probes[:, :2].numpy(), probe_class=predicted.cpu().numpy())

    def _add_uap(self, out: list[dict], x: torch.Tensor, y: torch.Tensor, rotation, simple) -> None:
        def forward(xa: torch.Tensor) -> torch.Tensor:  # (M, N, d) -> (M, N, C), member i on slice i
            return self.backbone(xa, shared_input=False) if self.stacked else self.backbone(xa[0])[None]

        bounds = (float(x.min()), float(x.max()))
        with torch.inference_mode(False), torch.enable_grad():
            delta = universal_perturbation(forward, x.clone(), y.clone(), members=self.num_members, bounds=bounds,
                                           **self.uap)
        share = energy_share(delta, rotation, simple)
        sign = (2 * y - 1).to(x.dtype)[None, :, None]
        attacked = forward((x[None] + sign * delta[:, None, :]).clamp(*bounds))
        accuracy = (attacked.argmax(-1) == y).float().mean(1)
        for i, row in enumerate(out):
            row["test/uap_share_s"] = float(share[i])
            row["test/uap_accuracy"] = float(accuracy[i])

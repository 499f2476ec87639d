"""Deep Learning Through the Lens of Example Difficulty (Baldock, Maennel, Neyshabur, NeurIPS 2021,
arXiv:2106.09647): the module of every study of this package.

A network is trained with cross-entropy as usual; along the way its prediction on every training example is kept
once at initialisation and after every epoch (one forward pass over the training split, argmax only). When training
ends, k-NN probes (``repro.training.probes``, k = 30) at the input, every declared probe point and the softmax
classify every training example (left out of its own neighbours) and every held-out example against the training
split's embeddings and given labels. Per example and member (seed) the run saves ``examples.npz`` in its folder:

- ``train_pd`` / ``val_pd``: prediction depth, the first probe after which every probe agrees with the network's
  final prediction (0 … L, L = number of probes; L when even the softmax probe disagrees);
- ``train_learned``: the epoch an example is learned, the first epoch after which the prediction never again
  differs from the converged network's (0 = at initialisation);
- ``val_pred``, ``val_conf`` (max softmax), ``val_margin`` (logit of the true class minus the largest other);
- ``train_pred``, ``train_label`` (given, possibly flipped), ``train_clean``, ``val_label``, and ``train_index`` /
  ``val_index``: the examples' positions in the data's pool, which join one example's runs (``examples.py``).

    repro reproduce prediction_depth --scale quick    # an MLP on Fashion-MNIST, minutes on a CPU
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from repro.atomic import atomic_path
from repro.errors import ConfigValueError
from repro.training.classifier import Classifier
from repro.training.probes import probe_points, probe_predictions, settled_from

__all__ = ["PredictionDepth"]


class PredictionDepth(Classifier):
    """Cross-entropy training, per-epoch training predictions, k-NN probes and prediction depth at the end.

    Args:
        k: neighbours per k-NN probe (the paper: 30).
        self_exclusion: leave a training example out of its own neighbours when its train-PD is computed.
        probe_batch_size: examples per forward pass when embedding.
        knn_chunk: queries per ``torch.cdist`` block.
        (the rest as :class:`~repro.training.classifier.Classifier`)
    """

    paper = "prediction_depth"

    def __init__(self, *args, k: int = 30, self_exclusion: bool = True, probe_batch_size: int = 1024,
                 knn_chunk: int = 1024, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if k < 1:
            raise ConfigValueError(f"model.init_args.k must be ≥ 1, got {k}")
        self.k = k
        self.self_exclusion = self_exclusion
        self.probe_batch_size = probe_batch_size
        self.knn_chunk = knn_chunk
        self._train_history: list[torch.Tensor] = []  # (M, N) int16 per snapshot: init, then each epoch
        probe_points(self.backbone.base if self.stacked else self.backbone)  # a backbone without probes fails now

    # -- per-epoch training predictions ----------------------------------------------------------------
    def _data(self):
        data = self.trainer.datamodule
        if "val" not in data.splits and "test" not in data.splits:
            raise ConfigValueError("prediction depth needs a held-out split: set data.init_args.val_size > 0")
        return data

    @torch.no_grad()
    def _logits(self, backbone, x: torch.Tensor) -> torch.Tensor:
        x = self.trainer.datamodule.normalize(x)
        return torch.cat([backbone(x[i:i + self.probe_batch_size]) for i in range(0, len(x), self.probe_batch_size)],
                         dim=-2)

    @torch.no_grad()
    def _snapshot(self) -> None:
        if self.trainer.fast_dev_run:  # a smoke run checks the loop, not the per-example records
            return
        was_training = self.training
        self.eval()
        logits = self.member_axis(self._logits(self, self._data().splits["train"]["x"]))
        self._train_history.append(logits.argmax(-1).to(torch.int16).cpu())
        self.train(was_training)

    def on_train_start(self) -> None:
        if not self._train_history:  # a resumed run keeps the snapshots of its checkpoint
            self._snapshot()

    def on_train_epoch_end(self) -> None:
        self._snapshot()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["train_predictions"] = list(self._train_history)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._train_history = list(checkpoint.get("train_predictions", []))

    # -- probes and prediction depth --------------------------------------------------------------------
    def member_backbones(self) -> list[torch.nn.Module]:
        if not self.stacked:
            return [self.backbone]
        return [self.backbone.member(i) for i in range(self.num_members)]

    def on_fit_end(self) -> None:
        if self.trainer.global_rank != 0 or self.trainer.fast_dev_run:  # a smoke run checks the loop, not the probes
            return
        data = self._data()
        held = "val" if "val" in data.splits else "test"
        train, val = data.splits["train"], data.splits[held]
        train_x, val_x = data.normalize(train["x"]), data.normalize(val["x"])
        n_train = len(train_x)
        exclude = torch.arange(n_train, device=train_x.device) if self.self_exclusion else None
        out: dict[str, list] = {key: [] for key in ("train_pd", "val_pd", "train_pred", "val_pred", "val_conf",
                                                    "val_margin")}
        for backbone in self.member_backbones():
            backbone.eval()
            queries = {"train": (train_x, exclude), "val": (val_x, None)}
            probes = probe_predictions(backbone, train_x, train["y"], queries, k=self.k, num_classes=self.num_classes,
                                       batch_size=self.probe_batch_size, chunk=self.knn_chunk)
            with torch.no_grad():
                train_logits = self._logits(backbone, train["x"]).float().cpu()
                val_logits = self._logits(backbone, val["x"]).float().cpu()
            train_pred, val_pred = train_logits.argmax(-1), val_logits.argmax(-1)
            out["train_pd"].append(settled_from(probes["train"], train_pred))
            out["val_pd"].append(settled_from(probes["val"], val_pred))
            out["train_pred"].append(train_pred)
            out["val_pred"].append(val_pred)
            out["val_conf"].append(val_logits.softmax(-1).amax(-1))
            true = val["y_clean"].cpu()
            own = val_logits.gather(1, true[:, None]).squeeze(1)
            others = val_logits.scatter(1, true[:, None], float("-inf")).amax(-1)
            out["val_margin"].append(own - others)
        arrays = {key: torch.stack(v).numpy() for key, v in out.items()}
        history = torch.stack(self._train_history)  # (T + 1, M, N)
        arrays["train_learned"] = settled_from(history.flatten(1), history[-1].flatten()).view(
            history.shape[1:]).numpy()
        indices = getattr(data, "indices", {})
        arrays.update(
            train_label=train["y"].cpu().numpy(), train_clean=train["y_clean"].cpu().numpy(),
            val_label=val["y_clean"].cpu().numpy(),
            train_index=np.asarray(indices.get("train", torch.arange(n_train))),
            val_index=np.asarray(indices.get(held, torch.arange(len(val_x)))),
            num_probes=np.array(len(probe_points(self.member_backbones()[0]))), epochs=np.array(len(history) - 1))
        path = Path(self.trainer.default_root_dir) / "examples.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

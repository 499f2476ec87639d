"""k-NN probes on a trained network's hidden representations, and the depth at which its prediction settles.

A backbone declares its probe points, in forward order, as ``self.probes = {name: submodule path}``: the output of
that submodule, flattened, is the representation a probe reads (as ``self.stages`` declares mixing stages,
``repro.models.stages``). Every network also has two probe points of its own: ``input`` (the flattened input) first
and ``softmax`` (the softmax of its logits) last.

A probe classifies a query by a plain majority vote of its ``k`` nearest support embeddings (Euclidean distance,
``torch.cdist`` in chunks of queries on the embeddings' device); a vote tie goes to the lowest class index, a tie in
distance at the k-th neighbour to whichever ``torch.topk`` returns. A query that is itself in the support set names
its support index and is left out of its own neighbours (``exclude``), so it never votes for its own label.

The representations are streamed one probe point at a time (the support set's embeddings of one layer, then every
query set's, then the next layer), never all layers at once: a 64×32×32 feature map over 50k support points is
13 GB in float32 on its own.

:func:`settled_from` is the index after which a sequence of predictions never again disagrees with a reference:
over probe points with the network's final prediction as reference it is the depth at which an example's
prediction settles; over training epochs with the converged network's prediction it is the epoch an example is
learned.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError
from repro.models.stages import resolve_submodules

__all__ = ["INPUT", "SOFTMAX", "embed", "knn_vote", "probe_points", "probe_predictions", "settled_from"]

INPUT, SOFTMAX = "input", "softmax"


def declared_probes(backbone: nn.Module) -> dict[str, nn.Module]:
    """The backbone's declared hidden probe points, name → the submodule whose output the probe reads."""
    declared = getattr(backbone, "probes", None)
    name = type(backbone).__name__
    if not isinstance(declared, dict) or not declared:
        raise ConfigValueError(f"{name} declares no probe points: k-NN probes need the backbone to set "
                               "`self.probes = {name: submodule path}` (see repro/training/probes.py)")
    if {INPUT, SOFTMAX} & set(declared):
        raise ConfigValueError(f"{name}.probes must not name {INPUT!r} or {SOFTMAX!r}: every network has those")
    return resolve_submodules(backbone, declared, f"{name}.probes")


def probe_points(backbone: nn.Module) -> list[str]:
    """Every probe point in forward order: ``input``, the declared ones, ``softmax``."""
    return [INPUT, *declared_probes(backbone), SOFTMAX]


@torch.no_grad()
def embed(backbone: nn.Module, x: torch.Tensor, point: str, *, batch_size: int = 1024) -> torch.Tensor:
    """The flattened representation of every example of ``x`` at one probe point, (N, D) float32 on x's device."""
    if point == INPUT:
        return x.flatten(1).float()
    outputs: list[torch.Tensor] = []
    handle = None
    if point != SOFTMAX:
        module = declared_probes(backbone).get(point)
        if module is None:
            raise ConfigValueError(f"{type(backbone).__name__} has no probe point {point!r}; its probe points are "
                                   f"{probe_points(backbone)}")
        # A copy: an in-place op after the probe point (a ReLU) would otherwise rewrite the kept tensor.
        handle = module.register_forward_hook(
            lambda _m, _i, out: outputs.append(out.detach().flatten(1).float().clone()))
    try:
        for start in range(0, len(x), batch_size):
            logits = backbone(x[start:start + batch_size])
            if point == SOFTMAX:
                outputs.append(F.softmax(logits.float(), dim=-1))
    finally:
        if handle is not None:
            handle.remove()
    return torch.cat(outputs)


@torch.no_grad()
def knn_vote(query: torch.Tensor, support: torch.Tensor, labels: torch.Tensor, *, k: int, num_classes: int,
             exclude: torch.Tensor | None = None, chunk: int = 1024) -> torch.Tensor:
    """The majority label of each query's ``k`` nearest support points, (Nq,) long.

    ``exclude``: (Nq,) support index of each query (−1 for none), left out of that query's neighbours. Ties in the
    vote go to the lowest class index."""
    n_support = len(support) - (0 if exclude is None else 1)
    if not 0 < k <= n_support:
        raise ConfigValueError(f"k-NN probe: k={k} needs at least k support points, there are {n_support}")
    labels = labels.to(support.device)
    out = []
    for start in range(0, len(query), chunk):
        dist = torch.cdist(query[start:start + chunk], support)
        if exclude is not None:
            ex = exclude[start:start + chunk].to(dist.device)
            rows = torch.nonzero(ex >= 0).squeeze(1)
            dist[rows, ex[rows]] = float("inf")
        nearest = dist.topk(k, dim=1, largest=False).indices
        votes = F.one_hot(labels[nearest], num_classes).sum(1)
        out.append(votes.argmax(1))  # argmax returns the first maximum: the lowest class index
    return torch.cat(out)


@torch.no_grad()
def probe_predictions(backbone: nn.Module, support_x: torch.Tensor, support_y: torch.Tensor,
                      queries: Mapping[str, tuple[torch.Tensor, torch.Tensor | None]], *, k: int, num_classes: int,
                      batch_size: int = 1024, chunk: int = 1024) -> dict[str, torch.Tensor]:
    """Each query set's k-NN prediction at every probe point, name → (L, Nq) long, streamed one point at a time.

    ``queries``: name → (inputs, exclude), ``exclude`` as in :func:`knn_vote` (``None`` for a held-out set)."""
    was_training = backbone.training
    backbone.eval()
    points = probe_points(backbone)
    preds: dict[str, list[torch.Tensor]] = {name: [] for name in queries}
    try:
        for point in points:
            support = embed(backbone, support_x, point, batch_size=batch_size)
            for name, (x, exclude) in queries.items():
                q = embed(backbone, x, point, batch_size=batch_size)
                preds[name].append(knn_vote(q, support, support_y, k=k, num_classes=num_classes, exclude=exclude,
                                            chunk=chunk).cpu())
                del q
            del support
    finally:
        backbone.train(was_training)
    return {name: torch.stack(p) for name, p in preds.items()}


def settled_from(sequence: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(N,) long: for each column of ``sequence`` (T, N), the first index t with ``sequence[m] == reference`` for
    every m ≥ t; T when even the last entry disagrees."""
    agree = sequence == reference.unsqueeze(0)
    # Count the trailing run of agreements from the end: a cumulative product over the reversed sequence.
    trailing = agree.flip(0).long().cumprod(0).sum(0)
    return sequence.shape[0] - trailing

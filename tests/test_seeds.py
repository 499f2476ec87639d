"""One run seed drives every draw of a run's data (repro.data.seeds), each draw its own stream; a config can pin
any draw."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from repro.data.core import TensorDataModule
from repro.data.seeds import draw_seed


def _module(seed: int, **kwargs) -> TensorDataModule:
    pl.seed_everything(seed, verbose=False)
    data = TensorDataModule("digits", batch_size=64, train_size=300, imbalance_ratio=10, **kwargs)
    data.setup()
    return data


def _order(data: TensorDataModule) -> torch.Tensor:
    return torch.cat([b["index"] for b in data.train_dataloader()])


def test_the_run_seed_changes_the_subsample_the_long_tail_and_the_order():
    a, b, a_again = _module(0), _module(1), _module(0)
    assert not torch.equal(a.splits["train"]["x"], b.splits["train"]["x"])  # a different subsample of digits
    assert torch.equal(a.splits["train"]["x"], a_again.splits["train"]["x"])  # and the same one for the same seed
    assert torch.equal(_order(a), _order(a_again))
    assert a.class_counts.max() >= 9 * a.class_counts.min()  # long-tailed at ρ = 10 (int rounding)


def test_each_draw_has_its_own_stream():
    pl.seed_everything(3, verbose=False)
    seeds = {p: draw_seed(None, p) for p in ("split", "imbalance", "order", "noise")}
    assert len(set(seeds.values())) == 4
    pl.seed_everything(4, verbose=False)
    assert all(draw_seed(None, p) != s for p, s in seeds.items())


def test_a_pinned_draw_stays_fixed_across_run_seeds():
    a, b = _module(0, split_seed=7, imbalance_seed=8), _module(1, split_seed=7, imbalance_seed=8)
    assert torch.equal(a.splits["train"]["x"], b.splits["train"]["x"])  # the same subsample ...
    assert not torch.equal(_order(a), _order(b))  # ... seen in another order


def test_label_noise_is_static_unless_the_config_redraws_it():
    kw = {"label_noise": 0.3, "split_seed": 1, "imbalance_seed": 1}
    fixed0, fixed1 = _module(0, **kw), _module(1, **kw)
    assert torch.equal(fixed0.splits["train"]["y"], fixed1.splits["train"]["y"])  # noise_seed 0 by default
    redrawn0, redrawn1 = _module(0, noise_seed=None, **kw), _module(1, noise_seed=None, **kw)
    assert not torch.equal(redrawn0.splits["train"]["y"], redrawn1.splits["train"]["y"])
    assert torch.equal(redrawn0.splits["train"]["y_clean"], redrawn1.splits["train"]["y_clean"])

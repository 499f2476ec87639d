"""Each prediction-depth claim type FAILS on a constructed null (depth unrelated to the quantity, equal groups) and
PASSES on a constructed effect; per-example results are written as the runs write them (examples.npz), rows built
here, no training."""

from __future__ import annotations

import numpy as np
import pytest

from repro.papers.prediction_depth.claims import depth_bins, falls_with_depth, flipped_deeper, rank_correlation
from repro.papers.prediction_depth.examples import agreement, consistency, load_examples

N, SEEDS, PROBES = 400, [0, 1, 2, 3], 6


def _write_runs(tmp_path, make) -> list[dict]:
    """Two runs (halves of a pool of 2N), four stacked seeds each; ``make(rng, half)`` gives the run's arrays."""
    rows = []
    for half in (0, 1):
        rng = np.random.default_rng(10 + half)
        run = tmp_path / f"half{half}"
        run.mkdir()
        arrays = make(rng, half)
        idx = np.arange(2 * N)
        arrays.update(train_index=idx[half * N:(half + 1) * N], val_index=idx[(1 - half) * N:(2 - half) * N],
                      num_probes=np.array(PROBES), epochs=np.array(10))
        np.savez(run / "examples.npz", **arrays)
        rows += [{"run_dir": str(run), "member": m, "seed": s, "half": half} for m, s in enumerate(SEEDS)]
    return rows


def _arrays(rng, *, related: bool, flipped_deeper_by: float = 0.0) -> dict:
    m = len(SEEDS)
    label = rng.integers(0, 10, N)
    val_pd = rng.integers(0, PROBES + 1, (m, N))
    train_pd = rng.integers(0, PROBES + 1, (m, N))
    if related:  # deeper → more often wrong, less confident, learned later
        wrong = rng.random((m, N)) < val_pd / PROBES
        conf = 1 - val_pd / PROBES * 0.8 + rng.normal(0, 0.05, (m, N))
        learned = train_pd * 2 + rng.integers(0, 2, (m, N))
    else:
        wrong = rng.random((m, N)) < 0.3
        conf = rng.random((m, N))
        learned = rng.integers(0, 12, (m, N))
    val_pred = np.where(wrong, (label + 1) % 10, label)
    train_label = label.copy()
    flip = rng.random(N) < 0.2
    train_label[flip] = (label[flip] + 3) % 10
    train_pd = np.where(flip[None] & (rng.random((m, N)) < flipped_deeper_by), PROBES, train_pd)
    return dict(train_pd=train_pd, val_pd=val_pd, train_pred=np.tile(train_label, (m, 1)), val_pred=val_pred,
                val_conf=conf, val_margin=conf - 0.5, train_learned=learned, train_label=train_label,
                train_clean=label, val_label=label)


@pytest.mark.parametrize("quantity", ["accuracy", "confidence"])
def test_falls_with_depth_fails_on_noise_and_passes_on_an_effect(tmp_path, quantity):
    (tmp_path / "null").mkdir()
    null = _write_runs(tmp_path / "null", lambda rng, h: _arrays(rng, related=False))
    result = falls_with_depth(null, quantity=quantity, threshold=0.3)
    assert not result.passed and abs(result.values["effect"]) < 0.1
    (tmp_path / "effect").mkdir()
    effect = _write_runs(tmp_path / "effect", lambda rng, h: _arrays(rng, related=True))
    result = falls_with_depth(effect, quantity=quantity, threshold=0.3)
    assert result.passed, result.measured
    assert result.values["ci"][1] <= -0.3 and result.values["monotone"]


def test_falls_with_depth_fails_when_a_bin_rises_even_with_a_strong_correlation(tmp_path):
    def make(rng, half):
        arrays = _arrays(rng, related=True)
        arrays["val_pd"][:, :30] = PROBES  # 30 examples deepest in every seed, and always right
        arrays["val_pred"][:, :30] = arrays["val_label"][:30]
        return arrays

    result = falls_with_depth(_write_runs(tmp_path, make), quantity="accuracy", threshold=0.2)
    assert result.values["ci"][1] <= -0.2 and not result.values["monotone"] and not result.passed


def test_a_constant_quantity_fails_as_undefined(tmp_path):
    def make(rng, half):
        arrays = _arrays(rng, related=True)
        arrays["val_conf"] = np.ones_like(arrays["val_conf"])
        return arrays

    result = falls_with_depth(_write_runs(tmp_path, make), quantity="confidence", threshold=0.3)
    assert not result.passed and "undefined" in result.measured


def test_rank_correlation_fails_on_noise_and_passes_on_an_effect(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    null = _write_runs(tmp_path / "a", lambda rng, h: _arrays(rng, related=False))
    assert not rank_correlation(null, a="train_learned", b="train_pd", threshold=0.3).passed
    effect = _write_runs(tmp_path / "b", lambda rng, h: _arrays(rng, related=True))
    result = rank_correlation(effect, a="train_learned", b="train_pd", threshold=0.3)
    assert result.passed and result.values["ci"][0] >= 0.3


def test_flipped_deeper_fails_on_equal_groups_and_passes_on_an_effect(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    null = _write_runs(tmp_path / "a", lambda rng, h: _arrays(rng, related=False))
    result = flipped_deeper(null, margin=0.5)
    assert not result.passed and abs(result.values["effect"]) < 0.4
    effect = _write_runs(tmp_path / "b", lambda rng, h: _arrays(rng, related=False, flipped_deeper_by=0.8))
    result = flipped_deeper(effect, margin=0.5)
    assert result.passed and result.values["ci"][0] >= 0.5


def test_flipped_deeper_without_flipped_labels_fails_saying_so(tmp_path):
    def make(rng, half):
        arrays = _arrays(rng, related=False)
        arrays["train_label"] = arrays["train_clean"]
        return arrays

    result = flipped_deeper(_write_runs(tmp_path, make), margin=0.5)
    assert not result.passed and "0 flipped" in result.measured


def test_examples_join_both_halves_and_summaries_match_a_loop(tmp_path):
    rows = _write_runs(tmp_path, lambda rng, h: _arrays(rng, related=True))
    ex = load_examples(rows)
    assert ex["train_pd"].shape == (4, 2 * N) and not np.isnan(ex["train_pd"]).any()
    assert not np.isnan(ex["val_pd"]).any()
    for j in (0, 5, N + 3):
        correct = [ex["val_pred"][s, j] == ex.label[j] for s in range(4)]
        assert consistency(ex)[j] == pytest.approx(np.mean(correct))
        preds = list(ex["val_pred"][:, j])
        assert agreement(ex)[j] == pytest.approx(max(preds.count(p) for p in preds) / 4)


def test_depth_bins_keep_only_bins_with_enough_examples():
    depth = np.array([0.0] * 25 + [1.2] * 19 + [2.4] * 30)
    values = np.array([1.0] * 25 + [0.0] * 19 + [0.5] * 30)
    assert depth_bins(depth, values, 20) == [(0, 1.0, 25), (2, 0.5, 30)]

"""Slingshot claim types, figures and table on synthetic run histories with known answers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from repro.papers.slingshot import claims as sc
from repro.papers.slingshot.detector import cycles_of, generalization_times, spikes_of
from repro.papers.slingshot.figures import comparison, dynamics, summary_table
from repro.studies.claims import resolve_claim
from repro.studies.results import metric_of
from repro.studies.study import Study


def _member_history(n=6000, spikes=(2000, 4200), t_val=None, features=True, growth=0.01):
    """One member's per-step metrics: fit by step 300, spikes as planted, the norm growing ``growth`` per step
    and stalling for 1100 steps after each spike (a full 1000-step window)."""
    steps = np.arange(n)
    loss = np.maximum(2.0 * np.exp(-steps / 50), 1e-7)
    slope = np.full(n, growth)
    change = np.full(n, 1e-4)
    for s in spikes:
        loss[s : s + 30] = np.linspace(1.0, 1e-3, 30)
        slope[s : s + 1100] = 0.0
        change[s - 200 : s + 230] = 1e-2  # the whole ±200-step neighbourhood of the spike
    error = (steps < 300).astype(float)
    val_steps = np.arange(0, n, 100)
    val_acc = np.where(val_steps >= t_val, 1.0, 0.05) if t_val is not None else np.full(len(val_steps), 0.05)
    out = {"fit/loss": (steps, loss), "fit/error": (steps, error),
           "weights/last_layer_norm": (steps, 5 + np.cumsum(slope)),
           "val/accuracy": (val_steps, val_acc), "val/loss": (val_steps, 1 - val_acc + 0.01)}
    if features:
        for layer in (1, 2):
            out[f"features/change_l{layer}"] = (steps[::10], change[::10])
    return out


def _write_run(path: Path, members: list[dict]) -> Path:
    """A stacked run's metrics.csv, one row per (step, metric group), as the loggers write it."""
    path.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for i, hist in enumerate(members):
        for name, (steps, values) in hist.items():
            rows += [{"step": int(s), "epoch": 0, f"member{i}/{name}": float(v)}
                     for s, v in zip(steps, values, strict=True)]
    fields = ["epoch", "step", *sorted({k for r in rows for k in r} - {"step", "epoch"})]
    with open(path / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def rows(tmp_path):
    cycling = _write_run(tmp_path / "a", [_member_history(t_val=4300), _member_history(spikes=(2500,), t_val=4500)])
    smooth = _write_run(tmp_path / "b", [_member_history(spikes=()), _member_history(spikes=())])
    grok = _write_run(tmp_path / "c", [_member_history(spikes=(), t_val=3000), _member_history(spikes=(), t_val=3100)])
    out = []
    for setting, run_dir in (("cyc", cycling), ("smooth", smooth), ("grok", grok)):
        out += [{"setting": setting, "seed": i, "member": i, "run_dir": str(run_dir)} for i in (0, 1)]
    return out


def test_history_reader_separates_members(rows):
    steps, loss = metric_of(rows[1], "fit/loss")
    assert len(steps) == 6000 and loss[2500] == 1.0 and loss[2000] < 1e-6
    assert [s.step for s in spikes_of(rows[0], window=300)] == [2000, 4200]
    assert generalization_times(rows[0]) == (300, 4300)


def test_cycle_signature_and_no_cycles(rows):
    got = sc.cycle_signature(rows, where={"setting": "cyc"}, detector={"window": 300})
    assert got.passed and "seed 0: 2/2, seed 1: 1/1" in got.measured
    assert not sc.cycle_signature(rows, where={"setting": "smooth"}).passed
    assert sc.no_cycles(rows, where={"setting": "smooth"}).passed
    assert not sc.no_cycles(rows, where={"setting": "cyc"}).passed
    # Demanding two cycles per run fails for the member with one.
    assert not sc.cycle_signature(rows, where={"setting": "cyc"}, min_cycles=2, detector={"window": 300}).passed


def _rows_of(tmp_path, setting, members):
    run = _write_run(tmp_path / setting, members)
    return [{"setting": setting, "seed": i, "member": i, "run_dir": str(run)} for i in range(len(members))]


def test_a_loss_spike_without_prior_norm_growth_is_no_cycle(tmp_path):
    flat = _rows_of(tmp_path, "flat", [_member_history(spikes=(2000, 4200), growth=0.0)] * 2)
    assert [s.step for s in spikes_of(flat[0])] == [2000, 4200]  # the spikes are there ...
    # ... they are no cycle, but they are loss spikes: "no slingshot" (the stable regime) fails on them by default
    assert not sc.no_cycles(flat, where={"setting": "flat"}).passed
    assert sc.no_cycles(flat, where={"setting": "flat"}, any_spike=False).passed
    assert sc.cycles_nonincreasing(flat, groups={"a": {"setting": "flat"}}).values["cycles"] == [0.0]
    signature = sc.cycle_signature(flat, where={"setting": "flat"})
    assert not signature.passed and "cycles 0/4 judged spikes (4 without norm growth" in signature.measured
    # A norm that barely moves (0.1% over the window, below MIN_GROWTH) is no growth either.
    drift = _rows_of(tmp_path, "drift", [_member_history(spikes=(2000,), growth=1e-5)])
    assert spikes_of(drift[0])[0].slope_before > 0 and not cycles_of(drift[0])


def test_spikes_without_growth_count_against_the_share(tmp_path):
    # One member with two cycles, one whose three spikes come with a shrinking norm: 2 of 5 spikes are cycles.
    shrinking = _member_history(spikes=(1500, 3000, 4500), growth=-0.001)
    rows = _rows_of(tmp_path, "mixed", [_member_history(), shrinking])
    got = sc.cycle_signature(rows, where={"setting": "mixed"}, min_cycles=0)
    assert not got.passed and "cycles 2/5 judged spikes (3 without norm growth" in got.measured
    assert sc.cycle_signature(rows, where={"setting": "mixed"}, min_cycles=0, share=0.4).passed


def test_the_jump_is_judged_against_a_baseline_the_detector_does_not_use(tmp_path):
    """The detector flags L_t > 100 × its 200-step minimum; the claim's jump is over the 1000-step median, which
    can fail: a loss that rests at 1e-3 with brief dips to 2e-5 spikes to 0.05, 2500× its minimum, 50× its median."""
    hist = _member_history(spikes=())
    steps, loss = hist["fit/loss"]
    loss = loss.copy()
    loss[300:] = 1e-3
    loss[300::100] = 2e-5
    loss[3000:3010] = 0.05
    hist["fit/loss"] = (steps, loss)
    hist["weights/last_layer_norm"] = (steps, 5 + 0.01 * np.minimum(steps, 3000))  # growth, then a plateau
    rows = _rows_of(tmp_path, "median", [hist])
    (spike,) = spikes_of(rows[0])
    assert spike.cycle and spike.jump == pytest.approx(2500) and spike.jump_over_median == pytest.approx(50)
    got = sc.cycle_signature(rows, where={"setting": "median"})
    assert not got.passed and "min peak/median before 50×" in got.measured
    assert sc.cycle_signature(rows, where={"setting": "median"}, min_jump=40).passed


def test_figures_follow_the_study_s_seeds(rows, tmp_path):
    """A study run on other seeds (here 7 and 8) still draws every figure its YAML asks for."""
    from repro.papers.slingshot.figures import _one
    from repro.report.markdown import draw_figures

    other = [dict(r, seed=r["seed"] + 7) for r in rows]
    assert _one(other, {"setting": "cyc"}, 0)["seed"] == 7 and _one(other, {"setting": "cyc"}, 8)["seed"] == 8
    study = Study.load(Path(__file__).resolve().parents[3] / "configs" / "slingshot" / "quick.yaml")
    renamed = {"adam_eps1e-8": "cyc", "adam_eps1e-5": "smooth", "adamw_wd1": "grok", "sgd": "smooth"}
    for spec in study.meta["figures"]:
        assert "seed" not in spec  # no hard-coded seed
        for group in [spec.get("where")] + list((spec.get("groups") or {}).values()):
            if group:
                group["setting"] = renamed[group["setting"]]
    drawn = draw_figures(study, other, tmp_path / "figs")
    assert len(drawn) == len(study.meta["figures"]) and all(p.stat().st_size > 10_000 for p in drawn)


def test_grokking_claims(rows):
    delay = sc.grokking_delay(rows, where={"setting": "grok"}, min_ratio=10)
    assert delay.passed and delay.values["ratio"] == [3000 / 300, 3100 / 300]
    assert not sc.grokking_delay(rows, where={"setting": "grok"}, min_ratio=11).passed
    assert not sc.grokking_delay(rows, where={"setting": "smooth"}).passed  # never generalizes
    after = sc.grokking_after_slingshot(rows, where={"setting": "cyc"}, window=1000)
    # 4300 is near the spike at 4200; 4500 is 1971 steps after the one that ends at 2529.
    assert after.passed and after.values["gain_share_near_spikes"] == [1.0, 0.0]
    assert not sc.grokking_after_slingshot(rows, where={"setting": "grok"}).passed
    assert sc.generalizes_without_cycles(rows, where={"setting": "grok"}, val_threshold=0.99).passed
    assert not sc.generalizes_without_cycles(rows, where={"setting": "cyc"}).passed


def test_ordering_final_and_features(rows):
    order = {"cyc": {"setting": "cyc"}, "smooth": {"setting": "smooth"}}
    assert sc.cycles_nonincreasing(rows, groups=order).values["cycles"] == [1.5, 0.0]
    assert sc.cycles_nonincreasing(rows, groups=order).passed
    assert not sc.cycles_nonincreasing(rows, groups=dict(reversed(order.items()))).passed


def test_ordering_fails_on_ties(rows, tmp_path):
    """Equal groups (0, 0, 0 cycles, or the same cycling runs three times) are no decrease."""
    smooth = {"setting": "smooth"}
    tie = sc.cycles_nonincreasing(rows, groups={"a": smooth, "b": smooth, "c": smooth})
    assert not tie.passed and tie.values["cycles"] == [0.0, 0.0, 0.0]
    cyc = {"setting": "cyc"}
    assert not sc.cycles_nonincreasing(rows, groups={"a": cyc, "b": cyc}).passed
    assert sc.cycles_nonincreasing(rows, groups={"a": cyc, "b": smooth}).values["ci"][0] > 0
    assert sc.final_below(rows, where={"setting": "smooth"}, value=0.5).passed
    assert not sc.final_below(rows, where={"setting": "grok"}, value=0.5).passed
    moved = sc.features_move_at_transitions(rows, where={"setting": "cyc"}, min_ratio=3, window=200)
    assert moved.passed and moved.values["ratios"]["1"] == pytest.approx(100.0)


def test_features_are_compared_with_the_growth_phases_only(tmp_path):
    """The baseline is the norm-growth window before each cycle, not every step away from a spike: features that
    move a lot during the plateaus and before the fit do not hide a quiet growth phase."""
    hist = _member_history(spikes=(2000, 4200))
    steps, _ = hist["features/change_l1"]
    change = np.full(len(steps), 1e-2)
    for s in (2000, 4200):
        change[(steps >= s - 1000) & (steps < s - 200)] = 1e-4  # quiet while the norm grows
    for layer in (1, 2):
        hist[f"features/change_l{layer}"] = (steps, change)
    rows = _rows_of(tmp_path, "quiet", [hist])
    moved = sc.features_move_at_transitions(rows, where={"setting": "quiet"}, min_ratio=3, window=200)
    assert moved.passed and moved.values["ratios"]["1"] == pytest.approx(100.0)


def test_figures_and_table(rows, tmp_path):
    study = Study.load(Path(__file__).resolve().parents[3] / "configs" / "slingshot" / "quick.yaml")
    assert dynamics(study, rows, tmp_path / "d.png", where={"setting": "cyc"}, seed=0).stat().st_size > 10_000
    assert comparison(study, rows, tmp_path / "c.png", groups={"a": {"setting": "cyc"}, "b": {"setting": "smooth"}},
                      seed=0).stat().st_size > 10_000
    lines = summary_table(study, [dict(r, setting=r["setting"]) for r in rows])
    assert len(lines) == 2 + 3 and lines[2].startswith("| cyc | 2 | 1.5 (2, 1) | 1.5 (2, 1) | 300 | 4400 |")


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_study_claims_resolve(name):
    study = Study.load(Path(__file__).resolve().parents[3] / "configs" / "slingshot" / f"{name}.yaml")
    assert all(callable(resolve_claim(c["type"])) for c in study.claims)
    settings = {r.overrides["setting"] for r in study.runs()}
    for claim in study.claims:
        for where in [claim.get("where")] + list((claim.get("groups") or {}).values()):
            assert where is None or where["setting"] in settings

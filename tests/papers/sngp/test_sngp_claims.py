"""SNGP's uncertainty ratio on rows built here, no training: it FAILS where SNGP is the deterministic net (equal
arms) and where one seed lacks the effect, PASSES on a clear effect in every seed; the interval is over seeds."""

from __future__ import annotations

import pytest

from repro.papers.sngp.claims import uncertainty_ratio


def rows_(sngp: list[float], det: list[float]) -> list[dict]:
    return [{"method": m, "seed": s, "probe_far/confidence": c}
            for m, confs in (("sngp", sngp), ("deterministic", det)) for s, c in enumerate(confs)]


KW = dict(a={"method": "sngp"}, metric_a="probe_far/confidence", b={"method": "deterministic"}, factor=5)


def test_fails_when_sngp_is_the_deterministic_net():
    det = [0.996, 0.993, 0.997]
    result = uncertainty_ratio(rows_(det, det), **KW)
    assert not result.passed and result.values["effect"] == pytest.approx(1.0)


def test_passes_on_a_clear_effect_in_every_seed():
    result = uncertainty_ratio(rows_([0.60, 0.58, 0.62], [0.996, 0.993, 0.997]), **KW)
    assert result.passed and result.values["ci"][0] >= 5 and result.values["n"] == 3


def test_fails_when_one_seed_lacks_the_effect():
    """Uncertainty 0.274 vs 0.010: ×27 on average, above 20, but the third seed's SNGP is more certain than the
    deterministic net, and the interval reaches below ×20."""
    result = uncertainty_ratio(rows_([0.60, 0.58, 0.999], [0.990, 0.990, 0.990]), factor=20, a=KW["a"],
                               metric_a=KW["metric_a"], b=KW["b"])
    assert result.values["effect"] > 20 and not result.passed

"""A hand-built model-wise results table with known shape, for the claim tests."""

from __future__ import annotations

WIDTHS = [2, 4, 8, 16, 32, 64]
# test error: first minimum 0.20 at 4, peak 0.40 at 16, 0.15 at 64; train error hits 0 at 16.
TEST = [0.30, 0.20, 0.25, 0.40, 0.30, 0.15]
TRAIN = [0.40, 0.30, 0.10, 0.00, 0.00, 0.00]


def rows(test=TEST, train=TRAIN, seeds=(0, 1), jitter=0.01, **extra):
    out = []
    for s in seeds:
        sign = 1 if s % 2 == 0 else -1
        for w, te, tr in zip(WIDTHS, test, train, strict=True):
            out.append({"width": w, "seed": s, "test/error": te + sign * jitter, "train/error": tr, **extra})
    return out

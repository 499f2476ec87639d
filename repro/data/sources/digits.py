"""digits: scikit-learn's bundled 8×8 digits (no download)."""

from __future__ import annotations

import numpy as np
import torch

from repro.data.sources.registry import SourceInfo, Split, register

DIGITS_TRAIN = 1200  # of 1797; the remaining 597 are the test split
_DIGITS_SEED = 0


def _load_digits(train: bool) -> Split:
    from sklearn.datasets import load_digits  # deferred: sklearn is slow to import

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixels are 0..16
    y = digits.target.astype(np.int64)
    # The bundled file is ordered by writer; a fixed permutation mixes them before splitting.
    perm = np.random.default_rng(_DIGITS_SEED).permutation(len(y))
    idx = perm[:DIGITS_TRAIN] if train else perm[DIGITS_TRAIN:]
    return Split(torch.from_numpy(x[idx]), torch.from_numpy(y[idx]))


register(SourceInfo("digits", 10, (64,), False, False, None, None), lambda train, root, download: _load_digits(train))

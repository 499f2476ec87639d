"""imdb: the IMDB movie-review sentiment set (25k train / 25k test, 2 classes) in Keras' ``imdb.npz`` form, as
Keras' ``imdb.load_data(num_words=5000, seed=11)`` and ``pad_sequences(maxlen=400)`` prepare it (the setting of
Keras' own text-classification examples): each review a list of word ranks, shifted by 3 with 1 as the start
token and 2 for words outside the 5000 most frequent, train and test each shuffled with the seed (test with twice
it), then cut or left-padded with 0 to 400 tokens, keeping the end. Inputs are int64 token ids, shape (400,).

Files: ``$REPRO_DATA/imdb/imdb.npz`` (downloaded from Keras' dataset bucket when the network allows).
"""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch

from repro.data.sources.registry import DatasetMissingError, SourceInfo, Split, missing_message, register
from repro.errors import ConfigValueError

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
NUM_WORDS, MAXLEN, SHUFFLE_SEED = 5000, 400, 11
START, OOV, INDEX_FROM = 1, 2, 3


def encode(reviews, num_words: int = NUM_WORDS, maxlen: int = MAXLEN) -> np.ndarray:
    """Word ranks → token ids (start token, +3 shift, out-of-vocabulary → 2), cut or left-padded to ``maxlen``
    keeping each review's last tokens (Keras' 'pre' padding and truncation)."""
    out = np.zeros((len(reviews), maxlen), dtype=np.int64)
    for i, words in enumerate(reviews):
        ids = np.asarray([START, *(int(w) + INDEX_FROM for w in words)], dtype=np.int64)
        ids[ids >= num_words] = OOV
        ids = ids[-maxlen:]
        out[i, maxlen - len(ids):] = ids
    return out


def _path(root: Path, download: bool) -> Path:
    path = root / "imdb" / "imdb.npz"
    if path.is_file():
        return path
    looked_in = str(path.parent.resolve())
    if not download:
        raise DatasetMissingError(missing_message("imdb", looked_in, "$REPRO_DATA/imdb/imdb.npz",
                                                  "download=False, so nothing was downloaded."))
    try:
        from torchvision.datasets.utils import download_url

        download_url(URL, str(path.parent), "imdb.npz")
    except (URLError, OSError, RuntimeError) as err:
        raise DatasetMissingError(missing_message(
            "imdb", looked_in, f"$REPRO_DATA/imdb/imdb.npz (from {URL})",
            f"Downloading needs network access, and the download failed: {type(err).__name__}: {err}")) from err
    return path


def _load_imdb(train: bool, root: Path, download: bool) -> Split:
    path = _path(root, download)
    with np.load(path, allow_pickle=True) as f:
        try:
            x, y = (f["x_train"], f["y_train"]) if train else (f["x_test"], f["y_test"])
        except KeyError as err:
            raise ConfigValueError(f"{path}: not Keras' imdb.npz (no {err}); delete it and download again") from err
    # np.random.shuffle(a) after seeding with s reorders a exactly as a[RandomState(s).permutation(len(a))].
    perm = np.random.RandomState(SHUFFLE_SEED if train else 2 * SHUFFLE_SEED).permutation(len(y))
    return Split(torch.from_numpy(encode(x[perm])), torch.from_numpy(np.asarray(y, dtype=np.int64)[perm]))


register(SourceInfo("imdb", 2, (MAXLEN,), False, True, None, None), _load_imdb)

"""Token-sequence classifiers: an embedding with spatial dropout, then a linear head on the flattened sequence or
an LSTM's last state. Inputs are token ids of shape (N, L) (any dtype; cast to int64)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.init import he_truncated_normal_
from repro.models.resnet import check_width


class SpatialDropout1d(nn.Module):
    """Dropout of whole embedding channels: one mask per (example, channel), shared by every position of the
    sequence (Keras' ``SpatialDropout1D``)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ConfigValueError(f"spatial_dropout must be in [0, 1), got {p} "
                                   "(model.init_args.backbone.init_args.spatial_dropout)")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, L, D)
        if not self.training or self.p == 0:
            return x
        keep = torch.empty(x.shape[0], 1, x.shape[2], device=x.device, dtype=x.dtype).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class EmbeddingClassifier(nn.Module):
    """Embedding(vocab, embed_dim) → SpatialDropout → then either ReLU → flatten → Linear (``lstm_units: 0``) or
    LSTM(lstm_units) → Linear(hidden) → Dropout(dropout) → ReLU → Linear. Embeddings start uniform in ±0.05, the
    LSTM's input weights too (its recurrent kernel orthogonal as one matrix over the four gates, forget-gate bias
    1), dense layers ``he_normal`` (truncated) with zero biases: Keras 2's defaults for these layers."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, vocab_size: int = 5000, embed_dim: int = 50,
                 spatial_dropout: float = 0.8, lstm_units: int = 0, hidden: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        check_width(vocab_size, "vocab_size")
        check_width(embed_dim, "embed_dim")
        (length,) = in_shape
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.spatial_dropout = SpatialDropout1d(spatial_dropout)
        self.lstm = None
        if lstm_units:
            check_width(lstm_units, "lstm_units")
            self.lstm = nn.LSTM(embed_dim, lstm_units, batch_first=True)
            self.hidden = nn.Sequential(nn.Linear(lstm_units, hidden), nn.Dropout(dropout), nn.ReLU())
            self.head = nn.Linear(hidden, num_classes)
        else:
            self.head = nn.Linear(length * embed_dim, num_classes)
        he_truncated_normal_(self)
        if self.lstm is not None:
            with torch.no_grad():
                nn.init.uniform_(self.lstm.weight_ih_l0, -0.05, 0.05)
                # Keras' recurrent kernel is one (units, 4·units) matrix made orthogonal as a whole (orthonormal
                # rows); PyTorch stores its transpose, (4·units, units), in the same gate order: orthonormal columns.
                nn.init.orthogonal_(self.lstm.weight_hh_l0)
                self.lstm.bias_ih_l0.zero_()
                self.lstm.bias_hh_l0.zero_()
                self.lstm.bias_ih_l0[lstm_units: 2 * lstm_units] = 1.0  # PyTorch's gate order: input, forget, ...

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.spatial_dropout(self.embedding(x.long()))
        if self.lstm is None:
            return self.head(torch.relu(h).flatten(1))
        _, (last, _) = self.lstm(h)
        return self.head(self.hidden(last[-1]))

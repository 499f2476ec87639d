"""Token models for the modular-arithmetic tasks (``repro.data.modular``).

``Transformer``: a small decoder-only transformer after openai/grok's: post-LayerNorm blocks,
sinusoidal positions, bias-free attention and feed-forward projections, a causal mask, and an untied,
bias-free output layer ``head``. ``OperandMLP``: two operand embeddings, one ReLU layer and a bias-free head,
small enough for a CPU.

Both take token sequences ``a ∘ b =`` (N, L) and return the logits of the last position (N, V), the
answer; ``forward(x, return_features=True)`` also returns each layer's hidden state there (the
feature-change callback reads them). Both have a bias-free ``head: nn.Linear``. The transformer with
``answer_positions: k`` returns the logits of the last k positions (N, k, V) instead (openai/grok's loss covers
``c`` and the final ``<eos>`` of ``<eos> a ∘ b = c <eos>``), and its features at the first of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError
from repro.models.resnet import check_width


def sinusoidal_positions(length: int, width: int) -> torch.Tensor:
    """Vaswani et al. 2017 positional encodings, shape (length, width)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    out = torch.zeros(length, width)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: width // 2])
    return out


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with bias-free projections.

    ``explicit`` computes softmax(QKᵀ/√d + mask)V by hand: the fused scaled_dot_product_attention
    kernels fail in backward under ``vmap`` (stacked models), the explicit form works everywhere.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)
        self.explicit = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        q, k, v = (t.view(n, length, self.heads, -1).transpose(1, 2) for t in self.qkv(x).split(width, dim=-1))
        if self.explicit:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            mask = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
            y = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(n, length, width))


class Block(nn.Module):
    """Post-LayerNorm decoder block (openai/grok): x = LN(x + attn(x)); x = LN(x + ffn(x))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = CausalSelfAttention(width, heads)
        self.ln1 = nn.LayerNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, 4 * width, bias=False), nn.ReLU(),
                                 nn.Linear(4 * width, width, bias=False))
        self.ln2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.attn(x))
        return self.ln2(x + self.ffn(x))


class Transformer(nn.Module):
    """Decoder-only transformer; ``num_classes`` is the vocabulary, ``in_shape`` = (sequence length,).
    ``answer_positions``: how many trailing positions are answers (1: logits (N, V); k > 1: (N, k, V))."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 128, depth: int = 2,
                 heads: int = 4, answer_positions: int = 1) -> None:
        super().__init__()
        check_width(width)
        check_width(depth, "depth")
        if not 1 <= answer_positions <= int(in_shape[0]):
            raise ConfigValueError(f"model.init_args.backbone.init_args.answer_positions={answer_positions} must "
                                   f"lie in 1..{int(in_shape[0])} (the sequence length)")
        self.answer_positions = answer_positions
        self.embed = nn.Embedding(num_classes, width)
        self.register_buffer("positions", sinusoidal_positions(int(in_shape[0]), width), persistent=False)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.head = nn.Linear(width, num_classes, bias=False)

    def prepare_for_vmap(self) -> None:
        """Switch to explicit attention (see :class:`CausalSelfAttention`) for torch.func transforms: ``vmap``
        (``repro.training.stacking`` calls this) and forward-mode AD (the update-sharpness Hessian-vector product)."""
        for m in self.modules():
            if isinstance(m, CausalSelfAttention):
                m.explicit = True

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every block's output, each (N, L, width)."""
        h = self.embed(x) + self.positions[: x.shape[1]]
        out = []
        for block in self.blocks:
            h = block(h)
            out.append(h)
        return out

    def forward_all(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at every position, (N, L, V): position t sees tokens ≤ t only."""
        return self.head(self.hidden(x)[-1])

    def forward(self, x: torch.Tensor, return_features: bool = False):
        hidden = self.hidden(x)
        k = self.answer_positions
        logits = self.head(hidden[-1][:, -1] if k == 1 else hidden[-1][:, -k:])
        if return_features:
            return logits, tuple(h[:, -k] for h in hidden)
        return logits


class OperandMLP(nn.Module):
    """Embed a and b (tokens 0 and 2 of ``a ∘ b =``), concatenate, ``depth`` ReLU layers, bias-free head."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 256, embed_width: int = 128,
                 depth: int = 1) -> None:
        super().__init__()
        check_width(width)
        check_width(embed_width, "embed_width")
        check_width(depth, "depth")
        if tuple(in_shape) != (4,):
            raise ConfigValueError(f"OperandMLP reads a and b from the 4-token sequence a ∘ b =, got sequences of "
                                   f"shape {tuple(in_shape)}; use data.init_args.eos: false")
        self.embed = nn.Embedding(num_classes, embed_width)
        layers, fan_in = [], 2 * embed_width
        for _ in range(depth):
            layers.append(nn.Sequential(nn.Linear(fan_in, width), nn.ReLU()))
            fan_in = width
        self.layers = nn.ModuleList(layers)
        self.head = nn.Linear(width, num_classes, bias=False)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        h = self.embed(x[:, [0, 2]]).flatten(1)
        features = []
        for layer in self.layers:
            h = layer(h)
            features.append(h)
        logits = self.head(h)
        return (logits, tuple(features)) if return_features else logits

"""``compile: true`` and ``compile_mode`` reach torch.compile; on a GPU the compiled model really trains."""

from __future__ import annotations

import pytest
import torch

from repro.models.mlp import MLP
from repro.papers.double_descent.method import DoubleDescent


def _mlp(num_classes, in_shape):
    return MLP(num_classes, in_shape, width=8)


def test_compile_switch_and_mode_reach_torch_compile(monkeypatch):
    calls = []

    def fake_compile(module, **kwargs):
        calls.append((module, kwargs))
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = DoubleDescent(_mlp, num_classes=10, in_shape=(64,), compile=True, compile_mode="reduce-overhead")
    backbone = model.backbone
    model.configure_model()
    assert calls == [(backbone, {"mode": "reduce-overhead"})]
    DoubleDescent(_mlp, num_classes=10, in_shape=(64,)).configure_model()
    assert len(calls) == 1  # compile: false never compiles


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs (reduce-overhead) need a CUDA device")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compiled_model_trains_on_gpu(mode):
    torch.manual_seed(0)
    model = DoubleDescent(_mlp, num_classes=10, in_shape=(64,), compile=True, compile_mode=mode).cuda()
    model.configure_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(256, 64, device="cuda"), torch.randint(0, 10, (256,), device="cuda")
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]

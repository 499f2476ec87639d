"""Stacked (vmapped) training of N models equals N separate runs (batch norm included); unstackable modules are
refused clearly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ReproError
from repro.models import MLP
from repro.models.transformer import Transformer
from repro.training.stacking import StackedModules


def _build(factory, seeds):
    out = []
    for s in seeds:
        torch.manual_seed(s)
        out.append(factory())
    return out


def _separate_losses(models, x, y, steps, make_opt):
    losses = []
    for model in models:
        opt = make_opt(model.parameters())
        run = []
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    return torch.tensor(losses)


def _stacked_losses(models, x, y, steps, make_opt):
    stacked = StackedModules(models)
    opt = make_opt(stacked.parameters())
    run = []
    for _ in range(steps):
        logits = stacked(x)  # (N, B, C)
        per_member = torch.stack([F.cross_entropy(lg, y) for lg in logits])
        opt.zero_grad()
        per_member.sum().backward()
        opt.step()
        run.append(per_member.detach())
    return torch.stack(run, 1), stacked


OPTIMIZERS = {
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.9, 0.98), eps=1e-8),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1.0),
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
}


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_stacked_mlp_seeds_train_like_separate_runs(opt):
    torch.manual_seed(123)
    x, y = torch.randn(32, 8), torch.randint(0, 5, (32,))
    factory = lambda: MLP(5, (8,), width=16, depth=2)  # noqa: E731
    seeds = [0, 1, 2]
    separate = _separate_losses(_build(factory, seeds), x, y, 20, OPTIMIZERS[opt])
    stacked, module = _stacked_losses(_build(factory, seeds), x, y, 20, OPTIMIZERS[opt])
    torch.testing.assert_close(stacked, separate, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(separate[0], separate[1])  # the seeds really differ
    # Member i's final weights are those of separate run i.
    refs = _build(factory, seeds)
    _separate_losses(refs, x, y, 20, OPTIMIZERS[opt])
    for i, ref in enumerate(refs):
        torch.testing.assert_close(module.member(i)(x), ref(x), rtol=1e-4, atol=1e-5)


def test_stacked_transformers_train_like_separate_runs():
    torch.manual_seed(0)
    x, y = torch.randint(0, 12, (16, 4)), torch.randint(0, 12, (16,))
    factory = lambda: Transformer(12, (4,), width=16, heads=2)  # noqa: E731
    separate = _separate_losses(_build(factory, [3, 4]), x, y, 10, OPTIMIZERS["adam"])
    stacked, module = _stacked_losses(_build(factory, [3, 4]), x, y, 10, OPTIMIZERS["adam"])
    torch.testing.assert_close(stacked, separate, rtol=1e-4, atol=1e-5)
    assert module.base.blocks[0].attn.explicit  # fused attention is switched off under vmap


def test_parameters_are_stacked_once_and_saved_by_name():
    models = _build(lambda: MLP(3, (4,), width=6), [0, 1, 2, 3])
    stacked = StackedModules(models)
    assert stacked.num_members == 4
    assert sum(p.numel() for p in stacked.parameters()) == 4 * sum(p.numel() for p in models[0].parameters())
    torch.testing.assert_close(stacked.params()["head.weight"][2], models[2].head.weight)
    state = stacked.state_dict()
    again = StackedModules(_build(lambda: MLP(3, (4,), width=6), [7, 8, 9, 10]))
    again.load_state_dict(state)
    x = torch.randn(5, 4)
    torch.testing.assert_close(again(x), stacked(x))


def test_per_member_inputs():
    models = _build(lambda: MLP(3, (4,), width=6), [0, 1])
    stacked = StackedModules(models)
    x = torch.randn(2, 5, 4)
    out = stacked(x, shared_input=False)
    torch.testing.assert_close(out[1], models[1](x[1]))


def test_batchnorm_members_keep_their_own_running_statistics():
    """Stacked batch-norm nets train, update their running statistics and evaluate exactly like separate ones."""
    factory = lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))  # noqa: E731
    torch.manual_seed(5)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    sgd = lambda p: torch.optim.SGD(p, lr=0.1)  # noqa: E731
    separate = _separate_losses(refs := _build(factory, [0, 1]), x, y, 5, sgd)
    stacked, module = _stacked_losses(_build(factory, [0, 1]), x, y, 5, sgd)
    torch.testing.assert_close(stacked, separate, rtol=1e-5, atol=1e-6)
    running = module.running_buffers()
    for i, ref in enumerate(refs):
        torch.testing.assert_close(running["1.running_mean"][i], ref[1].running_mean)
        torch.testing.assert_close(running["1.running_var"][i], ref[1].running_var)
        assert int(running["1.num_batches_tracked"][i]) == 5
    assert not torch.allclose(running["1.running_mean"][0], running["1.running_mean"][1])
    module.eval()
    probe = torch.randn(7, 4) * 3  # eval uses each member's running averages, not the probe's statistics
    for i, ref in enumerate(refs):
        torch.testing.assert_close(module(probe)[i], ref.eval()(probe), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(module.member(i)(probe), ref(probe), rtol=1e-5, atol=1e-6)
    again = StackedModules(_build(factory, [7, 8]))
    again.load_state_dict(module.state_dict())  # the running statistics are saved with the parameters
    torch.testing.assert_close(again.eval()(probe), module(probe))


def test_cumulative_batchnorm_and_mixed_architectures_are_refused():
    with pytest.raises(ReproError, match="momentum=None"):
        StackedModules([nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, momentum=None)) for _ in range(2)])
    with pytest.raises(ReproError, match="member 1 is not the same architecture"):
        StackedModules([MLP(3, (4,), width=6), MLP(3, (4,), width=7)])
    with pytest.raises(ReproError, match="at least one"):
        StackedModules([])


def test_bench_stacked_mode_writes_both_rows_and_their_ratio(tmp_path):
    import json

    from repro.bench import main

    argv = ["--stacked", "3", "--width", "16", "--prime", "11", "--batch-size", "32", "--steps", "2", "--repeats", "1",
            "--warmup", "1", "--device", "cpu", "--out", str(tmp_path)]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "bench_stacked.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["one_at_a_time", "stacked"]
    assert all(r["models"] == 3 and r["batch"] == 32 and r["model_steps_s"] > 0 for r in rows)
    assert rows[0]["ratio"] == 1.0 and rows[1]["ratio"] == rows[1]["model_steps_s"] / rows[0]["model_steps_s"]


def test_eval_mode_reaches_the_members_dropout():
    torch.manual_seed(0)
    members = [nn.Sequential(nn.Linear(4, 32), nn.Dropout(0.5), nn.Linear(32, 2)) for _ in range(2)]
    stacked = StackedModules(members)
    x = torch.randn(8, 4)
    stacked.eval()
    torch.testing.assert_close(stacked(x), stacked(x))  # deterministic: dropout is off
    for i, m in enumerate(members):
        torch.testing.assert_close(stacked(x)[i], m.eval()(x))
    stacked.train()
    assert not torch.equal(stacked(x), stacked(x))  # dropout is back on


def test_train_mode_set_as_lightning_restores_it_after_validation_reaches_the_members_dropout():
    from pytorch_lightning.utilities.model_helpers import _ModuleMode

    torch.manual_seed(0)
    stacked = StackedModules([nn.Sequential(nn.Linear(4, 32), nn.Dropout(0.5), nn.Linear(32, 2)) for _ in range(2)])
    x = torch.randn(8, 4)
    mode = _ModuleMode()
    mode.capture(stacked)  # training, as before a validation
    stacked.eval()
    mode.restore(stacked)  # after it: each submodule's `training` attribute set back, `train()` not called
    assert not torch.equal(stacked(x), stacked(x))  # dropout is on again

"""Mixup pieces (repro/training/mixup.py) and the stage interface (repro/models/stages.py) against hand-written
references: the mixing formula, soft targets, both losses, the per-batch draws, and the hooks on real backbones."""

from __future__ import annotations

import math
from contextlib import ExitStack

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError
from repro.models.cnn import FiveLayerCNN
from repro.models.mlp import MLP
from repro.models.resnet import PreActResNet18, PreActResNet34
from repro.models.stages import INPUT, check_stages, declared_stages
from repro.models.wide_resnet import WideResNet
from repro.training.mixup import (
    captured,
    check_alpha,
    draw_mix,
    mix_pairs,
    mixed_at,
    replaced,
    soft_target_cross_entropy,
    soft_targets,
    softmax_bce,
)


def test_mix_pairs_is_the_convex_combination_with_the_partner():
    t = torch.arange(12.0).reshape(4, 3)
    perm = torch.tensor([2, 0, 3, 1])
    out = mix_pairs(t, perm, 0.25)
    for i in range(4):
        assert torch.equal(out[i], 0.25 * t[i] + 0.75 * t[perm[i]])


def test_soft_targets_sum_to_one_and_put_lambda_on_each_label():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 7, (50,), generator=gen)
    perm = torch.randperm(50, generator=gen)
    lam = 0.3
    t = soft_targets(y, 7, perm, lam, dtype=torch.float64)
    torch.testing.assert_close(t.sum(1), torch.ones(50, dtype=torch.float64), rtol=0, atol=1e-15)
    for i in range(50):
        expected = np.zeros(7)
        expected[int(y[i])] += lam
        expected[int(y[perm[i]])] += 1 - lam
        np.testing.assert_allclose(t[i].numpy(), expected, atol=1e-15)
    assert torch.equal(soft_targets(y, 7), F.one_hot(y, 7).float())


def test_soft_target_cross_entropy_is_the_lambda_weighted_pair_of_cross_entropies():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(16, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 5, (16,), generator=gen)
    perm = torch.randperm(16, generator=gen)
    lam = 0.62
    got = soft_target_cross_entropy(z, soft_targets(y, 5, perm, lam, dtype=torch.float64))
    want = lam * F.cross_entropy(z, y) + (1 - lam) * F.cross_entropy(z, y[perm])
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    torch.testing.assert_close(soft_target_cross_entropy(z, soft_targets(y, 5, dtype=torch.float64)),
                               F.cross_entropy(z, y), rtol=1e-12, atol=0)


def test_softmax_bce_is_the_mean_over_all_entries_of_bce_on_the_softmax():
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(8, 4, generator=gen, dtype=torch.float64)
    t = soft_targets(torch.randint(0, 4, (8,), generator=gen), 4, torch.randperm(8, generator=gen), 0.7,
                     dtype=torch.float64)
    p = np.exp(z.numpy()) / np.exp(z.numpy()).sum(1, keepdims=True)
    want = -np.mean(t.numpy() * np.log(p) + (1 - t.numpy()) * np.log(1 - p))
    assert softmax_bce(z, t).item() == pytest.approx(want, rel=1e-12)
    assert softmax_bce(z, t).item() != pytest.approx(soft_target_cross_entropy(z, t).item(), rel=1e-3)


@pytest.mark.parametrize("alpha", [0, 0.0, -1.0, float("nan"), None])
def test_alpha_at_or_below_zero_is_a_config_error(alpha):
    with pytest.raises(ConfigValueError, match=r"model\.init_args\.alpha must be > 0"):
        check_alpha(alpha)
    assert check_alpha(0.2) == 0.2


def test_draws_are_per_stream_and_step_and_follow_beta_and_uniform_stages():
    a, b = draw_mix(["input", "s1"], 2.0, 10, (7, 3)), draw_mix(["input", "s1"], 2.0, 10, (7, 3))
    assert (a.stage, a.lam) == (b.stage, b.lam) and torch.equal(a.perm, b.perm)
    assert draw_mix([], 2.0, 10, (7, 3)) is None
    draws = [draw_mix(["input", "s1", "s2"], 2.0, 6, (11, step)) for step in range(3000)]
    assert len({(d.lam, tuple(d.perm.tolist())) for d in draws}) == 3000, "every step draws afresh"
    for d in draws[:50]:
        assert sorted(d.perm.tolist()) == list(range(6))
    lams = np.array([d.lam for d in draws])
    # Beta(2, 2): mean 1/2, variance 1/20
    assert abs(lams.mean() - 0.5) < 0.02 and abs(lams.var() - 0.05) < 0.006
    counts = np.bincount([["input", "s1", "s2"].index(d.stage) for d in draws], minlength=3)
    assert (abs(counts / 3000 - 1 / 3) < 0.04).all()
    other = [draw_mix(["input"], 2.0, 6, (12, step)).lam for step in range(20)]
    assert other != [d.lam for d in draws[:20]], "another stream draws other λ"


def _backbones():
    torch.manual_seed(0)
    return {
        "mlp": (MLP(10, (1, 6, 6), width=16, depth=3, bottleneck=4, bottleneck_after=2, activation="leaky_relu"),
                (1, 6, 6)),
        "preact18": (PreActResNet18(10, (3, 8, 8), width=4).eval(), (3, 8, 8)),
        "wrn": (WideResNet(10, (3, 8, 8), depth=10, width=1).eval(), (3, 8, 8)),
    }


@pytest.mark.parametrize("name", ["mlp", "preact18", "wrn"])
def test_lambda_one_and_zero_reproduce_the_unmixed_forward(name):
    """λ = 1 is the unmixed forward exactly; λ = 0 is the partner's forward up to float rounding: ``h(x)[perm]``
    and ``h(x[perm])`` are the same matmul on reordered rows, which a CPU's kernels need not round alike (seen:
    2.4e-7 on an AVX2 machine)."""
    net, shape = _backbones()[name]
    x = torch.randn(9, *shape, generator=torch.Generator().manual_seed(3))
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        clean, clean_perm = net(x), net(x[perm])
        for stage, module in declared_stages(net).items():
            with mixed_at(module, perm, 1.0):
                assert torch.equal(net(x), clean), f"λ = 1 at {stage} changed the forward"
            with mixed_at(module, perm, 0.0):
                torch.testing.assert_close(net(x), clean_perm, msg=f"λ = 0 at {stage} is not the partner's forward")
        assert torch.equal(net(mix_pairs(x, perm, 1.0)), clean) and torch.equal(net(mix_pairs(x, perm, 0.0)),
                                                                                 clean_perm)


@pytest.mark.parametrize("name", ["mlp", "preact18", "wrn"])
def test_the_hook_mixes_exactly_at_the_chosen_stage(name):
    net, shape = _backbones()[name]
    stages = declared_stages(net)
    names = list(stages)
    x = torch.randn(6, *shape, generator=torch.Generator().manual_seed(5))
    perm, lam = torch.tensor([3, 0, 5, 1, 2, 4]), 0.35

    def activations(mix_stage=None):
        with torch.no_grad(), ExitStack() as stack:
            if mix_stage is not None:
                stack.enter_context(mixed_at(stages[mix_stage], perm, lam))
            acts = stack.enter_context(_capture_all(stages))  # registered after the mix: sees the mixed output
            net(x)
        return {n: a[-1] for n, a in acts.items()}

    clean = activations()
    for k, stage in enumerate(names):
        mixed = activations(stage)
        for earlier in names[:k]:
            assert torch.equal(mixed[earlier], clean[earlier]), f"mixing at {stage} changed {earlier}"
        assert torch.equal(mixed[stage], lam * clean[stage] + (1 - lam) * clean[stage][perm])
        for later in names[k + 1:]:
            assert not torch.allclose(mixed[later], clean[later]), f"{later} did not see the mix at {stage}"


class _capture_all:
    """Capture every stage's output (hooks run in registration order, each seeing what earlier ones returned)."""

    def __init__(self, stages):
        self.stages, self.handles, self.acts = stages, [], {}

    def __enter__(self):
        for n, m in self.stages.items():
            self.acts[n] = []
            self.handles.append(m.register_forward_hook(lambda _m, _i, out, n=n: self.acts[n].append(out)))
        return self.acts

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


def test_captured_and_replaced_read_and_feed_a_stage():
    net, shape = _backbones()["mlp"]
    module = declared_stages(net)["bottleneck"]
    x = torch.randn(5, *shape)
    with torch.no_grad(), captured(module) as outs:
        logits = net(x)
    assert outs[0].shape == (5, 4)
    with torch.no_grad(), replaced(module, outs[0]):
        assert torch.equal(net(torch.zeros_like(x)), logits), "the tail depends only on the stage's value"
    assert not module._forward_hooks, "hooks are removed on exit"


def test_stage_declarations_of_the_shared_backbones():
    mlp = MLP(10, (8,), width=16, depth=3, bottleneck=4, bottleneck_after=2)
    assert list(mlp.stages) == ["hidden1", "hidden2", "bottleneck", "hidden3"]
    assert mlp.features[5].out_features == 4 and isinstance(declared_stages(mlp)["bottleneck"], nn.Linear)
    assert isinstance(declared_stages(mlp)["hidden1"], nn.ReLU)
    net = PreActResNet34(10, (3, 32, 32), width=64)
    assert sum(p.numel() for p in net.parameters()) == 21_279_306
    assert [len(net.get_submodule(f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert declared_stages(net)["stage2"] is net.layer2
    wrn = WideResNet(10, (3, 32, 32), depth=16, width=2)
    with torch.no_grad(), captured(declared_stages(wrn)["stage1"]) as s1, captured(
            declared_stages(wrn)["stage3"]) as s3:
        wrn.eval()(torch.zeros(2, 3, 32, 32))
    assert s1[0].shape == (2, 32, 32, 32) and s3[0].shape == (2, 128, 8, 8)
    assert declared_stages(wrn)["stage2"] is wrn.blocks[3]  # n = 2 blocks per group


def test_a_backbone_without_stages_or_with_an_unknown_stage_is_a_clear_error():
    cnn = FiveLayerCNN(10, (3, 32, 32))
    with pytest.raises(ConfigValueError, match="declares no stages"):
        check_stages(cnn, [INPUT, "stage1"], "model.init_args.eligible")
    assert check_stages(cnn, [INPUT], "model.init_args.eligible") == [INPUT], "input mixup needs no stages"
    with pytest.raises(ConfigValueError, match="has no stage 'stage9'.*'stage1'"):
        check_stages(PreActResNet18(10, (3, 8, 8), width=2), ["stage9"], "model.init_args.eligible")
    with pytest.raises(ConfigValueError, match="twice"):
        check_stages(cnn, [INPUT, INPUT], "model.init_args.eligible")
    broken = MLP(10, (4,), width=4)
    broken.stages = {"s": "nope.3"}
    with pytest.raises(ConfigValueError, match="not a submodule"):
        declared_stages(broken)


def test_mlp_bottleneck_config_errors():
    with pytest.raises(ConfigValueError, match="bottleneck_after"):
        MLP(10, (4,), width=8, depth=2, bottleneck=3)
    with pytest.raises(ConfigValueError, match="activation"):
        MLP(10, (4,), width=8, activation="gelu")
    assert math.prod(MLP(3, (4,), width=8, depth=2, bottleneck=2, bottleneck_after=1)(torch.zeros(5, 4)).shape) == 15

"""Knowledge distillation (repro/training/distillation.py): the loss against a hand-written reference, α = 0 is
cross-entropy, the teacher is frozen in eval mode and loads a Lightning checkpoint's backbone."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError, ReproError
from repro.training.distillation import Teacher, check_distillation, distillation_loss, load_backbone_state


def _reference(zs, zt, y, alpha, t):
    """Σ over the batch written out: KL(p_t ‖ p_s) = Σ_c p_t log(p_t / p_s) on T-softened logits, batch mean."""
    total_kl, total_ce = 0.0, 0.0
    for s_row, t_row, label in zip(zs.tolist(), zt.tolist(), y.tolist(), strict=True):
        es = [math.exp(v / t) for v in s_row]
        et = [math.exp(v / t) for v in t_row]
        ps = [v / sum(es) for v in es]
        pt = [v / sum(et) for v in et]
        total_kl += sum(a * math.log(a / b) for a, b in zip(pt, ps, strict=True))
        e1 = [math.exp(v) for v in s_row]
        total_ce += -math.log(e1[label] / sum(e1))
    n = len(y)
    return alpha * t * t * total_kl / n + (1 - alpha) * total_ce / n


@pytest.mark.parametrize("alpha, t", [(0.8, 10.0), (0.5, 2.0), (1.0, 1.0), (0.0, 10.0)])
def test_the_loss_matches_a_hand_written_reference(alpha, t):
    g = torch.Generator().manual_seed(0)
    zs, zt = torch.randn(6, 5, generator=g, dtype=torch.float64) * 3, torch.randn(6, 5, generator=g,
                                                                                  dtype=torch.float64) * 3
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    got = float(distillation_loss(zs, zt, y, alpha=alpha, temperature=t))
    assert got == pytest.approx(_reference(zs, zt, y, alpha, t), rel=1e-10)


@pytest.mark.parametrize("alpha, t", [(0.8, 10.0), (0.0, 1.0), (1.0, 3.0)])
def test_stacked_logits_give_each_members_loss_against_the_reference(alpha, t):
    torch.manual_seed(1)
    zs, zt = torch.randn(3, 6, 5, dtype=torch.float64) * 3, torch.randn(3, 6, 5, dtype=torch.float64) * 3
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    got = distillation_loss(zs, zt, y, alpha=alpha, temperature=t)
    assert got.shape == (3,)
    for m in range(3):
        assert float(got[m]) == pytest.approx(_reference(zs[m], zt[m], y, alpha, t), rel=1e-10)


def test_alpha_zero_is_cross_entropy_and_a_perfect_teacher_adds_nothing():
    zs, zt, y = torch.randn(8, 4), torch.randn(8, 4), torch.randint(0, 4, (8,))
    assert torch.allclose(distillation_loss(zs, zt, y, alpha=0.0, temperature=10.0), F.cross_entropy(zs, y))
    assert float(distillation_loss(zs, zs, y, alpha=1.0, temperature=3.0)) == pytest.approx(0.0, abs=1e-6)


def test_the_teacher_is_frozen_in_eval_mode_and_loads_a_checkpoints_backbone(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in net.state_dict().items()}, "epoch": 3},
               tmp_path / "t.ckpt")
    student = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 2)).train()
    teacher = Teacher.from_checkpoint(tmp_path / "t.ckpt", like=student)
    x = torch.randn(5, 3)
    assert torch.equal(teacher(x), net.eval()(x)) and torch.equal(teacher(x), teacher(x))  # no dropout
    assert not any(p.requires_grad for p in teacher.module.parameters()) and student.training
    assert not torch.equal(student[0].weight, net[0].weight), "the student was not touched"
    teacher.cache([x[:2], x[2:]])
    assert torch.equal(teacher.cached(torch.tensor([4, 0])), teacher(x)[[4, 0]])


def test_bad_teacher_files_and_settings_are_clear_errors(tmp_path):
    with pytest.raises(ReproError, match="not found"):
        load_backbone_state(tmp_path / "missing.ckpt")
    torch.save({"state_dict": {"head.weight": torch.zeros(1)}}, tmp_path / "x.ckpt")
    with pytest.raises(ReproError, match="no backbone"):
        load_backbone_state(tmp_path / "x.ckpt")
    torch.save({"state_dict": {"backbone.weight": torch.zeros(2, 2)}}, tmp_path / "y.ckpt")
    with pytest.raises(ReproError, match="does not fit"):
        Teacher.from_checkpoint(tmp_path / "y.ckpt", like=nn.Linear(3, 4))
    with pytest.raises(ConfigValueError, match="alpha"):
        check_distillation(1.5, 10.0)
    with pytest.raises(ConfigValueError, match="temperature"):
        check_distillation(0.8, 0.0)

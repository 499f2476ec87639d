"""The SNGP LightningModule: where spectral norm goes, the per-epoch reset, MC dropout, the deterministic baseline."""

import functools

import pytest
import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.residual_mlp import ResidualMLP
from repro.models.spectral import SoftSpectralNorm
from repro.papers.sngp.method import SNGP


def _model(**kwargs) -> SNGP:
    backbone = functools.partial(ResidualMLP, width=16, depth=2, dropout=0.5)
    return SNGP(backbone, num_classes=2, in_shape=(2,), **kwargs)


def test_spectral_norm_on_residual_layers_only() -> None:
    torch.manual_seed(0)
    m = _model(spectral_bound=0.9, gp={"num_features": 32}).train()
    for _ in range(50):  # training steps run the power iteration on
        m(torch.randn(4, 2))
    assert all(isinstance(layer.parametrizations.weight[0], SoftSpectralNorm) for layer in m.backbone.layers)
    assert not hasattr(m.backbone.input, "parametrizations")  # frozen projection
    assert not hasattr(m.backbone.head, "parametrizations")  # replaced by the GP head
    for layer in m.backbone.layers:
        # σ̂ comes from power iteration, which approaches σ from below.
        assert torch.linalg.matrix_norm(layer.weight.detach(), 2) <= 0.9 * 1.005


def test_deterministic_baseline_is_plain_backbone() -> None:
    m = _model(spectral_bound=None, gp=None).eval()
    x = torch.randn(5, 2)
    torch.testing.assert_close(m(x), m.backbone(x))
    assert m.gp is None


def test_precision_reset_at_epoch_start_and_accumulated_in_training() -> None:
    m = _model(gp={"num_features": 32, "ridge": 1.0}).train()
    m(torch.randn(10, 2))
    assert not torch.allclose(m.gp.precision, torch.eye(32))
    m.on_train_epoch_start()
    torch.testing.assert_close(m.gp.precision, torch.eye(32))


def test_mc_dropout_averages_masks_and_restores_eval() -> None:
    torch.manual_seed(0)
    m = _model(method="mc_dropout", mc_dropout_samples=50).eval()
    x = torch.randn(4, 2)
    probs = m(x).exp()
    torch.testing.assert_close(probs.sum(-1), torch.ones(4))
    assert not torch.allclose(probs, m.backbone(x).softmax(-1), atol=1e-4)  # masks were on
    assert all(not d.training for d in m.backbone.modules() if isinstance(d, nn.Dropout))


@pytest.mark.parametrize(("kwargs", "key"), [({"spectral_bound": 0.0}, "coeff"), ({"gp": {"ridge": -1.0}}, "ridge")])
def test_bad_config_raises(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigValueError, match=key):
        _model(**kwargs)


def test_without_reset_the_precision_sums_every_epoch() -> None:
    torch.manual_seed(0)
    x1, x2 = torch.randn(6, 2), torch.randn(7, 2)
    for reset in (True, False):
        backbone = functools.partial(ResidualMLP, width=16, depth=2, dropout=0.0)  # the same Φ in train and eval
        m = SNGP(backbone, num_classes=2, in_shape=(2,), gp={"num_features": 16, "ridge": 1.0},
                 precision_reset=reset).train()
        m.on_train_epoch_start()
        m(x1)
        m.on_train_epoch_start()
        m(x2)
        with torch.no_grad():  # no optimizer step: the features are the same in both "epochs"
            phi1, phi2 = (m.gp.features(m.backbone.forward_features(x)) for x in (x1, x2))
        expected = torch.eye(16) + phi2.T @ phi2 + (0 if reset else phi1.T @ phi1)
        torch.testing.assert_close(m.gp.precision, expected)


def test_no_reset_with_the_momentum_update_is_refused() -> None:
    with pytest.raises(ConfigValueError, match="precision_reset"):
        _model(gp={"num_features": 16, "momentum": 0.99}, precision_reset=False)


def test_a_float64_run_evaluates_and_saves_its_surface(tmp_path) -> None:
    """`trainer.precision: 64-true` (the study's floating-point perturbation) converts the model, not the float32
    grid the datamodule builds: the surface must be fed in the model's dtype."""
    import pytorch_lightning as pl

    from repro.data.ood import OODDataModule

    dm = OODDataModule("two_moons", eval_splits=("test",), loader="classic", batch_size=128,
                       ood_sets={"cluster": "repro.data.synthetic.moons_ood_set"},
                       surface="repro.data.synthetic.moons_grid")
    model = _model(gp={"num_features": 32})
    trainer = pl.Trainer(precision="64-true", max_epochs=1, limit_train_batches=2, default_root_dir=tmp_path,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         num_sanity_val_steps=0)
    trainer.fit(model, datamodule=dm)
    assert model.dtype == torch.float64
    saved = torch.load(tmp_path / "surface.pt")
    assert saved["probs"].shape == (len(saved["points"]), 2) and saved["probs"].isfinite().all()
    torch.testing.assert_close(saved["probs"].sum(-1), torch.ones(len(saved["points"])))

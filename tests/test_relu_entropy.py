"""ReLU-state entropy (repro/training/relu_entropy.py) against hand-computed values: always-firing units give 0 bits,
units firing half the time 1 bit, a quarter of the time H(1/4) = 0.811 bits; every image counts, not one batch; the
input is read before an in-place ReLU overwrites it; the callback logs per member of a stack."""

from __future__ import annotations

import math

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from repro.data.core import TensorDataModule
from repro.models.mlp import MLP
from repro.training.classifier import Classifier
from repro.training.relu_entropy import ReLUEntropy, binary_entropy_bits, network_entropy, relu_state_entropy


class Identity1(nn.Module):
    """x → ReLU(x) → ReLU(−x + shift): two layers whose firing the test sets through the inputs."""

    def __init__(self, shift: float = 0.0, inplace: bool = False) -> None:
        super().__init__()
        self.shift = shift
        self.a, self.b = nn.ReLU(inplace=inplace), nn.ReLU(inplace=inplace)

    def forward(self, x):
        return self.b(self.shift - self.a(x))


def test_binary_entropy_by_hand():
    p = torch.tensor([0.0, 1.0, 0.5, 0.25, 0.75])
    h = 0.25 * math.log2(4) + 0.75 * math.log2(4 / 3)
    assert binary_entropy_bits(p).tolist() == pytest.approx([0, 0, 1, h, h], abs=1e-4)
    assert h == pytest.approx(0.8113, abs=1e-4)


def test_always_firing_units_have_zero_entropy_and_half_firing_ones_one_bit():
    x = torch.ones(8, 3)  # layer a always fires (z = 1 > 0); layer b sees 5 − 1 = 4 > 0: always fires
    layers = relu_state_entropy(Identity1(shift=5.0), [x])
    assert layers["a"] == (pytest.approx(0.0, abs=1e-9), 3) and layers["b"][0] == pytest.approx(0.0, abs=1e-9)
    half = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [2.0, -2.0], [-3.0, 3.0]])  # each unit fires in 2 of 4 images
    layers = relu_state_entropy(Identity1(shift=0.5), [half])
    assert layers["a"][0] == pytest.approx(1.0)
    # b's input is 0.5 − relu(x): > 0 exactly where a did not fire beyond 0.5 (also half the images here)
    assert layers["b"][0] == pytest.approx(1.0)


def test_every_image_counts_not_just_the_first_batch_and_inplace_relus_are_read_before_they_run():
    first = torch.ones(4, 1)  # fires in all of the first batch ...
    second = -torch.ones(12, 1)  # ... and in none of the second: p = 4/16 overall
    for inplace in (False, True):
        layers = relu_state_entropy(Identity1(shift=-10.0, inplace=inplace), [first.clone(), second.clone()])
        assert layers["a"][0] == pytest.approx(float(binary_entropy_bits(torch.tensor(0.25))))


def test_a_relu_module_called_twice_counts_as_two_layers_and_the_network_means():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()
            self.lin = nn.Linear(2, 4)

        def forward(self, x):
            return self.act(self.lin(self.act(x)))

    layers = relu_state_entropy(Twice(), [torch.randn(50, 2)])
    assert list(layers) == ["act", "act#2"] and [c for _, c in layers.values()] == [2, 4]
    net = network_entropy({"a": (0.2, 2), "b": (0.8, 6)})
    assert net["entropy/mean"] == pytest.approx(0.5)
    assert net["entropy/channel_weighted"] == pytest.approx((0.4 + 4.8) / 8)


def test_eval_mode_is_used_and_restored():
    class Dropper(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop, self.act = nn.Dropout(0.999), nn.ReLU()

        def forward(self, x):
            return self.act(self.drop(x))

    model = Dropper().train()
    layers = relu_state_entropy(model, [torch.ones(64, 3)])  # train-mode dropout would zero most inputs: p < 1
    assert layers["act"][0] == pytest.approx(0.0, abs=1e-9) and model.training


def _fit_stacked(tmp_path, epochs: int, precision: str = "32-true"):
    class WithEntropy(Classifier):
        def configure_callbacks(self):
            return [*super().configure_callbacks(), ReLUEntropy(every_n_epochs=epochs)]

    pl.seed_everything(0, verbose=False)
    model = WithEntropy(lambda c, s: MLP(c, s, width=8, depth=2), num_classes=10, in_shape=(64,),
                        stack_seeds=[0, 1])
    data = TensorDataModule("digits", batch_size=0)
    trainer = pl.Trainer(max_epochs=epochs, check_val_every_n_epoch=epochs, precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=data)
    return model, data, trainer


def test_the_callback_logs_each_stacked_member_and_their_mean(tmp_path):
    model, data, trainer = _fit_stacked(tmp_path, epochs=2)
    metrics = trainer.callback_metrics
    x = data.splits["train"]["x"]
    for i in (0, 1):
        alone = network_entropy(relu_state_entropy(model.backbone.member(i), [x]))
        assert float(metrics[f"member{i}/entropy/mean"]) == pytest.approx(alone["entropy/mean"], abs=1e-6)
    assert float(metrics["entropy/mean"]) == pytest.approx(
        (float(metrics["member0/entropy/mean"]) + float(metrics["member1/entropy/mean"])) / 2, abs=1e-6)


def test_a_stacked_model_in_float64_is_measured_in_float64(tmp_path):
    model, data, trainer = _fit_stacked(tmp_path, epochs=1, precision="64-true")  # a float32 member copy would fail
    x = data.splits["train"]["x"]
    x = (data.normalize(x) if data.normalize is not None else x).double()
    alone = network_entropy(relu_state_entropy(model.backbone.member(1).double(), [x]))
    assert float(trainer.callback_metrics["member1/entropy/mean"]) == pytest.approx(alone["entropy/mean"], abs=1e-6)

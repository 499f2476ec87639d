"""Backbones ported from Keras models: the dropout MLP, the pre-activation ResNet with projection shortcuts, the
embedding text classifier, and Keras' truncated he_normal initialisation."""

from __future__ import annotations

import math

import pytest
import torch

from repro.errors import ConfigValueError
from repro.models.dropout_mlp import DropoutMLP
from repro.models.init import he_truncated_normal_
from repro.models.preact_resnet_cifar import PreActResNetCifar
from repro.models.text import EmbeddingClassifier, SpatialDropout1d


def test_he_truncated_normal_is_cut_at_two_sigma_with_its_smaller_std():
    torch.manual_seed(0)
    layer = he_truncated_normal_(torch.nn.Linear(200, 300))
    sigma = math.sqrt(2 / 200)
    w = layer.weight.detach()
    assert float(w.abs().max()) <= 2 * sigma
    assert float(w.std()) == pytest.approx(0.8796 * sigma, rel=0.02)  # std of N(0,1) cut at ±2: 0.8796
    assert (layer.bias == 0).all()


def test_dropout_mlp_layers_and_dropout_in_training_only():
    torch.manual_seed(0)
    net = DropoutMLP(10, (64,), width=128, depth=2, dropout=0.2)
    assert [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)] == [128, 128, 10]
    x = torch.randn(5, 64)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
    with pytest.raises(ConfigValueError, match="dropout"):
        DropoutMLP(10, (64,), dropout=1.0)


def test_preact_resnet_parameter_count_by_hand_and_shapes():
    net = PreActResNetCifar(10, (3, 32, 32), blocks=1, width=16)
    # stem 448 + BN 32; unit 16→16 4672; unit 16→32 (with BN in, 1×1 projection) 14528; unit 32→64 57728;
    # final BN 128; head 650
    assert sum(p.numel() for p in net.parameters()) == 78186
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    deep = PreActResNetCifar(100, (3, 32, 32), blocks=7)  # 44 layers: 1 + 3·7·2 convs + the head
    convs = [m for m in deep.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == 44
    assert sum(1 for m in deep.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)) == 2


def test_embedding_classifier_flat_and_lstm():
    x = torch.randint(0, 5000, (3, 400)).float()  # token ids arrive as floats from the loader
    flat = EmbeddingClassifier(2, (400,))
    assert flat(x).shape == (3, 2)
    assert sum(p.numel() for p in flat.parameters()) == 5000 * 50 + 400 * 50 * 2 + 2
    lstm = EmbeddingClassifier(2, (400,), embed_dim=16, lstm_units=8, hidden=12)
    assert lstm(x[:, :20]).shape == (3, 2)
    assert float(lstm.lstm.bias_ih_l0[8:16].detach().min()) == 1.0  # forget gate


def test_lstm_recurrent_kernel_is_orthogonal_over_all_four_gates_as_in_keras():
    # Keras 2 initialises the (units, 4·units) recurrent kernel as one orthogonal matrix (orthonormal rows), so each
    # gate's block is not orthogonal on its own: the four blocks' Gram matrices add up to the identity.
    torch.manual_seed(0)
    w = EmbeddingClassifier(2, (50,), embed_dim=16, lstm_units=8, hidden=12).lstm.weight_hh_l0.detach().double()
    assert w.shape == (32, 8)
    assert torch.allclose(w.T @ w, torch.eye(8, dtype=torch.float64), atol=1e-6)
    blocks = w.chunk(4)
    assert torch.allclose(sum(b.T @ b for b in blocks), torch.eye(8, dtype=torch.float64), atol=1e-6)
    assert not torch.allclose(blocks[0].T @ blocks[0], torch.eye(8, dtype=torch.float64), atol=1e-2)


def test_spatial_dropout_drops_whole_channels_for_every_position():
    torch.manual_seed(0)
    drop = SpatialDropout1d(0.5).train()
    out = drop(torch.ones(4, 7, 16))
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    assert (out == out[:, :1, :]).all()  # the same mask at every position
    assert torch.equal(drop.eval()(torch.ones(2, 3, 4)), torch.ones(2, 3, 4))

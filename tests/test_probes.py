"""k-NN probes (repro.training.probes) against a brute-force k-NN written here: sorted float64 distances, the
query's own support point dropped, a vote counted by hand with ties to the lowest class."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.mlp import MLP
from repro.training.probes import embed, knn_vote, probe_points, probe_predictions, settled_from


def brute_knn(query: np.ndarray, support: np.ndarray, labels: np.ndarray, k: int, exclude=None) -> np.ndarray:
    out = []
    for i, q in enumerate(query):
        dist = np.sqrt(((support.astype(np.float64) - q.astype(np.float64)) ** 2).sum(1))
        order = [j for j in np.argsort(dist, kind="stable") if exclude is None or j != exclude[i]]
        counts = {}
        for j in order[:k]:
            counts[int(labels[j])] = counts.get(int(labels[j]), 0) + 1
        best = max(counts.values())
        out.append(min(c for c, n in counts.items() if n == best))
    return np.array(out)


def brute_depth(seq: np.ndarray, ref: np.ndarray) -> np.ndarray:
    depths = []
    for n in range(seq.shape[1]):
        depth = seq.shape[0]
        for t in range(seq.shape[0] - 1, -1, -1):
            if seq[t, n] != ref[n]:
                break
            depth = t
        depths.append(depth)
    return np.array(depths)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knn_vote_matches_brute_force_held_out(seed):
    rng = np.random.default_rng(seed)
    support, query = rng.normal(size=(150, 6)).astype(np.float32), rng.normal(size=(40, 6)).astype(np.float32)
    labels = rng.integers(0, 4, size=150)
    got = knn_vote(torch.from_numpy(query), torch.from_numpy(support), torch.from_numpy(labels), k=7,
                   num_classes=4, chunk=16)
    np.testing.assert_array_equal(got.numpy(), brute_knn(query, support, labels, 7))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knn_vote_leaves_a_support_point_out_of_its_own_neighbours(seed):
    rng = np.random.default_rng(seed)
    support = rng.normal(size=(120, 5)).astype(np.float32)
    labels = rng.integers(0, 3, size=120)
    exclude = np.arange(120)
    exclude[::3] = -1  # a third of the queries are not in the support set: nothing is left out for them
    got = knn_vote(torch.from_numpy(support), torch.from_numpy(support), torch.from_numpy(labels), k=5,
                   num_classes=3, exclude=torch.from_numpy(exclude), chunk=32)
    np.testing.assert_array_equal(got.numpy(), brute_knn(support, support, labels, 5, exclude))


def test_without_exclusion_a_point_votes_for_itself_with_k_1():
    support = torch.randn(50, 3)
    labels = torch.randint(0, 5, (50,))
    assert torch.equal(knn_vote(support, support, labels, k=1, num_classes=5), labels)
    excluded = knn_vote(support, support, labels, k=1, num_classes=5, exclude=torch.arange(50))
    nearest_other = torch.cdist(support, support).fill_diagonal_(float("inf")).argmin(1)
    assert torch.equal(excluded, labels[nearest_other])


def test_a_tied_vote_goes_to_the_lowest_class():
    support = torch.tensor([[1.0], [2.0], [3.0], [4.0], [100.0]])
    labels = torch.tensor([2, 1, 2, 1, 0])
    # k = 4: two votes each for classes 1 and 2 → 1; class 0 is farthest and out of the vote.
    assert knn_vote(torch.tensor([[0.0]]), support, labels, k=4, num_classes=3).item() == 1
    assert brute_knn(np.zeros((1, 1)), support.numpy(), labels.numpy(), 4)[0] == 1


def test_k_larger_than_the_support_set_is_an_error():
    with pytest.raises(ConfigValueError, match="k=5"):
        knn_vote(torch.zeros(2, 2), torch.zeros(5, 2), torch.zeros(5, dtype=torch.long), k=5, num_classes=2,
                 exclude=torch.arange(2))


@pytest.mark.parametrize("seed", [0, 1])
def test_settled_from_is_the_first_index_after_which_nothing_disagrees(seed):
    rng = np.random.default_rng(seed)
    seq = rng.integers(0, 3, size=(6, 200))
    ref = rng.integers(0, 3, size=200)
    seq[:, :20] = ref[:20]  # every probe agrees: depth 0
    got = settled_from(torch.from_numpy(seq), torch.from_numpy(ref))
    np.testing.assert_array_equal(got.numpy(), brute_depth(seq, ref))
    assert (got[:20] == 0).all() and got.max() == 6  # some last entries disagree: depth T


def test_probe_points_and_embeddings_of_an_mlp():
    torch.manual_seed(0)
    net = MLP(3, (2, 4), width=8, depth=2).eval()
    x = torch.randn(10, 2, 4)
    assert probe_points(net) == ["input", "hidden1", "hidden2", "softmax"]
    assert torch.equal(embed(net, x, "input"), x.flatten(1))
    h1 = torch.relu(net.features[1](x.flatten(1)))
    torch.testing.assert_close(embed(net, x, "hidden1", batch_size=3), h1)
    torch.testing.assert_close(embed(net, x, "hidden2"), net.features(x))
    torch.testing.assert_close(embed(net, x, "softmax", batch_size=4), torch.softmax(net(x), -1))


def test_a_backbone_without_probe_points_is_an_error():
    with pytest.raises(ConfigValueError, match="declares no probe points"):
        probe_points(nn.Linear(3, 2))


def test_probe_predictions_stream_each_point_against_brute_force():
    torch.manual_seed(1)
    net = MLP(3, (5,), width=6, depth=2)
    sx, sy = torch.randn(60, 5), torch.randint(0, 3, (60,))
    hx = torch.randn(25, 5)
    preds = probe_predictions(net, sx, sy, {"train": (sx, torch.arange(60)), "held_out": (hx, None)}, k=5,
                              num_classes=3, batch_size=7, chunk=11)
    assert preds["train"].shape == (4, 60) and preds["held_out"].shape == (4, 25)
    assert net.training  # left in the mode it was in
    net.eval()
    for i, point in enumerate(probe_points(net)):
        s, h = embed(net, sx, point).numpy(), embed(net, hx, point).numpy()
        np.testing.assert_array_equal(preds["train"][i].numpy(), brute_knn(s, s, sy.numpy(), 5, np.arange(60)))
        np.testing.assert_array_equal(preds["held_out"][i].numpy(), brute_knn(h, s, sy.numpy(), 5))


def test_a_probe_before_an_in_place_activation_keeps_the_pre_activation_values():
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True))
    net.probes = {"linear": "0"}
    x = torch.randn(20, 4)
    got = embed(net, x, "linear", batch_size=8)
    torch.testing.assert_close(got, net[0](x).detach())
    assert (got < 0).any()


def test_the_paper_convnets_declare_their_probe_points():
    from repro.models.resnet18_basic import BasicResNet18
    from repro.models.vgg import VGG16

    x = torch.randn(2, 3, 32, 32)
    vgg = VGG16(10, (3, 32, 32), width=8).eval()
    assert probe_points(vgg) == ["input", *(f"conv{i}" for i in range(1, 14)), "softmax"]
    assert embed(vgg, x, "conv1").shape == (2, 8 * 32 * 32) and embed(vgg, x, "conv13").shape == (2, 64 * 2 * 2)
    assert (embed(vgg, x, "conv5") >= 0).all()  # after the ReLU
    resnet = BasicResNet18(10, (3, 32, 32), width=32, norm="group").eval()
    assert probe_points(resnet) == ["input", "stem", *(f"block{i}" for i in range(1, 9)), "softmax"]
    assert isinstance(resnet.net.bn1, nn.GroupNorm) and isinstance(resnet.net.layer4[1].bn2, nn.GroupNorm)
    assert (embed(resnet, x, "stem") < 0).any()  # before the stem's in-place ReLU
    assert embed(resnet, x, "block8").shape == (2, 256 * 4 * 4)
    with pytest.raises(ConfigValueError, match="multiple of 32"):
        BasicResNet18(10, (3, 32, 32), width=48, norm="group")

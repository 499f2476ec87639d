"""OODDataModule: held-out classes, OOD/probe sets from sources or functions, subsampling, clear errors."""

import pytest
import torch

from repro.data.ood import OODDataModule
from repro.data.sources import load_source
from repro.data.synthetic import moons_far_from_data, moons_grid, moons_ood_set
from repro.errors import ConfigValueError


def test_held_out_classes_become_the_ood_set_and_labels_are_relabelled() -> None:
    dm = OODDataModule("digits", in_classes=[7, 2, 5], eval_splits=("test",), loader="classic")
    dm.setup()
    test = load_source("digits", train=False)
    keep = torch.isin(test.y, torch.tensor([7, 2, 5]))
    assert dm.num_classes == 3 and dm.eval_splits == ("test", "ood_held_out")
    torch.testing.assert_close(dm.splits["ood_held_out"]["x"], test.x[~keep])
    torch.testing.assert_close(dm.splits["test"]["x"], test.x[keep])
    expected = torch.tensor([{7: 0, 2: 1, 5: 2}[int(c)] for c in test.y[keep]])
    torch.testing.assert_close(dm.splits["test"]["y"], expected)
    assert set(dm.splits["train"]["y"].tolist()) == {0, 1, 2}


def test_function_sets_probe_sets_surface_and_subsample() -> None:
    dm = OODDataModule(
        "two_moons", eval_splits=("test",), loader="classic", ood_size=100,
        ood_sets={"cluster": "repro.data.synthetic.moons_ood_set", "digits_like": "two_moons"},
        probe_sets={"far": "repro.data.synthetic.moons_far_from_data"}, surface="repro.data.synthetic.moons_grid",
    )
    dm.setup()
    assert dm.eval_splits == ("test", "ood_cluster", "ood_digits_like", "probe_far")
    train_x = dm.splits["train"]["x"]
    cluster = dm.splits["ood_cluster"]["x"]
    assert len(cluster) == 100  # subsampled from 500, rows of the full set
    full = moons_ood_set(train_x)
    assert (cluster[:, None] == full[None]).all(-1).any(1).all()
    torch.testing.assert_close(dm.splits["probe_far"]["x"], moons_far_from_data(train_x))  # probes never subsampled
    assert torch.cdist(dm.splits["probe_far"]["x"], train_x).amin(1).min() > 1.0
    torch.testing.assert_close(dm.surface_points, moons_grid())


def test_shape_mismatch_names_both_shapes() -> None:
    dm = OODDataModule("digits", eval_splits=("test",), loader="classic", ood_sets={"moons": "two_moons"})
    with pytest.raises(ConfigValueError, match=r"\(2,\).*\(64,\)"):
        dm.setup()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"ood_sets": {"x": "no_such_source"}}, "neither a source"),
    ({"in_classes": [0, 0, 1]}, "distinct"),
    ({"in_classes": [0, 10]}, "in_classes"),
    ({"in_classes": [0, 1], "label_noise": 0.2}, "label_noise"),
    ({"ood_size": 0}, "ood_size"),
    ({"ood_sets": {"m": "two_moons"}, "eval_splits": ("train",)}, "include 'test'"),
])
def test_bad_config_is_a_clear_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigValueError, match=match):
        OODDataModule("digits", **{"eval_splits": ("test",), **kwargs})


def test_two_moons_source_is_the_tutorial_data() -> None:
    from repro.data.sources import source_info
    from repro.data.synthetic import two_moons

    train, test = load_source("two_moons", train=True), load_source("two_moons", train=False)
    x, y = two_moons(1000, seed=0)
    torch.testing.assert_close(train.x, x)
    torch.testing.assert_close(train.y, y)
    assert len(test) == 500 and not torch.equal(test.x[:10], x[:10])  # a fresh draw
    info = source_info("two_moons")
    assert (info.num_classes, info.in_shape, info.needs_download) == (2, (2,), False)

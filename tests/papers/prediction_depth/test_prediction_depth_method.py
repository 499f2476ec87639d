"""The prediction-depth module and data: swapped halves of one pool, the per-epoch training predictions, and the
per-example file a run saves, checked against the probes and the trained members recomputed here."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from repro.errors import ConfigValueError
from repro.models.mlp import MLP
from repro.papers.prediction_depth.data import SwappedHalves
from repro.papers.prediction_depth.method import PredictionDepth
from repro.training.probes import probe_predictions, settled_from


def _halves(half: int, **kw) -> SwappedHalves:
    data = SwappedHalves("digits", pool_size=400, half=half, split_seed=0, batch_size=50, **kw)
    data.setup()
    return data


def test_the_halves_swap_and_only_the_training_half_is_noisy():
    a, b = _halves(0, label_noise=0.3, noise_seed=1), _halves(1, label_noise=0.3, noise_seed=1)
    assert torch.equal(a.indices["train"], b.indices["val"]) and torch.equal(a.indices["val"], b.indices["train"])
    assert set(a.indices["train"].tolist()) | set(a.indices["val"].tolist()) == set(range(400))
    assert torch.equal(a.splits["train"]["x"], b.splits["val"]["x"])
    assert torch.equal(a.splits["train"]["y_clean"], b.splits["val"]["y"])  # held out with its true labels
    flipped = (a.splits["train"]["y"] != a.splits["train"]["y_clean"]).float().mean().item()
    assert 0.2 < flipped < 0.4
    assert torch.equal(a.splits["val"]["y"], a.splits["val"]["y_clean"])


@pytest.mark.parametrize("bad", [{"half": 2}, {"pool_size": 5}, {"val_size": 10}])
def test_bad_halves_settings_are_errors(bad):
    kw = {"pool_size": 400, "half": 0, **bad}
    with pytest.raises(ConfigValueError):
        SwappedHalves("digits", **kw)


def test_a_run_saves_depths_that_match_the_probes_of_its_members(tmp_path):
    torch.manual_seed(0)
    data = SwappedHalves("digits", pool_size=400, half=1, split_seed=0, batch_size=50, label_noise=0.2,
                         noise_seed=0, eval_splits=("val",))
    model = PredictionDepth(partial(MLP, width=16, depth=2), num_classes=10, in_shape=(64,), k=5,
                            stack_seeds=[0, 1], optimizer=partial(torch.optim.SGD, lr=0.1))
    trainer = pl.Trainer(max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(tmp_path), num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data)
    saved = dict(np.load(tmp_path / "examples.npz"))
    assert saved["train_pd"].shape == (2, 200) and saved["val_pd"].shape == (2, 200)
    assert int(saved["num_probes"]) == 4 and int(saved["epochs"]) == 3
    assert len(model._train_history) == 4  # initialisation + 3 epochs
    train, val = data.splits["train"], data.splits["val"]
    tx, vx = data.normalize(train["x"]), data.normalize(val["x"])
    for m in range(2):
        net = model.backbone.member(m).eval()
        probes = probe_predictions(net, tx, train["y"], {"t": (tx, torch.arange(200)), "v": (vx, None)}, k=5,
                                   num_classes=10)
        with torch.no_grad():
            t_pred, v_logits = net(tx).argmax(-1), net(vx)
        np.testing.assert_array_equal(saved["train_pd"][m], settled_from(probes["t"], t_pred).numpy())
        np.testing.assert_array_equal(saved["val_pd"][m], settled_from(probes["v"], v_logits.argmax(-1)).numpy())
        np.testing.assert_allclose(saved["val_conf"][m], v_logits.softmax(-1).amax(-1).numpy(), rtol=1e-5)
        history = torch.stack([h[m] for h in model._train_history]).long()
        assert torch.equal(history[-1], t_pred)  # the last snapshot is the converged network's prediction
        np.testing.assert_array_equal(saved["train_learned"][m], settled_from(history, history[-1]).numpy())
    np.testing.assert_array_equal(saved["train_index"], data.indices["train"].numpy())
    assert (saved["train_label"] != saved["train_clean"]).any()


def test_a_backbone_without_probe_points_stops_before_training():
    with pytest.raises(ConfigValueError, match="probe points"):
        PredictionDepth(lambda c, s: torch.nn.Linear(64, c), num_classes=10, in_shape=(64,))


def test_the_paper_study_stops_before_training_without_its_data_naming_the_files(tmp_path, capsys, monkeypatch):
    from repro.cli import main

    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "prediction_depth", "--scale", "paper", "--grid", "seed_everything=[0]",
                 "--grid", "setting=[cifar10_resnet18]", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0 and "cifar-10-batches-py/data_batch_1..5" in err
    assert not list((tmp_path / "out").rglob("result.json"))

"""The paper-scale study without its dataset: one clear error naming the files, before anything trains."""

from __future__ import annotations

from repro.cli import main


def test_paper_scale_without_mnist_stops_at_once_naming_the_files(tmp_path, capsys, monkeypatch, no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "loss_correction", "--scale", "paper", "--out", str(tmp_path), "--no-progress",
                 "--grid", "data.init_args.label_noise=[0.4]", "--grid", "seed_everything=[0]",  # plan 9 runs, not 180
                 "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert "REPRO_DATA" in err and "train-images-idx3-ubyte" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"

"""The paper-scale studies without CIFAR-10: `repro reproduce importance_weighting --scale paper` stops at once with
one error naming the missing files (no network touched, nothing trained), and the paper configs build the
reproductions' networks."""

from __future__ import annotations

from urllib.error import URLError

import pytest

from repro.cli import main


@pytest.mark.parametrize("study", ["paper", "paper_bn"])
def test_missing_cifar_stops_before_training(study, tmp_path, capsys, monkeypatch, no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "importance_weighting", "--study", study, "--out", str(tmp_path / "out"),
                 "--no-progress", "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("repro: error:") == 1 and "Traceback" not in err
    assert "REPRO_DATA" in err and "cifar-10-batches-py" in err and "data_batch_1..5" in err
    assert not list(tmp_path.rglob("result.json"))


def test_a_failed_download_is_the_same_one_error(tmp_path, capsys, monkeypatch, no_network):
    import torchvision.datasets.cifar as tv_cifar

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)  # where torchvision would go online
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "importance_weighting", "--scale", "paper", "--out", str(tmp_path / "out"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("repro: error:") == 1 and "Traceback" not in err
    assert "download failed" in err and "cifar-10-batches-py" in err
    assert not list(tmp_path.rglob("result.json"))

"""SNGP's paper configs train one step on fake CIFAR-10/100 and SVHN in their real on-disk formats (every OOD set
faked too), with the WRN shrunk so the step runs on a CPU; and the fake SVHN loads through torchvision."""

from __future__ import annotations

import pytest
import torch
from conftest import CONFIGS
from fakes import FAKE_SOURCES, write_fake_svhn

from repro.data.sources import load_source
from repro.lightning_cli import ReproCLI
from repro.studies.study import Study


@pytest.fixture
def no_svhn_md5(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.svhn as tv_svhn

    monkeypatch.setattr(tv_svhn, "check_integrity", lambda fpath, md5=None: __import__("os").path.isfile(fpath))


def test_fake_svhn_loads_with_zero_relabelled(tmp_path, no_svhn_md5) -> None:
    x, y = write_fake_svhn(tmp_path)
    split = load_source("svhn", train=False, root=tmp_path, download=False)
    assert split.x.shape == (300, 3, 32, 32) and split.x.dtype == torch.uint8
    torch.testing.assert_close(split.x[5], torch.from_numpy(x[..., 5]).permute(2, 0, 1))
    torch.testing.assert_close(split.y, torch.from_numpy(y[:, 0].astype("int64") % 10))


@pytest.mark.parametrize(("name", "method"), [("paper", "sngp"), ("paper_cifar100", "sngp"), ("paper", "ensemble"),
                                            ("paper", "mc_dropout"), ("paper", "sngp_no_reset")])
def test_paper_config_trains_one_step_with_ood_sets(name, method, tmp_path, monkeypatch, no_md5_check,
                                                    no_svhn_md5) -> None:
    study = Study.load(CONFIGS / "sngp" / f"{name}.yaml")
    cfg = study.runs({"method": [method]})[-1].config
    data = cfg["data"]["init_args"]
    for source in {data["source"], *data["ood_sets"].values()}:
        FAKE_SOURCES[source](tmp_path / "data")
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "data"))
    data.update(download=False, batch_size=8, eval_batch_size=64)
    cfg["model"]["init_args"]["backbone"]["init_args"].update(depth=10, width=1)
    cfg["trainer"].update(fast_dev_run=True, enable_progress_bar=False, enable_model_summary=False)
    cfg["run"] = {"out_dir": str(tmp_path / "run")}
    cli = ReproCLI(args=cfg, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    metrics = cli.trainer.callback_metrics
    gp = method.startswith("sngp")
    assert cli.trainer.global_step == 1 and (cli.model.gp is not None) == gp
    assert {"test/ece", "test/nll", "ood_svhn/auroc", "ood_svhn/aupr"} <= set(metrics)
    assert ("ood_svhn/aupr_ds" in metrics) == gp  # DS needs logits, not averaged probabilities
    assert cli.model.precision_reset == (method != "sngp_no_reset")
    if gp:  # the variance and precision logs, against a brute-force inverse of the precision
        model = cli.model.eval()
        precision = model.gp.precision.double()
        assert float(metrics["gp/precision_trace"]) == pytest.approx(float(precision.trace()) - 1024, rel=1e-6)
        loaders = cli.datamodule.val_dataloader()
        for split, loader in zip(cli.datamodule.eval_splits, loaders, strict=True):
            with torch.no_grad():
                phi = model.gp.features(model.backbone.forward_features(next(iter(loader))["x"])).double()
            brute = (phi @ torch.linalg.inv(precision) * phi).sum(-1).mean()  # ridge 1
            assert float(metrics[f"{split}/gp_variance"]) == pytest.approx(float(brute), rel=1e-4)
    other = "cifar100" if data["source"] == "cifar10" else "cifar10"
    assert f"{other}" in data["ood_sets"] and f"ood_{other}/aupr" in metrics

"""``channels_last`` applies on CUDA only: on a CPU the NHWC backward of a PreAct ResNet crashes this torch at one
thread (``double free or corruption``) or crawls, so a config that asks for it (the GPU studies do) must train on a
CPU in the default layout."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

# The crash's setting: PreActResNet18 width 2 on 32x32 one-channel images, batch 128, Adam, one torch thread.
SCRIPT = r"""
import json, sys, torch
torch.set_num_threads(1)
from repro.lightning_cli import ReproCLI
config = {
    "seed_everything": 0,
    "trainer": {"max_steps": 3, "max_epochs": 1, "logger": False, "enable_checkpointing": False,
                "enable_progress_bar": False, "enable_model_summary": False, "limit_val_batches": 0},
    "model": {"class_path": "repro.training.classifier.Classifier", "init_args": {
        "backbone": {"class_path": "repro.models.resnet.PreActResNet18", "init_args": {"width": 2}},
        "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 0.001}},
        "channels_last": True}},
    "data": {"class_path": "repro.data.core.TensorDataModule", "init_args": {
        "source": "fashion_mnist", "train_size": 384, "pad_to": 32, "batch_size": 128, "augment": True}},
    "run": {"out_dir": sys.argv[1]},
}
cli = ReproCLI(args=config, run=False)
cli.trainer.fit(cli.model, datamodule=cli.datamodule)
convs = [m.weight for m in cli.model.modules() if isinstance(m, torch.nn.Conv2d)]
print(json.dumps({"steps": cli.trainer.global_step, "in_effect": cli.model.channels_last,
                  "nhwc": any(w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
                              for w in convs)}))
"""


def test_a_channels_last_config_trains_on_a_cpu_with_one_thread(tmp_path, fashion_mnist):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                      "WANDB_MODE": "disabled", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"steps": 3, "in_effect": False, "nhwc": False}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="channels_last takes effect on CUDA only")
def test_channels_last_takes_effect_on_cuda(tmp_path, fashion_mnist):
    code = SCRIPT.replace('"enable_checkpointing": False,', '"enable_checkpointing": False, "accelerator": "gpu",')
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"steps": 3, "in_effect": True, "nhwc": True}

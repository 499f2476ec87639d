import csv
import json
import math

import pytest
import torch

from repro.bench import Pipeline, build_loader, build_parser, main, resolve, step_flops, synthetic_cifar
from repro.data.loaders import Normalizer
from repro.models import MLP

CIFAR = Normalizer((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


def _expected_pipelines(argv: list[str]) -> list[str]:
    # On a GPU machine the fast device row is expected too; resolve() is what decides, on any machine.
    return [p.name for p in resolve(build_parser().parse_args(argv)).pipelines]


@pytest.mark.parametrize(
    "model_args",
    [["--model", "mlp", "--width", "2", "--workers", "1"], ["--model", "resnet18", "--width", "2", "--workers", "0"]],
    ids=["mlp", "resnet18"],
)
def test_main_writes_one_row_per_pipeline(tmp_path, model_args):
    argv = [*model_args, "--images", "256", "--batch-size", "64", "--repeats", "1", "--steps", "2",
            "--warmup", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    names = _expected_pipelines(argv)
    assert names[:2] == ["classic", "device"]

    with (tmp_path / "bench.csv").open() as f:
        csv_rows = list(csv.DictReader(f))
    json_rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert [r["pipeline"] for r in csv_rows] == names
    assert [r["pipeline"] for r in json_rows] == names
    for r in csv_rows:
        assert {"device", "torch", "threads"} <= r.keys() and r["torch"] == torch.__version__

    for rows, num in ((json_rows, float), (csv_rows, float)):
        img_s = {r["pipeline"]: num(r["img_s"]) for r in rows}
        ratio = {r["pipeline"]: num(r["ratio"]) for r in rows}
        assert all(math.isfinite(v) and v > 0 for v in img_s.values())
        assert ratio["classic"] == 1.0
        for name in names[1:]:
            # The ratio is img_s / classic img_s itself (the CSV round-trips floats exactly).
            assert ratio[name] == img_s[name] / img_s["classic"]
        assert all(math.isfinite(num(r["tflops"])) and num(r["tflops"]) > 0 for r in rows)
        assert all(int(r["steps"]) == 2 and int(r["batch"]) == 64 for r in rows)


def test_ratio_is_against_the_classic_row_of_the_same_batch_size(tmp_path):
    argv = ["--model", "mlp", "--width", "2", "--images", "256", "--batch-size", "32", "--batch-size", "64,32",
            "--repeats", "2", "--steps", "2", "--warmup", "0", "--workers", "0", "--device", "cpu",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert [(r["pipeline"], r["batch"]) for r in rows] == [("classic", 32), ("device", 32), ("classic", 64),
                                                           ("device", 64)]
    for batch in (32, 64):
        classic, device = (r for r in rows if r["batch"] == batch)
        assert classic["ratio"] == 1.0 and device["ratio"] == device["img_s"] / classic["img_s"]
        assert device["img_s_min"] <= device["img_s"] <= device["img_s_max"]


@pytest.mark.parametrize("depth", [1, 2])
def test_mlp_step_flops_match_hand_count(depth):
    b, h, out = 64, 16, 10
    dims = [3 * 32 * 32] + [h] * depth + [out]
    model = MLP(out, (3, 32, 32), width=h, depth=depth)
    x, y = torch.randn(b, 3, 32, 32), torch.randint(0, out, (b,))
    # Forward: every Linear is one (B x in) @ (in x out) matmul, 2 FLOPs per multiply-add.
    forward = sum(2 * b * i * o for i, o in zip(dims[:-1], dims[1:], strict=True))
    # Backward: a weight-gradient and an input-gradient matmul per layer, each as large as the forward one...
    assert step_flops(model, x.clone().requires_grad_(True), y) == forward + 2 * forward
    # ...except that a training step's input batch needs no gradient, so the first layer's is skipped.
    first_layer_input_grad = 2 * b * dims[0] * dims[1]
    assert step_flops(model, x, y) == forward + 2 * forward - first_layer_input_grad
    # Counting ran on a copy: the model's own gradients are untouched.
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("kind", ["classic", "device"])
def test_each_pipeline_sees_every_example_once_per_epoch(kind):
    n, batch_size = 200, 64  # 200 is not a multiple of 64: the short last batch counts too
    epoch = [0]
    loader = build_loader(kind, synthetic_cifar(n), batch_size=batch_size, normalize=CIFAR, workers=0,
                          epoch_fn=lambda: epoch[0])
    orders = []
    for e in range(2):
        epoch[0] = e
        batches = list(loader)
        assert [len(b["index"]) for b in batches] == [64, 64, 64, 8]
        for b in batches:
            assert b["x"].shape[1:] == (3, 32, 32) and b["x"].dtype == torch.float32
        index = torch.cat([b["index"] for b in batches])
        assert torch.equal(index.sort().values, torch.arange(n))
        orders.append(index)
    assert not torch.equal(orders[0], torch.arange(n))  # shuffled
    assert not torch.equal(orders[0], orders[1])  # and reshuffled each epoch


@pytest.mark.parametrize("workers", [0, 2])
def test_classic_and_device_pipelines_yield_the_same_batches(workers):
    """Same seed → same examples in the same order with the same crops and flips, epoch after epoch,
    whether the classic path augments in the main process or in worker processes."""
    tensors = synthetic_cifar(150)  # 150 = 2 × 64 + 22: a short last batch
    epoch = [0]
    device = build_loader("device", tensors, batch_size=64, normalize=CIFAR, seed=5, epoch_fn=lambda: epoch[0])
    classic = build_loader("classic", tensors, batch_size=64, normalize=CIFAR, seed=5, workers=workers)
    seen = []
    for e in range(2):
        epoch[0] = e
        pairs = list(zip(device, classic, strict=True))
        assert len(pairs) == 3
        for d, c in pairs:
            assert torch.equal(d["index"], c["index"]) and torch.equal(d["y"], c["y"])
            torch.testing.assert_close(d["x"], c["x"], rtol=0, atol=1e-6)
        seen.append(torch.cat([d["x"] for d, _ in pairs]))
    assert not torch.equal(seen[0], seen[1])  # a new order and new crops each epoch
    # the crops are real: the augmented batch differs from the plain normalized images
    plain = CIFAR(tensors["x"][pairs[0][0]["index"]])
    assert not torch.equal(plain, pairs[0][0]["x"])


def test_cuda_graph_row_is_left_out_on_cpu_with_a_note():
    s = resolve(build_parser().parse_args(["--device", "cpu", "--cuda-graphs"]))
    assert [p.name for p in s.pipelines] == ["classic", "device"]
    assert any(n.startswith("left out: device+cuda_graphs") for n in s.notes)
    assert Pipeline("device", "bf16", True, True, True).name == "device+bf16+channels_last+cuda_graphs"


def test_gpu_variants_are_left_out_on_cpu_with_a_note():
    s = resolve(build_parser().parse_args(["--device", "cpu", "--precision", "bf16", "--channels-last",
                                           "--compile", "--batch-size", "8,16", "--batch-size", "8"]))
    assert [p.name for p in s.pipelines] == ["classic", "device"]
    assert s.batch_sizes == [8, 16] and s.width == 8 and s.images == 2048
    assert any(n.startswith("left out: device+bf16+channels_last+compile") for n in s.notes)
    assert any("torch thread" in n for n in s.notes)


def test_stacked_bench_times_the_double_descent_mlp(tmp_path):
    import json

    argv = ["--stacked", "4", "--model", "mlp", "--steps", "2", "--repeats", "1", "--warmup", "1",
            "--device", "cpu", "--out", str(tmp_path)]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "bench_stacked.json").read_text())["rows"]
    assert [(r["mode"], r["model"], r["width"], r["batch"]) for r in rows] == [
        ("one_at_a_time", "mlp", 8, 1200), ("stacked", "mlp", 8, 1200)]  # digits' full training set, width 8
    assert rows[1]["ratio"] == rows[1]["model_steps_s"] / rows[0]["model_steps_s"]

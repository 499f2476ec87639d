"""``repro bench --stacked N``: N small models trained one at a time against the same N as one stacked model
(``repro.training.stacking``: stacked parameters, one vmapped forward, one optimizer), in model-steps/s, same device,
same process; to ``<out>/bench_stacked.{csv,json}``.

    repro bench --stacked 32                 token transformers on x÷y mod 97, batch 512, Adam
    repro bench --stacked 8 --model mlp      the MLP 64→w→10 on the full digits training set
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from repro.atomic import write_text
from repro.bench.device import device_name, pick_device, sync
from repro.data.sources import load_source
from repro.errors import ReproError
from repro.models import MLP


def stacked_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="repro bench --stacked", description="Model-steps/s of N small models (token transformers, or a "
        "small MLP) trained as one stacked model (torch.func + vmap) against the same N trained one at a "
        "time, same device, same process.")
    p.add_argument("--stacked", type=int, default=8, metavar="N", help="models (default: 8)")
    p.add_argument("--model", choices=("transformer", "mlp"), default="transformer",
                   help="transformer: x÷y mod p, batch --batch-size; mlp: MLP 64→w→10 on the full digits "
                        "training set (1200 images, one full-batch step)")
    p.add_argument("--width", type=int, default=None, help="default: 128 (transformer), 8 (mlp)")
    p.add_argument("--depth", type=int, default=2, help="transformer layers")
    p.add_argument("--prime", type=int, default=97, help="x÷y mod p data (default: 97)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--steps", type=int, default=20, help="timed steps per repeat (default: 20)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--out", default="results/bench")
    return p


def _stacked_model(args: argparse.Namespace, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    if args.model == "mlp":
        return MLP(10, (x.shape[1],), width=args.width)
    from repro.models.transformer import Transformer

    return Transformer(int(y.max()) + 8, (x.shape[1],), width=args.width, depth=args.depth)


def _stacked_data(args: argparse.Namespace, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if args.model == "mlp":
        split = load_source("digits", train=True)
        return split.x.to(device), split.y.to(device)  # already float pixels in [0, 1]
    from repro.data.modular import ModularDataModule

    data = ModularDataModule("/", prime=args.prime, train_fraction=0.5, batch_size=args.batch_size)
    data.setup()
    idx = torch.randperm(data.n_train, generator=torch.Generator().manual_seed(0))[: data.batch_size]
    return data.splits["train"]["x"][idx].to(device), data.splits["train"]["y"][idx].to(device)


def _stacked_step_fn(mode: str, n: int, args: argparse.Namespace, device: torch.device, x, y):
    from repro.training.stacking import StackedModules

    models = []
    for seed in range(n):
        torch.manual_seed(seed)
        models.append(_stacked_model(args, x, y).to(device))
    if mode == "stacked":
        stacked = StackedModules(models).to(device)
        opt = torch.optim.Adam(stacked.parameters(), lr=1e-3, betas=(0.9, 0.98))

        def step() -> None:
            logits = stacked(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.repeat(n), reduction="sum") / len(y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.9, 0.98)) for m in models]

    def step() -> None:
        for m, o in zip(models, opts, strict=True):
            loss = F.cross_entropy(m(x), y)
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()
    return step


def run_stacked(args: argparse.Namespace) -> list[dict]:
    """Rows ``one_at_a_time`` and ``stacked``: model-steps/s (median of repeats) and the ratio between them."""
    if args.width is None:
        args.width = 8 if args.model == "mlp" else 128
    if args.stacked < 1 or args.steps < 1 or args.repeats < 1:
        raise ReproError("--stacked, --steps and --repeats must be >= 1")
    device = pick_device(args.device)
    x, y = _stacked_data(args, device)
    name = device_name(device)
    rows = []
    for mode in ("one_at_a_time", "stacked"):
        step = _stacked_step_fn(mode, args.stacked, args, device, x, y)
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.repeats):
            sync(device)
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync(device)
            times.append(time.perf_counter() - start)
        rates = [args.stacked * args.steps / t for t in times]
        rows.append({"mode": mode, "model": args.model, "models": args.stacked, "batch": len(y),
                     "model_steps_s": statistics.median(rates),
                     "model_steps_s_min": min(rates), "model_steps_s_max": max(rates), "width": args.width,
                     "depth": args.depth, "steps": args.steps, "repeats": args.repeats, "device": name,
                     "torch": torch.__version__, "threads": torch.get_num_threads()})
    for r in rows:
        r["ratio"] = r["model_steps_s"] / rows[0]["model_steps_s"]
    return rows


def stacked_main(argv: list[str]) -> int:
    """``repro bench --stacked N``: writes ``bench_stacked.csv`` and ``bench_stacked.json``."""
    args = stacked_parser().parse_args(argv)
    rows = run_stacked(args)
    out = Path(args.out)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "bench_stacked.csv", buf.getvalue())
    write_text(out / "bench_stacked.json", json.dumps({"rows": rows}, indent=2) + "\n")
    for r in rows:
        print(f"{r['mode']:>14}: {r['model_steps_s']:8.1f} model-steps/s ({r['ratio']:.2f}×), {r['models']} "
              f"{r['model']}s of width {r['width']}, batch {r['batch']}, {r['device']}")
    print(f"wrote {out / 'bench_stacked.csv'} and {out / 'bench_stacked.json'}")
    return 0

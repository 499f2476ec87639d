"""configs/slingshot/paper.yaml against openai/grok: its split, sequences, vocabulary, epoch, warm-up and loss, each
checked against a reference written here from openai/grok's code (not from ours)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from repro.data.modular import ModularDataModule, StepLoader
from repro.errors import ConfigValueError
from repro.models.transformer import OperandMLP, Transformer
from repro.papers.slingshot.method import Slingshot
from repro.training.optim import LinearWarmupLR
from repro.training.sequence_metrics import SequenceSplitMetrics

PAPER = Path(__file__).resolve().parents[3] / "configs" / "slingshot" / "paper.yaml"


def _grok_training_equations(p: int = 97, pct: float = 50) -> list[tuple[int, int, int]]:
    """openai/grok's data.py for "/", step by step: every (a, b) of range(p)², b = 0 skipped, c = a and
    a = b·c mod p, rendered "a / b = c", shuffled by np.random.RandomState(0), the first round(N·pct/100)."""
    eqs = []
    for a, b in itertools.product(range(p), range(p)):
        if b == 0:
            continue
        c = a
        a = (b * c) % p
        eqs.append(" ".join(map(str, [a, "/", b, "=", c])))
    np.random.RandomState(seed=0).shuffle(eqs)
    train_rows = round(len(eqs) * (pct / 100.0))
    return [(int(e.split()[0]), int(e.split()[2]), int(e.split()[4])) for e in eqs[:train_rows]]


def _paper_data(**overrides) -> ModularDataModule:
    args = dict(operation="/", prime=97, train_fraction=0.5, split_seed=0, split_shuffle="numpy", batch_size=512,
                drop_last=False, eos=True, vocab_size=239)
    data = ModularDataModule(**{**args, **overrides})
    data.setup()
    return data


def test_the_numpy_split_is_openai_grok_s_training_set_in_its_order():
    data = _paper_data()
    x = data.splits["train"]["x"]
    ours = list(zip(x[:, 1].tolist(), x[:, 3].tolist(), x[:, 5].tolist(), strict=True))
    assert ours == _grok_training_equations()  # the same 4656 equations, in the same order
    torch_split = _paper_data(split_shuffle="torch").splits["train"]["x"]
    shared = set(ours) & set(zip(torch_split[:, 1].tolist(), torch_split[:, 3].tolist(), torch_split[:, 5].tolist(),
                                 strict=True))
    assert len(shared) < 0.6 * len(ours)  # the torch shuffle is another split (about half in common)


def test_sequences_are_eos_a_op_b_eq_c_with_targets_c_and_eos():
    data = _paper_data()
    x, y = data.splits["train"]["x"], data.splits["train"]["y"]
    assert x.shape == (4656, 6) and y.shape == (4656, 2) and data.in_shape == (6,)
    eos, op, eq = data.eos_token, data.op_token, data.eq_token
    assert len({eos, op, eq, *range(97)}) == 100 and max(eos, op, eq) < 239
    assert (x[:, 0] == eos).all() and (x[:, 2] == op).all() and (x[:, 4] == eq).all()
    a, b, c = x[:, 1], x[:, 3], x[:, 5]
    assert ((b * c) % 97 == a).all()  # a / b = c
    assert (y[:, 0] == c).all() and (y[:, 1] == eos).all()  # tokens[1:] at the last two input positions
    assert data.num_classes == 239
    plain = ModularDataModule("/", prime=97)
    plain.setup()
    assert plain.in_shape == (4,) and plain.splits["train"]["y"].shape == (4656,) and plain.num_classes == 103


def test_a_vocabulary_smaller_than_the_tokens_is_a_config_error():
    with pytest.raises(ConfigValueError, match="vocab_size=100.*104"):
        ModularDataModule("/", prime=97, eos=True, vocab_size=100)
    with pytest.raises(ConfigValueError, match="split_shuffle"):
        ModularDataModule("/", prime=97, split_shuffle="python")


def test_the_epoch_keeps_its_short_last_batch():
    data = _paper_data()
    loader = data.train_dataloader()
    sizes = [len(b["y"]) for b in itertools.islice(iter(loader), 20)]
    assert sizes == [512] * 9 + [48] + [512] * 9 + [48]  # openai/grok: ceil(4656 / 512) = 10 batches an epoch
    seen = torch.cat([b["index"] for b in itertools.islice(iter(loader), 10)])
    assert sorted(seen.tolist()) == list(range(4656))  # each equation once per epoch
    dropped = StepLoader(data.splits["train"], batch_size=512, seed=0)
    assert [len(b["y"]) for b in itertools.islice(iter(dropped), 10)] == [512] * 10  # the old epoch: 9 batches


def test_the_warm_up_starts_from_zero_like_openai_grok():
    def grok_lr(step, max_lr=1.0, warmup_steps=10):  # training.py _scheduler_lr, anneal off
        return (float(step) / max(warmup_steps, 1)) * max_lr if step <= warmup_steps else max_lr

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    f = LinearWarmupLR(opt, warmup_steps=10, from_zero=True).factor
    assert [f(t) for t in range(30)] == [grok_lr(t) for t in range(30)]
    assert opt.param_groups[0]["lr"] == 0.0  # the first update has lr 0
    old = LinearWarmupLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), warmup_steps=10).factor
    assert old(0) == 0.1  # the default, (t+1)/10, stays as it was


def test_two_answer_positions_give_the_logits_of_c_and_eos():
    torch.manual_seed(0)
    model = Transformer(239, (6,), answer_positions=2).eval()
    x = _paper_data().splits["train"]["x"][:5]
    logits, features = model(x, return_features=True)
    every = model.forward_all(x)
    torch.testing.assert_close(logits, every[:, -2:])  # predicted at "=" (→ c) and at c (→ <eos>)
    h = model.hidden(x)
    torch.testing.assert_close(features[1], h[-1][:, -2])  # the features at "=", the answer's position
    # openai/grok's model size at its 239-token vocabulary: Thilak et al.'s "≈ 450K parameters"
    assert sum(p.numel() for p in model.parameters()) == 455_424
    with pytest.raises(ConfigValueError, match="answer_positions"):
        Transformer(239, (6,), answer_positions=7)
    with pytest.raises(ConfigValueError, match="eos: false"):
        OperandMLP(239, (6,))


def _grok_loss_and_accuracy(logits, y):
    """training.py _step / _accuracy: F.cross_entropy over (N, V, 2) with reduction mean, and an equation right
    only if the argmax is right at both answer positions."""
    y_hat = logits.transpose(-2, -1)
    loss = F.cross_entropy(y_hat, y, reduction="mean")
    right = torch.min(torch.max(y_hat, dim=-2).indices == y, dim=-1).values
    return loss, right.float().mean()


def test_the_loss_and_accuracy_cover_both_answer_tokens():
    torch.manual_seed(0)
    n, v = 64, 239
    y = torch.stack([torch.randint(0, 97, (n,)), torch.full((n,), 103)], 1)
    logits = torch.randn(n, 2, v) * 3
    logits[: n // 2, 0] += 20 * F.one_hot(y[: n // 2, 0], v)  # c right in the first half
    logits[::2, 1] += 20 * F.one_hot(y[::2, 1], v)  # <eos> right at even rows: both right for n/4 rows
    want_loss, want_acc = _grok_loss_and_accuracy(logits, y)
    model = Slingshot(lambda c, s: Transformer(c, s, width=16, heads=2, answer_positions=2), num_classes=v,
                      in_shape=(6,))
    got = model.member_losses(logits, {"y": y})
    torch.testing.assert_close(got, want_loss)
    # by hand: the mean of the two tokens' cross-entropies (c alone would weigh its gradient twice as much)
    hand = (F.cross_entropy(logits[:, 0], y[:, 0]) + F.cross_entropy(logits[:, 1], y[:, 1])) / 2
    torch.testing.assert_close(got, hand)
    metrics = SequenceSplitMetrics(v)
    metrics.update(logits[:40], y[:40], y[:40])
    metrics.update(logits[40:], y[40:], y[40:])
    out = metrics.compute()
    assert float(out["accuracy"]) == pytest.approx(float(want_acc)) == pytest.approx(0.25)
    torch.testing.assert_close(out["loss"], want_loss)
    logged = {}
    model.log_members = logged.update
    model.forward = lambda x: logits  # the batch's logits as given
    torch.testing.assert_close(model.training_loss({"x": None, "y": y}), want_loss)
    torch.testing.assert_close(logged["fit/error"], torch.tensor([0.75]))  # wrong unless both tokens are right


def test_stacked_members_each_get_their_two_token_loss():
    torch.manual_seed(0)
    data = _paper_data(prime=7, vocab_size=None, batch_size=0)
    batch = dict(data.splits["train"])

    def factory(c, s):
        return Transformer(c, s, width=16, heads=2, answer_positions=2)

    stacked = Slingshot(factory, num_classes=data.num_classes, in_shape=data.in_shape, stack_seeds=[3, 4])
    losses = stacked.member_losses(stacked(batch["x"]), batch)
    for i, seed in enumerate((3, 4)):
        torch.manual_seed(seed)
        single = Slingshot(factory, num_classes=data.num_classes, in_shape=data.in_shape)
        want, _ = _grok_loss_and_accuracy(single(batch["x"]), batch["y"])
        torch.testing.assert_close(losses[i], want, rtol=1e-5, atol=1e-6)


def test_the_paper_config_builds_openai_grok_s_model_and_data(tmp_path):
    from repro.lightning_cli import ReproCLI
    from repro.studies.study import Study

    study = Study.load(PAPER)
    spec = next(r for r in study.runs() if r.overrides["setting"] == "adam_eps1e-8")
    spec.config["run"] = {"out_dir": str(tmp_path)}
    spec.config["model"]["init_args"]["stack_seeds"] = None
    cli = ReproCLI(args=spec.config, run=False)
    model, data = cli.model, cli.datamodule
    assert model.num_classes == 239 and model.in_shape == (6,)
    assert sum(p.numel() for p in model.parameters()) == 455_424
    assert data.eos and not data.drop_last and data.split_shuffle == "numpy"
    config = model.configure_optimizers()
    assert config["optimizer"].param_groups[0]["lr"] == 0.0  # lr 0 at step 0, as openai/grok's LambdaLR


def test_a_two_token_run_trains_and_validates_on_whole_equations(tmp_path):
    """openai/grok's framing end to end (stacked transformers, all callbacks): the logged validation accuracy and
    loss are the final models' sequence accuracy and two-token loss, computed here from their logits."""
    import csv

    import pytorch_lightning as pl

    pl.seed_everything(0)
    data = ModularDataModule("/", prime=11, train_fraction=0.5, batch_size=16, drop_last=False, eos=True,
                             vocab_size=30, split_shuffle="numpy")
    model = Slingshot(lambda c, s: Transformer(c, s, width=16, heads=2, answer_positions=2),
                      num_classes=data.num_classes, in_shape=data.in_shape, stack_seeds=[0, 1],
                      feature_change_every=2, sharpness_every=2,
                      optimizer=lambda p: torch.optim.Adam(p, lr=0.01))
    logger = pl.loggers.CSVLogger(tmp_path, name="eos", version="")
    pl.Trainer(max_steps=8, val_check_interval=8, check_val_every_n_epoch=None, log_every_n_steps=1, logger=logger,
               enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
               num_sanity_val_steps=0, accelerator="cpu").fit(model, datamodule=data)
    logged = {}
    with open(Path(logger.log_dir) / "metrics.csv") as f:
        for row in csv.DictReader(f):
            logged.update({k: float(v) for k, v in row.items() if v and k not in ("step", "epoch")})
    assert {"member1/sharpness/update", "member0/features/change_l2", "member1/fit/error"} <= set(logged)
    val = data.splits["val"]
    with torch.no_grad():
        logits = model(val["x"])  # (2, N, 2, V)
    for i in range(2):
        loss, acc = _grok_loss_and_accuracy(logits[i], val["y"])
        assert logged[f"member{i}/val/accuracy"] == pytest.approx(float(acc), abs=1e-6)
        assert logged[f"member{i}/val/loss"] == pytest.approx(float(loss), rel=1e-5)

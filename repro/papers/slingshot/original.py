"""openai/grok's values that configs/slingshot/paper.yaml must match (tests/test_original_values.py checks each).

openai/grok at commit 3d64b1d8c1d595dd8ebdb7771998823f1b14c7b3 (its grok/*.py are unchanged since the first
commit, 43efed2): grok/data.py (``data.py``), grok/training.py (``training.py``), grok/transformer.py
(``transformer.py``). Thilak et al. released no code; where a value is the papers' and not the code's default,
the source says so. README.md shows the same table.
"""

from __future__ import annotations

from repro.papers import OriginalValue

_V = OriginalValue.at
_DATA = "data.init_args."
_MODEL = "model.init_args."
_BACKBONE = "model.init_args.backbone.init_args."
_OPT = "model.init_args.optimizer.init_args."
_WARMUP = "model.init_args.lr_scheduler.init_args."

ORIGINAL = {
    "paper.yaml": [
        _V(_DATA + "operation", "/", "training.py --math_operator (default +); Power et al. Fig. 1 and Thilak et al.: "
           "division; data.py _make_binary_operation_data writes (x·y mod 97) / y = x for y ≠ 0"),
        _V(_DATA + "prime", 97, "data.py MODULUS = 97"),
        _V(_DATA + "train_fraction", 0.5, "training.py --train_data_pct (default 5); Power et al. Fig. 1: 50%"),
        _V(_DATA + "split_seed", 0, "data.py make_data(seed=0): the shuffle seed is fixed"),
        _V(_DATA + "split_shuffle", "numpy", "data.py make_data: np.random.RandomState(seed).shuffle of the "
           "equation list, then the first round(N·pct/100) for training (calc_split_len)"),
        _V(_DATA + "eos", True, "data.py make_data: '<|eos|> ' + eq + ' <|eos|>'; ArithmeticIterator: input "
           "tokens[:-1], target tokens[1:]; training.py _step: loss and accuracy on the targets after '=' (c and "
           "the final <|eos|>)"),
        _V(_DATA + "vocab_size", 239, "data.py ArithmeticTokenizer.get_tokens: <|eos|>, =, 20 operators, 97 "
           "numbers, 120 S5 permutations"),
        _V(_DATA + "batch_size", 512, "data.py calculate_batchsize(batchsize_hint=0): min(512, ceil(N/2)) = 512 "
           "at N = 4656; training.py --batchsize default 0"),
        _V(_DATA + "drop_last", False, "data.py ArithmeticIterator.__next__: batches until the data runs out, "
           "the last one short (4656 = 9·512 + 48)"),
        _V(_BACKBONE + "depth", 2, "training.py --n_layers 2"),
        _V(_BACKBONE + "width", 128, "training.py --d_model 128"),
        _V(_BACKBONE + "heads", 4, "training.py --n_heads 4"),
        _V(_BACKBONE + "answer_positions", 2, "training.py _step: the two target positions after '='"),
        _V(_OPT + "lr", 1e-3, "training.py --max_lr 1e-3 (CustomAdamW lr=1 × the schedule)"),
        _V(_OPT + "betas", [0.9, 0.98], "training.py configure_optimizers: betas=(0.9, 0.98)"),
        _V(_OPT + "eps", 1e-8, "training.py configure_optimizers: eps=1e-8", setting="adam_eps1e-8"),
        _V(_OPT + "weight_decay", 0.0, "training.py --weight_decay default 0 (Thilak et al.: no weight decay)",
           setting="adam_eps1e-8"),
        _V(_OPT + "weight_decay", 1.0, "Power et al.'s weight decay 1 (training.py --weight_decay; decoupled, "
           "p ← p·(1 − lr·wd), as torch.optim.AdamW)", setting="adamw_wd1"),
        _V(_WARMUP + "warmup_steps", 10, "training.py --warmup_steps 10"),
        _V(_WARMUP + "from_zero", True, "training.py _scheduler_lr: lr = step/10 · max_lr for step ≤ 10 (0 at "
           "step 0), stepped per update"),
        _V(_MODEL + "scheduler_interval", "step", "training.py configure_optimizers: interval 'step'"),
        _V("trainer.max_steps", 100000, "training.py --max_steps default 100000", setting="adamw_wd1"),
        _V("trainer.precision", "32-true", "training.py: the model in float32 (.float())"),
    ],
}

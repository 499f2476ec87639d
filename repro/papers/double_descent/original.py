"""The original setup, value by value, that the paper configs must match (``tests/test_original_values.py``).

The authors' repository (gitlab.com/harvard-machine-learning/double-descent) holds the model definitions but no
training loop: training values come from the paper (Sec. 4 and App. B, "Adam with learning-rate 0.0001 for 4K
epochs; SGD with learning rate ∝ 1/√T for 500K gradient steps") and the released per-epoch results.
"""

from repro.papers import OriginalValue

V = OriginalValue.at
PAPER = "arXiv:1912.02292 App. B"
MODELS = "official models/resnet18k.py and models/mcnn.py"

_ADAM_RESNET = [
    V("model.init_args.backbone.class_path", "repro.models.PreActResNet18", f"{MODELS}: pre-activation ResNet18(k)"),
    V("model.init_args.optimizer.class_path", "torch.optim.Adam", PAPER),
    V("model.init_args.optimizer.init_args.lr", 1e-4, PAPER),
    V("model.init_args.optimizer.init_args.betas", [0.9, 0.999], f"{PAPER}: PyTorch defaults otherwise"),
    V("model.init_args.optimizer.init_args.weight_decay", 0.0, f"{PAPER}: no explicit regularisation"),
    V("model.init_args.lr_scheduler", None, f"{PAPER}: constant learning rate"),
    V("trainer.max_epochs", 4000, PAPER),
    V("trainer.precision", "32-true", "fp32 (2019 code, no mixed precision)"),
    V("data.init_args.batch_size", 128, PAPER),
    V("data.init_args.augment", True, f"{PAPER}: RandomCrop(32, padding 4) + horizontal flip"),
    V("data.init_args.crop_padding", 4, PAPER),
    V("data.init_args.noise_kind", "uniform_incorrect", f"{PAPER}: a wrong label drawn uniformly, once"),
]

ORIGINAL = {
    "paper.yaml": [*_ADAM_RESNET, V("data.init_args.label_noise", 0.15, "Figure 1 caption: 15% label noise")],
    "paper_epochwise.yaml": [*_ADAM_RESNET, V("data.init_args.label_noise", 0.2, "Figure 9: 20% label noise"),
                             V("trainer.check_val_every_n_epoch", 1, "released Figure 9 data: test error every epoch")],
    "paper_cnn.yaml": [
        V("model.init_args.backbone.class_path", "repro.models.FiveLayerCNN", MODELS),
        V("model.init_args.optimizer.class_path", "torch.optim.SGD", PAPER),
        V("model.init_args.optimizer.init_args.lr", 0.1, f"{PAPER}: γ0 = 0.1"),
        V("model.init_args.optimizer.init_args.momentum", 0.0, f"{PAPER}: SGD without momentum"),
        V("model.init_args.optimizer.init_args.weight_decay", 0.0, PAPER),
        V("model.init_args.lr_scheduler.class_path", "repro.training.optim.InverseSqrtLR", f"{PAPER}: γ0/√(1+⌊t/L⌋)"),
        V("model.init_args.lr_scheduler.init_args.step_size", 512, f"{PAPER}: L = 512"),
        V("model.init_args.scheduler_interval", "step", f"{PAPER}: t counts gradient steps"),
        V("trainer.max_steps", 500000, f"{PAPER}: 500K gradient steps"),
        V("data.init_args.batch_size", 128, PAPER),
        V("data.init_args.noise_kind", "uniform_incorrect", PAPER),
    ],
}

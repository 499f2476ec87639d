"""The original setups, value by value, that the paper configs must match (``tests/test_original_values.py``).

He et al.'s code (github.com/he-zh/sparse-double-descent at f9bbdcc, built on open_lth) for ``paper.yaml``;
DSD²'s (github.com/VGCQ/DSD2 at 1b99193) for ``paper_dsd2.yaml``. Paths and line numbers refer to those commits.
"""

from repro.papers import OriginalValue

V = OriginalValue.at
HE = "he-zh/sparse-double-descent"
HE_RUN = f"{HE} README rewindLR command (--levels=30 --random_labels_fraction=0.2 --dataset_name=cifar10)"
HE_DEF = f"{HE} models/cifar_pytorch_resnet.py:119-145 default_hparams"
DSD = "VGCQ/DSD2"
DSD_MAIN = f"{DSD} main.py:46-59 (CIFAR-10 branch)"


def _shared(source: str, main: str, loop: str) -> list[OriginalValue]:
    """The values both codes share (SGD, schedule, batch, augmentation, normalisation, pruning rate)."""
    return [
        V("model.init_args.optimizer.class_path", "torch.optim.SGD", main),
        V("model.init_args.optimizer.init_args.lr", 0.1, main),
        V("model.init_args.optimizer.init_args.momentum", 0.9, main),
        V("model.init_args.optimizer.init_args.weight_decay", 0.0001, f"{main}: on every parameter"),
        V("model.init_args.optimizer.init_args.nesterov", False, main),
        V("model.init_args.lr_scheduler.init_args.milestones", [80, 120], main),
        V("model.init_args.lr_scheduler.init_args.gamma", 0.1, main),
        V("model.init_args.lr_scheduler.init_args.warmup_epochs", 0, f"{main}: no warm-up"),
        V("model.init_args.epochs_per_round", 160, main),
        V("model.init_args.prune_rate", 0.2, loop),
        V("model.init_args.retrain", "lr_rewind", f"{loop}: each round retrains from the current weights, fresh "
                                                   "optimizer, full schedule"),
        V("model.init_args.prune_exclude", [], f"{loop}: every Conv2d/Linear weight of the ResNet-18"),
        V("model.init_args.backbone.class_path", "repro.models.resnet18_basic.BasicResNet18", source),
        V("model.init_args.backbone.init_args.width", 64, f"{source}: stages of 64/128/256/512 channels"),
        V("data.init_args.source", "cifar10", main),
        V("data.init_args.batch_size", 128, main),
        V("data.init_args.augment", True, f"{main}: RandomHorizontalFlip + RandomCrop(32, 4)"),
        V("data.init_args.crop_padding", 4, main),
        V("data.init_args.mean", [0.485, 0.456, 0.406], f"{main}: the ImageNet statistics"),
        V("data.init_args.std", [0.229, 0.224, 0.225], main),
        V("trainer.precision", "32-true", f"{main}: fp32, no autocast"),
    ]


ORIGINAL = {
    "paper.yaml": [
        *_shared(f"{HE} models/cifar_pytorch_resnet.py:24-51 (torchvision BasicBlock [2,2,2,2], max-pool commented "
                 "out)", f"{HE_DEF}; {HE_RUN}", f"{HE} pruning/magnitude.py:68-85, experiments/rewindLR/runner.py:"
                 "111-141"),
        V("model.init_args.backbone.init_args.maxpool", False, f"{HE} models/cifar_pytorch_resnet.py:27,51"),
        V("model.init_args.backbone.init_args.init", "kaiming_fan_in",
          f"{HE_DEF}: model_init=kaiming_normal (models/initializers.py:16-18, fan_in), batchnorm_init=uniform "
          "(models/bn_initializers.py:9-12)"),
        V("model.init_args.rounds", 30, HE_RUN),
        V("trainer.max_epochs", 31 * 160, f"{HE_RUN}: levels 0..30 of 160 epochs"),
        V("data.init_args.label_noise", 0.2, HE_RUN),
        V("data.init_args.noise_kind", "symmetric", f"{HE} datasets/base.py:61-67: randint(C), may keep the label"),
        V("data.init_args.noise_seed", None, f"{HE} main.py:62-75: --fix_all_random_seeds also seeds the noise draw"),
        V("seed_everything", 1, f"{HE_RUN}: --fix_all_random_seeds=1"),
    ],
    "paper_dsd2.yaml": [
        *_shared(f"{DSD} utils/models.py:153-248", DSD_MAIN, f"{DSD} main.py:245-263"),
        V("model.init_args.backbone.init_args.maxpool", True, f"{DSD} utils/models.py:233-248: MaxPool(3, 2, 1) kept"),
        V("model.init_args.backbone.init_args.init", "torchvision",
          f"{DSD} utils/models.py:175-180: conv kaiming_normal fan_out, BN γ=1 β=0"),
        V("model.init_args.rounds", 34, f"{DSD} main.py:245 and kd.py:260: range(1, 35)"),
        V("trainer.max_epochs", 35 * 160, f"{DSD} main.py:245: the dense round and 34 pruned ones of 160 epochs"),
        V("data.init_args.noise_kind", "uniform_incorrect", f"{DSD} main.py:72-78: redrawn until ≠ the true label"),
        V("data.init_args.label_noise", 0.5, f"{DSD} --amount_noise; paper: ε ∈ {{10, 20, 50}}%",
          label_noise=0.5),
        V("model.init_args.alpha", 0.8, f"{DSD} kd.py:30 default"),
        V("model.init_args.temperature", 10.0, f"{DSD} kd.py:31 default"),
        V("seed_everything", 0, f"{DSD} main.py:28: --seed default 0"),
    ],
}

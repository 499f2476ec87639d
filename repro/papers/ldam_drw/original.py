"""The original code's values, value by value, that ``configs/ldam_drw/paper.yaml`` must match
(``tests/test_original_values.py``). Source: kaidic/LDAM-DRW at commit 2536330 (the training code is unchanged
since 2019): ``cifar_train.py`` (CT), ``losses.py`` (L), ``models/resnet_cifar.py`` (RC)."""

from repro.papers import OriginalValue

V = OriginalValue.at
CT, L, RC = "kaidic/LDAM-DRW@2536330 cifar_train.py", "kaidic/LDAM-DRW@2536330 losses.py", \
    "kaidic/LDAM-DRW@2536330 models/resnet_cifar.py"

ORIGINAL = {
    "paper.yaml": [
        V("model.init_args.backbone.class_path", "repro.models.resnet_cifar.ResNetCifar", f"{RC}: resnet32"),
        V("model.init_args.backbone.init_args.blocks", 5, f"{RC}: ResNet_s(BasicBlock, [5, 5, 5])"),
        V("model.init_args.backbone.init_args.width", 16, f"{RC}: 16/32/64 channels"),
        V("model.init_args.optimizer.class_path", "torch.optim.SGD", f"{CT} L116"),
        V("model.init_args.optimizer.init_args.lr", 0.1, f"{CT} --lr 0.1"),
        V("model.init_args.optimizer.init_args.momentum", 0.9, f"{CT} --momentum 0.9"),
        V("model.init_args.optimizer.init_args.weight_decay", 2e-4, f"{CT} --wd 2e-4 (PyTorch SGD, no conversion)"),
        V("model.init_args.optimizer.init_args.nesterov", False, f"{CT}: plain momentum"),
        V("model.init_args.lr_scheduler.class_path", "repro.training.optim.WarmupMultiStepLR",
          f"{CT} adjust_learning_rate"),
        V("model.init_args.lr_scheduler.init_args.warmup_epochs", 5, f"{CT} L366-378: linear warm-up, 5 epochs"),
        V("model.init_args.lr_scheduler.init_args.milestones", [160, 180], f"{CT} L366-378"),
        V("model.init_args.lr_scheduler.init_args.gamma", 0.01, f"{CT} L366-378: ×0.01 at each milestone"),
        V("model.init_args.drw_epoch", 160, f"{CT} L199-206: idx = epoch // 160"),
        V("model.init_args.cb_beta", 0.9999, f"{CT} L199-206: betas = [0, 0.9999]"),
        V("model.init_args.weights", "class_balanced", f"{CT} L194-198: effective-number weights"),
        V("model.init_args.max_margin", 0.5, f"{CT} L213: max_m=0.5"),
        V("model.init_args.scale", 30.0, f"{L} LDAMLoss s=30"),
        V("model.init_args.focal_gamma", 1.0, f"{CT} L215: FocalLoss(gamma=1)", method="Focal"),
        V("trainer.max_epochs", 200, f"{CT} --epochs 200"),
        V("trainer.check_val_every_n_epoch", 1, f"{CT} L224: validates every epoch (tracks best_acc1)"),
        V("trainer.precision", "32-true", f"{CT}: fp32, no autocast"),
        V("data.init_args.batch_size", 128, f"{CT} --batch-size 128"),
        V("data.init_args.augment", True, f"{CT} L141-151: RandomCrop(32, 4) + RandomHorizontalFlip"),
        V("data.init_args.crop_padding", 4, f"{CT} L141-151"),
        V("data.init_args.mean", [0.4914, 0.4822, 0.4465], f"{CT} L141-151: for CIFAR-10 and CIFAR-100"),
        V("data.init_args.std", [0.2023, 0.1994, 0.2010], f"{CT} L141-151: for CIFAR-10 and CIFAR-100"),
        V("data.init_args.imbalance_kind", "exp", "imbalance_cifar.py: n_i = int(n_max·ρ^(−i/(C−1)))",
          imbalance_kind="exp"),
    ],
}

"""The official code's values (github.com/vikasverma1077/manifold_mixup, ``supervised/`` at commit 870ef77) that
``configs/manifold_mixup/paper.yaml`` must match, each with its source; ``tests/test_original_values.py`` checks every
one against the resolved config of the grid point ``where`` names, and README.md shows the same table.

Sources: ``main.py`` = supervised/main.py, ``load_data.py`` = supervised/load_data.py, ``preresnet.py`` /
``wide_resnet.py`` = supervised/models/…, README = supervised/README.md (the commands that produced the tables),
App. C = the paper's appendix (v7).
"""

from repro.papers import OriginalValue

V = OriginalValue.at
CIFAR10_MEAN = [125.3 / 255, 123.0 / 255, 113.9 / 255]
CIFAR10_STD = [63.0 / 255, 62.1 / 255, 66.7 / 255]
CIFAR100_MEAN = [129.3 / 255, 124.1 / 255, 112.4 / 255]
CIFAR100_STD = [68.2 / 255, 65.4 / 255, 70.4 / 255]

ORIGINAL = {
    "paper.yaml": [
        V("model.init_args.optimizer.class_path", "torch.optim.SGD", "main.py L391-392: torch.optim.SGD(...)"),
        V("model.init_args.optimizer.init_args.lr", 0.1, "README commands: --learning_rate 0.1 (main.py L63 default)"),
        V("model.init_args.optimizer.init_args.momentum", 0.9, "README commands: --momentum 0.9"),
        V("model.init_args.optimizer.init_args.nesterov", True, "main.py L392: nesterov=True (paper: SGD+momentum)"),
        V("model.init_args.optimizer.init_args.weight_decay", 0.0001, "README commands: --decay 0.0001 (coupled L2)"),
        V("model.init_args.lr_scheduler.init_args.gamma", 0.1, "README commands: --gammas 0.1 …; main.py L152-163 "
          "multiplies the lr per epoch at each milestone"),
        V("model.init_args.lr_scheduler.init_args.warmup_epochs", 0, "main.py L152-163: no warm-up"),
        V("trainer.max_epochs", 1200, "App. C: PreActResNets 1200 epochs for Tables 1-2 (README: 2000)",
          net="PreActResNet-18"),
        V("model.init_args.lr_scheduler.init_args.milestones", [400, 800], "App. C: ÷10 at 400 and 800 (README: "
          "500, 1000, 1500)", net="PreActResNet-34"),
        V("trainer.max_epochs", 400, "App. C and README: WRN-28-10 --epochs 400", net="WRN-28-10"),
        V("model.init_args.lr_scheduler.init_args.milestones", [200, 300], "App. C and README: --schedule 200 300",
          net="WRN-28-10"),
        V("data.init_args.batch_size", 100, "main.py L62: --batch_size default 100"),
        V("model.init_args.loss", "softmax_bce", "main.py L184-185, L221, L237, L254, L268: bce_loss(softmax(output), "
          "reweighted_target) for every --train mode"),
        V("model.init_args.eligible", [], "main.py --train vanilla: no mixing", method="none"),
        V("model.init_args.eligible", ["input"], "preresnet.py L108-109: mixup → layer_mix = 0", method="input"),
        V("model.init_args.alpha", 1.0, "README commands: --train mixup --mixup_alpha 1.0", method="input"),
        V("model.init_args.eligible", ["input", "stage1", "stage2"], "preresnet.py L106-107: layer_mix = "
          "random.randint(0, 2), after layer1 / layer2", method="manifold", net="PreActResNet-18"),
        V("model.init_args.eligible", ["input", "stage1", "stage2"], "wide_resnet.py L120-121: random.randint(0, 2) "
          "(App. C says input and stage 1 only)", method="manifold", net="WRN-28-10"),
        V("model.init_args.alpha", 2.0, "README commands: --train mixup_hidden --mixup_alpha 2.0", method="manifold"),
        V("model.init_args.backbone.init_args.width", 64, "main.py L52: --initial_channels 64", net="PreActResNet-18"),
        V("model.init_args.backbone.class_path", "repro.models.resnet.PreActResNet34", "preresnet.py L156-157: "
          "PreActBlock, [3, 4, 6, 3]", net="PreActResNet-34"),
        V("model.init_args.backbone.init_args.depth", 28, "README: --arch wrn28_10", net="WRN-28-10"),
        V("model.init_args.backbone.init_args.width", 10, "README: --arch wrn28_10", net="WRN-28-10"),
        V("model.init_args.backbone.init_args.dropout", 0.0, "wide_resnet.py L1: dropout removed", net="WRN-28-10"),
        V("data.init_args.augment", True, "main.py L65: --data_aug default 1"),
        V("data.init_args.crop_padding", 2, "load_data.py L177-182: RandomCrop(32, padding=2)", dataset="CIFAR-10"),
        V("data.init_args.flip", True, "load_data.py L177-182: RandomHorizontalFlip()", dataset="CIFAR-100"),
        V("data.init_args.crop_padding", 2, "load_data.py L151-154: RandomCrop(32, padding=2)", dataset="SVHN"),
        V("data.init_args.flip", False, "load_data.py L151-154: no flip for SVHN", dataset="SVHN"),
        V("data.init_args.max_per_class", 5000, "README: --labels_per_class 5000 (all of CIFAR-10)",
          dataset="CIFAR-10"),
        V("data.init_args.max_per_class", 500, "README: --labels_per_class 500 (all of CIFAR-100)",
          dataset="CIFAR-100"),
        V("data.init_args.max_per_class", 7325, "README: --labels_per_class 7325; load_data.py L239-262 keeps the "
          "first 7325 per class of a shuffled order", dataset="SVHN"),
        V("data.init_args.mean", CIFAR10_MEAN, "load_data.py L133-134", dataset="CIFAR-10"),
        V("data.init_args.std", CIFAR10_STD, "load_data.py L133-134", dataset="CIFAR-10"),
        V("data.init_args.mean", CIFAR100_MEAN, "load_data.py L136-137", dataset="CIFAR-100"),
        V("data.init_args.std", CIFAR100_STD, "load_data.py L136-137", dataset="CIFAR-100"),
        V("data.init_args.mean", [0.5, 0.5, 0.5], "load_data.py L139-140: 127.5 / 255", dataset="SVHN"),
        V("data.init_args.std", [0.5, 0.5, 0.5], "load_data.py L139-140: 127.5 / 255", dataset="SVHN"),
    ],
}

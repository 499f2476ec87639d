"""The paper config's values beside their sources (checked by tests/test_original_values.py; the same table is in
README.md).

There is no official code, and the paper's text could not be read here (only its abstract): every value below is
read from the code of public reproductions at the commits named, and none is verified against the paper itself.
Values the reproductions do not settle — the weight ratios (quoted from the arXiv abstract by a secondary source),
the L2 grid, the dropout rate, the seed count — are our choices and are not listed as targets.
"""

from __future__ import annotations

from repro.papers import OriginalValue

V = OriginalValue.at
K = "KeAWang/importance-weighting-interpolating-classifiers"
H = "hjw9673/importance-weighting-in-deep-learning"
VT = "thnhan05/Understand-the-Effect-of-Importance-Weighting-in-Deep-Learning-on-Dataset-Shift"
K_EXP = f"{K} configs/experiment/cifar10_binary_reweigh.yaml@0be66f6"
H_CFG = f"{H} src/config/config.py@2284a20"
H_RUN = f"{H} run.py@30983b3"
H_MODEL = f"{H} src/models/models.py@32bf822"
K_DATA = f"{K} src/pl_datamodules/imbalanced_datamodule.py@03b0b18"
VT_CODE = f"{VT} CIFAR10_binary_classifier.py@ca00a5d"

_CIFAR = [
    V("data.init_args.source", "cifar10", f"{K_EXP}; {H_CFG}"),
    V("data.init_args.classes", [3, 5], f"{K_EXP} (desired_classes: [3, 5]); {H_CFG} (class_a_index 5 = dog, "
                                        "class_b_index 3 = cat)"),
    V("model.init_args.up_class", 1, f"{H_CFG}: dog (class 5, our label 1) is the weighted class a"),
    V("data.init_args.batch_size", 16, f"{K_EXP} (batch_size: 16); {H_CFG} (--batch_size 16)"),
    V("data.init_args.augment", False, f"{K_DATA} and {VT_CODE}: normalisation only; {H} get_dataloaders.py@32bf822"),
    V("data.init_args.mean", [0.4914, 0.4822, 0.4465], f"{VT_CODE} (transforms.Normalize); {K_DATA}"),
    V("data.init_args.std", [0.247, 0.243, 0.261], f"{VT_CODE} (transforms.Normalize); {K_DATA}"),
    V("model.init_args.optimizer.class_path", "torch.optim.SGD", f"{K} configs/optimizer/sgd.yaml@0be66f6; {H_RUN}"),
    V("model.init_args.optimizer.init_args.lr", 0.1, f"{K_EXP} (lr: 0.1); {H_CFG} (--lr 0.1)"),
    V("model.init_args.optimizer.init_args.momentum", 0.0, f"{K} configs/optimizer/sgd.yaml@0be66f6 (lr only); "
                                                           f"{H_RUN} (SGD without momentum)"),
    V("trainer.max_epochs", 1000, f"{K_EXP} (max_epochs: 1000); {H_CFG} (--epoch 1000)"),
]

ORIGINAL = {
    "paper.yaml": [
        *_CIFAR,
        V("model.init_args.backbone.class_path", "repro.papers.importance_weighting.models.ConvNet",
          f"{K} src/architectures/simple_models.py@0be66f6 (ConvNet, 'same architecture as Byrd & Lipton'); "
          f"{H_MODEL} (CustomCNN): conv3x3-64 ×2, pool, conv3x3-128 ×3, pool, FC-512, FC-128, no padding"),
        V("model.init_args.num_classes", 2, f"{K} and {VT_CODE}: two logits ({H} uses ten and reads logit 5)"),
        V("model.init_args.optimizer.init_args.weight_decay", 0.0, f"{H_CFG} (--l2_penalty 0 by default)"),
        V("model.init_args.weight_decays", [0.0], f"{H_CFG} (--l2_penalty 0 by default)", setting="none"),
        V("model.init_args.reduction", "weight_sum", f"{H_RUN} and {VT_CODE}: nn.CrossEntropyLoss(weight=w), whose "
                                                     f"mean divides by the batch's weight sum ({K} divides by n)"),
        V("data.init_args.noise_pool_size", 1000, f"{VT_CODE} (np.random.rand(1000, 32, 32, 3))"),
        V("model.init_args.optimizer.init_args.lr", 0.05, "the public reproductions' write-ups: lr 0.05 for the "
          "dropout models 'as suggested by Byrd & Lipton' (the paper's text, not read here); their code has one "
          f"--lr (0.1 in {H_CFG}, 0.01 by default in {VT_CODE})", setting="dropout"),
    ],
    "paper_bn.yaml": [
        *_CIFAR,
        V("model.init_args.backbone.class_path", "repro.papers.importance_weighting.models.SmallResNet", H_MODEL),
        V("model.init_args.backbone.init_args.blocks", 2, f"{H_MODEL} (ResNet layers [2, 2, 2] in {H_RUN})"),
        V("model.init_args.backbone.init_args.batch_norm", True, f"{H_CFG} (--use_batchnorm 1)", batch_norm="on"),
        V("model.init_args.backbone.init_args.batch_norm", False, f"{H_CFG} (--use_batchnorm 0)", batch_norm="off"),
    ],
}

"""The original code's values, value by value, that ``configs/loss_correction/paper.yaml`` must match
(``tests/test_original_values.py``). Source: giorgiop/loss-correction at commit 15a79de (code unchanged since
2018-10): ``experiment.py`` (E), ``models.py`` (M), ``loss.py`` (L), ``noise.py`` (N). Keras 2.0 defaults are
named as such (Adagrad ε = K.epsilon() = 1e-8 in its optimizer, clip ε = 1e-7 in the losses)."""

from repro.papers import OriginalValue

V = OriginalValue.at
REPO = "giorgiop/loss-correction@15a79de"
E, M, L, N = f"{REPO} experiment.py", f"{REPO} models.py", f"{REPO} loss.py", f"{REPO} noise.py"

ORIGINAL = {
    "paper.yaml": [
        V("data.init_args.source", "mnist", f"{E}: -d mnist"),
        V("data.init_args.batch_size", 128, f"{E} L184: num_batch = 128 (overrides the classes' 32)"),
        V("data.init_args.val_size", 6000, f"{E} L36: val_split = 0.1 of the 60k training images"),
        V("data.init_args.noisy_val", True, f"{E} L70-85: noise on the whole training set, then {M} L125-130 "
          "validation_split takes the held-out part of the noisy labels"),
        V("data.init_args.noise_kind", "mnist_pairs", f"{N} L129-161: 7→1, 2→7, 3→8, 5→6, 6→5, each with prob N"),
        V("data.init_args.noise_seed", None, f"{N} L87-109 / {E} L71-85: RandomState(run) — redrawn per run"),
        V("data.init_args.mean", [0.0], f"{M} L162-164: X / 255, no centring"),
        V("data.init_args.std", [1.0], f"{M} L162-164: X / 255, no scaling"),
        V("model.init_args.backbone.class_path", "repro.models.dropout_mlp.DropoutMLP", f"{M} L168-187"),
        V("model.init_args.backbone.init_args.width", 128, f"{M} L168-187: Dense(128) twice"),
        V("model.init_args.backbone.init_args.depth", 2, f"{M} L168-187"),
        V("model.init_args.backbone.init_args.dropout", 0.2, f"{M} L168-187: Dropout(0.2) after each hidden layer"),
        V("model.init_args.backbone.init_args.init", "he_truncated_normal",
          f"{M} L168-187: kernel_initializer='he_normal' (Keras 2: truncated normal, zero bias)"),
        V("model.init_args.optimizer.class_path", "torch.optim.Adagrad", f"{E} L40: Adagrad()"),
        V("model.init_args.optimizer.init_args.lr", 0.01, f"{E} L40: Keras 2.0 Adagrad default lr"),
        V("model.init_args.optimizer.init_args.eps", 1e-8, f"{E} L40: Keras 2.0 Adagrad default epsilon"),
        V("model.init_args.optimizer.init_args.initial_accumulator_value", 0.0, "Keras 2.0 Adagrad: zero accumulators"),
        V("model.init_args.optimizer.init_args.weight_decay", 0.0, f"{M} L168-187: no kernel_regularizer"),
        V("model.init_args.lr_scheduler", None, f"{M} L153: constant learning rate (no callback)"),
        V("trainer.max_epochs", 40, f"{M} L153: epochs = 40"),
        V("trainer.check_val_every_n_epoch", 1, f"{M} L94-99: ModelCheckpoint checks val_loss every epoch"),
        V("model.init_args.checkpoint_best", "val/objective",
          f"{M} L94-99: ModelCheckpoint(monitor='val_loss', save_best_only=True), the run's own loss"),
        V("model.init_args.restore_best", True, f"{M} L133: best weights reloaded before the test"),
        V("model.init_args.estimate_transition", True, f"{E} L98-108: the crossentropy run is stage 1", method="CE"),
        V("model.init_args.estimator_percentile", 97.0, f"{M} L442-446: np.percentile(.., 97, 'higher'); {E} "
          "L59-62 filter_outlier=True except cifar100"),
        V("model.init_args.estimator_in_place_outliers", False, f"{M} L442-446 zero a numpy view in place; we use "
          "the clean copy (the quirk is a named option)"),
        V("model.init_args.loss", "forward", f"{L} L23-29 'forward'", method="forward_T"),
        V("model.init_args.loss", "backward", f"{L} L15-21 'backward'", method="backward_T"),
        V("model.init_args.transition", "true", f"{E} L98-108: the known-T runs use the generating T",
          method="forward_T"),
        V("model.init_args.bootstrap_beta", 0.95, f"{L} L56-62: beta = 0.95", method="boot_soft"),
        V("model.init_args.logit_batchnorm", None, f"{M} L28, L180-181: BatchNorm on the logits for unhinged, "
          "ramp, sigmoid (None = on for unhinged and sigmoid)", method="unhinged"),
    ],
}

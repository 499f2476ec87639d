"""The original code's values, value by value, that ``configs/loss_correction/paper.yaml`` must match
and the other paper configs must match (``tests/test_original_values.py``). Source: giorgiop/loss-correction at
commit 15a79de (code unchanged since 2018-10): ``experiment.py`` (E), ``models.py`` (M), ``loss.py`` (L),
``noise.py`` (N), ``resnet.py`` (R). Keras 2.0 defaults are named as such (Adagrad ε = K.epsilon() = 1e-8 in its
optimizer, clip ε = 1e-7 in the losses, SGD without Nesterov). A Keras ``l2(λ)`` kernel regularizer adds λ‖w‖² to
the loss, whose gradient 2λw is what PyTorch's ``weight_decay`` adds: it appears here as 2λ.

In the code, not the config: ``loss.py`` L8-13 clips p̂ to [1e-7, 1 − 1e-7] after renormalising, for every loss,
cross-entropy included (``y_pred /= y_pred.sum(axis=-1, keepdims=True); y_pred = K.clip(y_pred, K.epsilon(),
1.0 - K.epsilon()); return -K.sum(y_true * K.log(y_pred), axis=-1)``): our CE rows and stage 1 use the same clip
(``losses.clipped_cross_entropy``, pinned by ``test_cross_entropy_is_the_originals_clipped_one``). Departure:
Keras' ``val_loss``, which the checkpoint monitors (M L94-99), is the total loss, the L2 penalty λ‖w‖² included;
our ``val/objective`` is the data loss alone (weight decay lives in the optimizer, not in the loss). It matters only
where λ > 0 (the CIFAR configs), where the two can pick different epochs; the MNIST, IMDB and quick studies have
no L2 and select identically."""

from repro.papers import OriginalValue

V = OriginalValue.at
REPO = "giorgiop/loss-correction@15a79de"
E, M, L, N = f"{REPO} experiment.py", f"{REPO} models.py", f"{REPO} loss.py", f"{REPO} noise.py"
R = f"{REPO} resnet.py"
PAPER_C1M = "Patrini et al. 2017, the Clothing1M table"

def _selection_and_methods(epochs: int, epochs_source: str, bounded_source: str, percentile: bool = True) -> list:
    """The values every study of the released code shares: epochs, model selection on the noisy validation loss,
    the stage-1 estimate, the corrected and baseline losses."""
    values = [
        V("trainer.max_epochs", epochs, epochs_source),
        V("trainer.check_val_every_n_epoch", 1, f"{M} L94-99: ModelCheckpoint checks val_loss every epoch"),
        V("model.init_args.checkpoint_best", "val/objective",
          f"{M} L94-99: ModelCheckpoint(monitor='val_loss', save_best_only=True), the run's own loss"),
        V("model.init_args.restore_best", True, f"{M} L133: best weights reloaded before the test"),
        V("model.init_args.estimate_transition", True, f"{E} L98-108: the crossentropy run is stage 1", method="CE"),
        V("model.init_args.loss", "forward", f"{L} L23-29 'forward'", method="forward_T"),
        V("model.init_args.loss", "backward", f"{L} L15-21 'backward'", method="backward_T"),
        V("model.init_args.transition", "true", f"{E} L98-108: the known-T runs use the generating T",
          method="forward_T"),
        V("model.init_args.bootstrap_beta", 0.95, f"{L} L56-62: beta = 0.95", method="boot_soft"),
        V("model.init_args.logit_batchnorm", None, bounded_source, method="unhinged"),
    ]
    if percentile:
        values.append(V("model.init_args.estimator_percentile", 97.0, f"{M} L442-446: np.percentile(.., 97, "
                        f"'higher'); {E} L59-62 filter_outlier=True for every dataset but cifar100"))
    values.append(V("model.init_args.estimator_in_place_outliers", True,
                    f"{M} L442-446: eta_thresh = np.percentile(eta_corr[:, i], 97, 'higher'); robust_eta = "
                    "eta_corr[:, i]; robust_eta[robust_eta >= eta_thresh] = 0.0 — a numpy view, so the zeroing "
                    "writes into eta_corr and later columns' anchors see it"))
    return values


def _cifar(source: str, decay: float, decay_line: str, epochs: int, epochs_line: str, milestones: list[int],
           schedule_lines: str) -> list:
    """The CIFAR-10 / CIFAR-100 values: the ResNet of resnet.py, SGD, the step schedule, augmentation."""
    load, sgd, aug = ("L209-210", "L205", "L220-229") if source == "cifar10" else ("L289-290", "L272", "L301-310")
    return [
        V("data.init_args.source", source, f"{M} {load}: keras.datasets.{source}"),
        V("data.init_args.batch_size", 128, f"{E} L184: num_batch = 128"),
        V("data.init_args.val_size", 5000, f"{E} L36 val_split = 0.1; {M} L108-110: the first round(0.1 · 50000) "
          "examples of the permuted training set"),
        V("data.init_args.noisy_val", True, f"{E} L70-91: noise on all 50k labels, then {M} L108-110 holds out "
          "the validation part of the noisy labels"),
        V("data.init_args.noise_seed", None, f"{E} L71-85: random_state=run — redrawn per run"),
        V("data.init_args.augment", True, f"{M} {aug}: ImageDataGenerator for training only"),
        V("data.init_args.crop_padding", 3, f"{M} {aug}: width/height_shift_range=0.1 of 32 px, applied with "
          "nearest (order-0) interpolation: shifts of at most 3 px"),
        V("data.init_args.flip", True, f"{M} {aug}: horizontal_flip=True"),
        V("data.init_args.std", [1 / 255] * 3, f"{M} L216-218 / L296-299: X − mean, not divided by a std: raw "
          "0-255 pixels"),
        V("model.init_args.backbone.class_path", "repro.models.preact_resnet_cifar.PreActResNetCifar",
          f"{R} L30-133: pre-activation ResNet, 1×1 projection shortcuts"),
        V("model.init_args.backbone.init_args.width", 16, f"{R} L39: filters = 16, doubled twice"),
        V("model.init_args.optimizer.class_path", "torch.optim.SGD", f"{M} {sgd}: SGD(lr=0.1, momentum=0.9)"),
        V("model.init_args.optimizer.init_args.lr", 0.1, f"{M} {sgd}"),
        V("model.init_args.optimizer.init_args.momentum", 0.9, f"{M} {sgd}"),
        V("model.init_args.optimizer.init_args.nesterov", False, "Keras 2.0 SGD default nesterov=False"),
        V("model.init_args.optimizer.init_args.weight_decay", 2 * decay, f"{decay_line}; {R} L42, L109, L115, L129, "
          f"L75-85: kernel_regularizer=l2(decay) on every conv and dense kernel (×2, module docstring)"),
        V("model.init_args.decay_kernels_only", True, f"{R}: bias_regularizer=l2(0), no regularizer on BatchNorm"),
        V("model.init_args.lr_scheduler.class_path", "repro.training.optim.WarmupMultiStepLR", schedule_lines),
        V("model.init_args.lr_scheduler.init_args.warmup_epochs", 0, f"{schedule_lines}: no warm-up"),
        V("model.init_args.lr_scheduler.init_args.milestones", milestones, f"{schedule_lines}: LearningRateScheduler "
          "gets the 0-based epoch; 0.1 until it passes the first bound, then 0.01, then 0.001"),
        V("model.init_args.lr_scheduler.init_args.gamma", 0.1, schedule_lines),
        *_selection_and_methods(epochs, epochs_line, f"{R} L27, L77-81: BatchNorm after the dense layer for unhinged, "
                                "sigmoid (None = on for unhinged and sigmoid)", percentile=source == "cifar10"),
    ]


def _imdb(lr: float, lr_line: str, network: list) -> list:
    """The IMDB values (both networks): Keras' imdb data, binary noise, Adagrad, 50 epochs."""
    return [
        V("data.init_args.source", "imdb", f"{M} L336-343: imdb.load_data(num_words=5000, seed=11), maxlen 400"),
        V("data.init_args.batch_size", 128, f"{E} L184: num_batch = 128"),
        V("data.init_args.val_size", 2500, f"{E} L36 val_split = 0.1 of the 25k training reviews ({M} L125-130)"),
        V("data.init_args.noisy_val", True, f"{E} L70-91: noise on all 25k labels, then {M} L125-130 "
          "validation_split holds out part of the noisy labels"),
        V("data.init_args.noise_kind", "binary_asymmetric", f"{E} L83-85, {N} L223-240: 1→0 with prob N, 0→1 with "
          "0.05"),
        V("data.init_args.noise_seed", None, f"{E} L71-85: random_state=run — redrawn per run"),
        V("model.init_args.backbone.class_path", "repro.models.text.EmbeddingClassifier", f"{M} L345-410"),
        V("model.init_args.backbone.init_args.vocab_size", 5000, f"{M} L328 / L370: max_features = 5000"),
        *network,
        V("model.init_args.optimizer.class_path", "torch.optim.Adagrad", lr_line),
        V("model.init_args.optimizer.init_args.lr", lr, lr_line),
        V("model.init_args.optimizer.init_args.eps", 1e-8, "Keras 2.0 Adagrad default epsilon"),
        V("model.init_args.optimizer.init_args.initial_accumulator_value", 0.0, "Keras 2.0 Adagrad: zero accumulators"),
        V("model.init_args.optimizer.init_args.weight_decay", 0.0, f"{M} L345-410: no kernel_regularizer"),
        V("model.init_args.lr_scheduler", None, f"{M} L324-410: constant learning rate (no scheduler)"),
        *_selection_and_methods(50, f"{M} L332 / L375: epochs = 50", f"{M} L28, L356-357 / L403-404: BatchNorm on "
                                "the logits for unhinged, ramp, sigmoid (None = on for unhinged and sigmoid)"),
    ]


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
        V("model.init_args.loss", "forward", f"{L} L23-29 'forward'", method="forward_T"),
        V("model.init_args.loss", "backward", f"{L} L15-21 'backward'", method="backward_T"),
        V("model.init_args.transition", "true", f"{E} L98-108: the known-T runs use the generating T",
          method="forward_T"),
        V("model.init_args.bootstrap_beta", 0.95, f"{L} L56-62: beta = 0.95", method="boot_soft"),
        V("model.init_args.logit_batchnorm", None, f"{M} L28, L180-181: BatchNorm on the logits for unhinged, "
          "ramp, sigmoid (None = on for unhinged and sigmoid)", method="unhinged"),
    ],
    "paper_cifar10.yaml": [
        *_cifar("cifar10", 1e-4, f"{M} L207: decay = 0.0001", 120, f"{M} L203: epochs = 120", [41, 81],
                f"{M} L237-248"),
        V("data.init_args.noise_kind", "cifar10_pairs", f"{N} L164-196: 9→1, 2→0, 3↔5, 4→7 (the comment of row 4 "
          "says automobile → truck; the code flips deer → horse)"),
    ],
    "paper_cifar100.yaml": [
        *_cifar("cifar100", 1e-3, f"{M} L273: decay = 10 ** -3", 150, f"{M} L270: epochs = 150", [81, 121],
                f"{M} L276-287"),
        V("model.init_args.backbone.init_args.blocks", 7, f"{M} L320: cifar10_resnet(7, ...) — 6·7 + 2 = 44 layers"),
    ],
    "paper_imdb.yaml": _imdb(0.01, f"{E} L47-49: Adagrad() — Keras 2.0 default lr 0.01", [
        V("model.init_args.backbone.init_args.embed_dim", 50, f"{M} L330: embedding_dims = 50"),
        V("model.init_args.backbone.init_args.spatial_dropout", 0.8, f"{M} L350: SpatialDropout1D(0.8)"),
        V("model.init_args.backbone.init_args.lstm_units", 0, f"{M} L349-354: Embedding → ReLU → Flatten → Dense(2), "
          "no recurrent layer (hidden_dims = 256 is unused)"),
    ]),
    # The released code has no Clothing1M experiment: these few values are the paper's own (its Clothing1M table's
    # rows); the training recipe is not given there in a form we could verify, so none of it is listed.
    "paper_clothing1m.yaml": [
        V("data.init_args.source", "clothing1m", f"{PAPER_C1M}: Xiao et al.'s Clothing1M, 14 classes"),
        V("model.init_args.backbone.init_args.arch", "resnet50", f"{PAPER_C1M}: '50-ResNet' rows, ImageNet init"),
        V("data.init_args.train_split", "noisy_train", f"{PAPER_C1M}: '1M noisy' rows", method="CE"),
        V("data.init_args.train_split", "clean_train", f"{PAPER_C1M}: '50k clean' row", method="CE_clean"),
        V("data.init_args.test_split", "clean_test", f"{PAPER_C1M}: test accuracy on the verified test images"),
    ],
    "paper_imdb_lstm.yaml": _imdb(0.001, f"{E} L50-52: Adagrad(lr=0.001)", [
        V("model.init_args.backbone.init_args.embed_dim", 512, f"{M} L372: embedding_dims = 512"),
        V("model.init_args.backbone.init_args.spatial_dropout", 0.8, f"{M} L393: SpatialDropout1D(0.8)"),
        V("model.init_args.backbone.init_args.lstm_units", 512, f"{M} L373, L395: LSTM(512, "
          "kernel_initializer='uniform')"),
        V("model.init_args.backbone.init_args.hidden", 512, f"{M} L397: Dense(embedding_dims = 512)"),
        V("model.init_args.backbone.init_args.dropout", 0.5, f"{M} L398: Dropout(0.5)"),
    ]),
}

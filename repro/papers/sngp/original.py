"""The original code's values, value by value, that SNGP's paper configs must match (``tests/test_original_values.py``).
Sources: google/uncertainty-baselines at the revision the configs pin, 054e27f (2021-03-24): ``baselines/cifar/
sngp.py`` (UB), ``uncertainty_baselines/models/wide_resnet_sngp.py`` (WRN), ``uncertainty_baselines/datasets/
cifar.py`` (DS); google/edward2 at a7dcb3a (2021-03-11), the revision UB's unpinned install got on that date:
``edward2/tensorflow/layers/random_feature.py`` (ED).

Departure (not in the list, since the config keeps ours): ED's ``LaplaceRandomFeatureCovariance.build`` adds the
precision with ``add_weight(name='gp_precision_matrix', ..., trainable=False,
aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)``, and its update is ``precision_matrix.assign(
precision_matrix + precision_matrix_minibatch)`` in each replica. TensorFlow documents ONLY_FIRST_REPLICA as "for
when every replica is performing the same update, but we only want to perform the update once": the first
replica's value is kept, so on UB's 8 TPU cores × 64 examples the precision sums the first core's batches only,
≈ 1/8 of each epoch. Ours sums every batch of every rank (``precision_share: 1``); ``precision_share: 0.125``
reproduces the original's in expectation (tests/papers/sngp/test_sngp_precision_share.py)."""

from repro.papers import OriginalValue

V = OriginalValue.at
UB = "google/uncertainty-baselines@054e27f baselines/cifar/sngp.py"
WRN = "google/uncertainty-baselines@054e27f uncertainty_baselines/models/wide_resnet_sngp.py"
DS = "google/uncertainty-baselines@054e27f uncertainty_baselines/datasets/cifar.py"
ED = "google/edward2@a7dcb3a edward2/tensorflow/layers/random_feature.py"
GP, BB, OPT = "model.init_args.gp", "model.init_args.backbone.init_args", "model.init_args.optimizer.init_args"


def _cifar(lr: float, mean_field: float) -> list[OriginalValue]:
    return [
        V(f"{BB}.depth", 28, f"{UB}: wide_resnet_sngp(depth=28)", method="sngp"),
        V(f"{BB}.width", 10, f"{UB}: width_multiplier=10", method="sngp"),
        V(f"{BB}.dropout", 0.1, f"{UB}: dropout_rate 0.1", method="sngp"),
        V(f"{BB}.filterwise", True, f"{UB}: filterwise_dropout True; {WRN} noise_shape [B, 1, 1, C]", method="sngp"),
        V(f"{BB}.dropout_layout", "every_conv",
          f"{WRN} L63-72, 107-136, 221-225: after the stem, before conv1 and conv2, on the projection blocks' branch "
          "(28 layers)", method="sngp"),
        V(f"{BB}.shortcut_from", "raw", f"{WRN} L107-108, 127-131: the 1×1 shortcut reads x = inputs",
          method="sngp"),
        V("model.init_args.spectral_bound", 6.0, f"{UB}: spec_norm_bound 6.", method="sngp"),
        V("model.init_args.n_power_iterations", 1, f"{UB}: spec_norm_iteration 1", method="sngp"),
        V(f"{GP}.num_features", 1024, f"{UB}: gp_hidden_dim 1024", method="sngp"),
        V(f"{GP}.projection_dim", 128, f"{WRN} L247-252: Dense(128, trainable=False)", method="sngp"),
        V(f"{GP}.projection_std", 0.05, f"{WRN} L247-252: kernel_initializer='random_normal' (Keras stddev 0.05)",
          method="sngp"),
        V(f"{GP}.normalize_input", True, f"{UB}: gp_input_normalization True", method="sngp"),
        V(f"{GP}.kernel_scale", 1.0, f"{ED} L247-256: gp_scale=2 is applied only without normalize_input, i.e. "
          "never here", method="sngp"),
        V(f"{GP}.norm_eps", 1e-3, f"{ED} L167-170: Keras LayerNormalization(epsilon=1e-3)", method="sngp"),
        V(f"{GP}.rff_init", "orf", f"{WRN} L31-39, 207-209: make_random_feature_initializer('orf')", method="sngp"),
        V(f"{GP}.rff_stddev", 0.05, f"{WRN} L31-39: OrthogonalRandomFeatures(stddev=0.05)", method="sngp"),
        V(f"{GP}.scale_features", True, f"{ED} L72, 260-266: scale_random_features default True at a7dcb3a "
          "(UB sets False only from f573505a, 2021-12)", method="sngp"),
        V(f"{GP}.output_bias", False, f"{UB} L151: gp_bias=0., gp_output_bias_trainable=False", method="sngp"),
        V(f"{GP}.ridge", 1.0, f"{UB} L173: gp_cov_ridge_penalty 1.", method="sngp"),
        V(f"{GP}.momentum", -1.0, f"{UB} L175-179: gp_cov_discount_factor -1 (exact, reset each epoch)",
          method="sngp"),
        V(f"{GP}.mean_field_factor", mean_field, f"{UB} L25-26, 180-181: gp_mean_field_factor", method="sngp"),
        V("model.init_args.optimizer.class_path", "torch.optim.SGD", f"{UB}: tf.keras.optimizers.SGD"),
        V(f"{OPT}.lr", lr, f"{UB} L77-79, 189, 213-214: base_learning_rate × 512/128"),
        V(f"{OPT}.momentum", 0.9, f"{UB}: momentum 0.9"),
        V(f"{OPT}.nesterov", True, f"{UB}: nesterov=True"),
        V(f"{OPT}.weight_decay", 6e-4, f"{UB} L87, 418-419: Keras l2 3e-4 (gradient 2·l2·w ⇒ weight_decay 6e-4)"),
        V("model.init_args.lr_scheduler.init_args.gamma", 0.2, f"{UB} L81-86: lr_decay_ratio 0.2"),
        V("trainer.max_epochs", 250, f"{UB} L107: train_epochs 250"),
        V("data.init_args.batch_size", 512, f"{UB}: per_core_batch_size 64 × 8 cores"),
        V("data.init_args.crop_padding", 2, f"{DS} L149-154: resize_with_crop_or_pad(+4), 2 pixels a side"),
        V("data.init_args.mean", [0.4914, 0.4822, 0.4465], f"{DS} L37-41"),
        V("data.init_args.std", [0.2023, 0.1994, 0.2010], f"{DS} L37-41: for CIFAR-10 and CIFAR-100"),
    ]


ORIGINAL = {
    "paper.yaml": _cifar(0.2, 25.0),
    "paper_cifar100.yaml": _cifar(0.32, 12.5),
}

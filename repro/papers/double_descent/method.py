"""Deep Double Descent (Nakkiran et al., ICLR 2020, arXiv:1912.02292): the module of every study of this package.

Models are trained to convergence — no early stopping, no weight decay, no dropout — on labels with static
"incorrect-only" noise (``data.init_args.label_noise``, ``noise_kind: uniform_incorrect``). Test error against
model width rises to a peak near the interpolation threshold, the smallest model that fits the noisy training
set, and falls again beyond it::

    repro reproduce double_descent --scale quick     # MLP on digits, minutes on a CPU
    repro reproduce double_descent --scale paper     # PreAct ResNet18 width k on CIFAR-10, Figure 1

Train error is measured on the noisy training labels (``train/error``), test error on the clean test labels
(``test/error``). The paper's Figure 1 plots test error mapped to a test set with the same label noise; it is
logged as ``test/error_noisy_scale``: e_noisy = p + (1 − p − p / (C − 1)) · e_clean. This package's README.md
has the paper, the studies and every departure.
"""

from __future__ import annotations

from repro.training.classifier import Classifier


def noisy_scale_error(clean_error: float, p: float, num_classes: int) -> float:
    """Error on a test set whose labels carry uniform-incorrect noise of rate ``p``.

    A prediction is wrong against a noisy label when the label was kept and the prediction is wrong
    (1 − p)·e, or the label was flipped away from a correct prediction p·(1 − e), or flipped to a different
    wrong class p·e·(C − 2)/(C − 1). The sum is p + (1 − p − p/(C − 1))·e.
    """
    return p + (1 - p - p / (num_classes - 1)) * clean_error


def clean_scale_error(noisy_error: float, p: float, num_classes: int) -> float:
    """Inverse of :func:`noisy_scale_error`."""
    return (noisy_error - p) / (1 - p - p / (num_classes - 1))


class DoubleDescent(Classifier):
    """Cross-entropy to convergence; logs Figure 1's noisy-scale test error beside the clean one."""

    paper = "double_descent"

    def derived_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        data = self.trainer.datamodule if self._trainer is not None else None
        p = getattr(data, "label_noise", 0.0)
        if "test/error" not in metrics or getattr(data, "noise_kind", None) != "uniform_incorrect":
            return {}
        return {"test/error_noisy_scale": noisy_scale_error(metrics["test/error"], p, self.num_classes)}

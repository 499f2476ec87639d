"""Dataset sources: a named dataset as whole-split tensors for a device-resident datamodule.

One registry (``SOURCES``: name → facts + loader, ``registry.py``), one module per family of sources, each
registering its own: torchvision downloads (cifar10, cifar100, svhn, mnist), fashion_mnist, digits, mnist1d,
imdb, two_moons, separable_2d, the block datasets
(lms5, ms57, ...), two image sources stacked (mnist_cifar), and clothing1m (a file list, streamed). A new
family is one more module that calls ``register``.
"""

from repro.data.sources import (  # noqa: F401 (each registers its sources)
    clothing1m,
    digits,
    fashion_mnist,
    imdb,
    mnist1d,
    separable,
    slabs,
    stacked_pairs,
    torchvision_sets,
    two_moons,
)
from repro.data.sources.fashion_mnist import FASHION_MNIST_SYSTEM_DIRS
from repro.data.sources.mnist1d import MNIST1D_ARGS
from repro.data.sources.registry import (
    SOURCES,
    DatasetMissingError,
    SourceInfo,
    Split,
    data_root,
    load_source,
    register,
    source_info,
)

__all__ = ["FASHION_MNIST_SYSTEM_DIRS", "MNIST1D_ARGS", "SOURCES", "DatasetMissingError", "SourceInfo", "Split",
           "data_root", "load_source", "register", "source_info"]

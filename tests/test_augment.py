import pytest
import torch
import torch.nn.functional as F

from repro.data.augment import crop_flip_params, random_crop_flip


def reference(x: torch.Tensor, padding: int, seed: int, flip: bool = True) -> torch.Tensor:
    """Per-image loop in the style of torchvision RandomCrop(padding) + RandomHorizontalFlip."""
    # Draw in the documented order (top, left, flip) rather than via crop_flip_params, to pin that order.
    g, n, hi = torch.Generator().manual_seed(seed), len(x), 2 * padding + 1
    top, left = torch.randint(0, hi, (n,), generator=g), torch.randint(0, hi, (n,), generator=g)
    flips = torch.randint(0, 2, (n,), generator=g).bool()
    h, w = x.shape[-2:]
    out = []
    for img, t, l, f in zip(x, top.tolist(), left.tolist(), flips.tolist(), strict=True):
        crop = F.pad(img, (padding,) * 4)[:, t : t + h, l : l + w]
        out.append(crop.flip(-1) if flip and f else crop)
    return torch.stack(out)


@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("padding", [1, 4])
def test_matches_per_image_reference(padding, flip):
    x = torch.randn(16, 3, 8, 10)
    out = random_crop_flip(x, padding=padding, flip=flip, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(out, reference(x, padding, seed=7, flip=flip), rtol=0, atol=0)
    assert not torch.equal(out, x)  # some image was actually moved


def test_params_cover_range_and_both_flip_values():
    top, left, flips = crop_flip_params(2000, 4, torch.Generator().manual_seed(0), "cpu")
    assert set(top.tolist()) == set(range(9)) and set(left.tolist()) == set(range(9))
    assert 0.4 < flips.float().mean() < 0.6


def test_no_padding_no_flip_is_identity():
    x = torch.randn(5, 3, 6, 6)
    assert torch.equal(
        random_crop_flip(x, padding=0, flip=False, generator=torch.Generator().manual_seed(0)), x
    )


def test_output_pixels_come_from_input_or_zero():
    x = torch.randint(1, 256, (8, 1, 5, 5)).float()  # nonzero, so zeros can only come from padding
    x = x + torch.arange(8).view(8, 1, 1, 1) * 1000  # make each image's values unique to it
    out = random_crop_flip(x, padding=3, generator=torch.Generator().manual_seed(1))
    for img, src in zip(out, x, strict=True):
        allowed = set(src.flatten().tolist()) | {0.0}
        assert set(img.flatten().tolist()) <= allowed
    assert (out == 0).any()


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_shape_and_dtype_preserved(dtype):
    x = (torch.rand(4, 3, 32, 32) * 255).to(dtype)
    out = random_crop_flip(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device

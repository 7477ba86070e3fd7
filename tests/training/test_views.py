"""CONTRIQUE's training views: the MS transform, the colour spaces, the scale pair, the padded crop."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageCms

from iqa.training.views import colour_space, gauss_window, make_view, ms_transform, resize_crop, view_pair


def test_gauss_window_is_scikit_video_s() -> None:
    # gen_gauss_window(3, 7/6): exp(-0.5 k^2 / sigma^2) for k = -3..3, normalised
    k = np.arange(-3, 4)
    w = np.exp(-0.5 * k**2 / (7 / 6) ** 2)
    np.testing.assert_allclose(gauss_window(), w / w.sum(), rtol=1e-6)


def test_ms_transform_by_hand() -> None:
    rng = np.random.default_rng(0)
    a = (rng.random((9, 11, 3)) * 255).astype(np.uint8)
    out = ms_transform(a)
    w = gauss_window()
    c = a[:, :, 1].astype(np.float64)
    pad = np.pad(c, 3, mode="symmetric")  # scipy's "reflect" repeats the edge sample
    mu = np.zeros_like(c)
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            mu[i, j] = (w[:, None] * w[None, :] * pad[i : i + 7, j : j + 7]).sum()
    d = c - mu
    by_hand = ((d - d.min()) / (np.ptp(d) + 1e-3) * 255).astype(np.uint8)
    assert np.abs(out[:, :, 1].astype(int) - by_hand.astype(int)).max() <= 1  # float32 vs float64 at truncation
    assert out.dtype == np.uint8 and out.min() == 0


def test_colour_spaces() -> None:
    im = Image.fromarray((np.random.default_rng(1).random((8, 8, 3)) * 255).astype(np.uint8))
    g = np.asarray(colour_space(im, "gray"))
    assert (g[:, :, 0] == g[:, :, 1]).all() and (g[:, :, 1] == g[:, :, 2]).all()
    lab = colour_space(im, "lab")
    ref = ImageCms.applyTransform(
        im,
        ImageCms.buildTransformFromOpenProfiles(
            ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
        ),
    )
    assert lab.mode == "LAB" and np.array_equal(np.asarray(lab), np.asarray(ref))
    assert colour_space(im, "hsv").mode == "HSV" and colour_space(im, "rgb") is im


def test_half_scale_view_of_a_region_is_the_whole_region_resized() -> None:
    a = (np.random.default_rng(2).random((64, 64, 3)) * 255).astype(np.uint8)
    im = Image.fromarray(a)
    rng = np.random.default_rng(0)
    half = resize_crop(im, 32, 2, rng)
    assert np.array_equal(np.asarray(half), np.asarray(im.resize((32, 32), Image.BILINEAR)))
    full = np.asarray(resize_crop(im, 32, 1, rng))
    assert any(np.array_equal(full, a[y : y + 32, x : x + 32]) for y in range(33) for x in range(33))


def test_small_images_are_zero_padded_centre_crops() -> None:
    im = Image.fromarray(np.full((20, 30, 3), 200, np.uint8))
    c = np.asarray(resize_crop(im, 40, 1, np.random.default_rng(0)))
    assert c.shape == (40, 40, 3) and c[0, 0, 0] == 0 and c[20, 20, 0] == 200


def test_views_are_seeded_and_scaled() -> None:
    im = Image.fromarray((np.random.default_rng(3).random((64, 64, 3)) * 255).astype(np.uint8))
    a1, b1 = view_pair(im, 32, np.random.default_rng(5))
    a2, b2 = view_pair(im, 32, np.random.default_rng(5))
    assert torch.equal(a1, a2) and torch.equal(b1, b2) and a1.shape == (3, 32, 32)
    v = make_view(im, 32, 1, np.random.default_rng(0), colour="rgb")
    assert 0 <= v.min() and v.max() <= 1

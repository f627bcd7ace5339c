"""Decoding: every supported format to uint8 RGB / {0,1} masks, and errors naming the file."""

from __future__ import annotations

import gzip
import re
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from mininet_tf.data.io import (
    DataWarning,
    cached_fov,
    check_pair,
    derive_fov,
    read_fov,
    read_image,
    read_mask,
    read_record,
    split_image_name,
    write_mask_png,
)
from mininet_tf.data.records import DataError, Record

try:  # tests/ may or may not be a package
    from tests import fixtures_data as fx
except ImportError:  # pragma: no cover
    import fixtures_data as fx

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)


def names(path) -> str:
    return re.escape(str(path))


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".ppm", ".ppm.gz", ".tiff"])
def test_lossless_rgb_formats_roundtrip(tmp_path, ext):
    path = fx.save_rgb(tmp_path / f"a{ext}", RGB)
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == (12, 10, 3)
    np.testing.assert_array_equal(image, RGB)


def test_tif_is_lzw_and_jpeg_is_close(tmp_path):
    path = fx.save_rgb(tmp_path / "a.tif", RGB)
    assert Image.open(path).info["compression"] == "tiff_lzw"
    flat = np.full((16, 16, 3), (200, 40, 90), np.uint8)
    image = read_image(fx.save_rgb(tmp_path / "a.jpg", flat))
    assert image.shape == (16, 16, 3) and np.abs(image.astype(int) - flat).max() <= 3


def test_grey_rgba_palette_and_gif_become_rgb(tmp_path):
    grey = RGB[..., 0]
    image = read_image(fx.save_pil(tmp_path / "g.png", Image.fromarray(grey, "L")))
    np.testing.assert_array_equal(image, np.repeat(grey[..., None], 3, axis=2))
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(
        read_image(fx.save_pil(tmp_path / "a.png", Image.fromarray(rgba))), RGB
    )
    pal = read_image(fx.save_palette_mask(tmp_path / "p.gif", fx.disc(12, 10)))
    assert pal.shape == (12, 10, 3)
    assert {tuple(c) for c in pal.reshape(-1, 3)} == set(fx.DRIVE_PALETTE)
    gif = read_image(fx.save_pil(tmp_path / "l.gif", Image.fromarray(grey, "L")))
    np.testing.assert_array_equal(gif[..., 0], grey)


def test_16bit_tiff_and_png_are_scaled_not_truncated(tmp_path):
    grey16 = np.array([[0, 257, 32768, 65535], [1000, 20000, 40000, 60000]], np.uint16)
    rgb16 = np.dstack([grey16, grey16[::-1], 65535 - grey16])
    expected_grey = np.rint(grey16 / 257.0)
    for ext in (".tif", ".png"):
        cv2.imwrite(str(tmp_path / f"g{ext}"), grey16)
        cv2.imwrite(str(tmp_path / f"c{ext}"), rgb16[..., ::-1])  # cv2 writes BGR
        image = read_image(tmp_path / f"g{ext}")
        assert image.dtype == np.uint8
        assert np.abs(image[..., 0].astype(int) - expected_grey).max() <= 1, ext
        colour = read_image(tmp_path / f"c{ext}")
        assert np.abs(colour.astype(int) - np.rint(rgb16 / 257.0)).max() <= 1, ext
    # Truncating (uint16 -> uint8) would give 65535 -> 255 but 32768 -> 0 and 257 -> 1.
    assert read_image(tmp_path / "g.tif")[0, 2, 0] == 128


def test_16bit_mask_with_0_1_values_is_kept(tmp_path):
    cv2.imwrite(str(tmp_path / "m.png"), fx.disc(12, 10).astype(np.uint16))
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), fx.disc(12, 10))


def test_split_image_name_handles_gz_and_double_suffix():
    assert split_image_name("im0001.ah.ppm.gz") == ("im0001.ah", ".ppm.gz")
    assert split_image_name("21_training.TIF") == ("21_training", ".tif")
    assert split_image_name("LICENSE.txt") is None
    assert split_image_name("archive.gz") is None


# ------------------------------------------------------------------------------------------
# Masks
# ------------------------------------------------------------------------------------------


def test_mask_0_255_and_0_1(tmp_path):
    m = fx.disc(12, 10)
    np.testing.assert_array_equal(read_mask(fx.save_mask(tmp_path / "a.png", m)), m)
    Image.fromarray(m, "L").save(tmp_path / "b.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(read_mask(tmp_path / "b.png"), m)
        np.testing.assert_array_equal(read_mask(fx.save_mask(tmp_path / "c.gif", m)), m)
    assert read_fov(tmp_path / "a.png").dtype == np.uint8


def test_palette_gif_uses_palette_grey_not_index(tmp_path):
    """DRIVE 2nd_manual: palette indices 0/1 -> grey 3/253; must threshold the grey (>127)."""
    m = fx.disc(12, 10)
    path = fx.save_palette_mask(tmp_path / "01_manual2.gif", m)
    with Image.open(path) as im:
        assert im.mode == "P"
        raw = np.asarray(im)
        assert set(np.unique(raw)) <= {0, 1}  # raw index > 127 would give an empty mask
        grey = np.asarray(im.convert("L"))
        assert set(np.unique(grey)) == {3, 253}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two clean levels: no non-binary warning
        np.testing.assert_array_equal(read_mask(path), m)
    # An inverted palette (index 0 bright) must follow the palette, not the index.
    inverted = fx.save_palette_mask(tmp_path / "inv.gif", m, palette=fx.DRIVE_PALETTE[::-1])
    np.testing.assert_array_equal(read_mask(inverted), 1 - m)


def test_rgb_mask_any_channel(tmp_path):
    m = fx.disc(12, 10)
    red = np.zeros((12, 10, 3), np.uint8)
    red[m.astype(bool)] = (255, 0, 0)
    np.testing.assert_array_equal(read_mask(fx.save_rgb(tmp_path / "r.png", red)), m)
    np.testing.assert_array_equal(read_mask(fx.save_mask(tmp_path / "w.bmp", m, rgb=True)), m)


def test_jpeg_mask_is_thresholded_with_warning(tmp_path):
    m = np.zeros((32, 32), np.uint8)
    m[8:20, 5:27] = 1
    path = fx.save_mask(tmp_path / "lesion.jpg", m)
    with pytest.warns(DataWarning, match=rf"{names(path)}: mask is not binary: \d+\.\d+% "):
        out = read_mask(path)
    assert np.abs(out.astype(int) - m).sum() <= 4


def test_mask_threshold_argument(tmp_path):
    grey = np.array([[0, 100, 200]], np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "t.png")
    with pytest.warns(DataWarning):
        assert read_mask(tmp_path / "t.png").tolist() == [[0, 0, 1]]
    with pytest.warns(DataWarning):
        assert read_mask(tmp_path / "t.png", threshold=50).tolist() == [[0, 1, 1]]


# ------------------------------------------------------------------------------------------
# Errors name the file
# ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(DataError, match=f"{names(path)}: file not found"):
        read_image(path)
    with pytest.raises(DataError, match=names(path)):
        read_mask(path)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".bmp", ".gif", ".ppm"])
def test_truncated_file(tmp_path, ext):
    good = fx.save_rgb(tmp_path / f"good{ext}", RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    bad = tmp_path / f"bad{ext}"
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=f"{names(bad)}: corrupt(,| or) truncated"):
        read_image(bad)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".gif"])
def test_corrupt_file(tmp_path, ext):
    bad = tmp_path / f"junk{ext}"
    bad.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(
        DataError, match=f"{names(bad)}: corrupt, truncated or not a {re.escape(ext)} image"
    ):
        read_image(bad)


def test_corrupt_gzip(tmp_path):
    bad = tmp_path / "im0001.ppm.gz"
    data = gzip.compress(b"P6\n4 4\n255\n" + bytes(48))
    bad.write_bytes(data[:-12])
    with pytest.raises(DataError, match=f"{names(bad)}: corrupt or truncated gzip"):
        read_image(bad)


def test_unsupported_format(tmp_path):
    path = tmp_path / "scan.dcm"
    path.write_bytes(b"DICM")
    with pytest.raises(DataError, match=f"{names(path)}: unsupported image format '.dcm'"):
        read_image(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=f"{names(path)}: empty file"):
        read_image(path)


def test_check_pair_names_both_files_and_sizes(tmp_path):
    image = fx.save_rgb(tmp_path / "img.png", RGB)
    mask = fx.save_mask(tmp_path / "img_mask.png", np.zeros((10, 12), np.uint8))
    with pytest.raises(DataError) as info:
        check_pair(read_image(image), read_mask(mask), image, mask)
    message = str(info.value)
    assert str(image) in message and str(mask) in message
    assert "10x12" in message and "12x10" in message
    with pytest.raises(DataError, match=names(mask)):
        read_record(Record(image, mask))


def test_read_record(tmp_path):
    image = fx.save_rgb(tmp_path / "img.png", RGB)
    mask = fx.save_mask(tmp_path / "m.png", fx.disc(12, 10))
    fov = fx.save_mask(tmp_path / "f.png", np.ones((12, 10), np.uint8))
    img, m, f = read_record(Record(image, mask, fov))
    assert img.shape == (12, 10, 3) and m.shape == f.shape == (12, 10)
    assert read_record(Record(image, None))[1] is None


# ------------------------------------------------------------------------------------------
# Derived FOV and the mask cache
# ------------------------------------------------------------------------------------------


def test_derive_fov_on_a_synthetic_fundus():
    h, w = 120, 140
    truth = fx.disc(h, w, margin=6)
    image = np.zeros((h, w, 3), np.uint8)
    image[truth.astype(bool)] = (150, 60, 30)
    image[50:60, 60:70] = (5, 5, 5)  # a dark lesion inside: a hole to fill
    image[2, 2] = (255, 255, 255)  # a speck outside: not the largest component
    fov = derive_fov(image, erode_px=0)
    assert fov.dtype == np.uint8 and set(np.unique(fov)) <= {0, 1}
    assert (fov & truth).sum() / (fov | truth).sum() > 0.97
    assert fov[55, 65] == 1 and fov[2, 2] == 0
    eroded = derive_fov(image)
    assert eroded.sum() < fov.sum() and not (eroded & (1 - fov)).any()


def test_cached_fov_writes_once_and_atomically(tmp_path):
    image = np.zeros((40, 48, 3), np.uint8)
    image[fx.disc(40, 48).astype(bool)] = (180, 80, 40)
    path = fx.save_rgb(tmp_path / "im0001.ppm.gz", image)
    cache = tmp_path / "cache"
    out = cached_fov(path, cache)
    assert out.parent == cache and out.name.startswith("im0001_") and out.suffix == ".png"
    mtime = out.stat().st_mtime_ns
    assert cached_fov(path, cache) == out and out.stat().st_mtime_ns == mtime
    assert read_mask(out).sum() > 0
    assert sorted(p.name for p in cache.iterdir()) == [out.name]  # no temporary leftovers
    fx.save_rgb(path, image // 2)  # changed image -> new cache entry
    assert cached_fov(path, cache) != out


def test_write_mask_png(tmp_path):
    m = fx.disc(12, 10)
    out = write_mask_png(tmp_path / "sub" / "m.png", m)
    assert set(np.unique(np.asarray(Image.open(out)))) == {0, 255}
    np.testing.assert_array_equal(read_mask(out), m)


def _sideways_jpeg(path, orientation=6):
    """A landscape JPEG stored sideways with an EXIF Orientation tag (as phones write them);
    returns its pixels as stored."""
    rng = np.random.default_rng(0)
    stored = np.kron(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8), np.ones((10, 10, 1)))
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored.astype(np.uint8)).save(path, quality=95, exif=exif)
    with Image.open(path) as im:  # decoded without looking at the tag
        return np.asarray(im.convert("RGB"))


def test_exif_orientation_is_applied(tmp_path):
    """Orientation 6 means "rotate 90 degrees clockwise to display" (EXIF 2.3, Table 4)."""
    stored = _sideways_jpeg(tmp_path / "phone.jpg", 6)
    upright = read_image(tmp_path / "phone.jpg")
    assert stored.shape == (40, 60, 3) and upright.shape == (60, 40, 3)
    np.testing.assert_array_equal(upright, np.rot90(stored, k=-1))
    stored = _sideways_jpeg(tmp_path / "flipped.jpg", 3)  # 180 degrees
    np.testing.assert_array_equal(read_image(tmp_path / "flipped.jpg"), stored[::-1, ::-1])


def test_one_image_size_guard_for_every_reader(tmp_path, monkeypatch):
    """mininet_tf's reader (images and masks), its OpenCV TIFF fallback and mininet-infer's
    reader all refuse an image over the one limit, from its header, with the same words."""
    from mininet_lite import imagesize
    from mininet_lite.infer import read_image as infer_read_image

    big = tmp_path / "big.png"
    Image.new("RGB", (120, 50)).save(big)
    small = tmp_path / "small.png"
    Image.new("RGB", (60, 50)).save(small)
    # A float32 RGB TIFF: Pillow cannot identify it, OpenCV decodes it.
    tiff = tmp_path / "big.tif"
    cv2.imwrite(str(tiff), np.zeros((50, 120, 3), np.float32))
    monkeypatch.setattr(imagesize, "MAX_IMAGE_PIXELS", 5000)

    expected = "image too large to decode safely (120x50 = 0 megapixels; the limit is 0)"
    readers = [read_image, read_mask, infer_read_image]
    for reader in readers:
        assert reader(small).shape[:2] == (50, 60)
        with pytest.raises(ValueError, match=r"big\.png: " + re.escape(expected)):
            reader(big)
    with pytest.raises(DataError, match=r"big\.tif: " + re.escape(expected)):
        read_mask(tiff)

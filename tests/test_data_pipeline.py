"""The tf.data pipeline: shapes, value ranges, augmentation geometry, determinism and caching."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mininet_tf.data import io as dio
from mininet_tf.data import synthetic
from mininet_tf.data.pipeline import PRESETS, Augment, load_arrays, make_dataset
from mininet_tf.data.records import Record

STRONG = Augment(
    flip_horizontal=0.5,
    flip_vertical=0.5,
    rotate90=0.5,
    rotation=1.0,
    rotation_range=(-180.0, 180.0),
    scale=1.0,
    scale_range=(0.7, 1.4),
    jitter=1.0,
    jitter_strength=0.1,
    color=1.0,
    brightness=0.2,
    contrast_range=(0.6, 1.4),
    saturation_range=(0.6, 1.4),
    hue=0.1,
    gamma_range=(0.6, 1.6),
)


@pytest.fixture(scope="module")
def vessels(tmp_path_factory):
    """6 train records of 60x70 synthetic fundus images (with FOV)."""
    root = tmp_path_factory.mktemp("synthetic") / "vessels"
    return synthetic.load_split(
        root, "train", val_fraction=0.0, kind="vessels", n=6, size=(60, 70), n_test=1
    )


def _write_records(folder, images, masks):
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i, (image, mask) in enumerate(zip(images, masks, strict=True)):
        cv2.imwrite(str(folder / f"im{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / f"ma{i}.png"), mask * 255)
        records.append(Record(folder / f"im{i}.png", folder / f"ma{i}.png"))
    return records


def _batches(ds, n):
    return [tuple(t.numpy() for t in batch) for batch in ds.take(n)]


def test_patch_mode_shapes_and_ranges(vessels):
    ds = make_dataset(
        vessels, training=True, batch_size=4, patch_size=32, augment=STRONG, with_fov=True
    )
    for image, mask, fov in _batches(ds, 4):
        assert image.shape == (4, 32, 32, 3) and image.dtype == np.float32
        assert mask.shape == fov.shape == (4, 32, 32, 1) and mask.dtype == np.float32
        assert image.min() >= 0 and image.max() <= 255 and image.max() > 1.5
        assert set(np.unique(mask)) <= {0.0, 1.0} and set(np.unique(fov)) <= {0.0, 1.0}
    (image, mask), *_ = _batches(make_dataset(vessels, training=True), 1)
    assert image.shape == (8, 64, 64, 3) and mask.shape == (8, 64, 64, 1)  # defaults


def test_resize_mode_shapes(vessels):
    ds = make_dataset(
        vessels, training=True, batch_size=3, patch_size=None, image_size=(48, 40), augment=STRONG
    )
    for image, mask in _batches(ds, 3):
        assert image.shape == (3, 48, 40, 3) and mask.shape == (3, 48, 40, 1)
        assert set(np.unique(mask)) <= {0.0, 1.0}
        assert 0 <= image.min() and image.max() <= 255


def test_eval_mode_whole_images_padded_deterministic(vessels):
    ds = make_dataset(vessels, training=False, with_fov=True)
    batches = _batches(ds, 100)
    assert len(batches) == len(vessels)
    arrays = load_arrays(vessels)
    for (image, mask, fov), (ref_image, ref_mask, ref_fov) in zip(batches, arrays, strict=True):
        assert image.shape == (1, 64, 72, 3)  # 60x70 padded to multiples of 8
        np.testing.assert_array_equal(image[0, :60, :70], ref_image.astype(np.float32))
        np.testing.assert_array_equal(mask[0, :60, :70, 0], ref_mask)
        np.testing.assert_array_equal(fov[0, :60, :70, 0], ref_fov)
        assert not mask[0, 60:].any() and not fov[0, :, 70:].any()  # padding is outside FOV
    again = _batches(ds, 100)
    for a, b in zip(batches, again, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
    resized = _batches(make_dataset(vessels, training=False, image_size=(32, 48), batch_size=2), 9)
    assert [b[0].shape for b in resized] == [(2, 32, 48, 3)] * 3


def test_masks_stay_binary_after_augmentation(vessels):
    for preset in ("fundus", "dermoscopy", "histology"):
        ds = make_dataset(vessels, training=True, patch_size=32, augment=Augment.preset(preset))
        for _, mask in _batches(ds, 2):
            assert set(np.unique(mask)) <= {0.0, 1.0}


def _encoded_records(tmp_path):
    """Images whose pixel values encode their mask (255 on the mask, 0 elsewhere)."""
    rng = np.random.default_rng(0)
    images, masks = [], []
    for _ in range(3):
        mask = np.zeros((48, 56), np.uint8)
        for _ in range(4):
            centre = (int(rng.integers(5, 51)), int(rng.integers(5, 43)))
            cv2.ellipse(mask, centre, (8, 5), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        masks.append(mask)
        images.append(np.repeat(mask[..., None] * 255, 3, axis=2))
    return _write_records(tmp_path / "encoded", images, masks)


def test_geometric_augmentation_keeps_image_and_mask_aligned(tmp_path):
    records = _encoded_records(tmp_path)
    exact = Augment(rotate90=0.75, rotation=0.0, scale=0.0, jitter=0.0, color=0.0)
    exact_ds = make_dataset(records, training=True, patch_size=32, augment=exact)
    for image, mask in _batches(exact_ds, 4):
        np.testing.assert_array_equal(image[..., 0] > 127, mask[..., 0] > 0.5)
        np.testing.assert_array_equal(image[..., 0], image[..., 2])
    free = STRONG.replace(color=0.0)
    batches = _batches(make_dataset(records, training=True, patch_size=32, augment=free), 4)
    agree = np.mean([np.mean((b[0][..., 0] > 127) == (b[1][..., 0] > 0.5)) for b in batches])
    assert agree > 0.97, agree
    assert np.mean([b[1].mean() for b in batches]) > 0.05  # patches did contain foreground
    whole = make_dataset(records, training=True, patch_size=None, augment=free, batch_size=3)
    image, mask = _batches(whole, 1)[0]
    assert image.shape == (3, 48, 56, 3)
    assert np.mean((image[..., 0] > 127) == (mask[..., 0] > 0.5)) > 0.97


def test_foreground_fraction_centres_patches_on_foreground(tmp_path):
    masks = []
    for corner in ((100, 100), (10, 110)):
        mask = np.zeros((128, 128), np.uint8)
        mask[corner[0] : corner[0] + 5, corner[1] : corner[1] + 5] = 1
        masks.append(mask)
    images = [np.full((128, 128, 3), 90, np.uint8) for _ in masks]
    records = _write_records(tmp_path / "sparse", images, masks)
    kw = dict(training=True, batch_size=8, patch_size=16, augment=Augment.preset("fundus"))
    always = make_dataset(records, foreground_fraction=1.0, **kw)
    hits = np.concatenate([b[1].reshape(8, -1).max(1) for b in _batches(always, 5)])
    assert np.all(hits == 1)
    uniform = make_dataset(records, foreground_fraction=0.0, **kw)
    hits = np.concatenate([b[1].reshape(8, -1).max(1) for b in _batches(uniform, 5)])
    assert hits.mean() < 0.5
    half = make_dataset(records, foreground_fraction=0.5, **kw)
    hits = np.concatenate([b[1].reshape(8, -1).max(1) for b in _batches(half, 5)])
    assert 0.2 < hits.mean() < 1.0


def test_foreground_fraction_one(tmp_path):
    # Kept separate from the loop above so the fraction-1 case is explicit.
    mask = np.zeros((96, 96), np.uint8)
    mask[70:73, 20:24] = 1
    records = _write_records(tmp_path / "one", [np.full((96, 96, 3), 50, np.uint8)], [mask])
    ds = make_dataset(records, training=True, batch_size=4, patch_size=16, foreground_fraction=1.0)
    for _, m in _batches(ds, 4):
        assert np.all(m.reshape(4, -1).max(1) == 1)


def test_determinism_given_seed(vessels):
    def stream(seed, **kw):
        ds = make_dataset(
            vessels, training=True, batch_size=4, patch_size=24, augment=STRONG, seed=seed, **kw
        )
        return _batches(ds, 3)

    a, b, c = stream(7), stream(7), stream(8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))
    # A finite dataset re-iterated (one Keras epoch each) gets new samples, reproducibly.
    first = make_dataset(vessels, training=True, batch_size=3, repeat=1, augment=STRONG, seed=1)
    second = make_dataset(vessels, training=True, batch_size=3, repeat=1, augment=STRONG, seed=1)
    e1, e2 = _batches(first, 9), _batches(first, 9)
    assert len(e1) == 2 and not np.array_equal(e1[0][0], e2[0][0])
    f1, f2 = _batches(second, 9), _batches(second, 9)
    for x, y in zip(e1 + e2, f1 + f2, strict=True):
        np.testing.assert_array_equal(x[0], y[0])


def test_small_images_are_padded(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    mask = np.zeros((20, 24), np.uint8)
    mask[5:15, 6:12] = 1
    records = _write_records(tmp_path / "small", [image], [mask])
    ds = make_dataset(records, training=True, batch_size=2, patch_size=32, with_fov=True)
    out_image, out_mask, out_fov = _batches(ds, 1)[0]
    assert out_image.shape == (2, 32, 32, 3)
    # Centred padding: 6 rows top/bottom, 4 columns left/right; mask/FOV zero-padded.
    np.testing.assert_array_equal(out_image[0, 6:26, 4:28], image.astype(np.float32))
    np.testing.assert_array_equal(out_image[0, 5, 4:28], image[1].astype(np.float32))  # reflect
    assert out_mask[0].sum() == mask.sum() and out_fov[0].sum() == 20 * 24
    assert not out_fov[0, :6].any() and not out_mask[0, :, :4].any()
    augmented = make_dataset(records, training=True, patch_size=32, augment=STRONG)
    assert _batches(augmented, 1)[0][0].shape == (8, 32, 32, 3)


def test_cache_reads_each_file_once(vessels, monkeypatch):
    from collections import Counter

    reads = Counter()
    real = {"image": dio.read_image, "mask": dio.read_mask, "fov": dio.read_fov}

    def counting(kind):
        def read(path, *args, **kwargs):
            reads[(kind, str(path))] += 1
            return real[kind](path, *args, **kwargs)

        return read

    for kind in real:
        monkeypatch.setattr(dio, f"read_{kind}", counting(kind))

    def counts(kind, folder):
        return sorted(n for (k, p), n in reads.items() if k == kind and f"/{folder}/" in p)

    ds = make_dataset(vessels, training=True, batch_size=4, patch_size=16, augment=STRONG)
    _batches(ds, 12)  # 48 patches = 8 passes over 6 images
    assert counts("image", "images") == [1] * 6
    assert counts("mask", "masks") == [1] * 6
    assert counts("fov", "fov") == [1] * 6
    reads.clear()
    finite = make_dataset(vessels, training=True, batch_size=4, repeat=2)
    for _ in range(3):  # three Keras-style epochs over the same dataset object
        _batches(finite, 100)
    assert counts("image", "images") == [1] * 6 and counts("mask", "masks") == [1] * 6
    reads.clear()
    evaluation = make_dataset(vessels, training=False)
    _batches(evaluation, 100)
    _batches(evaluation, 100)
    assert counts("image", "images") == [1] * 6


def test_load_arrays_and_augment_validation(tmp_path):
    records = _write_records(
        tmp_path / "plain", [np.zeros((16, 16, 3), np.uint8)], [np.eye(16, dtype=np.uint8)]
    )
    [(image, mask, fov)] = load_arrays(records)
    assert image.shape == (16, 16, 3) and mask.dtype == np.uint8 and mask.sum() == 16
    assert fov.shape == (16, 16) and np.all(fov == 1)
    assert set(PRESETS) == {
        "default",
        "fundus",
        "dermoscopy",
        "dermoscopy_field",
        "dermoscopy_hair",
        "histology",
        "histology_hed",
        "none",
    }
    assert Augment.preset("default") == Augment()
    assert not Augment.none().geometric and not Augment.none().photometric
    with pytest.raises(ValueError):
        Augment(rotation=1.5)
    with pytest.raises(ValueError):
        Augment(scale_range=(1.2, 0.8))
    with pytest.raises(ValueError):
        Augment.preset("xray")


def test_windowed_warp_equals_whole_image_warp():
    """Warping only the reachable window gives the whole-image result, reflection included."""
    import math

    import tensorflow as tf

    from mininet_tf.data import pipeline

    rng = np.random.default_rng(0)
    for _ in range(40):
        height, width = (int(v) for v in rng.integers(20, 90, 2))
        image = tf.constant(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        mask = tf.constant(rng.integers(0, 2, (height, width, 1), dtype=np.uint8))
        fov = tf.constant(rng.integers(0, 2, (height, width, 1), dtype=np.uint8))
        angle, zoom = rng.uniform(-math.pi, math.pi), rng.uniform(0.5, 1.6)
        rotation = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        m = tf.constant((rotation / zoom + rng.uniform(-0.1, 0.1, (2, 2))).astype(np.float32))
        out_h, out_w = (int(v) for v in rng.integers(8, 64, 2))
        offset = tf.constant(rng.uniform(-30, max(height, width) + 10, 2).astype(np.float32))
        got = pipeline._warp_window(
            image, mask, fov, m, offset, tf.constant(out_h), tf.constant(out_w)
        )
        transform = tf.stack([m[0, 0], m[0, 1], offset[0], m[1, 0], m[1, 1], offset[1], 0.0, 0.0])
        size = tf.constant([out_h, out_w])
        want_image = pipeline._warp(tf.cast(image, tf.float32), size, transform, "BILINEAR")
        want_masks = pipeline._warp(tf.concat([mask, fov], -1), size, transform, "NEAREST")
        np.testing.assert_allclose(got[0].numpy(), want_image.numpy(), atol=0.01)
        np.testing.assert_array_equal(got[1].numpy()[..., 0], want_masks.numpy()[..., 0])
        np.testing.assert_array_equal(got[2].numpy()[..., 0], want_masks.numpy()[..., 1])


def test_gaussian_blur_matches_opencv():
    """The capture blur is a true Gaussian: OpenCV's, with the same sigma and reflection."""
    from mininet_tf.data import pipeline

    rng = np.random.default_rng(3)
    image = rng.uniform(0, 255, (40, 33, 3)).astype(np.float32)
    for sigma in (0.4, 1.0, 1.5):
        got = pipeline._gaussian_blur(image, np.float32(sigma)).numpy()
        size = 2 * pipeline._BLUR_RADIUS + 1
        want = cv2.GaussianBlur(
            image, (size, size), sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101
        )
        np.testing.assert_allclose(got, want, atol=0.02)


def test_vignette_darkens_corners_only():
    from mininet_tf.data import pipeline

    image = np.full((21, 31, 3), 200.0, np.float32)
    got = pipeline._vignette(image, np.float32(0.5)).numpy()
    assert got[10, 15].tolist() == [200.0] * 3  # the centre is untouched
    np.testing.assert_allclose(got[0, 0], 100.0, rtol=1e-6)  # r = 1: 1 - 0.5
    np.testing.assert_allclose(got[10, 0], 150.0, rtol=1e-6)  # r^2 = 1/2: 1 - 0.25


def _photometric_sample(aug: Augment, seed: int):
    import tensorflow as tf

    from mininet_tf.data import pipeline

    rng = np.random.default_rng(seed)
    image = tf.constant(rng.uniform(40, 200, (24, 24, 3)).astype(np.float32))
    seeds = tf.random.experimental.stateless_split(tf.constant([seed, 1], tf.int64), 16)
    return image.numpy(), pipeline._photometric(aug, image, seeds).numpy()


def test_channel_gain_scales_each_channel_within_range():
    aug = Augment.none().replace(
        color=1.0,
        channel_gain=0.2,
        brightness=0.0,
        contrast_range=(1.0, 1.0),
        saturation_range=(1.0, 1.0),
        hue=0.0,
        gamma_range=(1.0, 1.0),
    )
    ratios = []
    for seed in range(20):
        before, after = _photometric_sample(aug, seed)
        ratio = after / before
        # One gain per channel (the whole channel is scaled by the same factor) ...
        np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:1, :1], ratio.shape), rtol=1e-4)
        ratios.append(ratio[0, 0])
    ratios = np.array(ratios)
    # ... within [0.8, 1.2], drawn independently per channel.
    assert ratios.min() >= 0.8 - 1e-5 and ratios.max() <= 1.2 + 1e-5
    assert np.ptp(ratios, axis=0).min() > 0.1 and not np.allclose(ratios[:, 0], ratios[:, 1])


def _stained(stains):
    """RGB [0, 255] pixels with the given H, E, DAB densities (Ruifrok & Johnston mixing)."""
    from mininet_tf.data.pipeline import RGB_FROM_HED

    return 255.0 * np.exp(np.log(1e-6) * np.asarray(stains) @ RGB_FROM_HED)


def test_hed_jitter_scales_each_stain_density_independently():
    """Known answer: a pixel of densities (H, E, DAB) = (0.30, 0.20, 0.05) with the H density
    scaled by 1.5 and the E density shifted by 0.1 is the pixel of (0.45, 0.30, 0.05); scale
    1 and bias 0 return the image."""
    import tensorflow as tf

    from mininet_tf.data.pipeline import hed_jitter

    pixel = _stained([[0.30, 0.20, 0.05]]).astype("float32")
    same = hed_jitter(tf.constant(pixel), tf.ones(3), tf.zeros(3)).numpy()
    np.testing.assert_allclose(same, pixel, atol=1e-2)
    moved = hed_jitter(tf.constant(pixel), tf.constant([1.5, 1.0, 1.0]), tf.constant([0, 0.1, 0]))
    np.testing.assert_allclose(moved.numpy(), _stained([[0.45, 0.30, 0.05]]), atol=1e-2)


def test_hed_augmentation_follows_its_probability_and_the_preset_uses_it():
    none = Augment.none()
    assert not none.replace(hed=0.0).photometric and none.replace(hed=1.0).photometric
    image = _stained(np.random.default_rng(0).uniform(0.05, 0.6, (24, 24, 3))).astype("float32")
    changes = []
    for seed in range(8):
        import tensorflow as tf

        from mininet_tf.data import pipeline

        seeds = tf.random.experimental.stateless_split(tf.constant([seed, 1], tf.int64), 16)
        aug = none.replace(hed=1.0, hed_sigma=0.2, hed_bias=0.0)
        out = pipeline._photometric(aug, tf.constant(image), seeds).numpy()
        assert out.min() >= 0 and out.max() <= 255
        changes.append(np.abs(out - image).mean())
    assert min(changes) > 0.5  # every draw moved the stains ...
    assert np.ptp(changes) > 0.5  # ... by a different amount
    preset = Augment.preset("histology_hed")
    assert preset.hed > 0 and preset.replace(hed=0.0) == Augment.preset("histology")
    with pytest.raises(ValueError, match="hed_sigma"):
        Augment(hed_sigma=1.5)


def test_capture_degradations_follow_their_probabilities():
    none = Augment.none()
    for field in ("blur", "vignette", "noise"):
        off = none.replace(**{field: 0.0})
        on = none.replace(**{field: 1.0})
        assert not off.photometric and on.photometric
        before, after = _photometric_sample(on, 5)
        assert not np.allclose(before, after), field
        assert after.min() >= 0 and after.max() <= 255
    with pytest.raises(ValueError):
        Augment(channel_gain=1.5)
    with pytest.raises(ValueError):
        Augment(blur_sigma_range=(0.0, 1.0))


def test_draw_hairs_known_answer():
    """A straight 2-px hair from (4, 10) to (24, 10) covers rows 9-10 of columns 4-23 fully in
    its colour and leaves every pixel 1.5 px or more away untouched; count 0 draws nothing."""
    import tensorflow as tf

    from mininet_tf.data.pipeline import MAX_HAIRS, draw_hairs

    image = tf.fill([20, 40, 3], 200.0)
    draws = np.zeros((MAX_HAIRS, 8), np.float32)
    # start (0.1 W, 0.5 H), angle 0, length 0.5 of the longer side, no bend, darkest, opaque
    draws[0] = [0.1, 0.5, 0.0, 0.5, 0.5, 0.0, 0.0, 1.0]
    got = draw_hairs(image, tf.constant(draws), 1, (0.05, 0.05)).numpy()
    colour = 0.04 * np.array([255.0, 205.0, 165.0])
    np.testing.assert_allclose(got[9:11, 5:23], np.broadcast_to(colour, (2, 18, 3)), atol=1e-3)
    untouched = np.ones((20, 40), bool)
    untouched[8:12, 3:25] = False
    assert (got[untouched] == 200.0).all()
    assert (got[8] == 200.0).all() and (got[11] == 200.0).all()  # 1.5 px from the axis
    nothing = draw_hairs(image, tf.constant(draws), 0, (0.05, 0.05)).numpy()
    assert (nothing == 200.0).all()


def test_hair_augmentation_draws_thin_dark_strands_and_follows_its_probability():
    import tensorflow as tf

    from mininet_tf.data import pipeline

    none = Augment.none()
    assert not none.photometric and none.replace(hair=1.0).photometric
    image = tf.fill([64, 64, 3], 180.0)
    covered = []
    for seed in range(6):
        seeds = tf.random.experimental.stateless_split(tf.constant([seed, 1], tf.int64), 19)
        aug = none.replace(hair=1.0, hair_count=4)
        out = pipeline._photometric(aug, image, seeds).numpy()
        assert out.min() >= 0 and out.max() <= 180.0  # hairs only darken
        changed = (out < 179.0).any(-1).mean()
        covered.append(changed)
    # every draw drew something, thin strands cover a small part of the image
    assert min(covered) > 0.005 and max(covered) < 0.35
    off = pipeline._photometric(none.replace(hair=0.0), image, seeds).numpy()
    assert (off == 180.0).all()
    field = Augment.preset("dermoscopy_hair")
    assert field.hair > 0 and field.replace(hair=0.0) == Augment.preset("dermoscopy_field")
    with pytest.raises(ValueError, match="hair_count"):
        Augment(hair_count=0)
    with pytest.raises(ValueError, match="hair_count"):
        Augment(hair_count=pipeline.MAX_HAIRS + 1)
    with pytest.raises(ValueError, match="hair_width_range"):
        Augment(hair_width_range=(0.0, 0.01))


def test_default_augmentation_stream_unchanged_by_new_options():
    """The field options (all off by default) leave the streams of the existing presets as
    they were, so the shipped models' recipes still reproduce: the per-sample seed split is a
    prefix-stable counter stream, and with the new options off the photometric step is the
    colour transform on the same seeds."""
    import tensorflow as tf

    from mininet_tf.data import pipeline

    seed = tf.constant([11, 4], tf.int64)
    old = tf.random.experimental.stateless_split(seed, num=24).numpy()  # the previous split
    new = tf.random.experimental.stateless_split(seed, num=35).numpy()
    np.testing.assert_array_equal(old, new[:24])
    aug = Augment()
    before, after = _photometric_sample(aug.replace(color=1.0), 9)
    seeds = tf.random.experimental.stateless_split(tf.constant([9, 1], tf.int64), 14)
    want = pipeline._colour(aug, tf.constant(before), seeds[1:7]).numpy()
    np.testing.assert_allclose(after, want, atol=1e-4)


@pytest.mark.parametrize("shape, size", [((575, 766), (192, 192)), ((57, 41), (40, 60))])
def test_one_resize_for_training_and_inference(shape, size):
    """The runtime contract: the training pipeline resizes images with the very function every
    inference path uses (no train/serve skew)."""
    from PIL import Image

    from mininet_lite.tiling import resize_uint8
    from mininet_tf.data.pipeline import _resize

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    mask = np.zeros(shape, np.uint8)
    trained, _, _ = _resize(image, mask, mask, size)
    np.testing.assert_array_equal(trained, resize_uint8(image, *size))
    pillow = np.asarray(Image.fromarray(image).resize(size[::-1], Image.BILINEAR))
    np.testing.assert_array_equal(trained, pillow)


def test_fov_width_normalisation_resamples_image_mask_and_fov_together(tmp_path):
    # A 300x300 "fundus" photograph whose bright disc is 240 px wide, a 3-px vessel across it.
    from mininet_lite.fundus import fov_width
    from mininet_tf.data.pipeline import rescale_to_fov_width

    yy, xx = np.mgrid[:300, :300]
    disc = ((yy - 149.5) ** 2 + (xx - 149.5) ** 2 <= 120**2).astype(np.uint8)
    image = np.where(disc[..., None] > 0, np.uint8(170), np.uint8(2)).astype(np.uint8)
    image = np.repeat(image, 3, axis=2)
    mask = np.zeros((300, 300), np.uint8)
    mask[149:152, 40:260] = 1
    small, small_mask, small_fov = rescale_to_fov_width(image, mask, disc, 120)
    # Half the size: the disc is now 120 px wide, the vessel still there (1-2 px, not lost).
    assert small.shape == (150, 150, 3) and small_mask.shape == small_fov.shape == (150, 150)
    assert abs(fov_width(small) - 120) <= 2  # bilinear shrinking blurs a 1-px rim each side
    assert abs(int(small_fov.any(axis=0).sum()) - 120) <= 1
    rows = np.flatnonzero(small_mask.any(axis=1))
    assert 1 <= len(rows) <= 2 and abs(rows.mean() - 75) <= 1
    assert small_mask.any(axis=0).sum() == pytest.approx(110, abs=2)
    # Through the pipeline: eval samples come out at the normalised size.
    for name, array in (("i.png", image), ("m.png", mask * 255), ("f.png", disc * 255)):
        cv2.imwrite(str(tmp_path / name), array)
    record = Record(tmp_path / "i.png", tmp_path / "m.png", tmp_path / "f.png")
    (batch_image, batch_mask) = next(iter(make_dataset([record], training=False, fov_width=120)))
    assert batch_image.shape == (1, 152, 152, 3)  # 150 padded to the multiple of 8
    assert int(batch_mask.numpy().sum()) == int(small_mask.sum())

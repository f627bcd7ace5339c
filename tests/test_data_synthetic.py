"""The synthetic default dataset: determinism, realism bounds, folder cache and splits."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mininet_tf.data import io as dio
from mininet_tf.data import synthetic
from mininet_tf.data.records import DataError


@pytest.mark.parametrize("kind", synthetic.KINDS)
def test_generate_shapes_dtypes_and_determinism(kind):
    images, masks, fovs = synthetic.generate(kind, 3, size=(64, 80), seed=5)
    assert images.shape == (3, 64, 80, 3) and images.dtype == np.uint8
    assert masks.shape == fovs.shape == (3, 64, 80)
    assert masks.dtype == fovs.dtype == np.uint8
    assert set(np.unique(masks)) <= {0, 1} and set(np.unique(fovs)) <= {0, 1}
    again = synthetic.generate(kind, 3, size=(64, 80), seed=5)
    for a, b in zip((images, masks, fovs), again, strict=True):
        np.testing.assert_array_equal(a, b)
    # Sample i does not depend on n; `start` continues the same sequence.
    fewer = synthetic.generate(kind, 2, size=(64, 80), seed=5)
    np.testing.assert_array_equal(fewer[0], images[:2])
    later = synthetic.generate(kind, 1, size=(64, 80), seed=5, start=2)
    np.testing.assert_array_equal(later[1][0], masks[2])
    other = synthetic.generate(kind, 3, size=(64, 80), seed=6)
    assert not np.array_equal(other[0], images)
    # Samples within a set differ from each other.
    assert not np.array_equal(images[0], images[1])


def test_vessels_plausible_fraction_and_circular_fov():
    images, masks, fovs = synthetic.generate("vessels", 8, size=(128, 128), seed=0)
    fractions = masks.sum((1, 2)) / fovs.sum((1, 2))
    assert 0.05 <= fractions.mean() <= 0.20, fractions
    assert np.all((fractions > 0.03) & (fractions < 0.25)), fractions
    yy, xx = np.mgrid[0:128, 0:128]
    for image, mask, fov in zip(images, masks, fovs, strict=True):
        assert not np.any(mask & (1 - fov)), "vessels outside the FOV"
        assert np.all(image[fov == 0] == 0), "image not black outside the FOV"
        # The FOV is a disc: area and centroid give its radius; check the rim.
        cy, cx = yy[fov > 0].mean(), xx[fov > 0].mean()
        radius = np.sqrt(fov.sum() / np.pi)
        dist = np.hypot(yy - cy, xx - cx)
        assert np.all(fov[dist < radius - 1.5] == 1) and np.all(fov[dist > radius + 1.5] == 0)
        assert 0.4 * 128 < radius < 0.5 * 128
        # Vessels are darker than the rest of the FOV (green channel, like real fundus).
        green = image[..., 1].astype(float)
        assert green[mask > 0].mean() < green[(fov > 0) & (mask == 0)].mean() - 5


def test_lesions_plausible_fraction_and_hairs_not_in_mask():
    images, masks, fovs = synthetic.generate("lesions", 8, size=(128, 128), seed=0)
    assert np.all(fovs == 1)
    fractions = masks.mean((1, 2))
    assert np.all((fractions >= 0.05) & (fractions <= 0.5)), fractions
    hair_pixels = 0
    for index in range(12):
        sample = synthetic._sample("lesions", (128, 128), 0, index)
        mask, hairs, image = sample["mask"], sample["hairs"], sample["image"]
        # The mask is the lesion (1 blob + maybe a satellite), never a thin hair curve.
        n_components = cv2.connectedComponents(mask)[0] - 1
        assert 1 <= n_components <= 2
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        assert (mask != opened).sum() < 0.02 * mask.sum()
        outside = (hairs > 0) & (cv2.dilate(mask, np.ones((7, 7), np.uint8)) == 0)
        if outside.any():
            hair_pixels += outside.sum()
            assert np.all(mask[outside] == 0)
            skin = (hairs == 0) & (cv2.dilate(mask, np.ones((7, 7), np.uint8)) == 0)
            assert image[outside].mean() < image[skin].mean() - 30, "hairs should be dark"
    assert hair_pixels > 0, "no sample with hairs outside the lesion"


def test_generation_is_fast():
    import time

    start = time.perf_counter()
    synthetic.generate("vessels", 16, size=(128, 128), seed=1)
    synthetic.generate("lesions", 16, size=(128, 128), seed=1)
    assert time.perf_counter() - start < 10


def _tree(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_materialize_layout_and_idempotent(tmp_path):
    root = tmp_path / "ds"
    out = synthetic.materialize(root, kind="lesions", n=4, size=(48, 64), seed=3, n_test=2)
    assert out == root
    spec = json.loads((root / "dataset.json").read_text())
    assert spec["kind"] == "lesions" and spec["n"] == 4 and spec["n_test"] == 2
    assert spec["size"] == [48, 64] and spec["seed"] == 3
    assert not (root / "train" / "fov").exists(), "lesions have no FOV files"
    for split, count in (("train", 4), ("test", 2)):
        for sub in ("images", "masks"):
            files = sorted((root / split / sub).glob("*.png"))
            assert [f.name for f in files] == [f"{i:04d}.png" for i in range(count)]
    # PNGs decode (through the shared io module) to exactly the generated arrays.
    images, masks, fovs = synthetic.generate("lesions", 4, size=(48, 64), seed=3)
    np.testing.assert_array_equal(dio.read_image(root / "train/images/0002.png"), images[2])
    np.testing.assert_array_equal(dio.read_mask(root / "train/masks/0002.png"), masks[2])
    assert np.all(fovs == 1)
    test_images = synthetic.generate(
        "lesions", 1, size=(48, 64), seed=3, start=synthetic.TEST_INDEX_OFFSET
    )[0]
    np.testing.assert_array_equal(dio.read_image(root / "test/images/0000.png"), test_images[0])

    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert synthetic.materialize(root, kind="lesions", n=4, size=(48, 64), seed=3, n_test=2)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert [p.name for p in tmp_path.iterdir()] == ["ds"], "temporary folder left behind"


def test_materialize_refuses_to_overwrite(tmp_path):
    root = tmp_path / "ds"
    synthetic.materialize(root, kind="vessels", n=2, size=(32, 32), seed=0, n_test=1)
    before = _tree(root)
    with pytest.raises(DataError, match="different arguments"):
        synthetic.materialize(root, kind="vessels", n=3, size=(32, 32), seed=0, n_test=1)
    with pytest.raises(DataError, match="different arguments"):
        synthetic.materialize(root, kind="lesions", n=2, size=(32, 32), seed=0, n_test=1)
    assert _tree(root) == before

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    with pytest.raises(DataError, match="not a synthetic dataset"):
        synthetic.materialize(foreign, n=2, size=(32, 32))
    assert _tree(foreign) == ["notes.txt"]
    assert (foreign / "notes.txt").read_text() == "precious"

    other_json = tmp_path / "other"
    other_json.mkdir()
    (other_json / "dataset.json").write_text('{"generator": "someone else"}')
    with pytest.raises(DataError):
        synthetic.materialize(other_json, n=2, size=(32, 32))

    # An empty folder is filled; an incomplete dataset is reported, not silently used.
    empty = tmp_path / "empty"
    empty.mkdir()
    synthetic.materialize(empty, n=2, size=(32, 32), n_test=1)
    (empty / "train/masks/0001.png").unlink()
    with pytest.raises(DataError, match="incomplete"):
        synthetic.materialize(empty, n=2, size=(32, 32), n_test=1)


def test_load_split_counts_disjoint_and_seeded(tmp_path):
    kwargs = dict(kind="vessels", n=10, size=(32, 32), n_test=4)
    root = tmp_path / "ds"
    splits = {s: synthetic.load_split(root, s, **kwargs) for s in ("train", "val", "test", "all")}
    assert [len(splits[s]) for s in ("train", "val", "test", "all")] == [8, 2, 4, 14]
    ids = {s: {r.id for r in recs} for s, recs in splits.items()}
    assert not ids["train"] & ids["val"] and not ids["train"] & ids["test"]
    assert not ids["val"] & ids["test"]
    assert ids["train"] | ids["val"] | ids["test"] == ids["all"]
    images = {s: {r.image for r in recs} for s, recs in splits.items()}
    assert not images["train"] & images["val"] and not images["val"] & images["test"]
    for r in splits["all"]:
        assert r.image.is_file() and r.mask.is_file() and r.fov.is_file()
    fov = dio.read_fov(splits["test"][0].fov)
    np.testing.assert_array_equal(
        fov, synthetic.generate("vessels", 1, (32, 32), start=synthetic.TEST_INDEX_OFFSET)[2][0]
    )
    # Same seed: same split; another split seed: another validation set from the same images.
    assert synthetic.load_split(root, "val", **kwargs) == splits["val"]
    vals = {
        tuple(r.id for r in synthetic.load_split(root, "val", seed=s, **kwargs)) for s in range(5)
    }
    assert len(vals) > 1
    assert len(synthetic.load_split(root, "train", val_fraction=0.0, **kwargs)) == 10
    with pytest.raises(DataError):
        synthetic.load_split(root, "bogus", **kwargs)


def test_load_split_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MININET_CACHE_DIR", str(tmp_path / "cache"))
    records = synthetic.load_split(None, "test", kind="lesions", n=3, size=(32, 32), n_test=2)
    expected = tmp_path / "cache" / "synthetic" / "lesions-32x32-3-seed0"
    assert synthetic.default_cache_dir("lesions", 3, (32, 32), 0) == expected
    assert len(records) == 2 and all(r.image.parent.parent.parent == expected for r in records)
    assert all(r.fov is None for r in records)
    assert (expected / "dataset.json").is_file()

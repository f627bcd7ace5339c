"""Loaders on fixture trees with each dataset's official names and formats."""

from __future__ import annotations

import json
import re
import shutil
import warnings

import numpy as np
import pytest

from mininet_tf.config import TrainConfig
from mininet_tf.data import DATASETS, get_split, split_options, write_manifest
from mininet_tf.data.io import DataWarning, read_fov, read_image, read_mask, read_record
from mininet_tf.data.matching import SPLITS_DIR, carve_val, load_split_file, seeded_three_way
from mininet_tf.data.records import DataError, Record

try:  # tests/ may or may not be a package
    from tests import fixtures_data as fx
except ImportError:  # pragma: no cover
    import fixtures_data as fx

SPLITS = ("train", "val", "test", "all")


def names(path) -> str:
    return re.escape(str(path))


def ids(records) -> list[str]:
    return [r.id for r in records]


def assert_paired(records, extra: int = 0):
    """Each mask identifies its image; ids are sorted and unique."""
    assert records
    assert ids(records) == sorted(set(ids(records)))
    for r in records:
        assert fx.image_index(read_image(r.image)) == fx.mask_index(read_mask(r.mask), extra), r


def counts(name, data_dir, **kw) -> dict[str, int]:
    return {s: len(get_split(name, data_dir, s, **kw)) for s in SPLITS}


def assert_partition(name, data_dir, **kw):
    parts = {s: set(ids(get_split(name, data_dir, s, **kw))) for s in SPLITS}
    assert not parts["train"] & parts["val"] and not parts["train"] & parts["test"]
    assert not parts["val"] & parts["test"]
    assert parts["train"] | parts["val"] | parts["test"] <= parts["all"]
    return parts


# ------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------


def test_registry_names_and_lazy_synthetic():
    expected = {"drive", "stare", "chase_db1", "isic2016", "isic2017", "isic2018", "ph2"}
    expected |= {"monuseg"}
    assert expected | {"folder", "synthetic", "manifest"} <= set(DATASETS)
    assert DATASETS["synthetic"].module == "mininet_tf.data.synthetic"
    assert DATASETS["synthetic"].function == "load_split"


def test_registry_errors(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'nope'.*drive"):
        get_split("nope", tmp_path, "train")
    with pytest.raises(DataError, match="unknown split 'training'.*train, val, test, all"):
        get_split("drive", tmp_path, "training")
    with pytest.raises(
        DataError, match=f"{names(tmp_path / 'absent')}: DRIVE data directory does not exist"
    ):
        get_split("drive", tmp_path / "absent", "train")


# ------------------------------------------------------------------------------------------
# DRIVE
# ------------------------------------------------------------------------------------------


def test_drive_splits_pairing_and_fov(tmp_path):
    drive = fx.make_drive(tmp_path)
    assert counts("drive", tmp_path) == {"train": 4, "val": 1, "test": 3, "all": 8}
    assert counts("drive", drive, val_fraction=0) == {"train": 5, "val": 0, "test": 3, "all": 8}
    records = get_split("drive", drive, "all")
    assert_paired(records)
    for r in records:
        np.testing.assert_array_equal(read_fov(r.fov), fx.disc())
        number = r.id.split("_")[0]
        assert r.mask.name == f"{number}_manual1.gif" and r.fov.name.startswith(number)
    test = get_split("drive", drive, "test")
    assert ids(test) == ["01_test", "02_test", "03_test"]
    assert_partition("drive", drive)


def test_drive_val_is_deterministic_and_seeded(tmp_path):
    drive = fx.make_drive(tmp_path, train_ids=range(21, 41), test_ids=())
    val = ids(get_split("drive", drive, "val"))
    assert val == ids(get_split("drive", drive, "val")) and len(val) == 4
    train = ids(get_split("drive", drive, "train"))
    assert sorted(train + val) == [f"{n}_training" for n in range(21, 41)]
    # The documented rule: permutation of the sorted records by default_rng(seed).
    order = np.random.default_rng(0).permutation(20)
    assert val == sorted(f"{21 + i}_training" for i in order[:4])
    assert {tuple(ids(get_split("drive", drive, "val", seed=s))) for s in range(5)} != {tuple(val)}


def test_drive_second_annotator_palette_gif(tmp_path):
    drive = fx.make_drive(tmp_path)
    records = get_split("drive", drive, "test", annotator="2nd")
    assert [r.mask.parent.name for r in records] == ["2nd_manual"] * 3
    assert_paired(records, extra=1)
    with pytest.raises(DataError, match="annotator='2nd' is only available for split='test'"):
        get_split("drive", drive, "train", annotator="2nd")


def test_drive_test_without_1st_manual(tmp_path):
    drive = fx.make_drive(tmp_path, test_labels=False)
    with pytest.raises(DataError) as info:
        get_split("drive", drive, "test")
    message = str(info.value)
    assert str(drive / "test" / "1st_manual") in message
    assert "test labels are absent" in message and "--split test" in message
    assert len(get_split("drive", drive, "train")) == 4
    with pytest.warns(DataWarning, match="only the training images"):
        assert len(get_split("drive", drive, "all")) == 5


def test_drive_wrong_layout_lists_expected_and_found(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError) as info:
        get_split("drive", tmp_path, "train")
    message = str(info.value)
    assert "Expected: training/images/, training/1st_manual/, training/mask/" in message
    assert "Found in" in message and "images/" in message and "notes.txt" in message


def test_drive_missing_mask_orphan_duplicate_and_empty(tmp_path):
    drive = fx.make_drive(tmp_path)
    manual = drive / "training/1st_manual"
    (manual / "22_manual1.gif").unlink()
    with pytest.raises(
        DataError,
        match=f"images without a mask.*{names(drive / 'training/images/22_training.tif')}",
    ):
        get_split("drive", drive, "train")
    fx.save_mask(manual / "22_manual1.gif", fx.encode_mask(22))
    fx.save_mask(manual / "30_manual1.gif", fx.encode_mask(30))
    with pytest.raises(
        DataError, match=f"masks without an image.*{names(manual / '30_manual1.gif')}"
    ):
        get_split("drive", drive, "train")
    (manual / "30_manual1.gif").unlink()
    dup = fx.save_rgb(drive / "training/images/21_training.png", fx.encode_image(21))
    with pytest.raises(DataError) as info:
        get_split("drive", drive, "train")
    assert "duplicate" in str(info.value) and str(dup) in str(info.value)
    assert str(drive / "training/images/21_training.tif") in str(info.value)
    dup.unlink()
    odd = fx.save_rgb(drive / "training/images/extra.tif", fx.encode_image(1))
    with pytest.raises(DataError, match=f"{names(odd)}: unexpected DRIVE image file name"):
        get_split("drive", drive, "train")
    shutil.rmtree(drive / "training/images")
    (drive / "training/images").mkdir()
    (drive / "training/images/Thumbs.db").write_bytes(b"x")
    with pytest.raises(
        DataError, match=f"{names(drive / 'training/images')}: images folder has no image files"
    ):
        get_split("drive", drive, "train")


def test_drive_missing_fov_folder_warns(tmp_path):
    drive = fx.make_drive(tmp_path)
    shutil.rmtree(drive / "training/mask")
    with pytest.warns(DataWarning, match="FOV masks missing"):
        records = get_split("drive", drive, "train")
    assert all(r.fov is None for r in records)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_file_and_size_mismatch_surface_on_read(tmp_path):
    drive = fx.make_drive(tmp_path)
    image = drive / "training/images/21_training.tif"
    image.write_bytes(image.read_bytes()[:100])
    record = next(r for r in get_split("drive", drive, "all") if r.id == "21_training")
    with pytest.raises(DataError, match=f"{names(image)}: corrupt"):
        read_record(record)
    mask = drive / "training/1st_manual/22_manual1.gif"
    fx.save_mask(mask, np.ones((10, 10), np.uint8))
    record = next(r for r in get_split("drive", drive, "all") if r.id == "22_training")
    with pytest.raises(DataError, match=f"size mismatch.*{names(mask)} is 10x10"):
        read_record(record)


# ------------------------------------------------------------------------------------------
# STARE and CHASE_DB1 (derived FOV, shipped split)
# ------------------------------------------------------------------------------------------


def test_stare_shipped_split_annotators_and_fov(tmp_path):
    fx.make_stare(tmp_path / "data")
    cache = tmp_path / "cache"
    kw = {"cache_dir": cache}
    assert counts("stare", tmp_path / "data", **kw) == {"train": 8, "val": 2, "test": 10, "all": 20}
    shipped = json.loads((SPLITS_DIR / "stare.json").read_text())
    assert ids(get_split("stare", tmp_path / "data", "test", **kw)) == shipped["test"]
    train = get_split("stare", tmp_path / "data", "train", **kw) + get_split(
        "stare", tmp_path / "data", "val", **kw
    )
    assert sorted(ids(train)) == shipped["train"] == fx.STARE_LABELLED[:10]
    records = get_split("stare", tmp_path / "data", "all", **kw)
    assert_paired(records)
    assert_paired(get_split("stare", tmp_path / "data", "all", annotator="vk", derive_fov=False), 1)
    for r in records:
        fov = read_fov(r.fov)
        assert r.fov.parent == cache and fov.sum() > 0.4 * fx.disc().sum()
        assert not (fov & (1 - fx.disc())).any()
    assert get_split("stare", tmp_path / "data", "all", derive_fov=False)[0].fov is None


def test_stare_uncompressed_label_without_image_and_subset(tmp_path):
    fx.make_stare(tmp_path / "plain", fx.STARE_LABELLED[:4], gz=False)
    with pytest.warns(DataWarning, match="using a seeded split"):
        test = get_split("stare", tmp_path / "plain", "test", derive_fov=False)
    assert len(test) == 2  # seeded fallback, test_fraction 0.5
    (tmp_path / "plain/stare-images/im0002.ppm").unlink()
    with pytest.raises(
        DataError,
        match=f"masks without an image.*{names(tmp_path / 'plain/labels-ah/im0002.ah.ppm')}",
    ):
        get_split("stare", tmp_path / "plain", "all", derive_fov=False)
    with pytest.raises(DataError, match="Expected: stare-images/"):
        get_split("stare", tmp_path / "plain/labels-ah", "all")


def test_joint_fundus_is_the_union_of_the_three_splits(tmp_path):
    root = tmp_path / "data"
    fx.make_drive(root)
    fx.make_stare(root / "STARE")
    fx.make_chase(root)
    kw = {"cache_dir": tmp_path / "cache"}
    for split in ("train", "val", "test"):
        joint = get_split("fundus", root, split, **kw)
        expected = [
            f"{source}-{r.id}"
            for source in ("drive", "stare", "chase_db1")
            for r in get_split(source, root, split, **({} if source == "drive" else kw))
        ]
        assert ids(joint) == expected
        assert len(set(ids(joint))) == len(joint)  # prefixed ids never collide
    test = get_split("fundus", root, "test", **kw)
    assert [r.id for r in test][:3] == ["drive-01_test", "drive-02_test", "drive-03_test"]
    # The same files as the per-dataset loaders, image paired with its own mask and FOV.
    assert_paired([r for r in test if r.id.startswith("stare-")])
    assert all(r.fov is not None for r in test)
    with pytest.raises(DataError, match="joint fundus data in .*chase_db1"):
        get_split("fundus", tmp_path / "data" / "DRIVE", "train", sources=("drive", "chase_db1"))
    with pytest.raises(DataError, match="fundus sources must be among"):
        get_split("fundus", root, "train", sources=("ph2",))


def test_chase_db1(tmp_path):
    fx.make_chase(tmp_path)
    kw = {"cache_dir": tmp_path / "cache"}
    assert counts("chase_db1", tmp_path, **kw) == {"train": 16, "val": 4, "test": 8, "all": 28}
    assert ids(get_split("chase_db1", tmp_path, "test", **kw)) == fx.CHASE_IDS[20:]
    records = get_split("chase", tmp_path, "all", **kw)
    assert_paired(records)
    assert all(r.fov is not None and r.mask.name.endswith("_1stHO.png") for r in records)
    assert_paired(get_split("chase_db1", tmp_path, "all", annotator="2nd", derive_fov=False), 1)
    (tmp_path / "CHASEDB1/Image_03L_2ndHO.png").unlink()
    with pytest.raises(
        DataError, match=f"images without a mask.*{names(tmp_path / 'CHASEDB1/Image_03L.jpg')}"
    ):
        get_split("chase_db1", tmp_path, "all", annotator="2nd", derive_fov=False)


def test_chase_db1_subject_split_keeps_both_eyes_of_a_child_together(tmp_path):
    """``split_file="chase_db1_subjects"``: validation is two whole children of the training
    ten; the test children are the shipped split's."""
    fx.make_chase(tmp_path)
    kw = {"split_file": "chase_db1_subjects", "derive_fov": False}
    parts = {s: ids(get_split("chase_db1", tmp_path, s, **kw)) for s in ("train", "val", "test")}
    assert {s: len(v) for s, v in parts.items()} == {"train": 16, "val": 4, "test": 8}
    assert parts["test"] == fx.CHASE_IDS[20:]
    children = {s: {i[:8] for i in v} for s, v in parts.items()}  # "Image_05" of "Image_05L"
    assert len(children["val"]) == 2
    assert not children["val"] & children["train"] and not children["test"] & children["train"]
    # The val_fraction / seed carve does not apply when the split file lists validation.
    assert ids(get_split("chase_db1", tmp_path, "val", seed=3, **kw)) == parts["val"]


# ------------------------------------------------------------------------------------------
# ISIC
# ------------------------------------------------------------------------------------------


def test_isic2016(tmp_path):
    fx.make_isic2016(tmp_path)
    assert counts("isic2016", tmp_path) == {"train": 5, "val": 1, "test": 3, "all": 9}
    assert_paired(get_split("isic2016", tmp_path, "all"))
    assert ids(get_split("isic2016", tmp_path, "test")) == [
        "ISIC_0000003",
        "ISIC_0000005",
        "ISIC_0000009",
    ]


def test_isic2016_test_ground_truth_absent(tmp_path):
    fx.make_isic2016(tmp_path, test_gt=False)
    with pytest.raises(DataError, match="ISBI2016_ISIC_Part1_Test_GroundTruth/"):
        get_split("isic2016", tmp_path, "test")
    assert len(get_split("isic2016", tmp_path, "all")) == 6


def test_isic2018_official_val_and_non_image_files(tmp_path):
    fx.make_isic2018(tmp_path)
    assert counts("isic2018", tmp_path) == {"train": 6, "val": 2, "test": 3, "all": 11}
    assert ids(get_split("isic2018", tmp_path, "val")) == ["ISIC_0000010", "ISIC_0000011"]
    assert (tmp_path / "ISIC2018_Task1-2_Training_Input/ATTRIBUTION.txt").is_file()
    assert_paired(get_split("isic2018", tmp_path, "all"))


def test_isic2018_without_validation_carves_with_warning(tmp_path):
    fx.make_isic2018(tmp_path, val=())
    with pytest.warns(DataWarning, match="carving val from training"):
        assert len(get_split("isic2018", tmp_path, "val")) == 1
    assert len(get_split("isic2018", tmp_path, "train")) == 5


def test_isic2017_official_parts(tmp_path):
    fx.make_isic2017(tmp_path, val=(30, 31), test=(40, 41, 42))
    parts = assert_partition("isic2017", tmp_path)
    # Official val and test: every training image trains, superpixel files are not images.
    assert len(parts["train"]) == 10 and len(parts["all"]) == 15
    assert sorted(parts["val"]) == ["ISIC_0000030", "ISIC_0000031"]
    assert sorted(parts["test"]) == ["ISIC_0000040", "ISIC_0000041", "ISIC_0000042"]
    assert_paired(get_split("isic2017", tmp_path, "all"))


def test_isic2017_carves_missing_parts_with_split_file(tmp_path):
    fx.make_isic2017(tmp_path, train=range(10))
    definition = {
        "train": [f"ISIC_{i:07d}" for i in range(6)],
        "val": ["ISIC_0000006"],
        "test": ["ISIC_0000007", "ISIC_0000008", "ISIC_0000009"],
    }
    path = tmp_path / "split.json"
    path.write_text(json.dumps(definition))
    got = {s: ids(get_split("isic2017", tmp_path, s, split_file=path)) for s in SPLITS[:3]}
    assert got == definition
    # With the official test folders present, the ids carved for test go back to training.
    fx.make_isic2017(tmp_path, train=(), test=(40, 41))
    got = {s: ids(get_split("isic2017", tmp_path, s, split_file=path)) for s in SPLITS[:3]}
    assert got["test"] == ["ISIC_0000040", "ISIC_0000041"]
    assert got["val"] == ["ISIC_0000006"]
    assert got["train"] == sorted(definition["train"] + definition["test"])


def test_isic2017_foreign_ids_fall_back_to_seeded_split(tmp_path):
    fx.make_isic2017(tmp_path, train=range(20))
    with pytest.warns(DataWarning, match="using a seeded split"):
        parts = assert_partition("isic2017", tmp_path)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [14, 2, 4]


def test_isic2017_errors_name_the_folder(tmp_path):
    with pytest.raises(DataError, match="ISIC-2017_Training_Data/"):
        get_split("isic2017", tmp_path, "train")
    fx.make_isic2017(tmp_path)
    shutil.rmtree(tmp_path / "ISIC-2017_Training_Part1_GroundTruth")
    with pytest.raises(DataError, match="ISIC-2017_Training_Part1_GroundTruth"):
        get_split("isic2017", tmp_path, "train")


def test_isic2017_shipped_split_file():
    definition = load_split_file(SPLITS_DIR / "isic2017.json")
    sizes = {k: len(v) for k, v in definition.items()}
    assert sizes == {"train": 1400, "val": 200, "test": 400}
    every = sorted(i for v in definition.values() for i in v)
    assert len(set(every)) == 2000 and all(re.fullmatch(r"ISIC_\d{7}", i) for i in every)
    # The file is what its generator gives (nothing hand-edited).
    records = [Record(id=i, image=f"{i}.jpg", mask=f"{i}.png") for i in every]
    parts = seeded_three_way(records, test_fraction=0.2, val_fraction=0.125, seed=0)
    assert {k: ids(v) for k, v in parts.items()} == definition


# ------------------------------------------------------------------------------------------
# PH2
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["", "PH2Dataset", "PH2Dataset/PH2 Dataset images"])
def test_ph2_official_layout(tmp_path, where):
    fx.make_ph2_official(tmp_path)
    with pytest.warns(DataWarning, match="using a seeded split"):
        parts = assert_partition("ph2", tmp_path / where)
    assert len(parts["all"]) == 5 and len(parts["test"]) == 1
    records = get_split("ph2", tmp_path / where, "all")
    assert ids(records) == ["IMD002", "IMD003", "IMD004", "IMD006", "IMD008"]
    assert all(r.image.suffix == ".bmp" and r.mask.name == f"{r.id}_lesion.bmp" for r in records)
    assert_paired(records)


def test_ph2_official_missing_lesion(tmp_path):
    base = fx.make_ph2_official(tmp_path)
    case = base / "PH2 Dataset images/IMD004"
    shutil.rmtree(case / "IMD004_lesion")
    with pytest.raises(DataError, match=f"{names(case)}: PH2 case folder without IMD004_lesion/"):
        get_split("ph2", base, "all")


def test_ph2_flat_uses_shipped_split(tmp_path):
    fx.make_ph2_flat(tmp_path)
    shipped = json.loads((SPLITS_DIR / "ph2.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for split in ("train", "val", "test"):
            assert ids(get_split("ph2", tmp_path, split)) == shipped[split]
    assert counts("ph2", tmp_path) == {"train": 100, "val": 20, "test": 40, "all": 160}
    assert_paired(get_split("ph2", tmp_path, "test"))
    # An extra image is only in "all"; split_file=None gives a seeded split.
    fx.save_rgb(tmp_path / "images/IMD999.jpg", fx.encode_image(999 % 200))
    fx.save_mask(tmp_path / "masks/IMD999_lesion.png", fx.encode_mask(999 % 200))
    with pytest.warns(DataWarning, match="only part of split 'all'"):
        assert "IMD999" not in ids(get_split("ph2", tmp_path, "train"))
    assert "IMD999" in ids(get_split("ph2", tmp_path, "all"))
    seeded = counts("ph2", tmp_path, split_file=None)
    assert seeded == {"train": 97, "val": 24, "test": 40, "all": 161}


def test_ph2_flat_subset_falls_back_to_seeded(tmp_path):
    fx.make_ph2_flat(tmp_path, fx.shipped_ids("ph2")[:20])
    with pytest.warns(DataWarning, match="140 of the 160 ids"):
        assert len(get_split("ph2", tmp_path, "test")) == 5


# ------------------------------------------------------------------------------------------
# MoNuSeg
# ------------------------------------------------------------------------------------------


def test_monuseg_official_xml_rasterised(tmp_path):
    fx.make_monuseg_official(tmp_path / "data")
    kw = {"cache_dir": tmp_path / "cache"}
    assert counts("monuseg", tmp_path / "data", **kw) == {"train": 2, "val": 1, "test": 2, "all": 5}
    records = get_split("monuseg", tmp_path / "data", "all", **kw)
    for r in records:
        mask = read_mask(r.mask)
        idx = fx.image_index(read_image(r.image))
        assert mask.shape == (28, 32) and r.mask.parent == tmp_path / "cache"
        assert mask.sum() == 3 * (idx + 1) + fx.TRIANGLE_PIXELS
        assert mask[2, 2] == 1 and mask[2, 3 + idx] == 0
    assert ids(get_split("monuseg", tmp_path / "data", "test", **kw)) == ["TCGA-T1", "TCGA-T2"]
    # Training folder given directly; cache reused (same files, no temporary leftovers).
    again = get_split("monuseg", tmp_path / "data/MoNuSeg 2018 Training Data", "all", **kw)
    assert {r.mask for r in again} <= {r.mask for r in records}
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]


def test_monuseg_bad_xml_names_the_file(tmp_path):
    fx.make_monuseg_official(tmp_path, test=())
    xml = tmp_path / "MoNuSeg 2018 Training Data/Annotations/TCGA-B2.xml"
    xml.write_text("<Annotations><Region>")
    with pytest.raises(DataError, match=f"{names(xml)}: unreadable Aperio XML"):
        get_split("monuseg", tmp_path, "all", cache_dir=tmp_path / "cache")
    xml.write_text(fx.aperio_xml([[(1, 1), (5, "x"), (1, 5)]]))
    with pytest.raises(DataError, match=f"{names(xml)}: a Vertex without numeric"):
        get_split("monuseg", tmp_path, "all", cache_dir=tmp_path / "cache")


def test_monuseg_flat_shipped_split_and_test_folder(tmp_path):
    fx.make_monuseg_flat(tmp_path / "a")
    shipped = json.loads((SPLITS_DIR / "monuseg.json").read_text())
    assert counts("monuseg", tmp_path / "a") == {"train": 20, "val": 4, "test": 6, "all": 30}
    assert ids(get_split("monuseg", tmp_path / "a", "val")) == shipped["val"]
    assert_paired(get_split("monuseg", tmp_path / "a", "all"))
    fx.make_monuseg_flat(tmp_path / "b", ["TCGA-1", "TCGA-2", "TCGA-3"], test_ids=["TCGA-9"])
    assert counts("monuseg", tmp_path / "b") == {"train": 2, "val": 1, "test": 1, "all": 4}


def test_monuseg_all_split_file_trains_on_every_tile_but_validation(tmp_path):
    """``split_file="monuseg_all"`` (the shipped model's): the 6 test tiles move into train,
    validation stays the shipped split's, nothing is left to test on; with an official test
    set the loader tests on it and the split file does not apply."""
    fx.make_monuseg_flat(tmp_path / "a")
    shipped = json.loads((SPLITS_DIR / "monuseg.json").read_text())
    kw = dict(split_file="monuseg_all")
    assert counts("monuseg", tmp_path / "a", **kw) == {"train": 26, "val": 4, "test": 0, "all": 30}
    assert ids(get_split("monuseg", tmp_path / "a", "val", **kw)) == shipped["val"]
    train = set(ids(get_split("monuseg", tmp_path / "a", "train", **kw)))
    assert train == set(shipped["train"]) | set(shipped["test"])
    fx.make_monuseg_flat(tmp_path / "b", shipped["train"][:5], test_ids=["TCGA-9"])
    assert counts("monuseg", tmp_path / "b", **kw)["test"] == 1


def test_split_file_by_name_path_or_a_clear_error(tmp_path):
    fx.make_monuseg_flat(tmp_path / "a")
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"train": fx.shipped_ids("monuseg")[:29], "test": ["TCGA-X"]}))
    with pytest.warns(DataWarning):  # an id of the file is missing: seeded split instead
        get_split("monuseg", tmp_path / "a", "train", split_file=str(path))
    with pytest.raises(DataError, match="not a shipped split.*monuseg_all"):
        get_split("monuseg", tmp_path / "a", "train", split_file="nope")
    with pytest.raises(DataError, match="official split and takes no split file"):
        get_split("drive", tmp_path, "train", split_file="monuseg_all")
    assert split_options({"seed": 3}) == {"val_fraction": 0.2, "seed": 3}
    options = split_options({"split_file": "monuseg_all", "val_fraction": 0.1, "seed": 0})
    assert options == {"val_fraction": 0.1, "seed": 0, "split_file": "monuseg_all"}
    # The validation carve's own seed wins over the training seed; None falls back to it.
    assert split_options({"seed": 3, "split_seed": 0})["seed"] == 0
    assert split_options({"seed": 3, "split_seed": None})["seed"] == 3


def test_split_seed_keeps_the_validation_images_across_training_seeds(tmp_path):
    from mininet_tf.train import load_splits

    drive = fx.make_drive(tmp_path, train_ids=tuple(range(21, 41)))

    def val_ids(**options):
        cfg = TrainConfig(dataset="drive", data_dir=str(drive), **options)
        return [r.id for r in load_splits(cfg)["val"]]

    assert val_ids(seed=1, split_seed=0) == val_ids(seed=0)
    assert val_ids(seed=1) != val_ids(seed=0)  # without it a seed also moves the carve


@pytest.mark.parametrize("where", ["", "MoNuSegTestData"])
def test_monuseg_official_test_data_alone(tmp_path, where):
    """Evaluating needs only the official test folder (tif + xml), given or as a subfolder."""
    fx.make_monuseg_official(tmp_path, train=())
    assert not (tmp_path / "MoNuSeg 2018 Training Data").exists()
    data_dir, kw = tmp_path / where, dict(cache_dir=tmp_path / "cache")
    test = get_split("monuseg", data_dir, "test", **kw)
    assert ids(test) == ["TCGA-T1", "TCGA-T2"]
    assert [r.image.name for r in test] == ["TCGA-T1.tif", "TCGA-T2.tif"]
    assert ids(get_split("monuseg", data_dir, "all", **kw)) == ids(test)
    assert [fx.image_index(read_image(r.image)) for r in test] == [0, 1]
    for idx, r in enumerate(test):  # rasterised from each tile's own polygons
        mask = read_mask(r.mask)
        assert r.mask.parent == tmp_path / "cache" and mask.shape == (fx.H, fx.W)
        assert set(np.unique(mask)) == {0, 1}
        assert mask.sum() == 3 * (idx + 1) + fx.TRIANGLE_PIXELS
        assert mask[2, 2] == 1 and mask[2, 2 + idx] == 1 and mask[2, 3 + idx] == 0
        assert mask[20, 20] == 1 and mask[0, 0] == 0
    for split in ("train", "val"):
        message = f"{names(data_dir)}: only holds MoNuSeg test data \\(2 tiles"
        with pytest.raises(DataError, match=message + ".*MoNuSeg 2018 Training Data/"):
            get_split("monuseg", data_dir, split, **kw)


def test_monuseg_official_test_alone_matches_full_folder(tmp_path):
    """The test folder alone gives the same records and masks as inside a full release."""
    fx.make_monuseg_official(tmp_path / "full")
    shutil.copytree(tmp_path / "full/MoNuSegTestData", tmp_path / "alone/MoNuSegTestData")
    full = get_split("monuseg", tmp_path / "full", "test", cache_dir=tmp_path / "c1")
    alone = get_split("monuseg", tmp_path / "alone", "test", cache_dir=tmp_path / "c2")
    assert ids(alone) == ids(full) == ["TCGA-T1", "TCGA-T2"]
    for a, f in zip(alone, full, strict=True):
        assert a.mask.parent == tmp_path / "c2" and f.mask.parent == tmp_path / "c1"
        assert np.array_equal(read_mask(a.mask), read_mask(f.mask))
        assert np.array_equal(read_image(a.image), read_image(f.image))
    assert [int(read_mask(r.mask).sum()) for r in alone] == [12 + 15, 15 + 15]  # idx 3, 4


@pytest.mark.parametrize("nested", ["", "MoNuSeg"])
def test_monuseg_flat_test_folder_alone(tmp_path, nested):
    root = tmp_path / nested
    fx.make_monuseg_flat(root, ["TCGA-1", "TCGA-2"], test_ids=["TCGA-8", "TCGA-9"])
    shutil.rmtree(root / "training")
    assert counts_or_error("monuseg", tmp_path) == {
        "train": "DataError",
        "val": "DataError",
        "test": 2,
        "all": 2,
    }
    test = get_split("monuseg", tmp_path, "test")
    assert ids(test) == ["TCGA-8", "TCGA-9"]
    assert [r.image for r in test] == [
        root / "test/images/TCGA-8.png",
        root / "test/images/TCGA-9.png",
    ]
    assert [r.mask for r in test] == [
        root / "test/masks/TCGA-8.png",
        root / "test/masks/TCGA-9.png",
    ]
    assert ids(get_split("monuseg", tmp_path, "all")) == ["TCGA-8", "TCGA-9"]
    assert_paired(test)
    for idx, r in zip((2, 3), test, strict=True):  # idx = position in training + test ids
        mask = read_mask(r.mask)
        assert fx.image_index(read_image(r.image)) == idx
        assert mask.sum() == idx + 1 and mask[1, idx] == 1 and mask[1, idx + 1] == 0
        assert set(np.unique(mask)) == {0, 1}
    for split in ("train", "val"):
        message = f"{names(tmp_path)}: only holds MoNuSeg test data \\(2 tiles in "
        with pytest.raises(DataError, match=message + names(root / "test") + ".*training/images/"):
            get_split("monuseg", tmp_path, split)


def test_monuseg_layout_errors(tmp_path):
    """Neither training nor test data: the layout error; official test + flat training: mixed."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "other/images").mkdir(parents=True)
    for folder, found in (("empty", "nothing: the folder is empty"), ("other", "images/")):
        with pytest.raises(
            DataError,
            match=f"{names(tmp_path / folder)}: not a MoNuSeg layout. Expected: .*MoNuSegTestData"
            f".*Found in {names(tmp_path / folder)}: \\(?{found}",
        ):
            get_split("monuseg", tmp_path / folder, "test")
    fx.make_monuseg_official(tmp_path / "mixed", train=())
    fx.make_monuseg_flat(tmp_path / "mixed", ["TCGA-1", "TCGA-2", "TCGA-3"])
    for split in SPLITS:
        with pytest.raises(DataError, match="not a MoNuSeg layout.*mixes two layouts"):
            get_split("monuseg", tmp_path / "mixed", split, cache_dir=tmp_path / "cache")


def counts_or_error(name, data_dir) -> dict:
    out = {}
    for split in SPLITS:
        try:
            out[split] = len(get_split(name, data_dir, split))
        except DataError:
            out[split] = "DataError"
    return out


# ------------------------------------------------------------------------------------------
# Folder
# ------------------------------------------------------------------------------------------


def test_folder_seeded_split_and_suffixes(tmp_path):
    fx.make_folder(tmp_path / "a", fov=True)
    assert counts("folder", tmp_path / "a") == {"train": 6, "val": 2, "test": 2, "all": 10}
    parts = assert_partition("folder", tmp_path / "a")
    assert len(parts["all"]) == 10
    records = get_split("folder", tmp_path / "a", "all")
    assert_paired(records)
    assert all(r.fov is not None for r in records)
    for suffix in ("", "_segmentation", "_lesion", "_manual1"):
        fx.make_folder(tmp_path / f"s{suffix}", n=4, suffix=suffix, ext=".jpg")
        assert_paired(get_split("folder", tmp_path / f"s{suffix}", "all"))
    fx.make_folder(tmp_path / "custom", n=4, suffix="_gt")
    with pytest.raises(DataError, match="masks without an image"):
        get_split("folder", tmp_path / "custom", "all")
    assert_paired(get_split("folder", tmp_path / "custom", "all", mask_suffix="_gt"))


def test_folder_subfolders(tmp_path):
    fx.make_folder(tmp_path / "train", n=5)
    fx.make_folder(tmp_path / "test", n=2)
    assert counts("folder", tmp_path) == {"train": 4, "val": 1, "test": 2, "all": 7}
    assert ids(get_split("folder", tmp_path, "test")) == ["test_case00", "test_case01"]
    assert_paired(get_split("folder", tmp_path, "all"))
    fx.make_folder(tmp_path / "val", n=3)
    assert counts("folder", tmp_path)["val"] == 3
    shutil.rmtree(tmp_path / "test")
    with pytest.raises(DataError, match="no test/ folder"):
        get_split("folder", tmp_path, "test")


def test_folder_errors(tmp_path):
    root = fx.make_folder(tmp_path / "a", n=3)
    (root / "masks/case01_mask.png").unlink()
    with pytest.raises(
        DataError, match=f"images without a mask.*{names(root / 'images/case01.png')}"
    ):
        get_split("folder", root, "all")
    fx.save_mask(root / "masks/case01_mask.png", fx.encode_mask(1))
    dup = fx.save_rgb(root / "images/case02.jpg", fx.encode_image(2))
    with pytest.raises(
        DataError,
        match=f"duplicate image for 'case02': {names(root / 'images/case02.jpg')} and {names(dup)}|duplicate image for 'case02'",
    ):
        get_split("folder", root, "all")
    dup.unlink()
    (root / ".DS_Store").write_bytes(b"x")
    (root / "images/._case00.png").write_bytes(b"x")  # macOS resource fork: hidden, ignored
    assert len(get_split("folder", root, "all")) == 3
    empty = tmp_path / "empty"
    (empty / "images").mkdir(parents=True)
    (empty / "masks").mkdir()
    with pytest.raises(
        DataError, match=f"{names(empty / 'images')}: images folder has no image files"
    ):
        get_split("folder", empty, "all")
    wrong = tmp_path / "wrong"
    (wrong / "imgs").mkdir(parents=True)
    with pytest.raises(DataError, match=r"Expected: images/, masks/.*Found in .*: imgs/"):
        get_split("folder", wrong, "all")


# ------------------------------------------------------------------------------------------
# Manifests and split files
# ------------------------------------------------------------------------------------------


def test_manifest_roundtrip_and_sha_mismatch(tmp_path):
    drive = fx.make_drive(tmp_path / "data")
    records = get_split("drive", drive, "train")
    run = tmp_path / "run"
    write_manifest(records, run / "train.csv")
    write_manifest(get_split("drive", drive, "test"), run / "test.csv", relative_to=run)
    back = get_split("manifest", run / "train.csv", "train")
    assert back == [
        Record(r.image.resolve(), r.mask.resolve(), r.fov.resolve(), r.id) for r in records
    ]
    assert ids(get_split("manifest", run, "test")) == ids(get_split("drive", drive, "test"))
    tampered = drive / "test/1st_manual/02_manual1.gif"
    fx.save_mask(tampered, fx.encode_mask(5))
    with pytest.raises(DataError, match=r"test\.csv:3: mask file .*02_manual1\.gif has changed"):
        get_split("manifest", run, "test")
    assert len(get_split("manifest", run, "test", verify=False)) == 3
    with pytest.raises(DataError, match="manifest not found"):
        get_split("manifest", run, "val")


def test_carve_val_rules():
    recs = [Record(f"{i}.png", f"{i}.png", id=f"r{i:02d}") for i in range(10)]
    train, val = carve_val(list(reversed(recs)), 0.2, 0)
    assert len(val) == 2 and len(train) == 8 and ids(val) == sorted(ids(val))
    assert carve_val(recs, 0.01, 0)[1] and carve_val(recs, 0.0, 0)[1] == []
    with pytest.raises(DataError, match="cannot carve"):
        carve_val(recs[:1], 0.2, 0)


@pytest.mark.parametrize(
    "dataset,sizes",
    [
        ("ph2", (100, 20, 40)),
        ("monuseg", (20, 4, 6)),
        ("monuseg_all", (26, 4, 0)),
        ("stare", (10, 0, 10)),
        ("chase_db1", (20, 0, 8)),
    ],
)
def test_shipped_split_files(dataset, sizes):
    parts = load_split_file(SPLITS_DIR / f"{dataset}.json")  # also checks for overlaps
    assert tuple(len(parts.get(k, [])) for k in ("train", "val", "test")) == sizes
    data = json.loads((SPLITS_DIR / f"{dataset}.json").read_text())
    if "seed" in data:  # reproducible from its recorded parameters
        recs = [Record(f"{i}.png", f"{i}.png", id=i) for i in fx.shipped_ids(dataset)]
        again = seeded_three_way(
            recs,
            test_fraction=data["test_fraction"],
            val_fraction=data["val_fraction"],
            seed=data["seed"],
        )
        assert {k: ids(v) for k, v in again.items()} == {
            k: data[k] for k in ("train", "val", "test")
        }

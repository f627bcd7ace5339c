"""Tiny fixture trees reproducing each dataset's official names and formats.

Every image encodes its index ``idx`` in a flat central block (blue = 8 + 8*(idx % 30), green =
8 + 8*(idx // 30); robust to JPEG) and every mask has exactly ``idx + 1`` foreground pixels
(``idx + 2`` for a second annotator), so a test can check that each record pairs the right
mask with its image: ``image_index(read_image(r.image)) == mask_index(read_mask(r.mask))``.
Images are H x W = 28 x 32 (not square, to catch transposition), with a bright red disc on a
black background so that a field of view can be derived.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

H, W = 28, 32
DRIVE_PALETTE = [(4, 2, 4), (252, 254, 252)]  # DRIVE 2nd_manual: indices 0/1 -> grey 3/253
STARE_LABELLED = [
    "im0001", "im0002", "im0003", "im0004", "im0005", "im0044", "im0077", "im0081", "im0082",
    "im0139", "im0162", "im0163", "im0235", "im0236", "im0239", "im0240", "im0255", "im0291",
    "im0319", "im0324",
]  # fmt: skip
CHASE_IDS = [f"Image_{i:02d}{side}" for i in range(1, 15) for side in "LR"]
SPLITS_DIR = Path(__file__).resolve().parents[1] / "mininet_tf" / "data" / "splits"


def shipped_ids(dataset: str) -> list[str]:
    data = json.loads((SPLITS_DIR / f"{dataset}.json").read_text())
    return sorted(i for k in ("train", "val", "test") for i in data.get(k, []))


# ------------------------------------------------------------------------------------------
# Encodings
# ------------------------------------------------------------------------------------------


def disc(h: int = H, w: int = W, margin: int = 2) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    r = min(h, w) / 2 - margin
    return ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2 <= r * r).astype(np.uint8)


def encode_image(idx: int, h: int = H, w: int = W) -> np.ndarray:
    rgb = np.zeros((h, w, 3), np.uint8)
    inside = disc(h, w).astype(bool)
    rgb[inside] = (200, 8 + 8 * (idx // 30), 8 + 8 * (idx % 30))
    return rgb


def image_index(rgb: np.ndarray) -> int:
    h, w = rgb.shape[:2]
    block = rgb[h // 2 - 3 : h // 2 + 3, w // 2 - 3 : w // 2 + 3].reshape(-1, 3).mean(axis=0)
    return int(round((block[1] - 8) / 8)) * 30 + int(round((block[2] - 8) / 8))


def encode_mask(idx: int, h: int = H, w: int = W, extra: int = 0) -> np.ndarray:
    flat = np.zeros(h * w, np.uint8)
    flat[w : w + idx + 1 + extra] = 1  # starts on row 1
    return flat.reshape(h, w)


def mask_index(mask: np.ndarray, extra: int = 0) -> int:
    return int(mask.sum()) - 1 - extra


# ------------------------------------------------------------------------------------------
# Writers
# ------------------------------------------------------------------------------------------


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
    ".ppm": "PPM",
}


def save_pil(path: Path, im: Image.Image) -> Path:
    """Save by extension; ``.tif`` is LZW-compressed, ``.jpg`` quality 95, ``.gz`` gzipped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.lower()
    gz = name.endswith(".gz")
    ext = os.path.splitext(name[:-3] if gz else name)[1]
    fmt = _FORMATS[ext]
    kw = {"compression": "tiff_lzw"} if fmt == "TIFF" else {}
    if fmt == "JPEG":
        kw = {"quality": 95}
    data = _encode(im, fmt, **kw)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def save_rgb(path: Path, rgb: np.ndarray) -> Path:
    return save_pil(path, Image.fromarray(rgb, "RGB"))


def save_mask(path: Path, mask: np.ndarray, *, rgb: bool = False) -> Path:
    grey = (mask > 0).astype(np.uint8) * 255
    im = Image.fromarray(grey, "L")
    return save_pil(path, im.convert("RGB") if rgb else im)


def save_palette_mask(path: Path, mask: np.ndarray, palette=DRIVE_PALETTE) -> Path:
    im = Image.fromarray((mask > 0).astype(np.uint8), "P")
    flat = [c for colour in palette for c in colour]
    im.putpalette(flat + [0] * (768 - len(flat)))
    return save_pil(path, im)


# ------------------------------------------------------------------------------------------
# Dataset trees
# ------------------------------------------------------------------------------------------


def make_drive(
    root: Path,
    train_ids=(21, 22, 23, 24, 25),
    test_ids=(1, 2, 3),
    *,
    test_labels: bool = True,
    second: bool = True,
) -> Path:
    """``root/DRIVE/{training,test}/...`` with the official names; returns ``root/DRIVE``.
    Image index = the DRIVE number; 2nd_manual masks have idx + 2 pixels (palette GIFs)."""
    drive = Path(root) / "DRIVE"
    for n in train_ids:
        save_rgb(drive / f"training/images/{n:02d}_training.tif", encode_image(n))
        save_mask(drive / f"training/1st_manual/{n:02d}_manual1.gif", encode_mask(n))
        save_mask(drive / f"training/mask/{n:02d}_training_mask.gif", disc())
    for n in test_ids:
        save_rgb(drive / f"test/images/{n:02d}_test.tif", encode_image(n))
        save_mask(drive / f"test/mask/{n:02d}_test_mask.gif", disc())
        if test_labels:
            save_mask(drive / f"test/1st_manual/{n:02d}_manual1.gif", encode_mask(n))
        if second:
            save_palette_mask(
                drive / f"test/2nd_manual/{n:02d}_manual2.gif", encode_mask(n, extra=1)
            )
    return drive


def make_stare(root: Path, ids=STARE_LABELLED, *, unlabelled=("im0006", "im0007"), gz=True):
    """``root/{stare-images,labels-ah,labels-vk}``; idx = position in STARE_LABELLED."""
    root = Path(root)
    ext = ".ppm.gz" if gz else ".ppm"
    for i, name in enumerate(ids):
        idx = STARE_LABELLED.index(name) if name in STARE_LABELLED else 100 + i
        save_rgb(root / f"stare-images/{name}{ext}", encode_image(idx))
        save_mask(root / f"labels-ah/{name}.ah{ext}", encode_mask(idx), rgb=True)
        save_mask(root / f"labels-vk/{name}.vk{ext}", encode_mask(idx, extra=1), rgb=True)
    for j, name in enumerate(unlabelled):
        save_rgb(root / f"stare-images/{name}{ext}", encode_image(150 + j))
    return root


def make_chase(root: Path, ids=CHASE_IDS) -> Path:
    """Flat ``root/CHASEDB1/Image_01L.jpg`` + ``_1stHO.png`` + ``_2ndHO.png``."""
    folder = Path(root) / "CHASEDB1"
    for name in ids:
        idx = CHASE_IDS.index(name)
        save_rgb(folder / f"{name}.jpg", encode_image(idx))
        save_mask(folder / f"{name}_1stHO.png", encode_mask(idx))
        save_mask(folder / f"{name}_2ndHO.png", encode_mask(idx, extra=1))
    return folder


def _isic_pairs(images: Path, masks: Path, ids, suffix: str, notes=()):
    for i in ids:
        save_rgb(images / f"ISIC_{i:07d}.jpg", encode_image(i))
        save_mask(masks / f"ISIC_{i:07d}{suffix}.png", encode_mask(i))
    for note in notes:
        (images / note).write_text("not an image\n")


def make_isic2016(root: Path, train=(0, 1, 2, 4, 6, 7), test=(3, 5, 9), *, test_gt=True):
    root = Path(root)
    _isic_pairs(
        root / "ISBI2016_ISIC_Part1_Training_Data",
        root / "ISBI2016_ISIC_Part1_Training_GroundTruth",
        train,
        "_Segmentation",
    )
    test_masks = root / ("ISBI2016_ISIC_Part1_Test_GroundTruth" if test_gt else "_unused_gt")
    _isic_pairs(root / "ISBI2016_ISIC_Part1_Test_Data", test_masks, test, "_Segmentation")
    return root


def make_isic2018(root: Path, train=(0, 1, 2, 4, 6, 7), val=(10, 11), test=(20, 21, 22)):
    root = Path(root)
    notes = ("ATTRIBUTION.txt", "LICENSE.txt")
    for part, ids in (("Training", train), ("Validation", val), ("Test", test)):
        if ids:
            _isic_pairs(
                root / f"ISIC2018_Task1-2_{part}_Input",
                root / f"ISIC2018_Task1_{part}_GroundTruth",
                ids,
                "_segmentation",
                notes,
            )
    return root


def make_isic2017(
    root: Path, train=(0, 1, 2, 4, 6, 7, 8, 9, 12, 13), val=(), test=(), *, superpixels=True
):
    """Official ISIC 2017 Part 1 folders; ``val`` / ``test`` () leave that part out."""
    root = Path(root)
    parts = (
        ("Training", "Training", train),
        ("Validation", "Validation", val),
        ("Test_v2", "Test_v2", test),
    )
    for data, truth, ids in parts:
        if ids:
            _isic_pairs(
                root / f"ISIC-2017_{data}_Data",
                root / f"ISIC-2017_{truth}_Part1_GroundTruth",
                ids,
                "_segmentation",
                ("ISIC-2017_Training_Data_metadata.csv",),
            )
            if superpixels:  # the official input folders ship these beside each image
                for i in ids:
                    save_rgb(
                        root / f"ISIC-2017_{data}_Data/ISIC_{i:07d}_superpixels.png",
                        encode_image(i + 500),
                    )
    return root


def make_ph2_official(root: Path, numbers=(2, 3, 4, 6, 8)) -> Path:
    """``root/PH2Dataset/PH2 Dataset images/IMDxxx/...`` BMPs (+ roi folder, txt); returns
    ``root/PH2Dataset``."""
    base = Path(root) / "PH2Dataset"
    images = base / "PH2 Dataset images"
    for n in numbers:
        case = images / f"IMD{n:03d}"
        save_rgb(case / f"IMD{n:03d}_Dermoscopic_Image/IMD{n:03d}.bmp", encode_image(n))
        save_mask(case / f"IMD{n:03d}_lesion/IMD{n:03d}_lesion.bmp", encode_mask(n))
        save_mask(case / f"IMD{n:03d}_roi/IMD{n:03d}_R1_Label1.bmp", encode_mask(0))
    (base / "PH2_dataset.txt").write_text("|| Name || Histological Diagnosis ||\n")
    return base


def make_ph2_flat(root: Path, ids=None) -> Path:
    """``root/images/IMDxxx.jpg`` + ``root/masks/IMDxxx_lesion.png``; idx = the IMD number."""
    root = Path(root)
    for name in ids if ids is not None else shipped_ids("ph2"):
        n = int(name[3:])
        save_rgb(root / f"images/{name}.jpg", encode_image(n))
        save_mask(root / f"masks/{name}_lesion.png", encode_mask(n))
    return root


def aperio_xml(regions) -> str:
    """Aperio XML with one ``Region`` per polygon [(x, y), ...]."""
    body = []
    for i, polygon in enumerate(regions, start=1):
        vertices = "".join(f'<Vertex X="{x}" Y="{y}" Z="0"/>' for x, y in polygon)
        body.append(
            f'<Region Id="{i}" Type="0"><Attributes/><Vertices>{vertices}</Vertices></Region>'
        )
    return (
        '<?xml version="1.0"?><Annotations MicronsPerPixel="0.252"><Annotation Id="1">'
        '<Attributes><Attribute Name="Description" Id="0" Value=""/></Attributes>'
        f"<Regions><RegionAttributeHeaders/>{''.join(body)}</Regions><Plots/></Annotation>"
        "</Annotations>"
    )


def monuseg_regions(idx: int):
    """A 3-row rectangle of idx+1 columns (3*(idx+1) px, fractional vertices) and a triangle."""
    rectangle = [(2.2, 2.0), (2.0 + idx, 2.1), (1.9 + idx, 4.2), (2.0, 3.8)]
    triangle = [(20, 20), (24, 20), (20, 24)]
    return [rectangle, triangle]


TRIANGLE_PIXELS = 15  # cv2.fillPoly of the triangle above (edges included)


def make_monuseg_official(
    root: Path, train=("TCGA-A1", "TCGA-B2", "TCGA-C3"), test=("TCGA-T1", "TCGA-T2")
):
    """Official folders; idx = position in train + test."""
    root = Path(root)
    names = list(train) + list(test)
    for name in names:
        idx = names.index(name)
        if name in train:
            image = root / "MoNuSeg 2018 Training Data/Tissue Images" / f"{name}.tif"
            xml = root / "MoNuSeg 2018 Training Data/Annotations" / f"{name}.xml"
        else:
            image = root / "MoNuSegTestData" / f"{name}.tif"
            xml = root / "MoNuSegTestData" / f"{name}.xml"
        save_rgb(image, encode_image(idx))
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(aperio_xml(monuseg_regions(idx)))
    return root


def make_monuseg_flat(root: Path, ids=None, *, test_ids=()) -> Path:
    root = Path(root)
    ids = list(ids if ids is not None else shipped_ids("monuseg"))
    for part, names in (("training", ids), ("test", list(test_ids))):
        for name in names:
            idx = (ids + list(test_ids)).index(name)
            save_rgb(root / f"{part}/images/{name}.png", encode_image(idx))
            save_mask(root / f"{part}/masks/{name}.png", encode_mask(idx))
    return root


def make_folder(
    root: Path, n: int = 10, *, suffix: str = "_mask", fov: bool = False, ext=".png"
) -> Path:
    root = Path(root)
    for i in range(n):
        save_rgb(root / f"images/case{i:02d}{ext}", encode_image(i))
        save_mask(root / f"masks/case{i:02d}{suffix}.png", encode_mask(i))
        if fov:
            save_mask(root / f"fov/case{i:02d}_fov.png", disc())
    return root

"""Write a contrast-equalised copy of a fundus dataset tree (#14 ablation: CLAHE input).

CLAHE (OpenCV, clip limit 2, 8x8 tiles) on the lightness channel of CIELAB, the colour kept:
the classic vessel-segmentation preprocessing, tested as an input lever without touching the
package: train and evaluate with ``benchmarks/quality.py --data-dir <copy>``. Every other file
(labels, FOV masks) is copied as is. ``--keep-rim PX`` leaves the pixels outside the image's
derived field of view (`mininet_tf.data.io.derive_fov`), eroded by PX, unchanged, so that
datasets without FOV masks (CHASE_DB1) derive the same FOV from the copy; the script checks it.

    python benchmarks/clahe_tree.py --dataset drive --src ../shared/data/DRIVE --dst /tmp/clahe/DRIVE
    python benchmarks/clahe_tree.py --dataset chase_db1 --src ../shared/data/CHASE_DB1 \\
        --dst /tmp/clahe/CHASE_DB1 --keep-rim 8
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Which files of each dataset's official layout are photographs (the rest is copied).
PHOTOS = {"drive": "*/images/*.tif", "chase_db1": "Image_[0-9][0-9][LR].jpg"}


def equalise(rgb: np.ndarray, keep_rim: int = 0) -> np.ndarray:
    """CLAHE on CIELAB lightness; with ``keep_rim``, only inside the eroded derived FOV."""
    import cv2

    from mininet_tf.data.io import derive_fov

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    if keep_rim:
        inside = derive_fov(rgb, erode_px=keep_rim).astype(bool)
        out = np.where(inside[..., None], out, rgb)
    return out


def main(argv=None) -> int:
    from PIL import Image

    from mininet_tf.data.io import derive_fov

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=sorted(PHOTOS))
    parser.add_argument("--src", required=True, type=Path)
    parser.add_argument("--dst", required=True, type=Path)
    parser.add_argument("--keep-rim", type=int, default=0)
    args = parser.parse_args(argv)
    if args.dst.exists():
        raise SystemExit(f"{args.dst}: exists; choose a new directory")
    shutil.copytree(args.src, args.dst)
    photos = sorted(args.dst.glob(PHOTOS[args.dataset]))
    if not photos:
        raise SystemExit(f"{args.src}: no {args.dataset} photographs ({PHOTOS[args.dataset]})")
    worst = 0
    for path in photos:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        kwargs = {"quality": 100, "subsampling": 0} if path.suffix == ".jpg" else {}
        Image.fromarray(equalise(rgb, args.keep_rim)).save(path, **kwargs)
        if args.keep_rim:  # as read back (JPEG is lossy)
            written = np.asarray(Image.open(path).convert("RGB"))
            worst = max(worst, int(np.sum(derive_fov(rgb) != derive_fov(written))))
    print(f"{len(photos)} photographs equalised in {args.dst}")
    if args.keep_rim:
        print(f"derived FOV: at most {worst} pixels differ from the original's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

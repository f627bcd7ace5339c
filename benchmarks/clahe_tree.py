"""Write a contrast-equalised copy of a fundus dataset tree (#14 ablation: CLAHE input).

CLAHE (OpenCV, clip limit 2, 8x8 tiles) on the lightness channel of CIELAB, the colour kept:
the classic vessel-segmentation preprocessing, tested as an input lever without touching the
package: train and evaluate with ``benchmarks/quality.py --data-dir <copy>``. Every other file
(labels, FOV masks) is copied as is. ``--keep-rim PX`` leaves the pixels outside the image's
derived field of view (`mininet_tf.data.io.derive_fov`), eroded by PX, unchanged, so that
datasets without FOV masks (CHASE_DB1) derive nearly the same FOV from the copy (the script
counts the pixels that differ). ``--fov-from-original`` makes it exact for STARE and CHASE_DB1,
whose loaders derive FOVs and cache them by image digest: it writes each original photograph's
derived FOV into that cache under the equalised copy's digest, so metrics count the same pixels.

    python benchmarks/clahe_tree.py --dataset drive --src ../shared/data/DRIVE --dst /tmp/clahe/DRIVE
    python benchmarks/clahe_tree.py --dataset chase_db1 --src ../shared/data/CHASE_DB1 \\
        --dst /tmp/clahe/CHASE_DB1 --keep-rim 8
    python benchmarks/clahe_tree.py --dataset stare --src ../shared/data/STARE \\
        --dst /tmp/clahe/STARE --keep-rim 8 --fov-from-original
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
PHOTOS = {
    "drive": "**/images/*.tif",
    "chase_db1": "**/Image_[0-9][0-9][LR].jpg",
    "stare": "**/stare-images/im*.ppm.gz",
}


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    import gzip
    import io

    from PIL import Image

    image = Image.fromarray(rgb)
    if path.suffix == ".gz":  # STARE: gzipped PPM, as distributed
        buffer = io.BytesIO()
        image.save(buffer, format="PPM")
        with gzip.open(path, "wb") as f:
            f.write(buffer.getvalue())
    elif path.suffix == ".jpg":
        image.save(path, quality=100, subsampling=0)
    else:
        image.save(path)


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


def seed_fov_cache(path: Path, fov: np.ndarray, cache_dir: Path) -> Path:
    """Write ``fov`` where `mininet_tf.data.io.cached_fov` looks for ``path``'s FOV."""
    from mininet_tf.data.io import fov_cache_path, write_mask_png

    return write_mask_png(fov_cache_path(path, cache_dir), fov)


def main(argv=None) -> int:
    from mininet_tf.data.io import default_cache_dir, derive_fov, read_image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=sorted(PHOTOS))
    parser.add_argument("--src", required=True, type=Path)
    parser.add_argument("--dst", required=True, type=Path)
    parser.add_argument("--keep-rim", type=int, default=0)
    parser.add_argument("--fov-from-original", action="store_true")
    args = parser.parse_args(argv)
    if args.fov_from_original and args.dataset == "drive":
        parser.error("--fov-from-original: DRIVE ships FOV masks (copied as they are)")
    if args.dst.exists():
        raise SystemExit(f"{args.dst}: exists; choose a new directory")
    pattern = PHOTOS[args.dataset]
    if not any(args.src.glob(pattern)):
        raise SystemExit(f"{args.src}: no {args.dataset} photographs ({pattern})")
    shutil.copytree(args.src, args.dst)
    photos = sorted(args.dst.glob(pattern))
    worst = 0
    for path in photos:
        rgb = read_image(path)
        write_rgb(path, equalise(rgb, args.keep_rim))
        fov = derive_fov(rgb) if args.fov_from_original or args.keep_rim else None
        if args.fov_from_original:
            seed_fov_cache(path, fov, default_cache_dir(f"{args.dataset}_fov"))
        if args.keep_rim:  # as read back (JPEG is lossy)
            worst = max(worst, int(np.sum(fov != derive_fov(read_image(path)))))
    print(f"{len(photos)} photographs equalised in {args.dst}")
    if args.keep_rim:
        print(f"derived FOV: at most {worst} pixels differ from the original's")
    if args.fov_from_original:
        print(
            f"the originals' FOVs cached for the copy in {default_cache_dir(args.dataset + '_fov')}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Lesion mask clean-ups: what the apps' "largest component" / "fill holes" options do to Dice.

    python benchmarks/postprocess.py --model mininet_tf/pretrained/mininet_isic2017_fast.keras \\
        [--out benchmarks/results/postprocess_isic2017_fast.json]

The web demo and the Android app offer two optional clean-ups of the thresholded mask (off by
default): keep the largest 8-connected component, and fill 4-connected background holes. This
scores the model with each combination, at the card's threshold, on the ISIC-2017 validation
carve (where whether to switch them on by default would be decided), the test carve and all 160
PH2 pairs (external), pooled and per-image Dice. The clean-ups are the reference implementation
the apps' golden files are generated with (`android_demo/tools/make_goldens.py`), applied at
the resolution metrics are computed at (the images' own). Also counts, per variant, the images
it changes by more than 0.01 Dice for better and for worse: a mean gain can hide images where
the kept component is the wrong one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "android_demo" / "tools"))

from mininet_lite.files import atomic_write_json  # noqa: E402

#: (label, dataset, data-dir under --data-root, split)
SETS = (
    ("isic2017 val (selection)", "isic2017", "ISIC2017", "val"),
    ("isic2017 test carve", "isic2017", "ISIC2017", "test"),
    ("PH2, all 160 (external)", "ph2", "PH2", "all"),
)
VARIANTS = {
    "plain": (False, False),
    "largest": (True, False),
    "filled": (False, True),
    "largest_filled": (True, True),
}


def dice(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def main() -> None:
    from make_goldens import postprocess

    from mininet_tf.data import get_split, split_options
    from mininet_tf.data.io import read_record
    from mininet_tf.inference import load_segmenter

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=".keras or .tflite (card beside it)")
    parser.add_argument("--data-root", default=os.environ.get("MININET_DATA_DIR", "../shared/data"))
    parser.add_argument("--out", help="default: benchmarks/results/postprocess_<model stem>.json")
    args = parser.parse_args()
    segmenter = load_segmenter(args.model)
    rows = []
    for label, dataset, folder, split in SETS:
        options = split_options({"val_fraction": 0.2, "seed": 0, "split_file": "shipped"})
        records = get_split(dataset, Path(args.data_root) / folder, split, **options)
        counts = {name: np.zeros(3, np.int64) for name in VARIANTS}
        per_image = {name: [] for name in VARIANTS}
        for record in records:
            image, mask, _ = read_record(record)
            truth = mask > 0
            raw = segmenter.predict(image) >= segmenter.threshold
            for name, (largest, holes) in VARIANTS.items():
                pred = postprocess(raw, largest, holes).astype(bool)
                tp, fp = int(np.sum(pred & truth)), int(np.sum(pred & ~truth))
                fn = int(np.sum(~pred & truth))
                counts[name] += (tp, fp, fn)
                per_image[name].append(dice(tp, fp, fn))
        plain = np.array(per_image["plain"])
        for name in VARIANTS:
            scores = np.array(per_image[name])
            row = {
                "set": label,
                "dataset": dataset,
                "split": split,
                "images": len(records),
                "variant": name,
                "pooled_dice": dice(*(int(v) for v in counts[name])),
                "per_image_dice": float(scores.mean()),
                "images_better_by_0.01": int(np.sum(scores - plain > 0.01)),
                "images_worse_by_0.01": int(np.sum(scores - plain < -0.01)),
                "worst_loss": float((scores - plain).min()),
            }
            rows.append(row)
            print(
                f"{label:<26} {name:<15} pooled {row['pooled_dice']:.4f} per-image "
                f"{row['per_image_dice']:.4f}  better/worse (>0.01) "
                f"{row['images_better_by_0.01']}/{row['images_worse_by_0.01']}  worst "
                f"{row['worst_loss']:+.3f}",
                flush=True,
            )
    out = Path(
        args.out or ROOT / "benchmarks" / "results" / f"postprocess_{Path(args.model).stem}.json"
    )
    atomic_write_json(
        out,
        {
            "command": " ".join(["python", *sys.argv]),
            "model": args.model,
            "threshold": segmenter.threshold,
            "conventions": "Dice of the binary mask after the clean-up, at the images' own size, "
            "no FOV; pooled = one confusion matrix over all images; per_image = mean of per-image "
            "Dice (empty truth and prediction: 1.0)",
            "rows": rows,
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        },
        indent=2,
    )


if __name__ == "__main__":
    main()

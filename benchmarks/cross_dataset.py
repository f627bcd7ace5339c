"""Cross-dataset fundus table: every vessel model on every fundus test split, with and without
vessel-scale normalisation.

    python benchmarks/cross_dataset.py --data-root ../shared/data \\
        --model drive=mininet_tf/pretrained/mininet_drive.keras \\
        --model stare=mininet_tf/pretrained/mininet_stare.keras ...

Rows: models (named by their training data); columns: the test splits of DRIVE (official),
STARE (splits/stare.json) and CHASE_DB1 (splits/chase_db1.json). Metric: pooled F1 inside
the FOV at the model's card threshold (chosen on its own validation split) and pooled AUC.

Scale normalisation (``fov``): vessel calibre in pixels grows with the width of the field of
view in pixels (measured on the training masks: calibre / FOV width is 0.0055 on DRIVE, 0.0057
on STARE, 0.0062 on CHASE_DB1), so each test image is resampled by
``reference_fov_width / its FOV width`` before inference and the probabilities are resampled
back (`mininet_lite.fundus.FovRescaled`, what ``--fov-width`` does in evaluate and predict); the
reference is the ``fov_width`` of the model's card: the mean FOV width of its training
images, or for a model trained on normalised images (the joint model) the width it was trained
at. FOV widths are read off the photographs alone (`mininet_lite.fundus.fov_width`), so no
ground truth or FOV mask is used. Row ``none``: every model at the images' own scale (a
normalised model too). Writes ``benchmarks/results/cross_dataset.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mininet_lite.files import atomic_write_json  # noqa: E402

FUNDUS = {"drive": "DRIVE", "stare": "STARE", "chase_db1": "CHASE_DB1"}


def mean_fov_width(dataset: str, data_dir: str, splits=("train",)) -> float:
    """Mean FOV width of a dataset's training images, read off the images as at inference
    (the ``fov_width`` a training run records in its card)."""
    from mininet_lite.fundus import fov_width
    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_image

    widths = [
        fov_width(read_image(r.image))
        for split in splits
        for r in get_split(dataset, data_dir, split)
    ]
    return float(np.mean(widths))


def vessel_calibre(dataset: str, data_dir: str) -> dict:
    """Mean vessel calibre (px) of the training masks, as 2 * area / perimeter (a strip of
    width w and length L >> w has area wL and perimeter about 2L), and its ratio to the mean
    FOV width: the evidence that FOV width stands in for vessel scale."""
    import cv2

    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_mask

    calibres = []
    for record in get_split(dataset, data_dir, "train"):
        mask = (read_mask(record.mask) > 0).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        calibres.append(2 * mask.sum() / sum(cv2.arcLength(c, True) for c in contours))
    return {"calibre_px": float(np.mean(calibres)), "calibre_std_px": float(np.std(calibres))}


def main() -> None:
    from mininet_lite.fundus import FovRescaled, with_fov_width
    from mininet_lite.runtime import read_card
    from mininet_tf.data import get_split
    from mininet_tf.evaluate import evaluate_records
    from mininet_tf.inference import load_segmenter

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="folder holding DRIVE/ STARE/ ...")
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        help="name=path; name is the training data: a fundus dataset, or 'joint'",
    )
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "cross_dataset.json")
    )
    args = parser.parse_args()
    root = Path(args.data_root)

    widths = {ds: mean_fov_width(ds, str(root / d)) for ds, d in FUNDUS.items()}
    scale = {}
    for ds, d in FUNDUS.items():
        scale[ds] = {"fov_width_px": widths[ds], **vessel_calibre(ds, str(root / d))}
        scale[ds]["calibre_per_fov_width"] = scale[ds]["calibre_px"] / widths[ds]
        print(ds, {k: round(v, 4) for k, v in scale[ds].items()}, flush=True)
    rows = []
    for spec in args.model:
        name, _, path = spec.partition("=")
        card = read_card(path)
        # The card's width (a trained-at-own-scale model: its training images' mean FOV width;
        # a normalised model: the width it was trained at); cards older than the field: the
        # same mean, measured here.
        reference = card.get("fov_width") or widths[name]
        for test, folder in FUNDUS.items():
            records = get_split(test, str(root / folder), "test")
            for mode in ("none", "fov"):
                segmenter = with_fov_width(load_segmenter(path), "none")
                if mode == "fov":
                    segmenter = FovRescaled(segmenter, reference)
                started = time.perf_counter()
                report = evaluate_records(segmenter, records)
                row = {
                    "model": name,
                    "path": path,
                    "test": test,
                    "scale_normalisation": mode,
                    "reference_fov_width": reference if mode == "fov" else None,
                    "mean_factor": float(np.mean(segmenter.factors)) if mode == "fov" else 1.0,
                    "threshold": segmenter.threshold,
                    "pooled_f1": report["pooled"]["f1"],
                    "pooled_auc": report["pooled"]["auc"],
                    "per_image_f1": report["per_image"]["f1"],
                    "seconds": time.perf_counter() - started,
                }
                rows.append(row)
                print(
                    f"{name:>9} on {test:<9} {mode:<4} x{row['mean_factor']:.2f}  "
                    f"F1 {row['pooled_f1']:.4f}  AUC {row['pooled_auc']:.4f}",
                    flush=True,
                )
    atomic_write_json(
        Path(args.out),
        {
            "command": " ".join(["python", *sys.argv]),
            "training_scale": scale,
            "rows": rows,
            "conventions": "test splits; pooled F1 inside the FOV at the card threshold",
            "machine": {"platform": platform.platform()},
        },
        indent=2,
    )


if __name__ == "__main__":
    main()

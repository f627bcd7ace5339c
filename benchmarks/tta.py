"""Test-time flip averaging: quality and cost of ``--tta`` for a shipped model.

    python benchmarks/tta.py --dataset drive --data-dir ../shared/data/DRIVE \\
        [--model mininet_tf/pretrained/mininet_drive.keras] [--splits val test]

Evaluates the model with ``tta`` none, flip and flip4 (the same `evaluate` path as
``python -m mininet_tf.evaluate --tta``) on the validation split (where whether to use TTA is
decided) and on the test split, at the card's threshold (chosen on validation without TTA:
nothing is tuned on the test split). Prints and writes pooled/per-image F1 and AUC and the
inference seconds per image; ``benchmarks/results/tta_<dataset>.json``. Timings are only
comparable within one run on an otherwise idle machine (see ``load_note`` in the JSON).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mininet_lite.files import atomic_write_json  # noqa: E402


def main() -> None:
    from mininet_tf.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model", help="default: mininet_tf/pretrained/mininet_<dataset>.keras")
    parser.add_argument("--splits", nargs="+", default=["val", "test"])
    parser.add_argument("--load-note", default="", help="other jobs on the machine, if any")
    parser.add_argument("--out", help="default: benchmarks/results/tta_<dataset>.json")
    args = parser.parse_args()
    model = args.model or str(ROOT / "mininet_tf" / "pretrained" / f"mininet_{args.dataset}.keras")
    rows = []
    for split, tta in ((s, t) for s in args.splits for t in (None, "flip", "flip4")):
        report = evaluate(model, args.dataset, args.data_dir, split, tta=tta)
        row = {
            "split": split,
            "tta": tta,
            "pooled_f1": report["pooled"]["f1"],
            "pooled_auc": report["pooled"]["auc"],
            "per_image_f1": report["per_image"]["f1"],
            "seconds_per_image": report["inference_seconds_per_image"],
        }
        rows.append(row)
        print(
            f"{split:<5} tta {tta or 'none':<5} F1 {row['pooled_f1']:.4f} "
            f"AUC {row['pooled_auc']:.4f} per-image F1 {row['per_image_f1']:.4f}  "
            f"{row['seconds_per_image']:.3f} s/image",
            flush=True,
        )
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"tta_{args.dataset}.json")
    atomic_write_json(
        out,
        {
            "command": " ".join(["python", *sys.argv]),
            "model": model,
            "dataset": args.dataset,
            "splits": args.splits,
            "threshold": "the card's (chosen on validation without TTA)",
            "rows": rows,
            "load_note": args.load_note,
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        },
        indent=2,
    )


if __name__ == "__main__":
    main()

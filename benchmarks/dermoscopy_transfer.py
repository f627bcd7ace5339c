"""Dermoscopy models side by side on the same images: in-distribution and across clinics.

    python benchmarks/dermoscopy_transfer.py --isic2017 ../shared/data/ISIC2017 \\
        --ph2 ../shared/data/PH2

Evaluates every model given with ``--model NAME=PATH`` (default: the shipped ISIC-2017 and PH2
models, `.keras` and QAT int8 `.tflite`, and those of the fast variant that are shipped) on

* ``isic2017_test``: the ISIC-2017 test carve of ``splits/isic2017.json`` (400 images), the
  peers' protocol (a random split of the same set);
* ``ph2_all``: all PH2 pairs present (160 here): an external set for the ISIC-2017 model, which
  never saw PH2 in training or selection; the PH2 model trained on 100 of them;
* ``ph2_test``: the PH2 test split (40 images), the one set neither model trained on.

Full resolution, each model at its card's threshold and input policy; Dice and IoU pooled (one
confusion matrix over all pixels) and per-image (mean). Writes
``benchmarks/results/dermoscopy_transfer.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_MODELS = {
    "isic2017 (keras)": ROOT / "mininet_tf/pretrained/mininet_isic2017.keras",
    "isic2017 (int8)": ROOT / "tflite/models/mininet_isic2017_int8.tflite",
    "ph2 (keras)": ROOT / "mininet_tf/pretrained/mininet_ph2.keras",
    "ph2 (int8)": ROOT / "tflite/models/mininet_ph2_int8.tflite",
    # The fast variant (half resolution), where shipped.
    "isic2017_fast (keras)": ROOT / "mininet_tf/pretrained/mininet_isic2017_fast.keras",
    "isic2017_fast (int8)": ROOT / "tflite/models/mininet_isic2017_fast_int8.tflite",
    "ph2_fast (keras)": ROOT / "mininet_tf/pretrained/mininet_ph2_fast.keras",
}
KEYS = ("dice", "iou", "sensitivity", "specificity")


def evaluation_sets(isic_dir: str | None, ph2_dir: str | None) -> dict:
    from mininet_tf.data import get_split

    sets = {}
    if isic_dir:
        sets["isic2017_test"] = get_split("isic2017", isic_dir, "test")
    if ph2_dir:
        sets["ph2_all"] = get_split("ph2", ph2_dir, "all")
        sets["ph2_test"] = get_split("ph2", ph2_dir, "test")
    return sets


def run(models: dict[str, Path], sets: dict, threads: int | None) -> dict:
    from mininet_tf.evaluate import evaluate_records
    from mininet_tf.inference import load_segmenter

    results = {}
    for name, path in models.items():
        segmenter = load_segmenter(path, threads=threads if path.suffix == ".tflite" else None)
        results[name] = {
            "model": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
            "threshold": segmenter.threshold,
            "sets": {},
        }
        for set_name, records in sets.items():
            started = time.time()
            report = evaluate_records(segmenter, records)
            results[name]["sets"][set_name] = {
                "images": len(records),
                "seconds": time.time() - started,
                **{agg: {k: report[agg][k] for k in KEYS} for agg in ("pooled", "per_image")},
            }
            scores = results[name]["sets"][set_name]
            print(
                f"{name:>18} {set_name:>14}: Dice pooled {scores['pooled']['dice']:.4f} "
                f"per-image {scores['per_image']['dice']:.4f}",
                flush=True,
            )
    return results


def markdown(results: dict, sets: dict) -> str:
    head = "| model | " + " | ".join(
        f"{s} ({len(r)}) Dice pooled / per-image | IoU pooled / per-image" for s, r in sets.items()
    )
    lines = [head + " |", "|---|" + "---:|---:|" * len(sets)]
    for name, result in results.items():
        cells = []
        for s in sets:
            m = result["sets"][s]
            cells.append(f"{m['pooled']['dice']:.4f} / {m['per_image']['dice']:.4f}")
            cells.append(f"{m['pooled']['iou']:.4f} / {m['per_image']['iou']:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--isic2017", help="ISIC-2017 data directory (official layout)")
    parser.add_argument("--ph2", help="PH2 data directory")
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME=PATH",
        help="a .keras or .tflite model to compare (repeatable; default: the shipped ones)",
    )
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/dermoscopy_transfer.json"))
    args = parser.parse_args()
    if not (args.isic2017 or args.ph2):
        parser.error("give --isic2017 and/or --ph2")
    if args.model:
        models = {}
        for item in args.model:
            name, sep, path = item.partition("=")
            if not sep:
                parser.error(f"--model {item!r}: expected NAME=PATH")
            models[name] = Path(path).resolve()
    else:
        models = {k: v for k, v in DEFAULT_MODELS.items() if v.is_file()}
    missing = [str(p) for p in models.values() if not p.is_file()]
    if missing:
        parser.error(f"model file(s) not found: {', '.join(missing)}")
    sets = evaluation_sets(args.isic2017, args.ph2)
    results = run(models, sets, args.threads)
    table = markdown(results, sets)
    print(table)
    from mininet_lite.files import atomic_write_json

    payload = {
        "command": " ".join(["python", "benchmarks/dermoscopy_transfer.py", *sys.argv[1:]]),
        "conventions": "full resolution, card threshold and input policy; pooled = one "
        "confusion matrix over all pixels of the set, per_image = mean of per-image scores",
        "results": results,
        "markdown": table,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
    }
    atomic_write_json(Path(args.out), payload, indent=2)


if __name__ == "__main__":
    main()

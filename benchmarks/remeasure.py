"""Re-measure shipped `.tflite` models after an inference-code change and update their cards.

    python benchmarks/remeasure.py --dataset drive --data-dir ../shared/data/DRIVE \
        tflite/models/mininet_drive_int8.tflite tflite/models/mininet_drive_float16.tflite

Runs each model through the same path that wrote its card's ``metrics`` (`export.measure`: the
TensorFlow-free runtime and `evaluate_records`) on the split its card names, prints old and new
pooled/per-image F1 and AUC, and rewrites the card (atomically) with the new figures and a
``remeasured`` note. The model file itself is never touched (its sha256 is checked first).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def remeasure(model: Path, dataset: str, data_dir: str, reason: str) -> dict:
    from mininet_lite.runtime import read_card
    from mininet_tf.data import get_split
    from mininet_tf.data.records import sha256_file
    from mininet_tf.export import measure
    from mininet_tf.inference import write_card

    card = read_card(model)
    old = card.get("metrics") or {}
    if old.get("dataset") not in (None, dataset):
        raise SystemExit(f"{model}: its card was measured on {old['dataset']!r}, not {dataset!r}")
    if card.get("sha256") and card["sha256"] != sha256_file(model):
        raise SystemExit(f"{model}: file does not match the sha256 of its card")
    split = old.get("split", "test")
    records = get_split(dataset, data_dir, split)
    new = measure(model, records, dataset=dataset, split=split)
    card["metrics"] = new
    card["remeasured"] = {"date": time.strftime("%Y-%m-%d"), "reason": reason}
    write_card(model, card)
    rows = {}
    for agg in ("pooled", "per_image"):
        for key in ("f1", "auc"):
            rows[f"{agg}.{key}"] = (old.get(agg, {}).get(key), new[agg][key])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help=".tflite files with their cards")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--reason", required=True, help="the code change, recorded in the card")
    args = parser.parse_args()
    for model in args.models:
        rows = remeasure(model, args.dataset, args.data_dir, args.reason)
        print(model.name)
        for key, (before, after) in rows.items():
            print(f"  {key:16s} {before!s:>22s} -> {after:.6f}")
    print(json.dumps({"remeasured": [str(m) for m in args.models]}))


if __name__ == "__main__":
    main()

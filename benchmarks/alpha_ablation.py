"""Loss ablation: loss(alpha) = alpha * (dice + jaccard) / 2 + (1 - alpha) * bce.

    python benchmarks/alpha_ablation.py --dataset ph2 --data-dir ../shared/data/PH2

Trains one model per alpha with a shortened version of the dataset's quality recipe
(``--budget`` times its epochs; same seed, data, split and schedule otherwise) and reports the
best pooled F1/Dice and the AUC on the VALIDATION split (never the test split: alpha is a
model-selection choice). Writes ``benchmarks/results/alpha_<dataset>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quality import RECIPES, train_and_score  # noqa: E402

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", required=True, choices=sorted(RECIPES))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    parser.add_argument(
        "--budget", type=float, default=0.25, help="fraction of the quality recipe's epochs per run"
    )
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()

    from mininet_tf.config import TrainConfig

    recipe = dict(RECIPES[args.dataset])
    recipe["epochs"] = max(1, round(recipe["epochs"] * args.budget))
    rows = []
    with tempfile.TemporaryDirectory(prefix="alpha_") as tmp:
        for alpha in args.alphas:
            cfg = TrainConfig(
                **recipe,
                data_dir=args.data_dir,
                loss_alpha=alpha,
                out=str(Path(tmp) / f"a{alpha}"),
                verbose=0,
            ).validate()
            rows.append({"alpha": alpha, **train_and_score(cfg, "f1")})
            print(json.dumps(rows[-1]), flush=True)
    result = {
        "dataset": args.dataset,
        "command": "python benchmarks/alpha_ablation.py --dataset "
        f"{args.dataset} --data-dir {args.data_dir} --budget {args.budget}",
        "recipe": recipe,
        "split": "validation (selection split), pooled, FOV where the dataset has one",
        "rows": rows,
    }
    out = Path(args.out_dir) / f"alpha_{args.dataset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    from mininet_lite.files import atomic_write_json

    atomic_write_json(out, result, indent=2)
    print(f"\nalpha   val F1/Dice (best thr)   thr    F1@0.5   AUC     ({args.dataset}, val)")
    for r in rows:
        print(
            f"{r['alpha']:<7} {r['val_best_f1']:.4f}                   "
            f"{r['val_threshold']:.2f}   {r['val_f1_at_0.5']:.4f}   {r['val_auc']:.4f}"
        )


if __name__ == "__main__":
    main()

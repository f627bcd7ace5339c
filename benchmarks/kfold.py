"""Recipe selection by k-fold cross-validation over a dataset's labelled pool.

    python benchmarks/kfold.py --dataset monuseg --data-dir ../shared/data/MoNuSeg \
        --presets histology histology_hed --folds 3 --budget 0.3

For small datasets (MoNuSeg: 30 tiles) one validation carve of 4 images decides nothing; a
recipe is chosen here on every image instead. The pool is every labelled image of the loader's
own splits (train + val + test: for MoNuSeg the 30 official training tiles). It is cut into
``--folds`` seeded folds; for each fold and each augmentation preset, the dataset's quality
recipe (shortened to ``--budget`` of its epochs) trains on the other folds and is scored on
the held-out fold: pooled Dice at the best threshold (what checkpoint selection also uses, so
the score is slightly optimistic, equally for every preset) and at 0.5. Nothing here touches a
test set the shipped model is reported on. Writes ``benchmarks/results/kfold_<dataset>.json``.
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


def labelled_pool(dataset: str, data_dir: str) -> list:
    """Every labelled record of the loader's splits, each once, in a stable order."""
    from mininet_tf.data import get_split

    pool = {}
    for split in ("train", "val", "test"):
        for record in get_split(dataset, data_dir, split, val_fraction=0.2, seed=0):
            pool.setdefault(str(record.image), record)
    return [pool[key] for key in sorted(pool)]


def folds_of(records: list, k: int, seed: int) -> list[list]:
    """``k`` seeded folds of nearly equal size."""
    import numpy as np

    if not 2 <= k <= len(records):
        raise SystemExit(f"--folds must be in [2, {len(records)}], got {k}")
    order = np.random.default_rng(seed).permutation(len(records))
    return [[records[i] for i in sorted(order[f::k])] for f in range(k)]


def fold_recipe(
    dataset: str, budget: float, precision: str, steps_per_epoch: int | None = None
) -> dict:
    """The dataset's quality recipe as `TrainConfig` options for one fold's manifest run.

    Shortened to ``budget`` of its epochs. What the folds decide is dropped: the dataset, its
    split (file or validation fraction) and the augmentation preset under comparison; and a
    fine-tune's starting model (CHASE_DB1's starts from the joint fundus model, which was
    trained on every fold's images: its held-out folds would not be held out).
    """
    recipe = dict(RECIPES[dataset])
    recipe["epochs"] = max(1, round(recipe["epochs"] * budget))
    recipe["precision"] = precision
    if steps_per_epoch:
        recipe["steps_per_epoch"] = steps_per_epoch
    for drop in ("dataset", "split_file", "val_fraction", "augment_preset", "init_from"):
        recipe.pop(drop, None)
    return recipe


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", required=True, choices=sorted(RECIPES))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--presets", nargs="+", required=True, help="augmentation presets")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--budget", type=float, default=0.3, help="fraction of the quality recipe's epochs"
    )
    parser.add_argument("--steps-per-epoch", type=int, help="override the recipe (smoke checks)")
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32")
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    from mininet_lite.files import atomic_write_json
    from mininet_tf.config import TrainConfig
    from mininet_tf.data.records import write_manifest

    recipe = fold_recipe(args.dataset, args.budget, args.precision, args.steps_per_epoch)
    pool = labelled_pool(args.dataset, args.data_dir)
    folds = folds_of(pool, args.folds, args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kfold_") as tmp:
        for f, held_out in enumerate(folds):
            fold_dir = Path(tmp) / f"fold{f}"
            train_records = [r for g, fold in enumerate(folds) if g != f for r in fold]
            write_manifest(train_records, fold_dir / "train.csv")
            write_manifest(held_out, fold_dir / "val.csv")
            for preset in args.presets:
                cfg = TrainConfig(
                    **recipe,
                    dataset="manifest",
                    data_dir=str(fold_dir),
                    augment_preset=preset,
                    seed=args.seed,
                    out=str(Path(tmp) / f"fold{f}_{preset}"),
                    verbose=0,
                ).validate()
                held = [r.id for r in held_out]
                scores = train_and_score(cfg, "dice")
                rows.append({"fold": f, "preset": preset, "held_out": held, **scores})
                print(json.dumps(rows[-1]), flush=True)

    summary = {}
    for preset in args.presets:
        mine = [r for r in rows if r["preset"] == preset]
        summary[preset] = {
            key: sum(r[key] for r in mine) / len(mine)
            for key in ("val_best_dice", "val_dice_at_0.5", "val_auc")
        }
    result = {
        "dataset": args.dataset,
        "command": " ".join(["python", "benchmarks/kfold.py", *(argv or sys.argv[1:])]),
        "recipe": recipe,
        "pool_size": len(pool),
        "folds": args.folds,
        "scoring": "held-out fold, pooled Dice (best threshold = the checkpoint's selection "
        "score, and at 0.5); mean over folds",
        "rows": rows,
        "mean": summary,
    }
    out = Path(args.out_dir) / f"kfold_{args.dataset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result, indent=2)
    print(f"\n{'preset':<16} mean val Dice (best thr)  at 0.5   AUC   ({args.folds} folds)")
    for preset, s in summary.items():
        print(
            f"{preset:<16} {s['val_best_dice']:.4f}                   "
            f"{s['val_dice_at_0.5']:.4f}  {s['val_auc']:.4f}"
        )


if __name__ == "__main__":
    main()

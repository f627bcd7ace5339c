"""Evaluate a `.keras` or `.tflite` model on a dataset split at full resolution.

    python -m mininet_tf.evaluate --model M.keras --dataset drive --data-dir DRIVE \\
        --split test --json r.json [--threshold T] [--save-predictions DIR] [--tta flip]

Metrics are computed inside the FOV when the dataset has one, foreground class only, both
``pooled`` (one confusion matrix over all pixels) and ``per_image`` (mean of per-image scores),
at the threshold stored in the model card unless ``--threshold`` is given. Conventions
(including the test-time augmentation, ``--tta``) are written into the JSON next to the numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from mininet_lite.batch import add_tta_argument
from mininet_lite.files import atomic_write_json
from mininet_lite.fundus import add_fov_argument, with_fov_width
from mininet_lite.tiling import tta_passes
from mininet_tf.cli import exits_on_user_error
from mininet_tf.cli import progress as show_progress
from mininet_tf.config import HELP
from mininet_tf.data.io import DataWarning
from mininet_tf.data.records import DataError


def evaluate_records(
    segmenter,
    records,
    *,
    threshold: float | None = None,
    save_predictions=None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Scores of ``segmenter`` on ``records`` (see module docstring for the conventions).

    Args:
        segmenter: from `mininet_tf.inference.load_segmenter` (Keras or TFLite).
        records: `Record`s with masks.
        threshold: decision threshold; default the segmenter's (its card's).
        save_predictions: folder for ``<id>_prob.png`` (16-bit), ``<id>_mask.png`` and
            ``<id>_overlay.png`` (TP green, FP red, FN blue).
        overwrite: allow replacing existing files in ``save_predictions``.
        progress: show a progress bar (tqdm) over the images.
    """
    from mininet_tf.data.io import read_record
    from mininet_tf.metrics import SegmentationMeter
    from mininet_tf.visualize import error_overlay, probability_png, save_png

    if not records:
        raise DataError("no images to evaluate")
    threshold = segmenter.threshold if threshold is None else float(threshold)
    meter = SegmentationMeter(threshold=threshold)
    per_image = []
    seconds = 0.0
    has_fov = False
    for record in show_progress(records, "evaluate", enabled=progress):
        image, mask, fov = read_record(record)
        if mask is None:
            raise DataError(f"{record.image}: no ground-truth mask to evaluate against")
        started = time.perf_counter()
        prob = segmenter.predict(image)
        seconds += time.perf_counter() - started
        has_fov |= fov is not None
        scores = meter.add(mask, prob, fov)
        per_image.append({"id": record.id, **{k: float(v) for k, v in scores.items()}})
        if save_predictions is not None:
            out = Path(save_predictions)
            pred = prob >= threshold
            save_png(out / f"{record.id}_prob.png", probability_png(prob), overwrite=overwrite)
            save_png(
                out / f"{record.id}_mask.png", pred.astype(np.uint8) * 255, overwrite=overwrite
            )
            save_png(
                out / f"{record.id}_overlay.png",
                error_overlay(image, mask, pred, fov),
                overwrite=overwrite,
            )
    result = meter.result()
    result["conventions"]["fov"] = (
        "metrics inside the dataset's FOV masks" if has_fov else "all pixels (no FOV masks)"
    )
    tta = getattr(segmenter, "tta", None)
    result["conventions"]["tta"] = (
        "none (one forward pass per model input)"
        if tta is None
        else f"{tta}: mean of {tta_passes(tta)} flipped passes per model input, each flipped back"
    )
    factors = getattr(segmenter, "factors", None)
    result["conventions"]["fov_width"] = (
        "none (images at their own scale)"
        if getattr(segmenter, "fov_width", None) is None
        else f"each image resampled so its field of view is {segmenter.fov_width:g} px wide "
        f"(factors {min(factors):.3f}-{max(factors):.3f}), probabilities resampled back"
    )
    result["images"] = per_image
    # With TTA this includes every pass: the measured cost of the option.
    result["inference_seconds_per_image"] = seconds / len(records)
    return result


def evaluate(
    model: str | Path,
    dataset: str,
    data_dir: str | Path | None,
    split: str = "test",
    *,
    threshold: float | None = None,
    json_path: str | Path | None = None,
    save_predictions: str | Path | None = None,
    val_fraction: float | None = None,
    seed: int | None = None,
    split_file: str = "shipped",
    threads: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
    verify: bool = True,
    tta: str | None = None,
    fov_width=None,
) -> dict:
    """Evaluate ``model`` on one split of a dataset; optionally write the JSON report.
    ``tta``: test-time flip averaging (None, "flip", "flip4"; `mininet_lite.tiling`);
    ``fov_width``: vessel-scale normalisation (None, "auto" or pixels; `mininet_lite.fundus`);
    ``split_file``: which split definition (`mininet_tf.config.TrainConfig.split_file`);
    ``val_fraction``/``seed``: the validation carve; None takes the model card's (its training
    run's carve) when the card is for ``dataset``, else 0.2 and seed 0."""
    from mininet_tf.data import get_split, split_options
    from mininet_tf.inference import load_segmenter

    segmenter = load_segmenter(model, threshold=threshold, threads=threads, verify=verify, tta=tta)
    card = getattr(segmenter, "card", None) or {}
    segmenter = with_fov_width(segmenter, fov_width)
    carve = card_carve(card, dataset)
    options = {
        "val_fraction": carve["val_fraction"] if val_fraction is None else val_fraction,
        "seed": carve["seed"] if seed is None else seed,
        "split_file": split_file,
    }
    records = get_split(dataset, data_dir, split, **split_options(options))
    if not records:
        raise DataError(
            f"{dataset} at {data_dir}: split {split!r} is empty (split file {split_file!r})"
        )
    seen = trained_on(card, dataset, data_dir, records, split_file)
    if seen:
        warnings.warn(
            f"{len(seen)} of the {len(records)} images of split {split!r} are in the training "
            f"split of {model} (its card: dataset {dataset!r}, split file "
            f"{card_split_file(card)!r}), e.g. {', '.join(seen[:3])}: these figures are not a "
            "test of it",
            DataWarning,
            stacklevel=2,
        )
    if json_path is not None and Path(json_path).exists() and not overwrite:
        raise FileExistsError(f"{json_path}: exists; refusing to overwrite (pass --overwrite)")
    result = evaluate_records(
        segmenter,
        records,
        threshold=threshold,
        save_predictions=save_predictions,
        overwrite=overwrite,
        progress=progress,
    )
    result.update(
        {
            "model": str(model),
            "dataset": dataset,
            "data_dir": str(data_dir) if data_dir is not None else None,
            "split": split,
            "input_policy": segmenter.policy.to_dict(),
            "tta": segmenter.tta,
            "fov_width": segmenter.fov_width,
        }
    )
    if json_path is not None:
        atomic_write_json(Path(json_path), result, indent=2)
    return result


def card_run(card: dict) -> dict:
    """The options of the run that trained the model, from its card: ``training_data`` under
    the run's ``config`` (a `.tflite` card keeps its Keras card, with the config, under
    ``source``)."""
    source = (card.get("source") or {}).get("card") or {}
    config = card.get("config") or source.get("config") or {}
    return {**(card.get("training_data") or {}), **config}


def card_split_file(card: dict) -> str:
    """The split file a model was trained with, from its card (Keras or `.tflite`)."""
    return card_run(card).get("split_file", "shipped")


def card_carve(card: dict, dataset: str) -> dict:
    """The validation carve (``val_fraction``, ``seed``) of the run that trained the model,
    when its card names ``dataset``: ``--split val`` then scores the images that selected its
    checkpoint and threshold, even for a run with another seed. Else the defaults."""
    from mininet_tf.data import split_options

    run = card_run(card)
    options = split_options(run if run.get("dataset") == dataset else {})
    return {"val_fraction": options["val_fraction"], "seed": options["seed"]}


def trained_on(card: dict, dataset: str, data_dir, records, split_file: str) -> list[str]:
    """Ids of ``records`` (drawn with ``split_file``) in the training split the model's card
    names, when it names another split file of the same dataset: a model trained on every
    labelled image (``monuseg_all``) evaluated on the shipped split's test images, say. With
    the same split file, train and test cannot overlap, so nothing is loaded."""
    from mininet_tf.data import get_split, split_options

    run = {"split_file": "shipped", **card_run(card)}
    if run.get("dataset") != dataset or run["split_file"] == split_file:
        return []
    options = split_options(run)
    try:
        train = {r.id for r in get_split(dataset, data_dir, "train", **options)}
    except DataError:
        return []
    return sorted(r.id for r in records if r.id in train)


@exits_on_user_error()
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help=".keras or .tflite (card beside it)")
    parser.add_argument("--dataset", required=True, help="loader name, or 'manifest'")
    parser.add_argument("--data-dir", help="dataset root (or manifest CSV for 'manifest')")
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    parser.add_argument("--threshold", type=float, help="override the card's threshold")
    parser.add_argument("--json", dest="json_path", help="write the report here")
    parser.add_argument("--save-predictions", help="folder for probability/mask/overlay PNGs")
    parser.add_argument(
        "--val-fraction",
        type=float,
        help="validation carve fraction (default: the model card's when it names this dataset, "
        "else 0.2)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed of the validation carve (default: the model card's, i.e. its training run's "
        "split_seed or seed, when it names this dataset, else 0)",
    )
    parser.add_argument("--split-file", default="shipped", help=HELP["split_file"])
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's native logs too")
    parser.add_argument("--threads", type=int, help="TFLite interpreter threads")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="load a .tflite even if it differs from the sha256 in its card",
    )
    add_tta_argument(parser)
    add_fov_argument(parser)
    args = parser.parse_args(argv)
    result = evaluate(
        args.model,
        args.dataset,
        args.data_dir,
        args.split,
        threshold=args.threshold,
        json_path=args.json_path,
        save_predictions=args.save_predictions,
        val_fraction=args.val_fraction,
        seed=args.seed,
        split_file=args.split_file,
        threads=args.threads,
        overwrite=args.overwrite,
        progress=True,
        verify=args.verify,
        tta=args.tta,
        fov_width=args.fov_width,
    )
    keys = ("f1", "dice", "iou", "auc", "sensitivity", "specificity", "accuracy", "mcc")
    print(
        f"{args.model} on {args.dataset}/{args.split}: {result['n_images']} images, "
        f"threshold {result['conventions']['threshold']:.3f}, {result['conventions']['fov']}, "
        f"tta {args.tta}"
    )
    for agg in ("pooled", "per_image"):
        print(f"  {agg:9s} " + "  ".join(f"{k} {result[agg][k]:.4f}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())

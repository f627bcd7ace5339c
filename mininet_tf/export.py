"""Export a trained Mini-Net `.keras` to `.tflite` in every mode, with its model card.

    python -m mininet_tf.export --model M.keras --mode {float32,float16,dynamic,int8} \\
        [--size H W] [--calib-dataset NAME --calib-data DIR] \\
        [--eval-dataset NAME --eval-data-dir DIR --eval-split test] --out X.tflite

Every exported file takes one ``(1, H, W, 3)`` **uint8** image of raw RGB pixels (the
normalisation is inside the graph) at a fixed size recorded in the model card, because a
Keras 3 graph does not convert with dynamic H, W; the runtimes (`mininet_lite`) pad, tile or
resize images to that size. Modes:

- ``float32``: plain conversion. ``float16``: float16 weights, float32 arithmetic.
- ``dynamic``: int8 weights, float activations (dynamic-range quantisation), float32 output.
- ``int8``: full-integer post-training quantisation calibrated on the training split; uint8
  input (scale 1, zero point 0: raw pixels go in unchanged) and uint8 output whose scale and
  zero point are in the card. Quantisation-aware training is `mininet_tf.quantize`.

Every file carries TFLite metadata in MediaPipe's ImageSegmenter layout (output label, licence;
`mininet_tf.metadata`). This module writes the files and is the command; the conversion is
`mininet_tf.convert` and the card `mininet_tf.modelcard`. The card (``X.json`` beside
``X.tflite``) is the contract the apps read: input and output tensors, input policy, decision threshold (also in the quantised
output domain), training data, measured metrics of this very file, size, MACs and tool versions.
docs/edge.md has the format and the design choices (nearest upsampling as
RESIZE_NEAREST_NEIGHBOR, the pinned input range, why and how files are compacted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mininet_tf.cli import exits_on_user_error
from mininet_tf.convert import (  # noqa: F401  (the export API's names, used by callers)
    DEFAULT_CALIB_SAMPLES,
    MAX_TILE,
    MODES,
    ExportError,
    calibration_inputs,
    check_compaction,
    compact_tflite,
    convert,
    default_export_size,
    export_graph,
    export_policy,
)
from mininet_tf.data.records import sha256_file
from mininet_tf.modelcard import build_card

# === Writing and measuring ===


def check_targets(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing model or card unless ``overwrite``."""
    from mininet_lite.runtime import card_path

    if out.suffix.lower() != ".tflite":
        raise ExportError(f"--out {out}: must end in .tflite")
    if not overwrite:
        for path in (out, card_path(out)):
            if path.exists():
                raise FileExistsError(f"{path}: exists; refusing to overwrite (pass --overwrite)")


def write_model(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` atomically."""
    from mininet_tf.data.records import atomic_write_bytes

    atomic_write_bytes(out, data)


def measure(out: Path, records, *, dataset: str, split: str, threads=None) -> dict:
    """Metrics of the written file ``out`` (with its card) on ``records``."""
    from mininet_lite.fundus import with_fov_width
    from mininet_lite.runtime import TFLiteSegmenter
    from mininet_tf.evaluate import evaluate_records

    # As served: a model trained on normalised fundus images resamples them (its card says so).
    segmenter = with_fov_width(TFLiteSegmenter(out, threads=threads), None)
    result = evaluate_records(segmenter, records)
    return {
        "dataset": dataset,
        "split": split,
        "n_images": result["n_images"],
        "threshold": segmenter.threshold,
        "pooled": result["pooled"],
        "per_image": result["per_image"],
        "conventions": result["conventions"],
        "inference_seconds_per_image": result["inference_seconds_per_image"],
        "measured_with": "mininet_tf.evaluate.evaluate_records + mininet_lite.TFLiteSegmenter",
    }


def finish(out: Path, data: bytes, card: dict, *, eval_records=None, eval_info=None, threads=None):
    """Write the model and its card; with ``eval_records``, measure the file and re-write."""
    from mininet_tf.inference import write_card

    write_model(out, data)
    write_card(out, card)
    if eval_records:
        card["metrics"] = measure(out, eval_records, threads=threads, **eval_info)
        write_card(out, card)
    return card


# === The command ===


def load_source(model_path) -> tuple:
    """(keras model, its card, its input policy) for a `.keras` file."""
    import keras

    import mininet_tf  # noqa: F401  (registers the custom Keras objects)
    from mininet_lite.runtime import read_card
    from mininet_lite.tiling import InputPolicy
    from mininet_tf.model import required_multiple

    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    if path.suffix.lower() != ".keras":
        raise ExportError(f"{path}: expected a .keras model")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises several types for a bad archive
        raise ExportError(f"{path}: cannot load Keras model ({exc})") from exc
    card = read_card(path)
    multiple = required_multiple(model)
    if "input_policy" in card:
        policy = InputPolicy.from_dict(card["input_policy"])
    else:
        policy = InputPolicy(mode="tile", size=(MAX_TILE, MAX_TILE), overlap=32, multiple=multiple)
    return model, card, policy


def resolve_data(card: dict, dataset: str | None, data_dir: str | None) -> tuple:
    """(dataset, data_dir, split kwargs): flags first, else the Keras card's training data."""
    config = card.get("config", {})
    dataset = dataset or card.get("dataset")
    if data_dir is None and dataset == card.get("dataset"):
        data_dir = config.get("data_dir")
    from mininet_tf.data import split_options

    kwargs = split_options(config)
    if dataset != card.get("dataset"):  # the card's split file is its own dataset's
        kwargs.pop("split_file", None)
    return dataset, data_dir, kwargs


def records_of(dataset, data_dir, split, kwargs):
    from mininet_tf.data import get_split

    if dataset is None:
        return None
    return get_split(dataset, data_dir, split, **kwargs)


def choose_size(size, policy, multiple, records) -> tuple[int, int]:
    """``--size`` if given, else `default_export_size` fitted to the first image."""
    from mininet_tf.data.io import read_image

    if size is not None:
        h, w = (int(v) for v in size)
        if h % multiple or w % multiple:
            raise ExportError(f"--size {h} {w}: both must be multiples of {multiple}")
        return h, w
    image_hw = read_image(records[0].image).shape[:2] if records else None
    return default_export_size(policy, multiple, image_hw)


def export(
    model: str | Path,
    out: str | Path,
    mode: str,
    *,
    size=None,
    calib_dataset: str | None = None,
    calib_data: str | None = None,
    calib_split: str = "train",
    calib_samples: int = DEFAULT_CALIB_SAMPLES,
    eval_dataset: str | None = None,
    eval_data_dir: str | None = None,
    eval_split: str = "test",
    threads: int | None = None,
    overwrite: bool = False,
    seed: int = 0,
) -> dict:
    """Export ``model`` (`.keras`) to ``out`` (`.tflite`) + card; returns the card.

    Calibration data (int8) defaults to the Keras card's dataset and data_dir, training split.
    With ``eval_dataset`` the written file is evaluated and the metrics go into its card.
    """
    from mininet_tf.metadata import stamp
    from mininet_tf.model import required_multiple

    if mode not in MODES:
        raise ExportError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    out = Path(out)
    check_targets(out, overwrite)
    source = Path(model)
    keras_model, card, policy = load_source(source)
    multiple = required_multiple(keras_model)

    calib_records = None
    if mode == "int8":
        name, data_dir, kwargs = resolve_data(card, calib_dataset, calib_data)
        if name is None:
            raise ExportError(
                "int8 export needs calibration data: --calib-dataset NAME --calib-data DIR "
                "(the model card names no training dataset)"
            )
        calib_records = records_of(name, data_dir, calib_split, kwargs)
        calib_info = {"dataset": name, "data_dir": data_dir, "split": calib_split}
    eval_records, eval_info = None, None
    if eval_dataset is not None:
        name, data_dir, kwargs = resolve_data(card, eval_dataset, eval_data_dir)
        eval_records = records_of(name, data_dir, eval_split, kwargs)
        eval_info = {"dataset": name, "split": eval_split}

    h, w = choose_size(size, policy, multiple, calib_records or eval_records)
    fixed_policy = export_policy(policy, (h, w))
    calibration = None
    extra = {}
    if mode == "int8":
        calibration = calibration_inputs(
            calib_records, fixed_policy, samples=calib_samples, seed=seed
        )
        extra["calibration"] = {**calib_info, "samples": len(calibration), "seed": seed}
    raw = convert(keras_model, mode, (h, w), calibration)
    data = compact_tflite(raw)
    check_compaction(raw, data)
    extra["converted_bytes"] = len(raw)
    descriptions = {
        "float32": "none (float32)",
        "float16": "float16 weights (post-training)",
        "dynamic": "dynamic range: int8 weights, float activations (post-training)",
        "int8": "full integer, post-training (calibrated on the training split)",
    }
    # Before the card: its sha256 and size are those of the file with metadata.
    data, extra["metadata"] = stamp(
        data,
        out.stem,
        dataset=card.get("dataset"),
        mode=mode,
        quantization=descriptions[mode],
        size=(h, w),
        weights_sha256=sha256_file(source) if source.is_file() else None,
    )
    new_card = build_card(
        out=out,
        data=data,
        mode=mode,
        quantization=descriptions[mode],
        policy=fixed_policy,
        threshold=float(card.get("threshold", 0.5)),
        threshold_selected_on=card.get(
            "threshold_selected_on", "default 0.5 (the Keras model has no card)"
        )
        + " (of the source Keras model)",
        source_path=source,
        source_card=card,
        model=keras_model,
        extra=extra,
    )
    return finish(
        out, data, new_card, eval_records=eval_records, eval_info=eval_info, threads=threads
    )


@exits_on_user_error()
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="the .keras model (card beside it)")
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--out", required=True, help="the .tflite to write (card: .json)")
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="export input size (default: the card's resize size, else 512x512 or smaller "
        "to fit the images)",
    )
    parser.add_argument("--calib-dataset", help="int8 calibration dataset (default: the card's)")
    parser.add_argument("--calib-data", help="its data directory (default: the card's)")
    parser.add_argument("--calib-split", default="train")
    parser.add_argument("--calib-samples", type=int, default=DEFAULT_CALIB_SAMPLES)
    parser.add_argument("--eval-dataset", help="measure the exported file on this dataset")
    parser.add_argument("--eval-data-dir")
    parser.add_argument("--eval-split", default="test")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's native logs too")
    parser.add_argument("--threads", type=int, help="interpreter threads for --eval-*")
    parser.add_argument("--seed", type=int, default=0, help="calibration sampling seed")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export")
    args = parser.parse_args(argv)

    card = export(
        args.model,
        args.out,
        args.mode,
        size=args.size,
        calib_dataset=args.calib_dataset,
        calib_data=args.calib_data,
        calib_split=args.calib_split,
        calib_samples=args.calib_samples,
        eval_dataset=args.eval_dataset,
        eval_data_dir=args.eval_data_dir,
        eval_split=args.eval_split,
        threads=args.threads,
        overwrite=args.overwrite,
        seed=args.seed,
    )
    print(summary_line(Path(args.out), card))
    return 0


def summary_line(out: Path, card: dict) -> str:
    text = (
        f"{out}: {card['mode']}, {card['size_bytes']:,} bytes, input "
        f"{'x'.join(str(v) for v in card['input']['shape'])} uint8, threshold "
        f"{card['threshold']:.2f}"
    )
    if card.get("threshold_quantized") is not None:
        text += f" (q >= {card['threshold_quantized']})"
    metrics = card.get("metrics")
    if metrics:
        pooled = metrics["pooled"]
        text += (
            f"; {metrics['dataset']} {metrics['split']}: F1 {pooled['f1']:.4f} "
            f"IoU {pooled['iou']:.4f} AUC {pooled['auc']:.4f}"
        )
    return text + f"; card {out.with_suffix('.json')}"


if __name__ == "__main__":
    sys.exit(main())

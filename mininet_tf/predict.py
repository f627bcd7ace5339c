"""Segment images with a trained model: images or folders in, masks and overlays out.

    python -m mininet_tf.predict --model M.keras image.jpg folder/ --out results/

For every input ``<stem>`` it writes ``<stem>_mask.png`` (0/255), ``<stem>_prob.png`` (16-bit
probability) and ``<stem>_overlay.png`` into ``--out``. Inputs are never written to; an
existing output is an error unless ``--overwrite``; ``--out`` may not be an input folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mininet_tf.cli import exits_on_user_error
from mininet_tf.cli import progress as show_progress
from mininet_tf.data.records import DataError


def collect_inputs(inputs) -> list[Path]:
    """Image files named directly or found (sorted, non-recursive) in the named folders."""
    from mininet_lite.files import collect_inputs as collect
    from mininet_tf.data.io import is_image_file

    return collect(inputs, is_image_file, error=DataError)


def predict(
    model,
    inputs,
    out,
    *,
    threshold: float | None = None,
    threads: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
    verify: bool = True,
) -> list[dict]:
    """Run ``model`` (path to .keras/.tflite) on ``inputs``; returns one summary per image."""
    from mininet_lite.files import plan_outputs, prepare_output_folder
    from mininet_tf.data.io import read_image
    from mininet_tf.inference import load_segmenter
    from mininet_tf.visualize import mask_overlay, probability_png, save_png

    files = collect_inputs(inputs)
    targets = plan_outputs(files, out, overwrite=overwrite)
    segmenter = load_segmenter(model, threshold=threshold, threads=threads, verify=verify)
    prepare_output_folder(out)
    summaries = []
    for f in show_progress(files, "predict", enabled=progress):
        image = read_image(f)
        prob = segmenter.predict(image)
        pred = prob >= segmenter.threshold
        mask_path, prob_path, overlay_path = targets[f]
        save_png(mask_path, pred.astype(np.uint8) * 255, overwrite=overwrite)
        save_png(prob_path, probability_png(prob), overwrite=overwrite)
        save_png(overlay_path, mask_overlay(image, pred), overwrite=overwrite)
        summaries.append(
            {"input": str(f), "mask": str(mask_path), "foreground_fraction": float(pred.mean())}
        )
    return summaries


@exits_on_user_error()
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help=".keras or .tflite (card beside it)")
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--threshold", type=float, help="override the card's threshold")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's native logs too")
    parser.add_argument("--threads", type=int, help="TFLite interpreter threads")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="load a .tflite even if it differs from the sha256 in its card",
    )
    args = parser.parse_args(argv)
    summaries = predict(
        args.model,
        args.inputs,
        args.out,
        threshold=args.threshold,
        threads=args.threads,
        overwrite=args.overwrite,
        progress=True,
        verify=args.verify,
    )
    for s in summaries:
        print(f"{s['input']} -> {s['mask']} (foreground {100 * s['foreground_fraction']:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

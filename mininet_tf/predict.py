"""Segment images with a trained model: images or folders in, masks and overlays out.

    python -m mininet_tf.predict --model M.keras image.jpg folder/ --out results/ [--tta flip]

For every input ``<stem>`` it writes ``<stem>_mask.png`` (0/255), ``<stem>_prob.png`` (16-bit
probability) and ``<stem>_overlay.png`` into ``--out``. Inputs are never written to; an
existing output is an error unless ``--overwrite``; ``--out`` may not be an input folder.
A bad input is reported and skipped (exit status 1 at the end), ``manifest.json`` in ``--out``
records the model and every input's status, ``--skip-existing`` resumes an interrupted batch
(see `mininet_lite.batch`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mininet_lite.batch import add_batch_arguments, add_tta_argument, report
from mininet_lite.fundus import add_fov_argument
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
    skip_existing: bool = False,
    allow_other_model: bool = False,
    tta: str | None = None,
    fov_width=None,
) -> dict:
    """Run ``model`` (path to .keras/.tflite) on ``inputs``; returns the batch manifest
    (``manifest["inputs"][name]``: status, outputs, foreground fraction or failure reason).
    ``tta``: test-time flip averaging (None, "flip", "flip4"; `mininet_lite.tiling`);
    ``fov_width``: vessel-scale normalisation (None, "auto" or pixels; `mininet_lite.fundus`).

    Batch semantics (a bad input is reported and skipped, the manifest, resuming, one model
    per folder): `mininet_lite.batch`.
    """
    from mininet_lite.batch import model_identity, run_batch
    from mininet_lite.fundus import with_fov_width
    from mininet_tf.data.io import read_image
    from mininet_tf.inference import load_segmenter
    from mininet_tf.visualize import mask_overlay, probability_png, save_png

    files = collect_inputs(inputs)
    segmenter = load_segmenter(model, threshold=threshold, threads=threads, verify=verify, tta=tta)
    segmenter = with_fov_width(segmenter, fov_width)

    def segment(f: Path, paths: tuple[Path, ...]) -> dict:
        image = read_image(f)
        prob = segmenter.predict(image)
        pred = prob >= segmenter.threshold
        mask_path, prob_path, overlay_path = paths
        save_png(mask_path, pred.astype(np.uint8) * 255, overwrite=True)
        save_png(prob_path, probability_png(prob), overwrite=True)
        save_png(overlay_path, mask_overlay(image, pred), overwrite=True)
        return {"foreground_fraction": float(pred.mean())}

    return run_batch(
        files,
        out,
        model_identity(model, segmenter.threshold, segmenter.tta, segmenter.fov_width),
        segment,
        tool="mininet_tf.predict",
        overwrite=overwrite,
        skip_existing=skip_existing,
        allow_other_model=allow_other_model,
        progress=(lambda items: show_progress(items, "predict")) if progress else None,
    )


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
    add_batch_arguments(parser)
    add_tta_argument(parser)
    add_fov_argument(parser)
    args = parser.parse_args(argv)
    manifest = predict(
        args.model,
        args.inputs,
        args.out,
        threshold=args.threshold,
        threads=args.threads,
        overwrite=args.overwrite,
        progress=True,
        verify=args.verify,
        skip_existing=args.skip_existing,
        allow_other_model=args.allow_other_model,
        tta=args.tta,
        fov_width=args.fov_width,
    )
    return report(manifest, args.out)


if __name__ == "__main__":
    sys.exit(main())

"""Segment images with a Mini-Net `.tflite` using only numpy, Pillow and a TFLite interpreter.

    mininet-infer --model isic2017 photo.jpg folder/ --out results/ [--threads 2] [--tta flip]
    mininet-infer --model path/to/model.tflite ...          (any exported model, card beside it)
    mininet-infer --list-models                             (the models shipped in the package)

(``python tflite/infer.py ...`` in a clone is the same command.) ``--model`` is a `.tflite`
path or the name of a shipped model (`mininet_lite.zoo`).

No TensorFlow and no `mininet_tf`: the interpreter is LiteRT (`ai-edge-litert`) or, if that is
not installed, `tflite-runtime`. The model card beside the model (``X.json`` for ``X.tflite``)
gives the input policy (pad/tile or resize to the model's fixed input size) and the decision
threshold; the geometry is `mininet_lite.tiling.predict_image`, the same code the TensorFlow
side (`python -m mininet_tf.predict`) runs, so both write the same masks for the same model.

For every input ``<stem>`` it writes ``<stem>_mask.png`` (0/255), ``<stem>_prob.png`` (16-bit
probability) and ``<stem>_overlay.png``. Existing outputs are an error unless ``--overwrite``;
``--out`` may not be an input folder. A bad input is reported and skipped (exit status 1 at
the end), ``manifest.json`` in ``--out`` records the model and every input's status, and
``--skip-existing`` resumes an interrupted batch (see `mininet_lite.batch`).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

from .batch import add_batch_arguments, add_tta_argument, model_identity, report, run_batch
from .files import atomic_write_bytes, collect_inputs
from .fundus import add_fov_argument, with_fov_width
from .imagesize import ImageTooLarge, check_image_size
from .overlay import mask_overlay
from .runtime import TFLiteSegmenter
from .zoo import list_models, resolve_model

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")


def is_image_file(path: Path) -> bool:
    return (
        path.is_file()
        and not path.name.startswith(".")
        and (path.suffix.lower() in IMAGE_EXTENSIONS)
    )


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3): grey replicated, alpha dropped, palettes expanded, 16-bit scaled."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.seek(0)
            check_image_size(path, *im.size)  # from the header, before decoding
            im.load()
            # As the photo displays (EXIF Orientation), like mininet_tf and the apps.
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
                wide = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
                grey = ((wide * 255 + 32767) // 65535).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=2)
            if im.mode == "F":
                array = np.nan_to_num(np.asarray(im).astype(np.float64))
                scale = 255.0 if array.max(initial=0.0) <= 1.0 else 1.0
                grey = np.clip(np.rint(array * scale), 0, 255).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=2)
            if im.mode in ("P", "PA"):
                im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
            if im.mode in ("1", "LA"):
                im = im.convert("L")
            if im.mode == "L":
                grey = np.asarray(im)
                return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
            if im.mode != "RGB":
                im = im.convert("RGB")
            return np.ascontiguousarray(np.asarray(im))
    except ImageTooLarge:
        raise
    except UnidentifiedImageError as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from exc
    except Image.DecompressionBombError as exc:  # Pillow's pixel limit, as mininet_tf's reader
        raise ValueError(f"{path}: image too large to decode safely ({exc})") from exc
    except (OSError, SyntaxError, EOFError) as exc:
        raise ValueError(f"{path}: corrupt or truncated image ({exc})") from exc


def probability_png(prob: np.ndarray) -> np.ndarray:
    """16-bit grey 0..65535 (as `mininet_tf.visualize.probability_png`)."""
    return np.round(np.clip(prob, 0, 1) * 65535).astype(np.uint16)


def save_png(path: Path, array: np.ndarray) -> None:
    """Write a PNG atomically (temporary file, then rename)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def infer(
    model,
    inputs,
    out,
    *,
    threads=None,
    threshold=None,
    overwrite=False,
    verify=True,
    skip_existing=False,
    allow_other_model=False,
    tta=None,
    fov_width=None,
) -> dict:
    """Run ``model`` on ``inputs`` and write the PNGs into ``out``; returns the batch manifest
    (batch semantics: `mininet_lite.batch`; ``tta``: None, "flip" or "flip4"; ``fov_width``:
    vessel-scale normalisation, None, "auto" or pixels, `mininet_lite.fundus`)."""
    files = collect_inputs(inputs, is_image_file)
    segmenter = TFLiteSegmenter(model, threads=threads, threshold=threshold, verify=verify, tta=tta)
    segmenter = with_fov_width(segmenter, fov_width)

    def segment(f: Path, paths: tuple[Path, ...]) -> dict:
        image = read_image(f)
        started = time.perf_counter()
        prob = segmenter.predict(image)
        seconds = time.perf_counter() - started
        pred = prob >= segmenter.threshold
        mask_path, prob_path, overlay_path = paths
        save_png(mask_path, pred.astype(np.uint8) * 255)
        save_png(prob_path, probability_png(prob))
        save_png(overlay_path, mask_overlay(image, pred))
        return {"foreground_fraction": float(pred.mean()), "seconds": seconds}

    return run_batch(
        files,
        out,
        model_identity(model, segmenter.threshold, segmenter.tta, segmenter.fov_width),
        segment,
        tool="mininet-infer",
        overwrite=overwrite,
        skip_existing=skip_existing,
        allow_other_model=allow_other_model,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="mininet-infer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        help="a .tflite file (its card .json beside it) or a shipped model's name: "
        "isic2017, ph2, drive, ... (int8), or e.g. isic2017_float16; see --list-models",
    )
    parser.add_argument("inputs", nargs="*", help="image files and/or folders of images")
    parser.add_argument("--out", help="output folder")
    parser.add_argument(
        "--list-models", action="store_true", help="print the shipped models and exit"
    )
    parser.add_argument("--threads", type=int, help="interpreter threads (default: runtime's)")
    parser.add_argument("--threshold", type=float, help="override the card's threshold")
    add_batch_arguments(parser)
    add_tta_argument(parser)
    add_fov_argument(parser)
    args = parser.parse_args(argv)
    if args.list_models:
        for name, path in list_models().items():
            print(f"{name:24s} {path}")
        return 0
    if not args.model or not args.inputs or not args.out:
        parser.error("--model, at least one input and --out are required")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    try:
        manifest = infer(
            resolve_model(args.model),
            args.inputs,
            args.out,
            threads=args.threads,
            threshold=args.threshold,
            overwrite=args.overwrite,
            verify=args.verify,
            skip_existing=args.skip_existing,
            allow_other_model=args.allow_other_model,
            tta=args.tta,
            fov_width=args.fov_width,
        )
    except (ValueError, FileNotFoundError, FileExistsError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return report(manifest, args.out)


if __name__ == "__main__":
    sys.exit(main())

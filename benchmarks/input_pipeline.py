"""Input pipeline throughput vs. training step rate, on real data (DRIVE, PH2).

    python benchmarks/input_pipeline.py --data-dir ../shared/data

For each dataset and mode (random 64x64 patches; whole images resized) this measures:

* decode: the first pass over the split (files decoded by `mininet_tf.data.io`, then cached);
* pipeline: samples/s of the training stream once cached (patch sampling or resize, geometric
  and photometric augmentation on, batching), after a warm-up;
* train step: samples/s of ``model.train_on_batch`` (Mini-Net, Adam, `CombinedLoss` or BCE) on
  batches of the same shape, after a warm-up;

and the ratio pipeline / train step (target: >= 3, i.e. the input pipeline is never what the
accelerator waits for). Prints a table and writes JSON (default
``benchmarks/results/input_pipeline.json``). ``--data-dir`` defaults to ``$MININET_DATA_DIR`` or
``../shared/data``; it may be the folder holding ``DRIVE/`` and ``PH2/``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Per dataset: augmentation preset and the whole-image size (see benchmarks/quality.py).
DATASETS = {
    "drive": {"preset": "fundus", "whole_size": (512, 512)},
    "ph2": {"preset": "dermoscopy", "whole_size": (256, 256)},
}


def _rate(iterator, batches: int, warmup: int) -> tuple[float, int]:
    """Samples/s over ``batches`` batches after ``warmup`` batches."""
    for _ in range(warmup):
        next(iterator)
    samples = 0
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(iterator)
        samples += int(batch[0].shape[0])
    return samples / (time.perf_counter() - start), samples


def _compile(model):
    import keras

    try:
        from mininet_tf.losses import CombinedLoss

        loss, loss_name = CombinedLoss(), "CombinedLoss"
    except ImportError:
        loss, loss_name = keras.losses.BinaryCrossentropy(), "BinaryCrossentropy"
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    return loss_name


def measure(name, data_dir, mode, args) -> dict:
    import numpy as np

    from mininet_tf.data import get_split
    from mininet_tf.data.pipeline import Augment, make_dataset
    from mininet_tf.model import build_mininet

    spec = DATASETS[name]
    records = get_split(name, data_dir, args.split, seed=0)
    if mode == "patch":
        kwargs = dict(
            patch_size=args.patch_size,
            batch_size=args.batch_size,
            foreground_fraction=args.foreground_fraction,
        )
    else:
        kwargs = dict(patch_size=None, image_size=spec["whole_size"], batch_size=args.whole_batch)
    ds = make_dataset(
        records, training=True, augment=Augment.preset(spec["preset"]), seed=0, **kwargs
    )

    # First pass: decode + cache (the shuffle buffer holds every image, so the first batch
    # arrives once the whole split has been decoded).
    start = time.perf_counter()
    iterator = iter(ds)
    first = next(iterator)
    decode_s = time.perf_counter() - start
    pipeline_rate, _ = _rate(iterator, args.batches, args.warmup)

    # Training step rate on batches of the same shape.
    import keras

    keras.utils.set_random_seed(0)
    model = build_mininet()
    loss_name = _compile(model)
    x = np.asarray(first[0])
    y = np.asarray(first[1])
    for _ in range(args.train_warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(args.train_steps):
        model.train_on_batch(x, y)
    train_rate = args.train_steps * x.shape[0] / (time.perf_counter() - start)
    return {
        "dataset": name,
        "mode": mode,
        "split": args.split,
        "images": len(records),
        "batch_shape": list(x.shape),
        "augment": spec["preset"],
        "decode_first_pass_s": round(decode_s, 3),
        "decode_images_per_s": round(len(records) / decode_s, 2),
        "pipeline_samples_per_s": round(pipeline_rate, 1),
        "train_samples_per_s": round(train_rate, 2),
        "ratio": round(pipeline_rate / train_rate, 2),
        "meets_target": pipeline_rate >= 3 * train_rate,
        "loss": loss_name,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MININET_DATA_DIR") or str(ROOT.parent / "shared" / "data"),
        help="folder holding DRIVE/ and PH2/ (default: $MININET_DATA_DIR or ../shared/data)",
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument(
        "--modes", nargs="+", default=["patch", "whole"], choices=["patch", "whole"]
    )
    parser.add_argument("--split", default="train")
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16, help="patch-mode batch")
    parser.add_argument("--whole-batch", type=int, default=4, help="whole-image-mode batch")
    parser.add_argument("--foreground-fraction", type=float, default=0.5)
    parser.add_argument("--batches", type=int, default=40, help="timed pipeline batches")
    parser.add_argument("--warmup", type=int, default=5, help="pipeline warm-up batches")
    parser.add_argument("--train-steps", type=int, default=10, help="timed train steps")
    parser.add_argument("--train-warmup", type=int, default=3, help="train warm-up steps")
    parser.add_argument(
        "--json", default=str(ROOT / "benchmarks" / "results" / "input_pipeline.json")
    )
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    results = []
    for name in args.datasets:
        data_dir = Path(args.data_dir).expanduser()
        for mode in args.modes:
            print(f"measuring {name} / {mode} ...", flush=True)
            results.append(measure(name, data_dir, mode, args))

    header = (
        f"{'dataset':8} {'mode':6} {'batch shape':18} {'decode img/s':>12} "
        f"{'pipeline/s':>11} {'train/s':>9} {'ratio':>7}  target>=3x"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        shape = "x".join(str(s) for s in r["batch_shape"])
        print(
            f"{r['dataset']:8} {r['mode']:6} {shape:18} {r['decode_images_per_s']:12.1f} "
            f"{r['pipeline_samples_per_s']:11.1f} {r['train_samples_per_s']:9.1f} "
            f"{r['ratio']:7.1f}  {'yes' if r['meets_target'] else 'NO'}"
        )
    print("(rates in samples/s: patches/s in patch mode, images/s in whole-image mode)")

    report = {
        "command": "python benchmarks/input_pipeline.py " + " ".join(argv or sys.argv[1:]),
        "environment": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "data_dir")},
        "results": results,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    from mininet_lite.files import atomic_write_json

    atomic_write_json(out, report, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

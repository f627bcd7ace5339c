"""Quantization-aware fine-tuning of a trained Mini-Net, exported as a full-int8 `.tflite`.

    python -m mininet_tf.quantize --model M.keras --dataset drive --data-dir DRIVE \\
        --epochs 3 [--steps-per-epoch 100] [--size H W] \\
        [--eval-dataset drive --eval-data-dir DRIVE --eval-split test] --out X.tflite

tensorflow-model-optimization (tfmot) 0.8 only works with tf_keras, which needs
``TF_USE_LEGACY_KERAS=1`` set before TensorFlow is imported, so this command (a Keras 3 process)
runs the QAT in a child process (`mininet_tf._qat_child`): it rebuilds the same graph in
tf_keras, loads the Keras 3 weights, fine-tunes with the training loss and data pipeline
(training split; the validation split picks the epoch), and converts to full int8 (uint8 raw
pixels in, uint8 probability out). This process then compacts the file
(`convert.compact_tflite`), adds its TFLite metadata (`mininet_tf.metadata`), selects the
decision threshold on the validation split with the file itself, and writes the model card
(`export.build_card`), with test metrics of the file when ``--eval-*`` is given.

Data defaults to the Keras card's dataset, data directory and split settings (the same
train/val split the float model was trained and selected on).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from mininet_tf.cli import exits_on_user_error
from mininet_tf.export import ExportError
from mininet_tf.modelcard import build_card

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EPOCHS = 2
DEFAULT_LEARNING_RATE = 1e-4
INSTALL_HINT = (
    "quantization-aware training needs tensorflow-model-optimization and tf_keras (the Keras 2 "
    "package matching your TensorFlow): pip install tensorflow-model-optimization "
    "tf_keras=={tf}.*  (post-training int8 needs neither: python -m mininet_tf.export --mode int8)"
)


class QuantizeError(RuntimeError):
    """Quantization-aware training failed; the message says why."""


class QATDependencyError(QuantizeError, ImportError):
    """tfmot or tf_keras is not installed (in the Python that runs the child)."""


def child_env(extra: dict | None = None) -> dict:
    """The child's environment: TF_USE_LEGACY_KERAS=1 and this checkout on PYTHONPATH."""
    env = dict(os.environ)
    paths = [str(ROOT), str(ROOT / "tflite")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["TF_USE_LEGACY_KERAS"] = "1"
    env.update(extra or {})
    return env


def save_weights(model, path: Path) -> None:
    """Keras 3 weights by layer name: ``"<layer>:<index>"`` -> array."""
    arrays = {}
    for layer in model.layers:
        for index, weight in enumerate(layer.get_weights()):
            arrays[f"{layer.name}:{index}"] = weight
    np.savez(path, **arrays)


def run_child(job: dict, workdir: Path, *, python: str | None = None, env=None) -> dict:
    """Run the QAT child on ``job``; returns its result or raises with its message."""
    job_path = workdir / "job.json"
    job["result"] = str(workdir / "result.json")
    job_path.write_text(json.dumps(job, indent=2))
    command = [python or sys.executable, "-m", "mininet_tf._qat_child", str(job_path)]
    status = subprocess.run(command, env=child_env(env), cwd=str(ROOT), check=False).returncode
    result_path = Path(job["result"])
    result = json.loads(result_path.read_text()) if result_path.is_file() else {}
    if status == 0 and result.get("ok"):
        return result
    if result.get("error") == "missing":
        from importlib import metadata

        tf_version = ".".join(metadata.version("tensorflow").split(".")[:2])
        raise QATDependencyError(
            f"{INSTALL_HINT.format(tf=tf_version)}. Missing: {'; '.join(result['missing'])}"
        )
    message = result.get("message") or f"exit status {status} (its output is above)"
    raise QuantizeError(f"quantization-aware training failed in the child process: {message}")


def select_threshold(
    out: Path, policy, records, metric: str = "f1", source_card: dict | None = None
) -> tuple[float, float]:
    """(threshold, score) maximising pooled ``metric`` of the file ``out`` on ``records``, run
    as it will be served (a model trained on normalised fundus images resamples them, as its
    ``source_card`` says)."""
    from mininet_lite.fundus import with_fov_width
    from mininet_lite.runtime import TFLiteSegmenter
    from mininet_tf.metrics import best_threshold
    from mininet_tf.train import predict_records

    # Mid-export: the card beside ``out`` is not written yet (or is the previous export's).
    segmenter = TFLiteSegmenter(out, policy=policy, threshold=0.5, verify=False)
    segmenter.card = source_card or {}  # what with_fov_width reads; the file's is not written
    segmenter = with_fov_width(segmenter, None)
    truths, probs, fovs = predict_records(segmenter, records)
    return best_threshold(truths, probs, fovs, metric=metric, aggregate="pooled")


def train_settings(card: dict, dataset, data_dir, batch_size) -> dict:
    """The training options of the QAT run: the Keras card's recipe, data flags first."""
    config = dict(card.get("config", {}))
    if not config:
        config = {"patch_size": 64, "image_size": None}
    config["dataset"] = dataset
    config["data_dir"] = str(data_dir) if data_dir is not None else None
    if batch_size:
        config["batch_size"] = int(batch_size)
    config.setdefault("val_fraction", 0.2)
    config.setdefault("seed", 0)
    return config


def quantize(
    model: str | Path,
    out: str | Path,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    epochs: int = DEFAULT_EPOCHS,
    steps_per_epoch: int | None = None,
    batch_size: int | None = None,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    size=None,
    extra_sizes=(),
    eval_dataset: str | None = None,
    eval_data_dir: str | None = None,
    eval_split: str = "test",
    threads: int | None = None,
    overwrite: bool = False,
    seed: int = 0,
    verbose: int = 2,
    python: str | None = None,
    child_extra_env: dict | None = None,
) -> dict:
    """QAT-fine-tune ``model`` (`.keras`) and write ``out`` (`.tflite`, int8) + card.

    Args:
        model, out: source `.keras` (card beside it) and target `.tflite`.
        dataset, data_dir: training data (default: the Keras card's).
        epochs, steps_per_epoch, batch_size, learning_rate: the fine-tune (steps and batch
            default to the card's recipe; cosine decay from ``learning_rate`` to 1% of it).
        size: export (H, W) (default as in `mininet_tf.export`).
        extra_sizes: also convert the same fine-tuned model at these sizes, written beside
            ``out`` as ``<stem>_<H>x<W>.tflite`` with cards (for latency benchmarks).
        eval_dataset, eval_data_dir, eval_split: measure the written file into its card.
        python, child_extra_env: interpreter and extra environment of the child (tests).
    """
    from mininet_tf import export as ex
    from mininet_tf.data.records import sha256_file
    from mininet_tf.metadata import stamp
    from mininet_tf.model import model_config, required_multiple

    out = Path(out)
    ex.check_targets(out, overwrite)
    source = Path(model)
    keras_model, card, policy = ex.load_source(source)
    multiple = required_multiple(keras_model)
    dataset, data_dir, split_kwargs = ex.resolve_data(card, dataset, data_dir)
    if dataset is None:
        raise ExportError("--dataset is required: the model card names no training dataset")
    train_records = ex.records_of(dataset, data_dir, "train", split_kwargs)
    val_records = ex.records_of(dataset, data_dir, "val", split_kwargs)
    if not train_records or not val_records:
        raise ExportError(f"dataset {dataset!r}: QAT needs non-empty train and val splits")
    eval_records, eval_info = None, None
    if eval_dataset is not None:
        name, edir, ekw = ex.resolve_data(card, eval_dataset, eval_data_dir)
        eval_records = ex.records_of(name, edir, eval_split, ekw)
        eval_info = {"dataset": name, "split": eval_split}
    h, w = ex.choose_size(size, policy, multiple, train_records)
    fixed_policy = ex.export_policy(policy, (h, w))
    sizes = [(h, w)] + [tuple(int(v) for v in s) for s in extra_sizes]
    for sh, sw in sizes:
        if sh % multiple or sw % multiple:
            raise ExportError(f"size {sh}x{sw} is not a multiple of {multiple}")
    extra_outs = [out.with_name(f"{out.stem}_{sh}x{sw}.tflite") for sh, sw in sizes[1:]]
    for path in extra_outs:
        ex.check_targets(path, overwrite)

    config = train_settings(card, dataset, data_dir, batch_size)
    steps = int(steps_per_epoch or config.get("steps_per_epoch") or 100)
    if epochs < 1 or steps < 1:
        raise ExportError("--epochs and --steps-per-epoch must be >= 1")
    with tempfile.TemporaryDirectory(prefix="mininet_qat_") as tmp:
        workdir = Path(tmp)
        save_weights(keras_model, workdir / "weights.npz")
        job = {
            "weights": str(workdir / "weights.npz"),
            "model_config": model_config(keras_model),
            "train": config,
            "policy": fixed_policy.to_dict(),
            "metric": config.get("threshold_metric", "f1"),
            "epochs": int(epochs),
            "steps_per_epoch": steps,
            "learning_rate": float(learning_rate),
            "seed": int(seed),
            "verbose": verbose,
            "targets": [
                {"size": list(s), "path": str(workdir / f"qat_{s[0]}x{s[1]}.tflite")} for s in sizes
            ],
        }
        result = run_child(job, workdir, python=python, env=child_extra_env)
        raws = [Path(t["path"]).read_bytes() for t in job["targets"]]

    qat_facts = {
        "epochs": int(epochs),
        "steps_per_epoch": steps,
        "batch_size": config.get("batch_size"),
        "learning_rate": float(learning_rate),
        "schedule": "cosine decay to 1%",
        "seed": int(seed),
        "loss": f"CombinedLoss.from_alpha({config.get('loss_alpha', 0.5)})",
        "train_images": len(train_records),
        "val_images": len(val_records),
        "history": result["history"],
        "best_epoch": result["best_epoch"],
        "selected_on": "validation split, pooled "
        f"{job['metric']} at its best threshold (fake-quantised tf_keras model)",
        "graph_changes": result["graph_changes"],
        "child_tools": result["tools"],
        "seconds": result["seconds"],
    }
    description = (
        "full integer, quantization-aware training (tfmot "
        f"{result['tools']['tensorflow_model_optimization']}, tf_keras child process)"
    )
    cards = []
    for index, ((sh, sw), raw) in enumerate(zip(sizes, raws, strict=True)):
        target = out if index == 0 else extra_outs[index - 1]
        data = ex.compact_tflite(raw)
        ex.check_compaction(raw, data)
        data, metadata = stamp(
            data,
            target.stem,
            dataset=dataset,
            mode="int8",
            quantization=description,
            size=(sh, sw),
            weights_sha256=sha256_file(source),
        )
        target_policy = ex.export_policy(policy, (sh, sw))
        ex.write_model(target, data)
        threshold, val_score = select_threshold(
            target, target_policy, val_records, job["metric"], source_card=card
        )
        extra = {
            "converted_bytes": len(raw),
            "metadata": metadata,
            "qat": qat_facts,
            "val_score": {job["metric"]: val_score, "threshold": threshold},
        }
        if index:
            extra["purpose"] = f"latency variant of {out.name} (same weights, {sh}x{sw} input)"
        training_data = {"dataset": dataset, "data_dir": config["data_dir"]}
        new_card = build_card(
            out=target,
            data=data,
            mode="int8",
            quantization=description,
            policy=target_policy,
            threshold=threshold,
            threshold_selected_on=f"validation split ({len(val_records)} images), pooled "
            f"{job['metric']} over 0.05..0.95, measured on this .tflite",
            source_path=source,
            source_card=card,
            model=keras_model,
            extra=extra,
        )
        new_card["training_data"].update(training_data)  # the data the fine-tune used
        cards.append(
            ex.finish(
                target,
                data,
                new_card,
                eval_records=eval_records if index == 0 else None,
                eval_info=eval_info,
                threads=threads,
            )
        )
    return cards[0]


@exits_on_user_error(QuantizeError)
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.quantize",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="the .keras model (card beside it)")
    parser.add_argument("--out", required=True, help="the int8 .tflite to write (card: .json)")
    parser.add_argument("--dataset", help="training dataset (default: the card's)")
    parser.add_argument("--data-dir", help="its data directory (default: the card's)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--steps-per-epoch", type=int, help="default: the card's recipe")
    parser.add_argument("--batch-size", type=int, help="default: the card's recipe")
    parser.add_argument("--learning-rate", type=float, default=DEFAULT_LEARNING_RATE)
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="export size")
    parser.add_argument(
        "--extra-sizes",
        type=int,
        nargs="+",
        default=[],
        metavar="H W",
        help="also convert the fine-tuned model at these sizes (pairs), for latency runs",
    )
    parser.add_argument("--eval-dataset", help="measure the exported file on this dataset")
    parser.add_argument("--eval-data-dir")
    parser.add_argument("--eval-split", default="test")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's native logs too")
    parser.add_argument("--threads", type=int, help="interpreter threads for evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export")
    args = parser.parse_args(argv)
    if len(args.extra_sizes) % 2:
        parser.error("--extra-sizes takes pairs: H W [H W ...]")

    card = quantize(
        args.model,
        args.out,
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        size=args.size,
        extra_sizes=list(zip(args.extra_sizes[::2], args.extra_sizes[1::2], strict=True)),
        eval_dataset=args.eval_dataset,
        eval_data_dir=args.eval_data_dir,
        eval_split=args.eval_split,
        threads=args.threads,
        overwrite=args.overwrite,
        seed=args.seed,
    )
    from mininet_tf.export import summary_line

    print(summary_line(Path(args.out), card))
    return 0


if __name__ == "__main__":
    sys.exit(main())

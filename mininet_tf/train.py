"""Train Mini-Net: data -> model -> run directory with checkpoints, logs, card and evaluation.

`python -m mininet_tf.train` with no arguments trains on the embedded synthetic vessels for a
short run. A run directory holds::

    config.json               resolved options (reloaded by --resume)
    manifests/{train,val,test}.csv
    best.keras + best.json    best checkpoint on the validation split + its card (threshold...)
    last.keras                the latest epoch
    log.csv, tensorboard/     per-epoch logs
    state.json                epochs finished and best score so far (for --resume)
    eval_test.json            final evaluation of best.keras on the test split

Model selection (checkpoint and decision threshold) uses the validation split only. The run
reads ``_data -> _model -> _fit -> _select_and_report``; the directory's life around it
(create, lock, resume, clean up after an early failure) is `mininet_tf.rundir`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

from mininet_lite.files import atomic_write_json, dumps_json
from mininet_tf import distribute
from mininet_tf.cli import exits_on_user_error, interactive
from mininet_tf.config import TrainConfig, add_config_arguments, resolve_config
from mininet_tf.data.records import DataError, atomic_write_text, write_manifest
from mininet_tf.rundir import (
    STATE_FILE,
    TrainingError,
    clean_failed_run,
    ours_to_clean,
    prepare_run_dir,
    read_log,
    read_state,
    resume_conflicts,
    run_lock,
    write_log,
)


def load_splits(cfg: TrainConfig) -> dict:
    """train/val/test records for the configured dataset (test may be empty)."""
    from mininet_tf.data import get_split, split_options

    splits = {}
    for split in ("train", "val", "test"):
        try:
            splits[split] = get_split(
                cfg.dataset, cfg.data_dir, split, **split_options(cfg.to_dict())
            )
        except DataError:
            if split != "test":
                raise
            splits[split] = []  # e.g. a dataset whose test labels are not distributed
    for split in ("train", "val"):
        if not splits[split]:
            raise DataError(f"dataset {cfg.dataset!r} at {cfg.data_dir}: empty {split} split")
    return splits


def make_train_dataset(records, cfg: TrainConfig):
    from mininet_tf.data.pipeline import Augment, make_dataset

    return make_dataset(
        records,
        training=True,
        batch_size=cfg.batch_size,
        patch_size=cfg.patch_size,
        image_size=tuple(cfg.image_size) if cfg.image_size else None,
        augment=Augment.preset(cfg.augment_preset) if cfg.augment else None,
        foreground_fraction=cfg.foreground_fraction,
        seed=cfg.seed,
        fov_width=cfg.fov_width,
    )


def input_policy(cfg: TrainConfig):
    """How the trained model meets full-size images: tiles (patch training) or resizing."""
    from mininet_lite.tiling import InputPolicy
    from mininet_tf.model import required_multiple

    multiple = required_multiple(cfg.widths, stem_stride=stem_stride(cfg))
    if cfg.image_size:
        return InputPolicy(mode="resize", size=tuple(cfg.image_size), multiple=multiple)
    tile = max(multiple, cfg.eval_tile - cfg.eval_tile % multiple)
    return InputPolicy(mode="tile", size=(tile, tile), overlap=32, multiple=multiple)


# === Model and optimisation ===


def build_model(cfg: TrainConfig):
    from mininet_tf.model import build_mininet

    if cfg.architecture == "unet":
        from mininet_tf.baselines import build_unet

        return build_unet(widths=cfg.widths)
    return build_mininet(
        widths=cfg.widths,
        expansion=cfg.expansion,
        dmres_scales=cfg.dmres_scales,
        upsampling=cfg.upsampling,
        stem_stride=stem_stride(cfg),
    )


def stem_stride(cfg: TrainConfig) -> int:
    """2 for the fast variant (the whole network at half resolution), else 1."""
    return 2 if cfg.architecture == "mininet_fast" else 1


def load_initial_weights(model, path: str | Path) -> None:
    """Copy every weight of the model saved at ``path`` into ``model``, matched by layer name.

    For fine-tuning a trained model on new data or at a new input size (the graph is fully
    convolutional, so weights do not depend on H, W). The two graphs must be the same
    architecture and widths: a missing layer or a shape mismatch is an error naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: init_from model not found")
    try:
        source = keras.models.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001  (any unreadable file gets the same clear message)
        raise TrainingError(f"{path}: cannot load init_from model: {err}") from err
    by_name = {layer.name: layer for layer in source.layers}
    for layer in model.layers:
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        if other is None:
            raise TrainingError(
                f"{path}: has no layer {layer.name!r}; init_from needs a model of the same "
                "architecture and widths"
            )
        shapes = [tuple(w.shape) for w in layer.weights]
        other_shapes = [tuple(w.shape) for w in other.weights]
        if shapes != other_shapes:
            raise TrainingError(
                f"{path}: layer {layer.name!r} has weights {other_shapes}, the configured "
                f"model needs {shapes} (other widths?)"
            )
        layer.set_weights(other.get_weights())


def float32_copy(model, cfg: TrainConfig):
    """``model`` itself when it computes in float32 (and no weight average is kept), else the
    same graph built with float32 layers sharing nothing but a copy of its (float32) weights:
    what is evaluated and shipped."""
    if cfg.ema_momentum is None and all(
        layer.dtype_policy.name == "float32" for layer in model.layers
    ):
        return model
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        twin = build_model(cfg)
    finally:
        keras.config.set_dtype_policy(previous)
    twin.set_weights(scored_weights(model, cfg))
    return twin


def scored_weights(model, cfg: TrainConfig) -> list:
    """The weights validation scores and best.keras keeps: the model's own, or with
    ``ema_momentum`` its trainable weights replaced by the optimizer's moving average (the
    non-trainable BatchNorm statistics stay the model's, as in
    `keras.callbacks.SwapEMAWeights`)."""
    if cfg.ema_momentum is None:
        return model.get_weights()
    optimizer = model.optimizer
    averages = {
        v.path: a
        for v, a in zip(
            optimizer._trainable_variables, optimizer._model_variables_moving_average, strict=True
        )
    }
    return [keras.ops.convert_to_numpy(averages.get(w.path, w)) for w in model.weights]


def compile_model(model, cfg: TrainConfig) -> None:
    from mininet_tf.losses import CombinedLoss
    from mininet_tf.metrics import Dice, IoU

    total_steps = cfg.epochs * cfg.steps_per_epoch
    lr = cfg.learning_rate
    if cfg.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, total_steps, alpha=0.01)
    # A weight average is kept beside the weights (not swapped in): the Checkpointer scores it.
    ema = dict(use_ema=cfg.ema_momentum is not None, ema_momentum=cfg.ema_momentum or 0.99)
    if cfg.optimizer == "adam":
        optimizer = keras.optimizers.Adam(lr, **ema)
    elif cfg.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay, **ema)
    else:
        optimizer = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, **ema)
    model.compile(
        optimizer=optimizer,
        loss=CombinedLoss.from_alpha(cfg.loss_alpha),
        metrics=[Dice(name="dice"), IoU(name="iou")],
    )


# === Validation-driven selection ===


def predict_records(segmenter, records):
    """(truths, probs, fovs) for records, at full resolution through the shared inference path."""
    from mininet_tf.data.io import read_record

    truths, probs, fovs = [], [], []
    for record in records:
        image, mask, fov = read_record(record)
        probs.append(segmenter.predict(image))
        truths.append(mask)
        fovs.append(fov if fov is not None else np.ones_like(mask))
    return truths, probs, fovs


def warn_no_foreground(what: str, consequence: str) -> None:
    """Say loudly (a warning and a stderr line) that masks hold no foreground pixel."""
    import warnings

    message = (
        f"{what} hold no foreground pixel: F1/Dice are undefined there (1.0 by convention for "
        f"an empty prediction), so the {consequence} selected on them mean nothing. Check that "
        "the masks mark the structure with non-zero values (0/255 or 0/1 PNGs)."
    )
    warnings.warn(message, stacklevel=2)
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def check_training_masks(records, sample: int = 64, seed: int = 0) -> None:
    """Warn when a seeded sample of up to ``sample`` training masks is all background."""
    from mininet_tf.data.io import read_mask

    labelled = [r for r in records if r.mask is not None]
    if not labelled:
        return
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(labelled), size=min(sample, len(labelled)), replace=False)
    if not any(np.any(read_mask(labelled[i].mask)) for i in chosen):
        warn_no_foreground(f"{len(chosen)} of the training masks (a seeded sample)", "weights")


def validation_scores(segmenter, records, metric: str) -> dict:
    """Best threshold and its score on the validation split, plus AUC and F1 at 0.5."""
    from mininet_tf.metrics import best_threshold, evaluate_all

    truths, probs, fovs = predict_records(segmenter, records)
    if not any(np.any(t[f > 0]) for t, f in zip(truths, fovs, strict=True)):
        warn_no_foreground(f"the {len(records)} validation masks", "checkpoint and threshold")
    threshold, best = best_threshold(truths, probs, fovs, metric=metric, aggregate="pooled")
    at_half = evaluate_all(truths, probs, fovs, threshold=0.5)["pooled"]
    return {
        "val_best": best,
        "val_threshold": threshold,
        f"val_{metric}@0.5": at_half[metric],
        "val_auc": at_half["auc"],
    }


def save_model_atomic(model, path: Path) -> None:
    """``model.save`` to a temporary file, then rename: a kill never leaves half a file."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


class Checkpointer(keras.callbacks.Callback):
    """Once per epoch: score the validation split at full resolution, keep best.keras,
    last.keras (with optimizer state, for --resume), log.csv and state.json.

    Every file is replaced atomically and state.json is written last, so a run killed at any
    moment resumes from its last finished epoch (at worst redoing the one being saved).
    """

    def __init__(self, cfg: TrainConfig, run_dir: Path, val_records, policy, epochs_done=None):
        super().__init__()
        self.cfg, self.run_dir, self.val_records, self.policy = cfg, run_dir, val_records, policy
        state = read_state(run_dir)
        self.best = state.get("best", -math.inf)
        # epochs_done: where training resumes when that is not state.json's word (multi-worker).
        done = state.get("epochs_done", 0) if epochs_done is None else epochs_done
        self.rows = [r for r in read_log(run_dir) if int(r["epoch"]) < done]
        self.twin = None

    def on_epoch_end(self, epoch, logs=None):
        from mininet_lite.fundus import FovRescaled
        from mininet_tf.inference import KerasSegmenter, write_card

        logs = logs if logs is not None else {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True
            return
        # Mixed precision trains in bf16, but validation, best.keras and everything downstream
        # (evaluate, export, apps) see the float32 model.
        if self.twin is None:
            self.twin = float32_copy(self.model, self.cfg)
        elif self.twin is not self.model:
            self.twin.set_weights(scored_weights(self.model, self.cfg))
        segmenter = KerasSegmenter(self.twin, policy=self.policy)
        if self.cfg.fov_width is not None:  # scored at the images' own size, as served
            segmenter = FovRescaled(segmenter, self.cfg.fov_width)
        scores = validation_scores(segmenter, self.val_records, self.cfg.threshold_metric)
        logs.update(scores)
        if scores["val_best"] > self.best:
            self.best = scores["val_best"]
            save_model_atomic(self.twin, self.run_dir / "best.keras")
            card = {"threshold": scores["val_threshold"], "epoch": epoch + 1, **scores}
            write_card(self.run_dir / "best.keras", card)
        save_model_atomic(self.model, self.run_dir / "last.keras")
        row = {"epoch": epoch, **{k: float(v) for k, v in logs.items()}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rows.append(row)
        write_log(self.run_dir, self.rows)
        state = {"best": self.best, "epochs_done": epoch + 1}
        atomic_write_text(self.run_dir / STATE_FILE, json.dumps(state))
        if self.cfg.verbose:
            print(
                f"\nepoch {epoch + 1}: val pooled {self.cfg.threshold_metric} "
                f"{scores['val_best']:.4f} @ threshold {scores['val_threshold']:.2f}, "
                f"AUC {scores['val_auc']:.4f} (best {self.best:.4f})",
                flush=True,
            )


class NaNGuard(keras.callbacks.Callback):
    """Stops on the first non-finite batch loss and remembers where it happened."""

    def __init__(self):
        super().__init__()
        self.where = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.where = (self._epoch + 1, batch + 1)
            self.model.stop_training = True


# === The run ===


def train(config: TrainConfig | None = None, **options) -> dict:
    """Train Mini-Net; returns the final report (also written to ``<out>/report.json``).

    Args:
        config: a `TrainConfig`; keyword ``options`` override its fields (or the defaults).
            Example: ``train(dataset="drive", data_dir="data/DRIVE", epochs=40, out="runs/d")``.
    """
    if config is None:
        config = resolve_config(None, **options)
    elif options:
        config = TrainConfig(**{**config.to_dict(), **options}).validate()
    out = Path(config.out)
    existed, ours = out.exists(), ours_to_clean(out)
    if config.resume:  # the saved options apply, strategy included (reading them is only JSON)
        run_dir, cfg = prepare_run_dir(config)
        cluster = distribute.setup(cfg)  # first TensorFlow work of the run (see below)
    else:
        # First TensorFlow work of the run: the multi-worker strategy must precede every op.
        cluster = distribute.setup(config)
        if cluster.chief:
            run_dir, cfg = prepare_run_dir(config, reopen=cluster.unfinished_job(config.out))
            if cluster.multi_worker:  # marks the job unfinished until its last epoch
                cluster.backup_dir(run_dir).mkdir(exist_ok=True)
        else:  # only the chief of a multi-worker job writes the run directory
            run_dir, cfg = Path(config.out), config
    keras.utils.set_random_seed(cfg.seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(cfg.precision)
    try:
        with run_lock(run_dir, cluster.chief):
            return _train(cfg, run_dir, cluster)
    except Exception:
        # A run that failed before finishing an epoch (bad data, too few images, NaN at
        # once) leaves nothing behind, so the corrected command is not refused.
        if ours and cluster.chief:
            clean_failed_run(out, existed)
        raise
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(cfg: TrainConfig, run_dir: Path, cluster) -> dict:
    """data -> model -> fit -> select and report (train() has set up the run directory)."""
    splits = _data(cfg, run_dir, cluster)
    model, initial_epoch, learning_rate, backup = _model(cfg, run_dir, cluster)
    history, train_seconds = _fit(cfg, run_dir, cluster, model, splits, initial_epoch, backup)
    distributed = {
        **cluster.describe(),
        "global_batch_size": cfg.batch_size,
        "per_replica_batch_size": distribute.per_replica_batch_size(
            cfg.batch_size, cluster.replicas
        ),
        "learning_rate": learning_rate,
        "final_weights_sha256": distribute.weights_digest(model),
    }
    if not cluster.chief:  # a worker of a multi-worker job: wait for the chief, report, done
        distribute.barrier(cluster.strategy)
        epochs_run = len(history.history.get("loss", []))
        return {"run_dir": None, "epochs_run": epochs_run, "distribution": distributed}
    report = _select_and_report(cfg, run_dir, splits, history, train_seconds, distributed)
    if cluster.multi_worker:
        distribute.barrier(cluster.strategy)  # the other workers exit with the chief
    return report


def _data(cfg: TrainConfig, run_dir: Path, cluster) -> dict:
    """The splits, checked (foreground present) and recorded as manifests in the run."""
    splits = load_splits(cfg)
    check_training_masks(splits["train"], seed=cfg.seed)
    for split, records in splits.items():
        if records and cluster.chief:
            write_manifest(records, run_dir / "manifests" / f"{split}.csv")
    return splits


def _model(cfg: TrainConfig, run_dir: Path, cluster) -> tuple:
    """(compiled model, first epoch, learning rate, multi-worker backup or None): a new model
    (optionally from --init-from weights), or the resumed one with its optimizer state."""
    # batch_size is the global batch; the learning rate optionally follows it (linear scaling).
    learning_rate = cfg.learning_rate
    if cfg.scale_lr:
        learning_rate = distribute.scaled_learning_rate(
            cfg.learning_rate, cfg.batch_size, cfg.lr_reference_batch
        )
    initial_epoch = read_state(run_dir).get("epochs_done", 0) if cfg.resume else 0
    with cluster.scope():
        if initial_epoch:
            # last.keras holds the weights and the optimizer state (step count, moments).
            model = keras.models.load_model(run_dir / "last.keras")
            print(f"resuming {run_dir} after epoch {initial_epoch}", flush=True)
        else:
            model = build_model(cfg)
            if cfg.init_from:
                load_initial_weights(model, cfg.init_from)
                print(f"initial weights from {cfg.init_from}", flush=True)
            compile_model(model, dataclasses.replace(cfg, learning_rate=learning_rate))
        if cfg.sync_batchnorm and cluster.replicas > 1:
            distribute.synchronize_batchnorm(model)
    backup = None
    if cluster.multi_worker:
        backup = distribute.ChiefBackupAndRestore(
            cluster.backup_dir(run_dir), cluster.chief, cluster.strategy
        )
        initial_epoch = backup.restore(model)  # the chief's backup, on every worker
        if initial_epoch:
            task = cluster.describe()["task"]
            print(f"{task}: resuming after epoch {initial_epoch}", flush=True)
    return model, initial_epoch, learning_rate, backup


def _fit(cfg: TrainConfig, run_dir: Path, cluster, model, splits, initial_epoch, backup):
    """``model.fit`` with the checkpointer (validation-driven selection) and the NaN guard;
    returns (history, training seconds)."""
    policy = input_policy(cfg)
    guard = NaNGuard()
    callbacks = [guard]
    if cluster.chief:
        epochs_done = initial_epoch if cluster.multi_worker else None
        callbacks += [
            Checkpointer(cfg, run_dir, splits["val"], policy, epochs_done=epochs_done),
            keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
        ]
    if backup is not None:
        callbacks.append(backup)  # after the Checkpointer: the backup never runs ahead of it
    # A resumed run draws fresh patches instead of replaying those of its first epochs.
    data_cfg = dataclasses.replace(cfg, seed=cfg.seed + 7919 * initial_epoch)
    if cluster.distributed:
        dataset = distribute.distribute_dataset(
            cluster,
            lambda batch, seed: make_train_dataset(
                splits["train"], dataclasses.replace(data_cfg, batch_size=batch, seed=seed)
            ),
            cfg.batch_size,
            data_cfg.seed,
            cfg.shard_policy,
        )
    else:
        dataset = make_train_dataset(splits["train"], data_cfg)
    started = time.time()
    try:
        history = model.fit(
            dataset,
            epochs=cfg.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=cfg.steps_per_epoch,
            callbacks=callbacks,
            # The tf.data pipeline shuffles (seeded); Keras' own flag would only warn.
            shuffle=False,
            # A bar on a terminal; one plain line per epoch in a redirected log.
            verbose=(1 if interactive() else 2) if cfg.verbose else 0,
        )
    except Exception as exc:
        if cluster.multi_worker and distribute.is_peer_failure(exc):
            raise distribute.WorkerFailure(
                f"{cluster.describe()['task']}: the multi-worker job lost a peer "
                f"({distribute.failure_summary(exc)}). "
                "Restart the stopped workers with the same command: they resume from the last "
                f"finished epoch in {cluster.backup_dir(run_dir)} (on the chief)."
            ) from exc
        raise
    train_seconds = time.time() - started
    if guard.where is not None:
        epoch, batch = guard.where
        raise TrainingError(
            f"loss became NaN/inf at epoch {epoch}, batch {batch}; training stopped. Lower "
            f"--learning-rate (now {cfg.learning_rate}) or check the data for broken images. "
            f"The last good checkpoint is {run_dir / 'best.keras'}"
        )
    return history, train_seconds


def training_fov_width(records) -> float | None:
    """Mean field-of-view width in pixels of the training images when they have FOV masks
    (fundus data), else None: the width ``--fov-width auto`` resamples photographs from other
    cameras to (vessel-scale normalisation, `mininet_lite.fundus`)."""
    from mininet_lite.fundus import fov_width
    from mininet_tf.data.io import read_image

    if not records or any(r.fov is None for r in records):
        return None
    try:
        return float(sum(fov_width(read_image(r.image)) for r in records) / len(records))
    except ValueError:  # an image without a bright disc: not a fundus photograph
        return None


def _select_and_report(cfg: TrainConfig, run_dir, splits, history, train_seconds, distributed):
    """The selected checkpoint's card (threshold, policy, facts), its test evaluation and
    ``report.json``."""
    from mininet_lite.fundus import with_fov_width
    from mininet_tf.inference import KerasSegmenter, write_card
    from mininet_tf.model import parameter_counts

    policy = input_policy(cfg)
    if not (run_dir / "best.keras").is_file():
        raise TrainingError(f"{run_dir}: no checkpoint was written")

    best = keras.models.load_model(run_dir / "best.keras")
    card = json.loads((run_dir / "best.json").read_text())
    card.update(
        {
            "format": "mininet_tf.keras_card/1",
            "input_policy": policy.to_dict(),
            "threshold_selected_on": "validation split, pooled "
            f"{cfg.threshold_metric} over candidates 0.05..0.95",
            "dataset": cfg.dataset,
            "config": cfg.to_dict(),
            "parameters": parameter_counts(best),
            "train_images": len(splits["train"]),
            "val_images": len(splits["val"]),
            "fov_width": cfg.fov_width or training_fov_width(splits["train"]),
            # Trained on images resampled to fov_width: inference resamples by default.
            "fov_normalised": cfg.fov_width is not None,
            "input": "RGB uint8 [0, 255], any size (normalised inside the graph)",
            "output": "sigmoid foreground probability per pixel",
        }
    )
    write_card(run_dir / "best.keras", card)
    report = {
        "run_dir": str(run_dir),
        "train_seconds": train_seconds,
        "epochs_run": len(history.history.get("loss", [])),
        "train_patches_per_second": (
            len(history.history.get("loss", []))
            * cfg.steps_per_epoch
            * cfg.batch_size
            / max(train_seconds, 1e-9)
        ),
        "best_val": card.get("val_best"),
        "threshold": card["threshold"],
        "best_epoch": card.get("epoch"),
        "distribution": distributed,
    }
    if splits["test"]:
        from mininet_tf.evaluate import evaluate_records

        segmenter = with_fov_width(KerasSegmenter(best, card=card), None)  # the card's choice
        test = evaluate_records(segmenter, splits["test"])
        atomic_write_json(run_dir / "eval_test.json", test, indent=2)
        report["test"] = {k: test["pooled"][k] for k in ("f1", "iou", "auc")}
    atomic_write_json(run_dir / "report.json", report, indent=2)
    return report


@exits_on_user_error(TrainingError)
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.train",
        description="Train Mini-Net. With no arguments: a short run on the embedded synthetic "
        "vessel dataset.",
    )
    parser.add_argument("--config", help="YAML or JSON file of options (flags override it)")
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    if args.resume and (conflicts := resume_conflicts(args)):
        raise TrainingError(
            f"--resume continues {args.out or TrainConfig.out} with its saved options; these "
            f"differ: {', '.join(conflicts)}. Omit them, or start a new run (--out) from this "
            "one's weights with --init-from <run>/best.keras (e.g. to train more epochs)."
        )
    try:
        cfg = resolve_config(args)
        report = train(cfg)
    except distribute.WorkerFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return distribute.EXIT_RESTART
    print(dumps_json(report, what="report", indent=2))
    if report.get("run_dir"):  # the chief (workers of a multi-worker job write no model)
        print(next_steps(cfg, report))
    return 0


def next_steps(cfg: TrainConfig, report: dict) -> str:
    """Where the model is and the commands a user runs next."""
    run_dir = Path(cfg.out)
    best = run_dir / "best.keras"
    data = f" --data-dir {cfg.data_dir}" if cfg.data_dir else ""
    return "\n".join(
        [
            f"model: {best} (card {best.with_suffix('.json')}, threshold {report.get('threshold')})",
            "next:",
            f"  python -m mininet_tf.evaluate --model {best} --dataset {cfg.dataset}{data} "
            "--split test",
            f"  python -m mininet_tf.predict --model {best} my_images/ --out predictions/",
            f"  python -m mininet_tf.export --model {best} --mode int8 "
            f"--out {run_dir / 'model_int8.tflite'}",
            f"  tensorboard --logdir {run_dir / 'tensorboard'}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

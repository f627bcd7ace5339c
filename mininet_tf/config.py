"""Every training option in one dataclass; YAML/JSON files and CLI flags map onto it.

Precedence: dataclass defaults < ``--config FILE`` < explicit command-line flags. The resolved
config is saved in the run directory (``config.json``) and reloaded by ``--resume``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

#: Model builders `TrainConfig.architecture` selects (see mininet_tf.train.build_model).
ARCHITECTURES = ("mininet", "mininet_fast", "unet")


@dataclass
class TrainConfig:
    """Options of `mininet_tf.train.train` (and `python -m mininet_tf.train`)."""

    # --- data ---
    dataset: str = "synthetic"  # a loader name (see mininet_tf.data.DATASETS) or "manifest"
    data_dir: str | None = None  # dataset root; for "manifest", a folder of train/val/test.csv
    val_fraction: float = 0.2  # share of the training split carved out for validation
    # datasets without an official split: "shipped" (splits/<dataset>.json), the name of
    # another shipped split file (e.g. "monuseg_all"), or a JSON path
    split_file: str = "shipped"
    # --- run ---
    out: str = "runs/mininet"  # run directory (created; an existing one needs --resume)
    seed: int = 0
    # seed of the validation carve (datasets without a validation split); None = seed, so a
    # run-to-run spread can keep one validation split while the training seed changes
    split_seed: int | None = None
    resume: bool = False
    init_from: str | None = None  # a .keras model whose weights start training (fine-tuning)
    # --- schedule ---
    epochs: int = 8
    steps_per_epoch: int = 40
    batch_size: int = 8
    # --- input ---
    patch_size: int | None = 64  # train on random patches; the model then tiles at inference
    image_size: list[int] | None = None  # or train on whole images resized to (H, W)
    foreground_fraction: float = 0.5  # share of patches centred on a foreground pixel
    augment: bool = True
    augment_preset: str = "default"  # data.pipeline.PRESETS: default | dermoscopy_field | ...
    fov_width: float | None = None  # fundus: resample every image to this FOV width (px)
    # --- optimisation ---
    optimizer: str = "adam"  # adam | adamw | sgd
    learning_rate: float = 3e-3
    lr_schedule: str = "cosine"  # constant | cosine (decays to 1% over all steps)
    weight_decay: float = 0.0  # adamw only
    # --- loss: loss = alpha * (dice + jaccard) / 2 + (1 - alpha) * bce ---
    loss_alpha: float = 0.5
    # exponential moving average of the weights (e.g. 0.999): validated, selected and shipped
    # instead of the raw weights; None = off
    ema_momentum: float | None = None
    # --- model ---
    # mininet | mininet_fast (half-resolution variant) | unet (mininet_tf.baselines)
    architecture: str = "mininet"
    widths: list[int] = field(default_factory=lambda: [16, 24, 30, 40])
    expansion: float = 2.0
    dmres_scales: list[int] = field(default_factory=lambda: [1, 2])
    upsampling: str = "nearest"
    # --- selection and evaluation (validation split only) ---
    threshold_metric: str = "f1"
    eval_tile: int = 1024  # largest Keras forward pass at inference (tile mode)
    verbose: int = 1
    # float32 | mixed_bfloat16 (bf16 compute, float32 weights; best.keras is saved float32)
    precision: str = "float32"
    # --- distribution (mininet_tf.distribute, docs/distributed.md); batch_size is GLOBAL ---
    strategy: str = "auto"  # auto | one-device | mirrored | multi-worker | tpu
    shard_policy: str = "off"  # input pipelines: "off" (own seed each) | "data" (shard one stream)
    sync_batchnorm: bool = True  # >1 replica: BatchNorm statistics over the global batch
    scale_lr: bool = False  # linear scaling: learning_rate * batch_size / lr_reference_batch
    lr_reference_batch: int = 8  # the batch size learning_rate was tuned at

    def validate(self) -> TrainConfig:
        if (self.patch_size is None) == (self.image_size is None):
            raise ValueError("set exactly one of patch_size (patch training) or image_size")
        if self.image_size is not None and len(self.image_size) != 2:
            raise ValueError(f"image_size needs two values (H W), got {self.image_size}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}"
            )
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"optimizer must be adam, adamw or sgd, got {self.optimizer!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be constant or cosine, got {self.lr_schedule!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        for key in ("epochs", "steps_per_epoch", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not self.learning_rate >= 0.0:  # also refuses NaN
            raise ValueError(f"learning_rate must be >= 0, got {self.learning_rate}")
        if not self.weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.ema_momentum is not None and not 0.0 < self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum must be in (0, 1), got {self.ema_momentum}")
        if not 0.0 <= self.loss_alpha <= 1.0:
            raise ValueError(f"loss_alpha must be in [0, 1], got {self.loss_alpha}")
        from mininet_tf.data.pipeline import PRESETS

        if self.augment_preset not in PRESETS:
            raise ValueError(
                f"augment_preset must be one of {sorted(PRESETS)}, got {self.augment_preset!r}"
            )
        if self.precision not in ("float32", "mixed_bfloat16"):
            raise ValueError(f"precision must be float32 or mixed_bfloat16, got {self.precision!r}")
        strategies = ("auto", "one-device", "mirrored", "multi-worker", "tpu")
        if self.strategy not in strategies:
            raise ValueError(f"strategy must be one of {strategies}, got {self.strategy!r}")
        if self.shard_policy not in ("off", "data"):
            raise ValueError(f"shard_policy must be off or data, got {self.shard_policy!r}")
        if self.init_from is not None and not str(self.init_from).endswith(".keras"):
            raise ValueError(f"init_from must be a .keras model file, got {self.init_from!r}")
        if self.fov_width is not None and not self.fov_width > 0:
            raise ValueError(f"fov_width must be positive, got {self.fov_width}")
        if self.fov_width is not None and self.image_size is not None:
            raise ValueError("fov_width is for patch training at native scale, not image_size")
        if self.lr_reference_batch < 1:
            raise ValueError(f"lr_reference_batch must be >= 1, got {self.lr_reference_batch}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: `--help` text of every option (tests/test_train.py checks that none is missing).
HELP = {
    "dataset": "loader name (mininet_tf.data.DATASETS: drive, stare, chase_db1, isic2017, ph2, "
    "monuseg, folder, ...), 'manifest', or 'synthetic' (the embedded default, no download)",
    "data_dir": "dataset root in its official layout; for 'manifest', a folder of "
    "train/val/test.csv",
    "val_fraction": "share of the training split carved out for validation (checkpoint and "
    "threshold selection) when the dataset has no validation split",
    "split_file": "for datasets without an official split (stare, chase_db1, isic2017, ph2, "
    "monuseg): 'shipped' (mininet_tf/data/splits/<dataset>.json), the name of another shipped "
    "split file (monuseg_all: all 30 MoNuSeg training tiles, no test), or a JSON path "
    '{"train": [ids], "val": [ids], "test": [ids]}',
    "out": "run directory; created, and an existing non-empty one is refused (see --resume)",
    "seed": "seed of the split carving (unless --split-seed), patch sampling, augmentation and "
    "weights",
    "split_seed": "seed of the validation carve only (default: --seed); keeps the validation "
    "images fixed across training seeds",
    "resume": "continue the interrupted run in --out with its saved options",
    "init_from": "a .keras model whose weights start training (fine-tuning; same widths)",
    "epochs": "number of epochs",
    "steps_per_epoch": "optimizer steps per epoch",
    "batch_size": "global batch size (all replicas together)",
    "patch_size": "train on random square patches of this size (tiled inference); 'none' with "
    "--image-size",
    "image_size": "train on whole images resized to H W (resize inference), e.g. 192 192",
    "foreground_fraction": "share of patches centred on a foreground pixel (patch training)",
    "augment": "random flips, rotations, scale and photometric augmentation",
    "augment_preset": "augmentation preset (mininet_tf.data.pipeline.PRESETS), e.g. default, "
    "dermoscopy, dermoscopy_field",
    "optimizer": "adam, adamw or sgd (Nesterov momentum 0.9)",
    "learning_rate": "initial learning rate (>= 0)",
    "lr_schedule": "constant, or cosine (decays to 1%% of the rate over all steps)",
    "weight_decay": "decoupled weight decay (adamw only)",
    "loss_alpha": "loss = alpha * (Dice + Jaccard) / 2 + (1 - alpha) * BCE, alpha in [0, 1]",
    "ema_momentum": "keep an exponential moving average of the weights with this momentum "
    "(e.g. 0.999) and validate, select and ship it instead of the raw weights; off by default",
    "architecture": "mininet; mininet_fast (the same blocks at half resolution, a strided stem "
    "and a sub-pixel depth-to-space head: 4x fewer MACs); or unet (the U-Net baseline)",
    "widths": "channels per resolution level, shallow to deep (the last is the bottleneck)",
    "expansion": "Expand-Squeeze expansion ratio",
    "dmres_scales": "DMRes branch resolution divisors",
    "upsampling": "nearest (any input size) or bilinear (fixed input size only)",
    "threshold_metric": "validation metric the decision threshold maximises (f1)",
    "fov_width": "vessel-scale normalisation (fundus): resample every training, validation and "
    "test image so its field of view is this many pixels wide (e.g. 540, DRIVE's); the card "
    "records it and inference then applies it by itself (mininet_lite.fundus)",
    "eval_tile": "largest Keras forward pass at validation/test inference (tile mode)",
    "verbose": "0 silent, 1 progress (a bar on a terminal, one line per epoch in a log); "
    "also shows TensorFlow's native logs",
    "precision": "float32, or mixed_bfloat16 (faster only on CPUs with bf16 units; the saved "
    "model is float32)",
    "strategy": "auto, one-device, mirrored, multi-worker or tpu (docs/distributed.md)",
    "shard_policy": "input pipelines per replica: off (own seed each) or data (one sharded stream)",
    "sync_batchnorm": "BatchNorm statistics over the global batch when replicas > 1",
    "scale_lr": "scale the learning rate linearly with batch_size / lr_reference_batch",
    "lr_reference_batch": "the batch size --learning-rate was tuned at (with --scale-lr)",
}


def _base_type(tp):
    """(python type, is_list) of a field annotation such as ``list[int] | None``."""
    if isinstance(tp, str):
        tp = eval(tp, {**vars(typing), "list": list})  # annotations are strings here
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _base_type(args[0])
    if origin is list:
        return args[0], True
    return tp, False


def load_config_file(path: str | Path) -> dict:
    """Options from a YAML or JSON file; unknown keys are an error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config file not found")
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file must hold a mapping of options")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {unknown}; known: {sorted(known)}")
    return data


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per `TrainConfig` field, all defaulting to None (= not given)."""
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        tp, is_list = _base_type(f.type)
        # The real default is shown, but argparse's stays None so that resolve_config can
        # tell an option given on the command line from one left to the config file.
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        shown = " ".join(map(str, default)) if isinstance(default, list) else default
        help_text = f"{HELP[f.name]} (default: {shown})"
        if tp is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif is_list:
            parser.add_argument(flag, type=tp, nargs="+", default=None, help=help_text)
        else:
            parser.add_argument(flag, type=_none_or(tp), default=None, help=help_text)


def _none_or(tp):
    def convert(text):
        return None if text.lower() == "none" else tp(text)

    convert.__name__ = tp.__name__
    return convert


def resolve_config(args: argparse.Namespace | None = None, **overrides) -> TrainConfig:
    """Defaults < ``args.config`` file < flags given in ``args`` < keyword ``overrides``."""
    values: dict = {}
    if args is not None and getattr(args, "config", None):
        values.update(load_config_file(args.config))
    if args is not None:
        for f in dataclasses.fields(TrainConfig):
            value = getattr(args, f.name, None)
            if value is not None:
                values[f.name] = value
    values.update({k: v for k, v in overrides.items()})
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}")
    # Choosing whole-image training on the command line switches patch training off.
    if "image_size" in values and values["image_size"] and "patch_size" not in values:
        values["patch_size"] = None
    return TrainConfig(**values).validate()

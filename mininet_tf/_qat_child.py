"""The child process of `mininet_tf.quantize` (an implementation detail, not a public command).

tensorflow-model-optimization 0.8 only wraps tf_keras (Keras 2) models, and tf_keras is only
what ``tf.keras`` means when ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow is imported.
`mininet_tf.quantize` therefore starts ``python -m mininet_tf._qat_child JOB.json`` with that
variable set; this process

1. rebuilds the same Mini-Net graph in tf_keras (`build_mininet(keras_module=...)`) with one
   change: the ``rescale`` layer (x / 127.5 - 1, a `Rescaling` tfmot cannot wrap) becomes a
   frozen 1x1 `DepthwiseConv2D` (kernel 1/127.5, bias -1), which tfmot quantises natively, so
   the converted model is int8 from its uint8 input on (see docs/edge.md);
2. loads the Keras 3 weights by layer name (from the parent's ``.npz``), freezes BatchNorm
   (moving statistics, as usual for a short QAT fine-tune) and applies `quantize_model`;
3. fine-tunes with the training loss (`CombinedLoss.from_alpha`) on the training pipeline
   (`mininet_tf.train.make_train_dataset`), scoring the validation split at full resolution
   through the export input policy after every epoch and keeping the best epoch;
4. pins the input quantiser to [0, 255] (uint8 input scale 1, zero point 0: raw pixels) and
   converts the best epoch to a full-int8 ``.tflite`` (uint8 in/out) at the export size (and
   at any extra sizes), then writes a result JSON for the parent.

A missing tfmot or tf_keras is reported in the result JSON (``"error": "missing"``) and with
exit status 3, before any training.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import traceback
import types
from pathlib import Path

EXIT_MISSING = 3
EXIT_FAILED = 4


def write_result(path: str, result: dict) -> None:
    from mininet_lite.files import atomic_write_json

    atomic_write_json(Path(path), result, indent=2, default=str)


@functools.cache
def custom_objects(tf_keras) -> dict:
    """The tf_keras twin of `mininet_tf.blocks.DepthToSpace` (same name and config) and the
    QuantizeConfig it is annotated with; `quantize_scope` needs both to clone the model."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    class DepthToSpace(tf_keras.layers.Layer):
        def __init__(self, block_size=2, **kwargs):
            super().__init__(**kwargs)
            self.block_size = int(block_size)

        def call(self, inputs):
            return tf.nn.depth_to_space(inputs, self.block_size)

        def get_config(self):
            return {**super().get_config(), "block_size": self.block_size}

    class NoOpQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """Adds no quantisers: for weightless rearrangement layers."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    return {"DepthToSpace": DepthToSpace, "NoOpQuantizeConfig": NoOpQuantizeConfig}


def quantize_model(tfmot, tf_keras, base):
    """`tfmot...quantize_model` with this module's custom layers in scope."""
    with tfmot.quantization.keras.quantize_scope(custom_objects(tf_keras)):
        return tfmot.quantization.keras.quantize_model(base)


class _QATLayers:
    """`tf_keras.layers` for `build_mininet`, with ``Rescaling`` as a frozen depthwise conv."""

    def __init__(self, tf_keras, batch_size=None):
        self._tf_keras = tf_keras
        self._batch_size = batch_size

    def __getattr__(self, name):
        return getattr(self._tf_keras.layers, name)

    def Input(self, shape, name=None, **_):  # noqa: N802  (mirrors keras.layers.Input)
        return self._tf_keras.Input(shape=shape, batch_size=self._batch_size, name=name)

    def DepthToSpace(self, block_size, name=None):  # noqa: N802  (mirrors blocks.DepthToSpace)
        import tensorflow_model_optimization as tfmot

        classes = custom_objects(self._tf_keras)
        layer = classes["DepthToSpace"](block_size, name=name)
        # tfmot has no rule for it; a pure rearrangement needs no quantiser of its own (the
        # converter gives DEPTH_TO_SPACE its input's scale).
        return tfmot.quantization.keras.quantize_annotate_layer(
            layer, classes["NoOpQuantizeConfig"]()
        )

    def Rescaling(self, scale, offset=0.0, name=None):  # noqa: N802
        init = self._tf_keras.initializers.Constant
        return self._tf_keras.layers.DepthwiseConv2D(
            1,
            use_bias=True,
            trainable=False,
            depthwise_initializer=init(float(scale)),
            bias_initializer=init(float(offset)),
            name=name,
        )


def build_qat_base(tf_keras, config: dict, weights: dict, input_shape, batch_size=None):
    """The tf_keras Mini-Net with the Keras 3 weights, frozen rescale and frozen BatchNorm."""
    from mininet_tf.model import build_mininet

    namespace = types.SimpleNamespace(layers=_QATLayers(tf_keras, batch_size), Model=tf_keras.Model)
    model = build_mininet(input_shape=input_shape, keras_module=namespace, **config)
    expected = {layer.name for layer in model.layers if layer.weights} - {"rescale"}
    if expected != set(weights):
        missing = sorted(expected - set(weights))
        extra = sorted(set(weights) - expected)
        raise ValueError(
            f"weights do not match the rebuilt graph: missing {missing}, extra {extra}"
        )
    for layer in model.layers:
        if layer.name in weights:
            layer.set_weights(weights[layer.name])
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            layer.trainable = False
    return model


def load_weights(path: str) -> dict:
    """{layer name: [arrays]} from the parent's ``.npz`` (keys ``"<layer>:<index>"``)."""
    import numpy as np

    with np.load(path) as data:
        grouped: dict = {}
        for key in data.files:
            name, index = key.rsplit(":", 1)
            grouped.setdefault(name, {})[int(index)] = data[key]
    return {name: [arrays[i] for i in sorted(arrays)] for name, arrays in grouped.items()}


def pin_input_range(model) -> None:
    """Set the input quantiser's range to exactly [0, 255] (uint8 scale 1, zero point 0)."""
    quantize_layers = [layer for layer in model.layers if type(layer).__name__ == "QuantizeLayer"]
    if len(quantize_layers) != 1:
        raise ValueError(f"expected one input QuantizeLayer, found {len(quantize_layers)}")
    pinned = 0
    for weight in quantize_layers[0].weights:
        if weight.name.endswith("_min:0"):
            weight.assign(0.0)
            pinned += 1
        elif weight.name.endswith("_max:0"):
            weight.assign(255.0)
            pinned += 1
    if pinned != 2:
        raise ValueError("could not find the input quantiser's min/max variables")


def convert_qat(tf, tf_keras, tfmot, job, weights, qat_weights, size) -> bytes:
    """Full-int8 `.tflite` of the fine-tuned QAT model at a fixed (1, H, W, 3) size."""
    base = build_qat_base(tf_keras, job["model_config"], weights, (size[0], size[1], 3), 1)
    fixed = quantize_model(tfmot, tf_keras, base)
    fixed.set_weights(qat_weights)
    pin_input_range(fixed)
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    return converter.convert()


def val_scorer(tf, model, records, policy_dict, metric, fov_width=None):
    """A function scoring ``model`` on the validation records like the exported file will run
    (``fov_width``: the images resampled first, for models trained on normalised fundus data)."""
    import numpy as np

    from mininet_lite.fundus import FovRescaled
    from mininet_lite.tiling import InputPolicy, predict_image
    from mininet_tf.data.io import read_record
    from mininet_tf.metrics import best_threshold

    policy = InputPolicy.from_dict(policy_dict)
    data = [read_record(r) for r in records]
    forward_fn = tf.function(lambda x: model(x, training=False))

    def forward(batch):
        return forward_fn(tf.constant(batch.astype(np.float32))).numpy()

    class Segmenter:
        threshold = 0.5

        def predict(self, image):
            return predict_image(forward, image, policy, fixed_size=True)[..., 0]

    segmenter = Segmenter() if fov_width is None else FovRescaled(Segmenter(), fov_width)

    def score():
        truths, probs, fovs = [], [], []
        for image, mask, fov in data:
            probs.append(segmenter.predict(image))
            truths.append(mask)
            fovs.append(fov if fov is not None else np.ones_like(mask))
        return best_threshold(truths, probs, fovs, metric=metric, aggregate="pooled")

    return score


def run(job: dict) -> dict:
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from mininet_tf.config import TrainConfig
    from mininet_tf.data import get_split, split_options
    from mininet_tf.losses import CombinedLoss
    from mininet_tf.train import make_train_dataset

    started = time.time()
    tf_keras.utils.set_random_seed(int(job["seed"]))
    weights = load_weights(job["weights"])
    train_cfg = job["train"]
    known = set(TrainConfig.__dataclass_fields__)
    cfg = TrainConfig(**{k: v for k, v in train_cfg.items() if k in known}).validate()
    split_kwargs = split_options(cfg.to_dict())
    train_records = get_split(cfg.dataset, cfg.data_dir, "train", **split_kwargs)
    val_records = get_split(cfg.dataset, cfg.data_dir, "val", **split_kwargs)
    data_cfg = TrainConfig(**{**cfg.to_dict(), "seed": int(job["seed"]) + 104729}).validate()
    dataset = make_train_dataset(train_records, data_cfg)

    base = build_qat_base(tf_keras, job["model_config"], weights, (None, None, 3))
    model = quantize_model(tfmot, tf_keras, base)
    loss = CombinedLoss.from_alpha(cfg.loss_alpha)  # keras.ops only: runs on tf tensors

    def combined_loss(y_true, y_pred):
        return loss.call(y_true, y_pred)

    epochs, steps = int(job["epochs"]), int(job["steps_per_epoch"])
    schedule = tf_keras.optimizers.schedules.CosineDecay(
        float(job["learning_rate"]), max(1, epochs * steps), alpha=0.01
    )
    model.compile(optimizer=tf_keras.optimizers.Adam(schedule), loss=combined_loss)
    score = val_scorer(
        tf, model, val_records, job["policy"], job.get("metric", "f1"), cfg.fov_width
    )

    history, best = [], None
    for epoch in range(epochs):
        t0 = time.time()
        fit = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=job.get("verbose", 2))
        threshold, value = score()
        row = {
            "epoch": epoch + 1,
            "loss": float(fit.history["loss"][-1]),
            f"val_{job.get('metric', 'f1')}": value,
            "val_threshold": threshold,
            "seconds": time.time() - t0,
        }
        history.append(row)
        print(f"QAT epoch {epoch + 1}/{epochs}: {json.dumps(row)}", flush=True)
        if best is None or value > best[0]:
            best = (value, epoch + 1, threshold, [w.copy() for w in model.get_weights()])
    _, best_epoch, best_threshold, best_weights = best

    outputs = []
    for target in job["targets"]:
        data = convert_qat(tf, tf_keras, tfmot, job, weights, best_weights, target["size"])
        Path(target["path"]).write_bytes(data)
        outputs.append({"path": target["path"], "size": target["size"], "bytes": len(data)})
    return {
        "ok": True,
        "history": history,
        "best_epoch": best_epoch,
        "val_best": best[0],
        "val_threshold": best_threshold,
        "outputs": outputs,
        "seconds": time.time() - started,
        "tools": {
            "tensorflow": tf.__version__,
            "tf_keras": tf_keras.__version__,
            "tensorflow_model_optimization": tfmot.__version__,
        },
        "graph_changes": [
            "rescale: Rescaling(1/127.5, offset=-1) -> frozen 1x1 DepthwiseConv2D "
            "(kernel 1/127.5, bias -1)",
            "BatchNormalization frozen (moving statistics) during fine-tuning",
            "input quantiser range pinned to [0, 255]",
        ],
    }


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m mininet_tf._qat_child JOB.json (started by mininet_tf.quantize)")
        return 2
    job = json.loads(Path(argv[0]).read_text())
    result_path = job["result"]
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        write_result(
            result_path,
            {
                "error": "environment",
                "message": "TF_USE_LEGACY_KERAS=1 must be set before "
                "TensorFlow is imported; run mininet_tf.quantize, not this module",
            },
        )
        return EXIT_FAILED
    missing = []
    for module in ("tf_keras", "tensorflow_model_optimization"):
        try:
            __import__(module)
        except ImportError as exc:
            missing.append(f"{module} ({exc})")
    if missing:
        write_result(result_path, {"error": "missing", "missing": missing})
        return EXIT_MISSING
    try:
        result = run(job)
    except Exception as exc:  # reported to the parent, which raises with the message
        traceback.print_exc()
        write_result(result_path, {"error": "failed", "message": f"{type(exc).__name__}: {exc}"})
        return EXIT_FAILED
    write_result(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

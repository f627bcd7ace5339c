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
`mininet_tf.metadata`). The card (``X.json`` beside ``X.tflite``, `build_card`) is the contract
the apps read: input and output tensors, input policy, decision threshold (also in the quantised
output domain), training data, measured metrics of this very file, size, MACs and tool versions.
docs/edge.md has the format and the design choices (nearest upsampling as
RESIZE_NEAREST_NEIGHBOR, the pinned input range, why and how files are compacted).
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import tempfile
import types
from collections import Counter
from pathlib import Path

import numpy as np

from mininet_tf.cli import exits_on_user_error
from mininet_tf.data.records import sha256_file

MODES = ("float32", "float16", "dynamic", "int8")
CARD_FORMAT = "mininet_tf.tflite_card/1"
#: Largest default export size for a tile-policy model (a 512x512 tile).
MAX_TILE = 512
#: Calibration samples drawn from the training split for full-integer quantisation.
DEFAULT_CALIB_SAMPLES = 32
INPUT_MEANING = "raw RGB 0-255, normalisation inside the graph"
OUTPUT_MEANING = "sigmoid foreground probability"


class ExportError(ValueError):
    """The export could not be done as asked; the message says why."""


# === The fixed-size graph that is converted ===


class _ExportLayers:
    """`keras.layers` for `build_mininet`, with the changes conversion needs.

    - ``Input``: batch 1, fixed size, ``input_dtype`` (uint8 for float modes: the converter
      adds one CAST; float32 for int8, whose input the quantiser turns into uint8).
    - ``UpSampling2D(interpolation="nearest")``: Keras 3 implements it as a repeat, which
      converts into EXPAND_DIMS/TILE/RESHAPE/SHAPE/STRIDED_SLICE; at a fixed size it becomes
      ``Resizing(2h, 2w, "nearest")``, i.e. one RESIZE_NEAREST_NEIGHBOR (half-pixel centres:
      source pixel ``floor((i + 0.5) / 2) = i // 2``, exactly the repeat). Same layer names, no
      weights, so the weights copy over unchanged.
    """

    def __init__(self, input_dtype: str):
        import keras

        self._layers = keras.layers
        self._keras = keras
        self._input_dtype = input_dtype

    def __getattr__(self, name):
        return getattr(self._layers, name)

    def Input(self, shape, name=None, **_):  # noqa: N802  (mirrors keras.layers.Input)
        return self._keras.Input(shape=shape, batch_size=1, dtype=self._input_dtype, name=name)

    def UpSampling2D(self, size, interpolation="nearest", name=None):  # noqa: N802
        if interpolation != "nearest":
            return self._layers.UpSampling2D(size, interpolation=interpolation, name=name)
        sh, sw = (size, size) if isinstance(size, int) else size

        def apply(x):
            h, w = x.shape[1], x.shape[2]
            return self._layers.Resizing(h * sh, w * sw, interpolation="nearest", name=name)(x)

        return apply


def export_graph(model, height: int, width: int, *, input_dtype: str = "uint8"):
    """The conversion graph of ``model``: batch 1, fixed (height, width), weights copied."""
    import keras

    from mininet_tf.model import builder_and_config, required_multiple

    multiple = required_multiple(model)
    if height % multiple or width % multiple:
        raise ExportError(f"export size {height}x{width} is not a multiple of {multiple}")
    namespace = types.SimpleNamespace(layers=_ExportLayers(input_dtype), Model=keras.Model)
    builder, config = builder_and_config(model)
    fixed = builder(
        input_shape=(height, width, 3), keras_module=namespace, name=model.name, **config
    )
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            fixed.get_layer(layer.name).set_weights(weights)
    return fixed


# === Sizes and calibration data ===


def default_export_size(policy, multiple: int, image_hw=None) -> tuple[int, int]:
    """The export size: a resize policy's size; for tiles 512x512 or smaller to fit the image."""
    from mininet_lite.tiling import round_up

    if policy.mode == "resize":
        return tuple(policy.size)
    cap = [max(multiple, min(MAX_TILE, s) - min(MAX_TILE, s) % multiple) for s in policy.size]
    if image_hw is not None:
        cap = [min(c, round_up(int(s), multiple)) for c, s in zip(cap, image_hw, strict=True)]
    return cap[0], cap[1]


def export_policy(policy, size: tuple[int, int]):
    """The runtime policy of a file exported at ``size`` (tile overlap shrunk if needed)."""
    from mininet_lite.tiling import InputPolicy

    overlap = policy.overlap
    if policy.mode == "tile":
        overlap = min(overlap, max(0, min(size) // 2 - 1))
    return InputPolicy(
        mode=policy.mode, size=tuple(size), overlap=overlap, multiple=policy.multiple
    )


def calibration_inputs(records, policy, *, samples: int, seed: int = 0) -> list[np.ndarray]:
    """``samples`` uint8 (1, H, W, 3) model inputs from ``records``, as the runtime feeds them.

    Resize policy: whole images resized exactly like `mininet_lite.tiling.predict_image` does.
    Tile policy: random tiles of the export size (images smaller than a tile are padded the way
    the runtime pads them), cycling over the images in a seeded random order.
    """
    from mininet_lite.tiling import pad_to, resize_uint8
    from mininet_tf.data.io import read_image

    if not records:
        raise ExportError("no calibration images")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(records))
    th, tw = policy.size
    out = []
    images = {}
    for k in range(int(samples)):
        index = int(order[k % len(records)])
        if index not in images:
            images[index] = read_image(records[index].image)
        image = images[index]
        if policy.mode == "resize":
            x = resize_uint8(image, th, tw)
        else:
            image = pad_to(image, max(image.shape[0], th), max(image.shape[1], tw))
            y0 = int(rng.integers(0, image.shape[0] - th + 1))
            x0 = int(rng.integers(0, image.shape[1] - tw + 1))
            x = image[y0 : y0 + th, x0 : x0 + tw]
        out.append(np.ascontiguousarray(x[None]))
    return out


# === Conversion ===


def convert(model, mode: str, size: tuple[int, int], calibration=None) -> bytes:
    """Convert ``model`` (Keras 3) to a `.tflite` flatbuffer in ``mode`` at ``size``.

    Args:
        model: a Mini-Net `keras.Model` (any input size).
        mode: one of `MODES`.
        size: (H, W) of the exported input.
        calibration: int8 only: uint8 (1, H, W, 3) arrays (see `calibration_inputs`).
    """
    import tensorflow as tf

    if mode not in MODES:
        raise ExportError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    h, w = size
    graph = export_graph(model, h, w, input_dtype="float32" if mode == "int8" else "uint8")
    converter = tf.lite.TFLiteConverter.from_keras_model(graph)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if not calibration:
            raise ExportError("int8 export needs calibration images (--calib-dataset/--calib-data)")
        return _full_int8(converter, calibration)
    return converter.convert()


#: TensorFlow releases (major.minor) whose private converter pieces `private_quantizer` was
#: checked against; others get a warning, and a missing piece is an error naming it.
PRIVATE_API_TESTED = ("2.21",)


def private_quantizer(converter):
    """The only private TensorFlow API of the package, isolated and checked here.

    Returns ``(calibrate_only, quantize)``: ``calibrate_only()`` switches ``converter`` to the
    calibrate-only stage (the private ``_experimental_calibrate_only`` flag), ``quantize`` is
    ``tensorflow.lite.python.convert.mlir_quantize``. No public API pins the input range of a
    full-int8 model (see `_full_int8`). tests/test_export.py fails loudly when TensorFlow moves
    either piece.
    """
    import inspect
    import warnings

    import tensorflow as tf

    version = ".".join(tf.__version__.split(".")[:2])
    if version not in PRIVATE_API_TESTED:
        warnings.warn(
            f"TensorFlow {tf.__version__}: int8 export uses private converter APIs checked only "
            f"with TensorFlow {', '.join(PRIVATE_API_TESTED)}; compare its files with a float "
            "export (the export checks agreement) before shipping them",
            stacklevel=2,
        )
    try:
        from tensorflow.lite.python.convert import mlir_quantize
    except ImportError as exc:
        raise ExportError(
            f"TensorFlow {tf.__version__} has no tensorflow.lite.python.convert.mlir_quantize, "
            f"which int8 export needs (tested with {', '.join(PRIVATE_API_TESTED)})"
        ) from exc
    missing = {"input_data_type", "output_data_type"} - set(
        inspect.signature(mlir_quantize).parameters
    )
    if missing or not hasattr(converter, "_experimental_calibrate_only"):
        raise ExportError(
            f"TensorFlow {tf.__version__} changed the private converter API int8 export uses "
            f"(mlir_quantize parameters missing: {sorted(missing)}; calibrate-only flag present: "
            f"{hasattr(converter, '_experimental_calibrate_only')})"
        )

    def calibrate_only():
        converter._experimental_calibrate_only = True  # noqa: SLF001

    return calibrate_only, mlir_quantize


def _full_int8(converter, calibration) -> bytes:
    """Calibrate, pin the input range to exactly [0, 255], then quantise.

    The converter would take the input range from the calibration images, so a set without a
    0 or a 255 pixel would give an input scale != 1 and apps could no longer feed raw pixels.
    The two documented converter stages are run separately instead (calibrate-only, then the
    MLIR quantiser, as `tf.lite.experimental.QuantizationDebugger` does) with the input's
    recorded range set to [0, 255] in between: uint8 input scale 1, zero point 0, and no
    calibration image is altered.
    """
    import tensorflow as tf
    from tensorflow.lite.tools import flatbuffer_utils

    calibrate_only, mlir_quantize = private_quantizer(converter)

    def representative():
        for x in calibration:
            yield [x.astype(np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    calibrate_only()
    calibrated = flatbuffer_utils.read_model_from_bytearray(converter.convert())
    subgraph = calibrated.subgraphs[0]
    quant = subgraph.tensors[subgraph.inputs[0]].quantization
    if quant is None or quant.min is None or quant.max is None:
        raise ExportError("calibration recorded no range for the model input")
    quant.min = np.array([0.0], np.float32)
    quant.max = np.array([255.0], np.float32)
    return mlir_quantize(
        flatbuffer_utils.convert_object_to_bytearray(calibrated),
        input_data_type=tf.uint8,
        output_data_type=tf.uint8,
    )


def compact_tflite(data: bytes) -> bytes:
    """The same model in fewer bytes: drop inner tensor names, share identical vectors.

    Where the bytes of a converted Mini-Net go (int8, default widths, 64x64, ~101 KB): ~39 KB
    weights and biases; ~29 KB per-channel quantisation parameters (a float32 scale and an
    int64 zero point per output channel of every weight and bias tensor; the zero points are
    all 0); ~14 KB tensor names (long TF scope paths, debug only); ~19 KB flatbuffer tables.
    The flatbuffer format lets tables point at one shared vector, so identical vectors (the
    zero-point arrays above all, also shapes and constant buffers) are written once; names of
    inner tensors and the model description are dropped. Input/output names and the signature
    stay. Nothing the interpreter reads changes: `export` checks bit-identical outputs.
    """
    import flatbuffers
    from tensorflow.lite.tools import flatbuffer_utils

    class SharingBuilder(flatbuffers.Builder):
        """A builder that writes each distinct numpy vector once and reuses its offset."""

        __slots__ = ("_vectors",)

        def __init__(self, size):
            super().__init__(size)
            self._vectors = {}

        def CreateNumpyVector(self, x):  # noqa: N802  (flatbuffers API)
            key = (x.dtype.str, x.shape, x.tobytes())
            if key not in self._vectors:
                self._vectors[key] = super().CreateNumpyVector(x)
            return self._vectors[key]

    model = flatbuffer_utils.read_model_from_bytearray(data)
    model.description = None
    for subgraph in model.subgraphs:
        keep = {int(i) for i in subgraph.inputs} | {int(i) for i in subgraph.outputs}
        for index, tensor in enumerate(subgraph.tensors):
            if index not in keep:
                tensor.name = None
    builder = SharingBuilder(1 << 16)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run_tflite(data: bytes, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Raw output tensor of the model in ``data`` for input ``x`` (no dequantisation)."""
    from mininet_lite.runtime import load_interpreter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(data)
        interpreter = load_interpreter(path, threads)
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def check_compaction(original: bytes, compacted: bytes, samples: int = 2) -> None:
    """Raise unless both flatbuffers give bit-identical outputs on random uint8 images."""
    from mininet_lite.runtime import load_interpreter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(original)
        shape = load_interpreter(path).get_input_details()[0]["shape"]
    rng = np.random.default_rng(0)
    for _ in range(samples):
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        if not np.array_equal(run_tflite(original, x), run_tflite(compacted, x)):
            raise ExportError("compacted model differs from the converted one (please report)")


# === Inspection ===


def tflite_summary(data: bytes) -> dict:
    """Operator counts, and the types of non-constant tensors, of a `.tflite` flatbuffer."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(data)
    ops = Counter()
    activation_types = Counter()
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            ops[flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)] += 1
        for tensor in subgraph.tensors:
            buffer = (
                model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
            )
            if buffer is None or len(buffer) == 0:
                activation_types[flatbuffer_utils.type_to_name(tensor.type)] += 1
    return {"ops": dict(sorted(ops.items())), "activation_types": dict(activation_types)}


def io_details(data: bytes) -> tuple[dict, dict]:
    """Input and output tensor details of a `.tflite` flatbuffer (via the interpreter)."""
    from mininet_lite.runtime import load_interpreter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(data)
        interpreter = load_interpreter(path)
    return interpreter.get_input_details()[0], interpreter.get_output_details()[0]


def quantized_threshold(threshold: float, scale: float, zero_point: int, dtype) -> int:
    """Smallest integer output ``q`` with ``dequant(q) >= threshold``.

    So that ``q >= threshold_quantized`` <=> ``(q - zero_point) * scale >= threshold`` for every
    representable ``q``, computed in float32 exactly as `mininet_lite` dequantises (and also
    true in float64 for the scales the converter produces; checked). ``qmax + 1`` means "never".
    """
    info = np.iinfo(dtype)
    q = np.arange(info.min, info.max + 1)
    deq32 = (q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    above = deq32 >= np.float32(threshold)
    deq64 = (q.astype(np.float64) - zero_point) * float(scale)
    if not np.array_equal(above, deq64 >= float(threshold)):
        raise ExportError(
            f"threshold {threshold} falls between float32 and float64 rounding of a quantised "
            "level; choose a threshold off the quantisation grid"
        )
    hits = np.flatnonzero(above)
    return int(q[hits[0]]) if hits.size else int(info.max) + 1


# === Cards ===


def tool_versions() -> dict:
    """Installed versions of the tools that shape an exported file (read, not imported)."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in (
        "tensorflow",
        "keras",
        "tf_keras",
        "tensorflow-model-optimization",
        "ai-edge-litert",
        "numpy",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_card(
    *,
    out: Path,
    data: bytes,
    mode: str,
    quantization: str,
    policy,
    threshold: float,
    threshold_selected_on: str,
    source_path: Path,
    source_card: dict,
    model,
    extra: dict | None = None,
) -> dict:
    """The model card of the `.tflite` in ``data`` (written to ``out``'s `.json`)."""
    from mininet_tf.model import count_macs, parameter_counts

    inp, outp = io_details(data)
    h, w = (int(v) for v in inp["shape"][1:3])
    if inp["dtype"] != np.uint8:
        raise ExportError(f"exported input is {inp['dtype'].__name__}, expected uint8")
    in_scale, in_zero = inp["quantization"]
    if (in_scale, in_zero) not in ((0.0, 0), (1.0, 0)):
        raise ExportError(f"uint8 input has scale {in_scale}, zero point {in_zero}; expected 1, 0")
    out_scale, out_zero = outp["quantization"]
    quantized_out = outp["dtype"] in (np.uint8, np.int8)
    summary = tflite_summary(data)
    macs = count_macs(model, h, w)
    config = source_card.get("config", {})
    card = {
        "format": CARD_FORMAT,
        "model_file": out.name,
        "sha256": sha256_bytes(data),
        "size_bytes": len(data),
        "mode": mode,
        "quantization": quantization,
        "input": {
            "name": inp["name"],
            "shape": [int(v) for v in inp["shape"]],
            "dtype": "uint8",
            "meaning": INPUT_MEANING,
            "channels": "RGB",
            # A uint8 input always takes raw pixels: scale 1 / zero point 0 for int8 models,
            # no quantisation at all (a CAST inside the graph) for the float modes.
            "quantization": {
                "scale": float(in_scale) if in_scale else None,
                "zero_point": int(in_zero) if in_scale else None,
            },
        },
        "output": {
            "name": outp["name"],
            "shape": [int(v) for v in outp["shape"]],
            "dtype": np.dtype(outp["dtype"]).name,
            "scale": float(out_scale) if quantized_out else None,
            "zero_point": int(out_zero) if quantized_out else None,
            "meaning": OUTPUT_MEANING,
            "dequantize": "p = (q - zero_point) * scale" if quantized_out else None,
        },
        "input_policy": policy.to_dict(),
        "threshold": float(threshold),
        "threshold_quantized": (
            quantized_threshold(threshold, out_scale, out_zero, outp["dtype"])
            if quantized_out
            else None
        ),
        "threshold_rule": "foreground iff p >= threshold (quantised: q >= threshold_quantized)",
        "threshold_selected_on": threshold_selected_on,
        # Vessel models: the training images' FOV width, for --fov-width auto.
        "fov_width": source_card.get("fov_width"),
        "fov_normalised": bool(source_card.get("fov_normalised")),
        "source": {
            "model": source_path.name,
            "sha256": sha256_file(source_path) if source_path.is_file() else None,
            "card": source_card,
        },
        "training_data": {
            "dataset": source_card.get("dataset"),
            "data_dir": config.get("data_dir"),
            "train_split": "train",
            "validation_split": "val",
            "val_fraction": config.get("val_fraction"),
            "seed": config.get("seed"),
            "train_images": source_card.get("train_images"),
            "val_images": source_card.get("val_images"),
        },
        "macs": int(macs),
        "macs_per_pixel": macs / (h * w),
        "parameters": parameter_counts(model),
        "ops": summary["ops"],
        "activation_types": summary["activation_types"],
        "tools": tool_versions(),
    }
    card.update(extra or {})
    return card


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
    kwargs = {"val_fraction": config.get("val_fraction", 0.2), "seed": config.get("seed", 0)}
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

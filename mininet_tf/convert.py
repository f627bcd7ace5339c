"""Keras model -> `.tflite` bytes: the fixed-size export graph, conversion in every mode
(float32, float16, dynamic-range, full int8 with calibration), flatbuffer compaction and
inspection of the result. No files, no cards: `mininet_tf.export` writes those, and
`mininet_tf.modelcard` describes them.

The one private TensorFlow API the int8 path needs is isolated in `private_quantizer`, with a
version check (`PRIVATE_API_TESTED`) and a test that fails loudly when TensorFlow changes it.
"""

from __future__ import annotations

import tempfile
import types
from collections import Counter
from pathlib import Path

import numpy as np

MODES = ("float32", "float16", "dynamic", "int8")
#: Largest default export size for a tile-policy model (a 512x512 tile).
MAX_TILE = 512
#: Calibration samples drawn from the training split for full-integer quantisation.
DEFAULT_CALIB_SAMPLES = 32


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

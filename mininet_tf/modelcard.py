"""The model card: the JSON beside every exported `.tflite` (``X.json`` for ``X.tflite``).

It is the contract every consumer reads (`mininet_lite`, the web demo, the Android app): input
and output tensors and their quantisation, the input policy, the decision threshold (also in
the quantised output domain), the training data, the measured metrics of this very file, size,
MACs and tool versions. docs/edge.md documents the format.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import numpy as np

from mininet_tf.convert import ExportError, io_details, tflite_summary
from mininet_tf.data.records import sha256_file

CARD_FORMAT = "mininet_tf.tflite_card/1"
INPUT_MEANING = "raw RGB 0-255, normalisation inside the graph"
OUTPUT_MEANING = "sigmoid foreground probability"


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
            "split_file": config.get("split_file", "shipped"),
            "seed": config.get("seed"),
            "split_seed": config.get("split_seed"),
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

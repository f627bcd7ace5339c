"""Run a Mini-Net `.tflite` on images without TensorFlow.

Owns interpreter loading (LiteRT `ai-edge-litert` first, `tflite-runtime` as a fallback), the
model card that travels beside every exported model (`model.json` next to `model.tflite`), and
(de)quantisation of inputs and outputs. Geometry (padding, tiling, resizing) is in `tiling`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .tiling import InputPolicy, check_tta, predict_image


def load_interpreter(path: str | Path, threads: int | None = None):
    """A TFLite interpreter for ``path``: LiteRT if installed, else tflite-runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise ImportError(
                "no TFLite interpreter found: pip install ai-edge-litert (or tflite-runtime)"
            ) from exc
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:  # RuntimeError: a delegate cannot prepare it
        raise ValueError(f"{path}: not a valid .tflite model ({exc})") from exc
    return interpreter


def card_path(model_path: str | Path) -> Path:
    """The model card (JSON) that belongs to a model file: same name, `.json`."""
    return Path(model_path).with_suffix(".json")


def read_card(model_path: str | Path) -> dict:
    """The model card beside ``model_path``, or {} when there is none."""
    path = card_path(model_path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: model card is not valid JSON ({exc})") from exc


def file_sha256(path: str | Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(path: str | Path, card: dict) -> None:
    """Refuse a model file whose sha256 differs from the one its card records.

    A damaged or swapped `.tflite` otherwise gives silently different masks, or crashes the
    interpreter with no message. Cards without a ``sha256`` (hand-made) are not checked.
    """
    expected = card.get("sha256")
    if not expected:
        return
    actual = file_sha256(path)
    if actual != expected:
        raise ValueError(
            f"{path}: sha256 {actual[:16]}... differs from its card {card_path(path).name} "
            f"({expected[:16]}...): the file is damaged or is not the model the card describes. "
            "Re-download or re-export it (or pass --no-verify to load it anyway)."
        )


class TFLiteSegmenter:
    """A `.tflite` Mini-Net with its card: image in, probability map out.

    Args:
        path: the `.tflite` file.
        threads: interpreter threads (None: the runtime's default).
        policy: input policy; default from the card, else tiles of the model's input size.
        threshold: decision threshold; default from the card, else 0.5.
        verify: check the file against the sha256 in its card before loading it.
        tta: test-time flip averaging, None, "flip" or "flip4" (`tiling`).
    """

    def __init__(
        self,
        path,
        threads=None,
        policy: InputPolicy | None = None,
        threshold=None,
        *,
        verify: bool = True,
        tta: str | None = None,
    ):
        self.tta = check_tta(tta)  # before loading: a bad value fails fast
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: model file not found")
        self.card = read_card(self.path)
        if verify:
            verify_model_file(self.path, self.card)
        self.interpreter = load_interpreter(self.path, threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        _, h, w, _ = (int(v) for v in self._input["shape"])
        if policy is None and "input_policy" in self.card:
            policy = InputPolicy.from_dict(self.card["input_policy"])
        if policy is None:
            policy = InputPolicy(mode="tile", size=(h, w), overlap=min(32, h // 4))
        if tuple(policy.size) != (h, w):
            raise ValueError(
                f"{self.path}: model input is {h}x{w} but the policy asks for {policy.size}"
            )
        self.policy = policy
        self.threshold = float(
            threshold if threshold is not None else self.card.get("threshold", 0.5)
        )

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """(1, h, w, 3) uint8 raw pixels -> (1, h, w, C) float32 probabilities."""
        dtype = self._input["dtype"]
        if dtype == np.uint8:
            x = batch.astype(np.uint8)
        elif dtype == np.int8:
            scale, zero = self._input["quantization"]
            x = np.clip(np.round(batch / scale + zero), -128, 127).astype(np.int8)
        else:
            x = batch.astype(dtype)
        self.interpreter.set_tensor(self._input["index"], x)
        try:
            self.interpreter.invoke()
        except RuntimeError as exc:
            raise ValueError(f"{self.path}: the model failed to run ({exc})") from exc
        y = self.interpreter.get_tensor(self._output["index"])
        if y.dtype in (np.uint8, np.int8):
            scale, zero = self._output["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)

    def predict(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (H, W) float32 foreground probability (binary models)."""
        prob = predict_image(self.forward, image, self.policy, fixed_size=True, tta=self.tta)
        return prob[..., 0]

"""mininet_lite: TensorFlow-free inference for Mini-Net `.tflite` models (numpy + Pillow + LiteRT)."""

from .runtime import TFLiteSegmenter, card_path, load_interpreter, read_card
from .tiling import InputPolicy, predict_image

__all__ = [
    "InputPolicy",
    "TFLiteSegmenter",
    "card_path",
    "load_interpreter",
    "predict_image",
    "read_card",
]

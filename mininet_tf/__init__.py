"""mininet-tf: Mini-Net (arXiv 2405.17520) for medical image segmentation in TensorFlow/Keras.

Importing the package registers its Keras objects (loss, metrics), so `.keras` files saved by
`mininet_tf.train` load with plain `keras.models.load_model`.
"""

from mininet_tf import losses, metrics  # noqa: F401  (registers serializable Keras objects)
from mininet_tf.zoo import (
    load_pretrained,
    load_pretrained_segmenter,
    pretrained_card,
    pretrained_path,
)

__version__ = "0.1.0"
__all__ = ["load_pretrained", "load_pretrained_segmenter", "pretrained_card", "pretrained_path"]

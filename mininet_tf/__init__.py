"""mininet-tf: Mini-Net (arXiv 2405.17520) for medical image segmentation in TensorFlow/Keras.

Importing the package registers its Keras objects (loss, metrics), so `.keras` files saved by
`mininet_tf.train` load with plain `keras.models.load_model`.
"""

from mininet_tf._logs import import_tensorflow_quietly_for_commands

import_tensorflow_quietly_for_commands()  # before anything imports TensorFlow (see _logs)

from mininet_tf import blocks, losses, metrics  # noqa: E402, F401  (registers serializable Keras objects)
from mininet_tf.zoo import (  # noqa: E402
    load_pretrained,
    load_pretrained_segmenter,
    pretrained_card,
    pretrained_path,
)

__version__ = "0.1.0"
__all__ = ["load_pretrained", "load_pretrained_segmenter", "pretrained_card", "pretrained_path"]

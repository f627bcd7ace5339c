"""mininet-tf: Mini-Net (arXiv 2405.17520) for medical image segmentation in TensorFlow/Keras."""

__version__ = "0.1.0"

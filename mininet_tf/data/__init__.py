"""Dataset loaders, decoding, the synthetic default and the tf.data pipeline."""

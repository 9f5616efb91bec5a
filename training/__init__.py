"""Turns labelled tweets into model bundles (needs the `train` extra: TensorFlow, sklearn)."""

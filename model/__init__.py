"""Inference: text normalisation, model bundles and the LiteRT scorer."""

from model.scorer import SentimentModel
from model.text import normalize, tokenize

__all__ = ["SentimentModel", "normalize", "tokenize"]

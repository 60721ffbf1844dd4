"""Encoders: a character sequence in, one hidden vector per model position out.

Every encoder takes ``(input_ids, lengths)`` and returns ``[B, T + num_special, H]``: the
pretrained ones ``[CLS]`` c_1..c_T ``[SEP]`` (``num_special = 2``), the BiGRU c_1..c_T. The
head (``Tagger``) decides which positions reach the FC + CRF.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn


class GemmBiasLinear(nn.Linear):
    """``nn.Linear`` whose bias gradient is a GEMM when it trains on CPU.

    Why: the gradient of a broadcast bias add is a column sum of the output gradient, and
    Paddle's CPU kernel for that reduction runs on one thread at a fraction of memory speed.
    Here, training on CPU, the bias enters as ``ones[..., 1] @ bias[1, O]``, so its gradient is
    the GEMM ``ones^T @ grad`` (nothing is reshaped: Paddle's ``reshape`` gradient is a copy).
    The forward result is bit-identical; the bias gradient sums in another order (float32
    rounding). In eval mode, on GPU and in exported graphs it is ``nn.Linear`` itself (oneDNN's
    fc fusion still applies). Same parameters, same state dict. Figures: ``docs/performance.md``
    and ``results/bias_gradient_ab.json``."""

    def forward(self, x):
        if not self.training or self.bias is None or not x.place.is_cpu_place():
            # not super(): Paddle 2.6's dy2static rewrites this method, which loses super()'s cell
            return nn.Linear.forward(self, x)
        ones = paddle.ones(list(x.shape[:-1]) + [1], dtype=x.dtype)  # shape: [..., 1]
        return paddle.matmul(x, self.weight) + paddle.matmul(ones, self.bias.unsqueeze(0))  # shape: [..., O]


def gemm_bias_gradients(layer: nn.Layer) -> nn.Layer:
    """Make every plain ``nn.Linear`` inside ``layer`` a :class:`GemmBiasLinear` (in place: the
    class of each instance changes, its parameters stay); returns ``layer``."""
    for sub in layer.sublayers(include_self=True):
        if type(sub) is nn.Linear:
            sub.__class__ = GemmBiasLinear
    return layer


class PretrainedEncoder(nn.Layer):
    """Wraps a PaddleNLP BERT/ERNIE/RoBERTa model whose input is ``[CLS] chars [SEP] pad``."""

    num_special = 2  # [CLS] ... [SEP]

    def __init__(self, model):
        super().__init__()
        self.model = gemm_bias_gradients(model)
        self.hidden_size = int(model.config.hidden_size)
        # The pooler reads [CLS] for sentence tasks; NER never uses its output, so it is frozen
        # (kept only so that checkpoints load without missing keys).
        for param in getattr(model, "pooler", paddle.nn.Layer()).parameters():
            param.stop_gradient = True

    def forward(self, input_ids, lengths):
        """input_ids [B, T + 2] int64 (``[CLS]`` c_1..c_n ``[SEP]`` then padding); lengths [B]
        int64 = n. Returns [B, T + 2, H], every position."""
        width = paddle.shape(input_ids)[1]
        positions = paddle.arange(width, dtype="int64").unsqueeze(0)  # shape: [1, T + 2]
        mask = (positions < (lengths + 2).unsqueeze(1)).astype("int64")  # shape: [B, T + 2]
        return self.model(input_ids, attention_mask=mask)[0]  # shape: [B, T + 2, H]


class BiGRUEncoder(nn.Layer):
    """Character (and optionally bigram) embeddings -> stacked bidirectional GRU, after
    PaddleNLP's lexical-analysis BiGRU-CRF (examples/lexical_analysis/model.py):
    uniform(-0.1, 0.1) init, embeddings trained at ``emb_lr`` times the base rate, L2 ``l2``
    on the GRU weights."""

    num_special = 0  # the input is the characters alone

    def __init__(self, vocab_size: int, emb_dim: int = 128, hidden_size: int = 128, num_layers: int = 2,
                 emb_lr: float = 2.0, l2: float = 1e-4, emb_dropout: float = 0.0, bigram_vocab_size: int = 0,
                 bigram_dim: int = 0, sparse: bool = False):
        super().__init__()
        init = nn.initializer.Uniform(low=-0.1, high=0.1)
        emb_attr = lambda: paddle.ParamAttr(learning_rate=emb_lr, initializer=init)  # noqa: E731
        self.embedding = nn.Embedding(vocab_size, emb_dim, sparse=sparse, weight_attr=emb_attr())
        self.bigram_embedding = nn.Embedding(bigram_vocab_size, bigram_dim, sparse=sparse, weight_attr=emb_attr()) \
            if bigram_dim > 0 else None
        self.emb_dropout = nn.Dropout(emb_dropout)
        gru_attr = lambda: paddle.ParamAttr(initializer=init, regularizer=paddle.regularizer.L2Decay(l2) if l2 else None)  # noqa: E731
        self.gru = nn.GRU(emb_dim + (bigram_dim if bigram_dim > 0 else 0), hidden_size, num_layers=num_layers,
                          direction="bidirectional", weight_ih_attr=gru_attr(), weight_hh_attr=gru_attr())
        self.hidden_size = 2 * hidden_size

    def forward(self, input_ids, lengths):
        """input_ids [B, T] int64 (or [B, T, 2]: character, bigram), lengths [B] int64 ->
        [B, T, 2 * hidden_size]."""
        if self.bigram_embedding is None:
            embedded = self.embedding(input_ids)  # shape: [B, T, E]
        else:
            embedded = paddle.concat([self.embedding(input_ids[:, :, 0]),
                                      self.bigram_embedding(input_ids[:, :, 1])], axis=-1)  # shape: [B, T, E + E2]
        hidden, _ = self.gru(self.emb_dropout(embedded), sequence_length=lengths.astype("int32"))  # shape: [B, T, 2H]
        return hidden

"""The head every system shares: dropout -> FC(hidden -> num_labels) -> linear-chain CRF."""
from __future__ import annotations

from typing import Sequence

import paddle
import paddle.nn as nn

from paddle_ner.crf import CRF, bio_constraints


class Tagger(nn.Layer):
    """An encoder topped by the paper's FC + CRF head.

    The encoder returns one vector per model position: ``[CLS]`` c_1..c_T ``[SEP]`` for the
    pretrained encoders (``encoder.num_special == 2``), c_1..c_T for the BiGRU. By default the
    CRF reads only the real characters (the first ``lengths[b]`` of c_1..c_T), so neither
    special tokens nor padding reach it, and labels are never padded with a real tag. With
    ``crf_specials`` (PaddleHub 1.x, the paper's recipe), ``[CLS]`` and ``[SEP]`` go through the
    FC and the CRF too, labelled ``O``, in the loss and in decoding.

    Head options (``ModelConfig``): ``dropout`` before the FC; ``fc_init_range`` > 0 draws the
    FC weight from Uniform(-r, r) (else Paddle's default), bias 0; ``fc_l2`` is an L2
    regularizer on the FC weight; ``crf_init``, ``crf_lr`` and ``constrained`` go to the CRF.
    """

    def __init__(self, encoder: nn.Layer, labels: Sequence[str], dropout: float = 0.1,
                 crf_lr: float = 1.0, constrained: bool = True, fc_init_range: float = 0.0, fc_l2: float = 0.0,
                 crf_init: str = "uniform", crf_specials: bool = False):
        super().__init__()
        labels = list(labels)
        self.encoder = encoder
        self.num_special = int(getattr(encoder, "num_special", 0))
        self.specials = bool(crf_specials) and self.num_special == 2
        if self.specials and "O" not in labels:
            raise ValueError("crf_specials labels [CLS]/[SEP] O, but the label set has no O")
        self.outside = labels.index("O") if "O" in labels else 0
        self.dropout = nn.Dropout(dropout)
        init = nn.initializer.Uniform(-fc_init_range, fc_init_range) if fc_init_range > 0 else None
        regularizer = paddle.regularizer.L2Decay(fc_l2) if fc_l2 > 0 else None
        self.fc = nn.Linear(encoder.hidden_size, len(labels),
                            weight_attr=paddle.ParamAttr(initializer=init, regularizer=regularizer),
                            bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)))
        allowed, allowed_start = bio_constraints(labels) if constrained else (None, None)
        # Batches come from paddle_ner.batching, which guarantees lengths in [1, T] and tags in
        # range within each length, so the CRF skips its value checks (a device sync per step).
        self.crf = CRF(len(labels), lr_mult=crf_lr, allowed_transitions=allowed, allowed_start=allowed_start,
                       check_values=False, init=crf_init)

    def _scores(self, input_ids, lengths):
        """Emission scores of every model position: [B, T + num_special, K]."""
        return self.fc(self.dropout(self.encoder(input_ids, lengths)))

    def emissions(self, input_ids, lengths):
        """input_ids [B, T(+2)] int64, lengths [B] int64 -> emission scores [B, T, K] of the
        characters c_1..c_T."""
        scores = self._scores(input_ids, lengths)
        return scores[:, 1:-1] if self.num_special == 2 else scores

    def crf_inputs(self, input_ids, lengths, labels=None):
        """What the CRF reads: (emissions [B, T', K], lengths [B], labels [B, T'] or None),
        with T' = T + 2 and each sequence ``[CLS]`` c_1..c_n ``[SEP]`` labelled O at both ends
        when ``crf_specials``, else T' = T and the characters only."""
        if not self.specials:
            return self.emissions(input_ids, lengths), lengths, labels
        scores = self._scores(input_ids, lengths)  # shape: [B, T + 2, K]
        if labels is None:
            return scores, lengths + 2, None
        outside = paddle.full([labels.shape[0], 1], self.outside, dtype=labels.dtype)
        padded = paddle.concat([outside, labels, outside], axis=1)  # shape: [B, T + 2]
        positions = paddle.arange(padded.shape[1], dtype=lengths.dtype).unsqueeze(0)  # shape: [1, T + 2]
        sep = positions == (lengths + 1).unsqueeze(1)  # [SEP] sits right after each sentence
        return scores, lengths + 2, paddle.where(sep, paddle.full_like(padded, self.outside), padded)

    def loss(self, input_ids, lengths, labels):
        """Mean negative log-likelihood over the batch; labels [B, T] int64 (values past
        each length are ignored)."""
        emissions, crf_lengths, crf_labels = self.crf_inputs(input_ids, lengths, labels)
        return self.crf.nll(emissions, crf_labels, crf_lengths).mean()

    def decode_crf(self, input_ids, lengths):
        """Best paths over what the CRF reads (specials included when ``crf_specials``):
        (scores [B], paths [B, T'] int64, lengths [B] of the paths)."""
        emissions, crf_lengths, _ = self.crf_inputs(input_ids, lengths)
        scores, paths = self.crf.decode(emissions, crf_lengths)
        return scores, paths, crf_lengths

    def forward(self, input_ids, lengths, labels=None):
        """With ``labels``: the training loss (:meth:`loss`; going through ``forward`` lets
        ``paddle.DataParallel`` see the step). Without: the best paths of the characters,
        (scores [B], paths [B, T] int64, 0 past each length), which is also the exported
        inference graph."""
        if labels is not None:
            return self.loss(input_ids, lengths, labels)
        scores, paths, _ = self.decode_crf(input_ids, lengths)
        if self.specials:
            paths = paths[:, 1:-1]  # shape: [B, T]; [SEP] of a shorter sentence lands past its length
            positions = paddle.arange(paddle.shape(paths)[1], dtype=lengths.dtype).unsqueeze(0)  # static-graph safe
            paths = paddle.where(positions < lengths.unsqueeze(1), paths, paddle.zeros_like(paths))
        return scores, paths

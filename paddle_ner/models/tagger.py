"""The head every system shares: dropout -> FC(hidden -> num_labels) -> linear-chain CRF."""
from __future__ import annotations

from typing import Sequence

import paddle.nn as nn

from paddle_ner.crf import CRF, bio_constraints


class Tagger(nn.Layer):
    """An encoder topped by the paper's FC + CRF head.

    The encoder returns one vector per real character (``[CLS]``/``[SEP]`` already cut
    off), and the CRF reads only the first ``lengths[b]`` of them, so neither special
    tokens nor padding reach it, and labels are never padded with a real tag.
    """

    def __init__(self, encoder: nn.Layer, labels: Sequence[str], dropout: float = 0.1,
                 crf_lr: float = 1.0, constrained: bool = True):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(encoder.hidden_size, len(labels))
        allowed, allowed_start = bio_constraints(list(labels)) if constrained else (None, None)
        # Batches come from paddle_ner.batching, which guarantees lengths in [1, T] and tags in
        # range within each length, so the CRF skips its value checks (a device sync per step).
        self.crf = CRF(len(labels), lr_mult=crf_lr, allowed_transitions=allowed, allowed_start=allowed_start,
                       check_values=False)

    def emissions(self, input_ids, lengths):
        """input_ids [B, T(+2)] int64, lengths [B] int64 -> emission scores [B, T, K]."""
        return self.fc(self.dropout(self.encoder(input_ids, lengths)))

    def loss(self, input_ids, lengths, labels):
        """Mean negative log-likelihood over the batch; labels [B, T] int64 (values past
        each length are ignored)."""
        return self.crf.nll(self.emissions(input_ids, lengths), labels, lengths).mean()

    def forward(self, input_ids, lengths, labels=None):
        """With ``labels``: the training loss (:meth:`loss`; going through ``forward`` lets
        ``paddle.DataParallel`` see the step). Without: the best paths, (scores [B], paths
        [B, T] int64, 0 past each length), which is also the exported inference graph."""
        if labels is not None:
            return self.loss(input_ids, lengths, labels)
        return self.crf.decode(self.emissions(input_ids, lengths), lengths)

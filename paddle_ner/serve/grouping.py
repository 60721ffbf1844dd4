"""Running one batch of texts as a few model calls of similar length, as ``predict --input`` does.

A model call pads every row to its longest, so a batch that mixes a 10-character text with a
200-character one computes 20 times the first text's positions. ``predict --input`` avoids that by
sorting all its texts by length before batching; a server's batch holds whatever requests came
together. :class:`GroupedModel` sorts each batch by length and cuts it into the groups that
minimise the cost of a call, ``overhead + rows x longest`` (in character positions), where
``overhead`` is the fixed cost of one call, measured when the server starts
(:func:`measure_overhead`): large for a model whose calls are mostly fixed cost (a small
transformer through oneDNN: one group), near zero for one that is compute-bound (the BiGRU: many
groups of equal length). Tags do not depend on the rest of the call (``Predictor``'s promise,
``tests/test_properties.py``), so grouping changes speed only.
"""
from __future__ import annotations

import math
import time
from typing import List, Sequence

MAX_GROUP = 64  # a group spans at most this many texts of the sorted batch (bounds the search)
# Split only when the estimate saves at least this share of one call's cost: the estimate is rough
# (a call through oneDNN costs more than it says: the shrunk BERT ran 630 texts/s as one call per
# batch, 540 split by this estimate alone; the BiGRU 160 as one call, 210 split).
MIN_SAVING = 0.25


def split_by_length(lengths: Sequence[int], rows: Sequence[int], overhead: float,
                    min_saving: float = MIN_SAVING) -> List[List[int]]:
    """Indices of ``lengths`` in groups (each sorted by length, groups by increasing length)
    minimising ``sum(overhead + sum(rows[g]) * max(lengths[g]))``: the exact optimum over
    contiguous runs of the sorted order (a run of at most MAX_GROUP texts), by dynamic programming.
    One group of all when that optimum saves less than ``min_saving`` of its cost."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    if n == 0:
        return []
    best = [0.0] + [math.inf] * n  # best[j]: cost of the first j texts of the order
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]  # sorted: the last of the run is the longest
        count = 0
        for i in range(j - 1, max(-1, j - 1 - MAX_GROUP), -1):
            count += rows[order[i]]
            cost = best[i] + overhead + count * longest
            if cost < best[j]:
                best[j], cut[j] = cost, i
    whole = overhead + sum(rows) * lengths[order[-1]]
    if n <= MAX_GROUP and best[n] > (1 - min_saving) * whole:
        return [order]
    groups = []
    j = n
    while j > 0:
        groups.append(order[cut[j]:j])
        j = cut[j]
    return groups[::-1]


class GroupedModel:
    """``predictor(texts)``, run as length groups (see the module docstring); same results."""

    def __init__(self, predictor, overhead: float):
        self.predictor = predictor
        self.overhead = overhead
        self.window = predictor.max_seq_len
        self.step = max(1, predictor.max_seq_len - predictor.overlap)

    def _rows(self, length: int) -> int:
        """Windows the Predictor cuts a text of ``length`` characters into."""
        return 1 if length <= self.window else 1 + math.ceil((length - self.window) / self.step)

    def __call__(self, texts: Sequence[str]) -> list:
        texts = list(texts)
        if len(texts) <= 1:
            return self.predictor(texts)
        lengths = [min(len(t), self.window) for t in texts]
        results: list = [None] * len(texts)
        for group in split_by_length(lengths, [self._rows(len(t)) for t in texts], self.overhead):
            for index, result in zip(group, self.predictor([texts[i] for i in group])):
                results[index] = result
        return results


def measure_overhead(predictor, repeats: int = 3) -> float:
    """The fixed cost of one model call, in character positions: from the best of ``repeats``
    timings of one short text alone and of 16 texts of 64 characters. Every timed call has a
    shape not seen before, as a server's calls mostly do, so per-shape costs count (oneDNN
    builds its kernels for each new input shape: for a small transformer that is most of a call,
    and grouping would only multiply it)."""

    def best(make):
        times = []
        for k in range(repeats):
            texts = make(k)
            start = time.perf_counter()
            predictor(texts)
            times.append(time.perf_counter() - start)
        return min(times)

    predictor(["中" * 8] * 2)  # one-off initialisation
    one = best(lambda k: ["中" * (16 + k)])
    many = best(lambda k: ["中" * (64 + k)] * 16)
    per_position = max((many - one) / (16 * 64 - 16), 1e-9)
    return max(0.0, one / per_position - 16)

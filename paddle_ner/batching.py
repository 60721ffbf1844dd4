"""Sentences -> model examples (windows, or PaddleHub 1.x's truncation), training batch orders,
and padding.

Batches are padded only to their own longest example. Training batches come either from
shuffled pools of ``pool`` batches that are each sorted by length (:func:`bucket_batches`), so
neighbours in a batch have similar lengths while the batch order stays random, or in PaddleHub
1.x's order (:func:`shuffled_batches`). Either order is a function of (seed, epoch), which is
what lets ``--resume`` skip exactly the batches already seen.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

import numpy as np

from paddle_ner.alignment import Window, plan_windows, window_tags

logger = logging.getLogger(__name__)

LABEL_PAD = -1  # never a real tag: the CRF ignores positions past each length anyway


@dataclass
class Example:
    ids: np.ndarray  # [n + num_special] int64 model input
    labels: Optional[np.ndarray]  # [n] int64 tag ids, or None at prediction time
    sentence: int  # index of the sentence this window belongs to
    window: Window

    @property
    def length(self) -> int:
        return self.window.end - self.window.start


def make_examples(sentences: Sequence[Sequence[str]], mapper, max_seq_len: int, overlap: int,
                  tags: Optional[Sequence[Sequence[str]]] = None, label_index: Optional[dict] = None,
                  what: str = "sentences", truncate: bool = False) -> List[Example]:
    """One example per window of each non-empty sentence (one window unless the sentence is
    longer than ``size = max_seq_len`` minus the mapper's special positions). Logs how many were
    split.

    ``truncate`` (``model.long_sentences: truncate``, PaddleHub 1.x's reader): a longer sentence
    gives ONE example instead, its first ``size`` characters and their tags (``[CLS]`` + 126
    characters + ``[SEP]`` at 128); the rest of it is in no example. The example's ``window``
    (``Window(0, size, 0, size)``) says which characters it covers. Logs how many were cut."""
    size = max_seq_len - mapper.num_special
    examples: List[Example] = []
    long = 0
    for index, chars in enumerate(sentences):
        if not chars:
            continue  # nothing to tag; callers give an empty sentence an empty result
        if truncate:
            kept = min(len(chars), size)
            windows = [Window(0, kept, 0, kept)]
            long += len(chars) > size
        else:
            windows = plan_windows(len(chars), size, overlap)
            long += len(windows) > 1
        for w in windows:
            labels = None
            if tags is not None:
                part = window_tags(tags[index], w.start, w.end) if len(windows) > 1 else tags[index][w.start:w.end]
                labels = np.fromiter((label_index[t] for t in part), dtype=np.int64, count=w.end - w.start)
            examples.append(Example(mapper.encode(chars, w.start, w.end), labels, index, w))
    if long and truncate:
        logger.info("%d of %d %s are longer than %d characters and were truncated to their first %d (the rest is "
                    "neither trained on nor scored)", long, len(sentences), what, size, size)
    elif long:
        logger.info("%d of %d %s are longer than %d characters and were split into overlapping windows",
                    long, len(sentences), what, size)
    return examples


def bucket_batches(lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0,
                   pool: int = 50) -> List[List[int]]:
    """Batches of example indices. Without ``shuffle``: sorted by length (evaluation and
    prediction). With it: pools of ``pool`` batches, each sorted by length, batches in random
    order; deterministic given (seed, epoch)."""
    lengths = np.asarray(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    rng = np.random.RandomState((seed * 1_000_003 + epoch) % (2 ** 32))
    order = rng.permutation(len(lengths))
    span = batch_size * max(1, pool)
    batches = []
    for p in range(0, len(order), span):
        chunk = order[p:p + span]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def shuffled_batches(n_examples: int, batch_size: int, seed: int, epoch: int) -> List[List[int]]:
    """PaddleHub 1.x's training batches for ``epoch`` (0-based): the example list is shuffled IN
    PLACE by numpy once per epoch, so epoch ``e``'s order is ``e + 1`` successive shuffles of
    ``range(n_examples)`` drawn from one ``RandomState(seed)`` stream (each epoch permutes the
    previous one), cut into consecutive batches of ``batch_size``, the last partial batch kept
    (``paddlehub/reader/nlp_reader.py:199-200, 253-254@v1.5.0``). A pure function of its
    arguments (no global numpy state), so ``--resume`` rebuilds any epoch's order; it costs
    ``epoch + 1`` shuffles."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    rng = np.random.RandomState(seed % (2 ** 32))
    order = list(range(n_examples))
    for _ in range(epoch + 1):
        rng.shuffle(order)
    return [order[i:i + batch_size] for i in range(0, n_examples, batch_size)]


def shard(batches: List[List[int]], rank: int, world_size: int) -> List[List[int]]:
    """This rank's share of the batches for data-parallel training. Every rank gets the same
    number of batches (DataParallel needs each step on all ranks), so a remainder of fewer
    than ``world_size`` batches is dropped."""
    if world_size <= 1:
        return batches
    usable = len(batches) - len(batches) % world_size
    return batches[rank:usable:world_size]


def collate(examples: Sequence[Example], pad_id: int):
    """Pad a batch to its own longest example.

    Returns numpy arrays: input_ids [B, L] int64 (or [B, L, C] when each position has C ids,
    e.g. character and bigram), lengths [B] int64 (characters, no specials), labels [B, T]
    int64 padded with LABEL_PAD (or None when the examples carry no labels).
    """
    width = max(len(e.ids) for e in examples)
    ids = np.full((len(examples), width) + examples[0].ids.shape[1:], pad_id, dtype=np.int64)
    lengths = np.empty(len(examples), dtype=np.int64)
    for row, e in enumerate(examples):
        ids[row, :len(e.ids)] = e.ids
        lengths[row] = e.length
    labels = None
    if examples[0].labels is not None:
        labels = np.full((len(examples), max(1, int(lengths.max()))), LABEL_PAD, dtype=np.int64)
        for row, e in enumerate(examples):
            labels[row, :e.length] = e.labels
    return ids, lengths, labels


def padding_waste(batches: Sequence[Sequence[int]], sizes: Sequence[int]) -> float:
    """Fraction of batch positions that are padding, given each example's size in positions."""
    sizes = np.asarray(sizes)
    total = sum(len(b) * int(sizes[b].max()) for b in batches if len(b))
    return 1.0 - float(sizes.sum()) / total if total else 0.0


def iterate(examples: Sequence[Example], batches: Sequence[Sequence[int]], pad_id: int) -> Iterator[tuple]:
    for batch in batches:
        yield batch, collate([examples[i] for i in batch], pad_id)

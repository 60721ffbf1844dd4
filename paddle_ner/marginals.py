"""Exact span confidences: the marginal probability of an entity under the linear-chain CRF.

For a sequence of ``n`` characters and an entity of type X over ``[s, e)`` (end exclusive), the
confidence is the probability, under the CRF's distribution over whole tag sequences
(``paddle_ner.crf``: ``start[y_0] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] +
end[y_{n-1}]``), that the tags spell exactly that entity::

    P(y_s = B-X, y_{s+1} .. y_{e-1} = I-X, and y_e != I-X or e == n)

computed by forward-backward in log space (float64)::

    log P = alpha[s, B-X]                                  (every prefix ending in B-X at s)
          + sum_{s<t<e} (transitions[y_{t-1}, I-X] + emissions[t, I-X])     (the fixed chain)
          + (end[y_{e-1}]                                                  if e == n
             else logsumexp_{j != I-X} (transitions[y_{e-1}, j] + emissions[e, j] + beta[e, j]))
          - log Z

where ``alpha`` includes the emission at its position and ``beta`` does not. The last factor is
what makes it the probability of *this* entity and not of a longer one that starts the same way.

:func:`span_marginals` takes numpy arrays, so both engines (the dygraph model and the exported
static graph) can use it on the emissions they return. :func:`crf_scores` reads start, end and
transition scores from a :class:`paddle_ner.crf.CRF`, by default with its decode-time
constraints applied exactly as ``CRF.decode`` applies them (a forbidden start or transition
scores ``FORBIDDEN_SCORE``, whose ``exp`` is 0 in float64): the probabilities are then those of
the distribution whose most likely sequence ``decode`` returns, and every entity of the decoded
path has a probability in (0, 1]. ``constrained=False`` gives the unconstrained distribution the
training loss (``CRF.nll``) uses. Non-finite scores give NaN probabilities.
"""
from __future__ import annotations

from typing import List, Mapping, Sequence, Tuple

import numpy as np

from paddle_ner.crf import FORBIDDEN_SCORE

__all__ = ["span_marginals", "crf_scores"]

Span = Tuple[str, int, int]


def crf_scores(crf, constrained: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(start [K], end [K], transitions [K, K] as [from, to])`` of ``crf`` as float64 numpy
    arrays; with ``constrained``, forbidden starts and transitions score ``FORBIDDEN_SCORE``, as
    in ``CRF.decode`` (the CRF has no end constraints: every tag may end a sequence)."""
    start = np.asarray(crf.start.numpy(), dtype=np.float64)  # shape: (num_tags,)
    end = np.asarray(crf.end.numpy(), dtype=np.float64)  # shape: (num_tags,)
    transitions = np.asarray(crf.transitions.numpy(), dtype=np.float64)  # shape: (from, to)
    if constrained:
        start = np.where(np.asarray(crf.allowed_start.numpy(), dtype=bool), start, FORBIDDEN_SCORE)
        transitions = np.where(np.asarray(crf.allowed_transitions.numpy(), dtype=bool), transitions,
                               FORBIDDEN_SCORE)
    return start, end, transitions


def span_marginals(emissions: np.ndarray, lengths: Sequence[int], start: np.ndarray, end: np.ndarray,
                   transitions: np.ndarray, spans: Sequence[Sequence[Span]],
                   label_index: Mapping[str, int]) -> List[List[float]]:
    """Marginal probability of each span under the CRF, per sequence of a batch.

    Args:
        emissions: float [B, T, K]; only positions ``t < lengths[b]`` are read.
        lengths: int [B], each in [1, T].
        start, end: float [K]; transitions: float [K, K], ``[from, to]`` (e.g. :func:`crf_scores`).
        spans: B lists of ``(type, start, end)``, end exclusive, ``0 <= start < end <= length``.
        label_index: tag name -> tag id, with ``"B-<type>"`` for every type asked about
            (``"I-<type>"`` may be missing: an entity of 2+ characters then has probability 0).

    Returns:
        B lists of floats in [0, 1], one per span, in the order given.

    Raises:
        ValueError: for inconsistent shapes, a length outside [1, T], a span outside its
            sequence, or a type whose ``B-`` tag is not in ``label_index``.
    """
    scores = np.asarray(emissions, dtype=np.float64)  # shape: (batch, time, num_tags)
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)  # shape: (batch,)
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    transitions = np.asarray(transitions, dtype=np.float64)
    _check(scores, lengths, start, end, transitions, spans, label_index)
    batch, time, _ = scores.shape
    positions = np.arange(time)
    mask = positions[None, :] < lengths[:, None]  # shape: (batch, time)
    # Padding may hold anything (NaN, inf): zero it so that it cannot leak into the recursions.
    scores = np.where(mask[:, :, None], scores, 0.0)
    alpha, beta, log_z = _forward_backward(scores, lengths, start, end, transitions)
    flat = [(b, kind, s, e) for b, found in enumerate(spans) for kind, s, e in found]
    if not flat:
        return [[] for _ in range(batch)]
    which = np.array([b for b, _, _, _ in flat])  # shape: (spans,)
    first = np.array([s for _, _, s, _ in flat])
    stop = np.array([e for _, _, _, e in flat])
    b_tag = np.array([label_index[f"B-{kind}"] for _, kind, _, _ in flat])
    i_tag = np.array([label_index.get(f"I-{kind}", -1) for _, kind, _, _ in flat])  # -1: the model has none
    log_p = _span_log_numerators(scores, alpha, beta, lengths, end, transitions, which, first, stop, b_tag, i_tag)
    # exp of a log-probability a rounding error above 0 is a hair above 1: clip
    probs = np.minimum(1.0, np.exp(log_p - log_z[which])).tolist()
    out: List[List[float]] = []
    k = 0
    for found in spans:
        out.append(probs[k:k + len(found)])
        k += len(found)
    return out


def _forward_backward(scores: np.ndarray, lengths: np.ndarray, start: np.ndarray, end: np.ndarray,
                      transitions: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``alpha`` [B, T, K] (log-sum of the prefixes ending in each tag, emission included),
    ``beta`` [B, T, K] (log-sum of the continuations after each tag, its emission excluded,
    the end score included) and ``log Z`` [B], for all sequences at once."""
    batch, time, num_tags = scores.shape
    alpha = np.empty_like(scores)  # shape: (batch, time, num_tags)
    beta = np.empty_like(scores)  # shape: (batch, time, num_tags)
    alpha[:, 0] = start[None, :] + scores[:, 0]
    for t in range(1, time):
        # shape: (batch, from, to) -> (batch, to)
        alpha[:, t] = _logsumexp(alpha[:, t - 1, :, None] + transitions[None], axis=1) + scores[:, t]
    last = lengths - 1  # shape: (batch,)
    beta[:, time - 1] = end[None, :]
    for t in range(time - 2, -1, -1):
        ahead = scores[:, t + 1] + beta[:, t + 1]  # shape: (batch, to)
        step = _logsumexp(transitions[None] + ahead[:, None, :], axis=2)  # shape: (batch, from)
        # A sequence whose last position is t (or earlier) ends here: only the end score follows.
        beta[:, t] = np.where((t < last)[:, None], step, end[None, :])
    final = alpha[np.arange(batch), last]  # shape: (batch, num_tags)
    return alpha, beta, _logsumexp(final + end[None, :], axis=1)


def _span_log_numerators(scores, alpha, beta, lengths, end, transitions, which, first, stop, b_tag, i_tag):
    """log of the summed exp-scores of the sequences in which each span is an entity (the
    formula in the module docstring), for all spans of the batch at once. Arrays of [spans]."""
    batch, time, num_tags = scores.shape
    width = stop - first
    has_i = i_tag >= 0
    i_safe = np.where(has_i, i_tag, 0)
    log_p = alpha[which, first, b_tag]
    # The chain B-X -> I-X ... I-X over positions first+1 .. stop-1, its emissions from a running sum.
    running = np.concatenate([np.zeros((batch, 1, num_tags)), np.cumsum(scores, axis=1)], axis=1)
    chain = (running[which, stop, i_safe] - running[which, np.minimum(first + 1, stop), i_safe]
             + transitions[b_tag, i_safe] + np.maximum(width - 2, 0) * transitions[i_safe, i_safe])
    long = width > 1
    log_p = log_p + np.where(long, chain, 0.0)
    last = np.where(long, i_safe, b_tag)  # the tag at stop - 1
    # What follows: the end score, or any tag but I-X at `stop` and everything after it.
    at = np.minimum(stop, time - 1)
    following = transitions[last] + scores[which, at] + beta[which, at]  # shape: (spans, num_tags)
    following[np.nonzero(has_i)[0], i_tag[has_i]] = -np.inf
    tail = np.where(stop == lengths[which], end[last], _logsumexp(following, axis=1))
    log_p = log_p + tail
    # A multi-character entity of a type without an I- tag cannot be spelled: probability 0.
    return np.where(long & ~has_i, -np.inf, log_p)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)  # all -inf stays -inf, without NaN from inf - inf
    with np.errstate(divide="ignore"):
        return np.squeeze(peak, axis=axis) + np.log(np.sum(np.exp(x - peak), axis=axis))


def _check(scores: np.ndarray, lengths: np.ndarray, start: np.ndarray, end: np.ndarray, transitions: np.ndarray,
           spans: Sequence[Sequence[Span]], label_index: Mapping[str, int]) -> None:
    if scores.ndim != 3:
        raise ValueError(f"emissions must have shape [batch, time, num_tags], got {list(scores.shape)}")
    batch, time, num_tags = scores.shape
    if start.shape != (num_tags,) or end.shape != (num_tags,) or transitions.shape != (num_tags, num_tags):
        raise ValueError(f"start, end and transitions must have shapes [{num_tags}], [{num_tags}] and "
                         f"[{num_tags}, {num_tags}] to match emissions {list(scores.shape)}, got "
                         f"{list(start.shape)}, {list(end.shape)} and {list(transitions.shape)}")
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape [{batch}] to match emissions {list(scores.shape)}, "
                         f"got {list(lengths.shape)}")
    bad = lengths[(lengths < 1) | (lengths > time)]
    if bad.size:
        raise ValueError(f"lengths must be in [1, {time}] (the time dimension of emissions), got {bad.tolist()}")
    if len(spans) != batch:
        raise ValueError(f"spans must hold one list per sequence ({batch}), got {len(spans)}")
    for b, found in enumerate(spans):
        for kind, s, e in found:
            if not 0 <= s < e <= lengths[b]:
                raise ValueError(f"span {(kind, s, e)} of sequence {b} is empty or outside its length {lengths[b]}")
            tag = label_index.get(f"B-{kind}")
            if tag is None or not 0 <= tag < num_tags:
                raise ValueError(f"span {(kind, s, e)} of sequence {b}: no tag B-{kind} among the {num_tags} in "
                                 f"label_index")


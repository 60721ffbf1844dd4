"""paddle_ner.marginals: span marginals against brute-force enumeration of every tag sequence,
batched against per-sequence calls, on the CRF's own scores (CRF.score, its decode-time
constraints), and the entities of a Viterbi path."""
import itertools

import numpy as np
import paddle
import pytest

from paddle_ner.crf import CRF, FORBIDDEN_SCORE, bio_constraints
from paddle_ner.marginals import crf_scores, span_marginals
from paddle_ner.tags import spans as bio_spans

LABEL_SETS = [
    ["O", "B-PER", "I-PER"],
    ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
    ["O", "B-PER", "I-PER", "B-LOC"],  # no I-LOC: a LOC of 2+ characters has probability 0
    ["B-X", "I-X", "O", "B-Y", "I-Y"],  # O not first
]


def logsumexp(x):
    peak = np.max(x)
    return peak + np.log(np.sum(np.exp(x - peak)))


def brute_force(emissions, n, start, end, transitions, labels, spans):
    """P(span) by enumerating all K**n tag sequences: the literal event y_s = B-X, y_{s+1..e-1} =
    I-X, y_e != I-X (or e == n), summed over the normalised exp-scores."""
    k = len(labels)
    seqs = np.array(list(itertools.product(range(k), repeat=n)))  # shape: (k**n, n)
    score = start[seqs[:, 0]] + emissions[np.arange(n), seqs].sum(axis=1) + end[seqs[:, -1]]
    if n > 1:
        score = score + transitions[seqs[:, :-1], seqs[:, 1:]].sum(axis=1)
    prob = np.exp(score - logsumexp(score))
    index = {label: i for i, label in enumerate(labels)}
    out = []
    for kind, s, e in spans:
        b_tag, i_tag = index[f"B-{kind}"], index.get(f"I-{kind}", -1)
        event = seqs[:, s] == b_tag
        for t in range(s + 1, e):
            event &= seqs[:, t] == i_tag
        if e < n:
            event &= seqs[:, e] != i_tag
        out.append(float(prob[event].sum()))
    return out


def all_spans(labels, n):
    kinds = sorted({label[2:] for label in labels if label.startswith("B-")})
    return [(kind, s, e) for kind in kinds for s in range(n) for e in range(s + 1, n + 1)]


def random_crf(rng, k, scale=1.5):
    return (rng.normal(0, scale, k), rng.normal(0, scale, k), rng.normal(0, scale, (k, k)))


def constrain(labels, start, transitions, forbidden=FORBIDDEN_SCORE):
    allowed, allowed_start = bio_constraints(labels)
    return np.where(allowed_start, start, forbidden), np.where(allowed, transitions, forbidden)


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda ls: ",".join(ls))
@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_brute_force(labels, constrained, seed):
    rng = np.random.default_rng(seed)
    k, time, batch = len(labels), 6, 4
    raw_start, end, raw_transitions = random_crf(rng, k)
    start, transitions = raw_start, raw_transitions
    if constrained:
        start, transitions = constrain(labels, raw_start, raw_transitions)
    emissions = rng.normal(0, 2.0, (batch, time, k))
    lengths = np.concatenate([[time, 1], rng.integers(1, time + 1, batch - 2)])
    spans = [all_spans(labels, n) for n in lengths]
    got = span_marginals(emissions, lengths, start, end, transitions, spans, {l: i for i, l in enumerate(labels)})
    for b, n in enumerate(lengths):
        want = brute_force(emissions[b, :n], n, start, end, transitions, labels, spans[b])
        np.testing.assert_allclose(got[b], want, rtol=0, atol=1e-6)
        assert all(0.0 <= p <= 1.0 for p in got[b])
    if constrained:
        # a hard -inf mask gives the same probabilities as the finite FORBIDDEN_SCORE decode uses
        hard_start, hard_transitions = constrain(labels, raw_start, raw_transitions, -np.inf)
        hard = span_marginals(emissions, lengths, hard_start, end, hard_transitions, spans,
                              {l: i for i, l in enumerate(labels)})
        for h, g in zip(hard, got):
            np.testing.assert_allclose(h, g, rtol=0, atol=1e-12)


def test_batched_equals_per_sequence():
    rng = np.random.default_rng(7)
    labels = LABEL_SETS[1]
    index = {l: i for i, l in enumerate(labels)}
    start, end, transitions = random_crf(rng, len(labels))
    emissions = rng.normal(0, 2.0, (6, 12, len(labels)))
    lengths = np.array([12, 3, 1, 7, 12, 5])
    spans = [all_spans(labels, n)[::3] for n in lengths]
    batched = span_marginals(emissions, lengths, start, end, transitions, spans, index)
    for b, n in enumerate(lengths):
        single = span_marginals(emissions[b:b + 1, :n], [n], start, end, transitions, [spans[b]], index)
        np.testing.assert_allclose(batched[b], single[0], rtol=0, atol=1e-12)
    # padding may hold anything, NaN and inf included
    padded = emissions.copy()
    for b, n in enumerate(lengths):
        padded[b, n:] = np.nan if b % 2 else np.inf
    again = span_marginals(padded, lengths, start, end, transitions, spans, index)
    for a, b in zip(again, batched):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)


def test_uses_the_crfs_own_scoring():
    """Unconstrained: the distribution CRF.score and CRF.log_partition define (float64, so the
    comparison is to 1e-9). Constrained: the distribution whose best path CRF.decode returns."""
    paddle.seed(3)
    labels = LABEL_SETS[1]
    k, n = len(labels), 5
    allowed, allowed_start = bio_constraints(labels)
    crf = CRF(k, allowed_transitions=allowed, allowed_start=allowed_start, dtype="float64")
    rng = np.random.default_rng(3)
    with paddle.no_grad():
        for param, shape in ((crf.start, [k]), (crf.end, [k]), (crf.transitions, [k, k])):
            param.set_value(rng.normal(0, 1.5, shape))
    emissions = rng.normal(0, 2.0, (1, n, k))
    seqs = np.array(list(itertools.product(range(k), repeat=n)))
    scores = crf.score(paddle.to_tensor(np.repeat(emissions, len(seqs), axis=0)), paddle.to_tensor(seqs),
                       paddle.to_tensor(np.full(len(seqs), n))).numpy()
    log_z = crf.log_partition(paddle.to_tensor(emissions), paddle.to_tensor([n])).numpy()[0]
    assert abs(logsumexp(scores) - log_z) < 1e-9
    prob = np.exp(scores - log_z)
    spans = all_spans(labels, n)
    index = {l: i for i, l in enumerate(labels)}
    got = span_marginals(emissions, [n], *crf_scores(crf, constrained=False), [spans], index)[0]
    for (kind, s, e), p in zip(spans, got):
        event = seqs[:, s] == index[f"B-{kind}"]
        for t in range(s + 1, e):
            event &= seqs[:, t] == index[f"I-{kind}"]
        if e < n:
            event &= seqs[:, e] != index[f"I-{kind}"]
        assert abs(prob[event].sum() - p) < 1e-9, (kind, s, e)
    # constrained: crf_scores applies the masks as decode does, and decode's path is the mode
    start, end, transitions = crf_scores(crf)
    assert np.all((start == FORBIDDEN_SCORE) == ~allowed_start)
    assert np.all((transitions == FORBIDDEN_SCORE) == ~allowed)
    masked = (start[seqs[:, 0]] + emissions[0][np.arange(n), seqs].sum(1)
              + transitions[seqs[:, :-1], seqs[:, 1:]].sum(1) + end[seqs[:, -1]])
    _, path = crf.decode(paddle.to_tensor(emissions), paddle.to_tensor([n]))
    assert path.numpy()[0].tolist() == seqs[np.argmax(masked)].tolist()


@pytest.mark.parametrize("seed", [0, 1])
def test_viterbi_path_entities_have_probability_in_0_1(seed):
    paddle.seed(seed)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    allowed, allowed_start = bio_constraints(labels)
    crf = CRF(len(labels), allowed_transitions=allowed, allowed_start=allowed_start)
    rng = np.random.default_rng(seed)
    with paddle.no_grad():  # scores large enough that unconstrained decoding would break BIO
        crf.transitions.set_value(rng.normal(0, 3.0, (7, 7)).astype("float32"))
    emissions = rng.normal(0, 3.0, (16, 30, 7)).astype("float32")
    lengths = rng.integers(1, 31, 16)
    _, paths = crf.decode(paddle.to_tensor(emissions), paddle.to_tensor(lengths))
    spans = [bio_spans([labels[i] for i in path[:n]]) for path, n in zip(paths.numpy(), lengths)]
    assert sum(len(s) for s in spans) > 30
    got = span_marginals(emissions, lengths, *crf_scores(crf), spans, {l: i for i, l in enumerate(labels)})
    assert all(0.0 < p <= 1.0 for ps in got for p in ps), got


def test_errors():
    index = {"O": 0, "B-X": 1, "I-X": 2}
    start, end, transitions = np.zeros(3), np.zeros(3), np.zeros((3, 3))
    emissions = np.zeros((2, 4, 3))
    cases = [
        ((np.zeros((4, 3)), [4], start, end, transitions, [[]]),
         r"emissions must have shape \[batch, time, num_tags\], got \[4, 3\]"),
        ((emissions, [4, 4], np.zeros(2), end, transitions, [[], []]),
         r"start, end and transitions must have shapes \[3\], \[3\] and \[3, 3\] to match emissions \[2, 4, 3\], "
         r"got \[2\], \[3\] and \[3, 3\]"),
        ((emissions, [4], start, end, transitions, [[]]), r"lengths must have shape \[2\]"),
        ((emissions, [4, 5], start, end, transitions, [[], []]), r"lengths must be in \[1, 4\] .* got \[5\]"),
        ((emissions, [4, 2], start, end, transitions, [[]]), r"spans must hold one list per sequence \(2\), got 1"),
        ((emissions, [4, 2], start, end, transitions, [[], [("X", 1, 3)]]),
         r"span \('X', 1, 3\) of sequence 1 is empty or outside its length 2"),
        ((emissions, [4, 2], start, end, transitions, [[("Y", 0, 1)], []]),
         r"span \('Y', 0, 1\) of sequence 0: no tag B-Y among the 3 in label_index"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            span_marginals(*args, index)

"""CRF tests against exact references: enumeration of every tag sequence (itertools.product) in
float64 numpy, per-example vs batched runs, central finite differences, and a save/load round
trip of the exported decoder."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from paddle_ner.crf import CRF, bio_constraints, xavier_crfw  # noqa: E402

LABELS = {
    1: ["O"],  # a corpus without entities
    3: ["O", "B-X", "I-X"],
    5: ["O", "B-A", "I-A", "B-B", "I-B"],
}
# (time, ragged lengths including 1); the last case is a T=1 batch.
LENGTH_CASES = [(5, [5, 1, 3, 4]), (4, [2, 4, 1]), (1, [1, 1])]
PAD_TAG = -100  # never a real tag: padding must be ignored, not scored


# --------------------------------------------------------------------------- brute force


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def all_paths(num_tags, length):
    """Every tag sequence of the given length: int [K**length, length]."""
    return np.array(list(itertools.product(range(num_tags), repeat=length)), dtype=np.int64)


def path_scores(emissions, paths, start, end, transitions):
    """Plain-numpy score of each path. emissions [n, K], paths [P, n] -> [P]."""
    n = paths.shape[1]
    scores = start[paths[:, 0]] + end[paths[:, -1]]
    for t in range(n):
        scores = scores + emissions[t, paths[:, t]]
    for t in range(1, n):
        scores = scores + transitions[paths[:, t - 1], paths[:, t]]
    return scores


def path_allowed(paths, allowed, allowed_start):
    ok = allowed_start[paths[:, 0]]
    for t in range(1, paths.shape[1]):
        ok = ok & allowed[paths[:, t - 1], paths[:, t]]
    return ok


def brute_force(emissions, length, start, end, transitions, allowed=None, allowed_start=None):
    """Exact log Z, best path and its score, and the gap to the runner-up, for one sequence
    emissions [T, K] of which the first `length` positions are real."""
    num_tags = emissions.shape[1]
    paths = all_paths(num_tags, length)
    scores = path_scores(emissions[:length], paths, start, end, transitions)
    log_z = logsumexp(scores)
    if allowed is not None:
        keep = path_allowed(paths, allowed, allowed_start)
        paths, scores = paths[keep], scores[keep]
    order = np.argsort(-scores)
    gap = scores[order[0]] - scores[order[1]] if len(order) > 1 else np.inf
    return {"log_z": log_z, "best_path": paths[order[0]], "best_score": scores[order[0]], "gap": gap}


# --------------------------------------------------------------------------- helpers


def random_crf(num_tags, seed, dtype="float64", scale=1.0, **kwargs):
    """A CRF with random N(0, scale) parameters (bigger than the init, so that transitions
    matter), and those parameters as numpy arrays."""
    paddle.seed(seed)
    crf = CRF(num_tags, dtype=dtype, **kwargs)
    rng = np.random.RandomState(seed)
    values = {}
    for name in ("start", "end", "transitions"):
        param = getattr(crf, name)
        values[name] = (scale * rng.randn(*param.shape)).astype(dtype)
        param.set_value(values[name])
    return crf, values


def random_batch(num_tags, time, lengths, seed, dtype="float64", pad=np.nan):
    """Emissions [B, T, K] (padding filled with `pad`), tags [B, T] (padding PAD_TAG), lengths [B]."""
    rng = np.random.RandomState(seed + 1000)
    emissions = rng.randn(len(lengths), time, num_tags).astype(dtype)
    tags = rng.randint(num_tags, size=(len(lengths), time)).astype(np.int64)
    for b, n in enumerate(lengths):
        emissions[b, n:] = pad
        tags[b, n:] = PAD_TAG
    return emissions, tags, np.array(lengths, dtype=np.int64)


def tensors(*arrays):
    return [paddle.to_tensor(a) for a in arrays]


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("num_tags", [3, 5])
@pytest.mark.parametrize("time,lengths", LENGTH_CASES)
def test_log_partition_score_and_nll_equal_brute_force(num_tags, time, lengths):
    crf, p = random_crf(num_tags, seed=num_tags * 10 + time)
    emissions, tags, lens = random_batch(num_tags, time, lengths, seed=num_tags + time)
    em, tg, ln = tensors(emissions, tags, lens)

    log_z = crf.log_partition(em, ln).numpy()
    score = crf.score(em, tg, ln).numpy()
    nll = crf.nll(em, tg, ln).numpy()

    assert log_z.shape == score.shape == nll.shape == (len(lengths),)
    for b, n in enumerate(lengths):
        ref = brute_force(emissions[b], n, p["start"], p["end"], p["transitions"])
        gold = path_scores(emissions[b, :n], tags[b : b + 1, :n], p["start"], p["end"], p["transitions"])[0]
        np.testing.assert_allclose(log_z[b], ref["log_z"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(score[b], gold, rtol=0, atol=1e-10)
        np.testing.assert_allclose(nll[b], ref["log_z"] - gold, rtol=0, atol=1e-10)
        assert nll[b] > 0


@pytest.mark.parametrize("num_tags,length", [(3, 1), (3, 5), (5, 4)])
def test_probabilities_of_all_paths_sum_to_one(num_tags, length):
    crf, _ = random_crf(num_tags, seed=7)
    emissions, _, _ = random_batch(num_tags, length, [length], seed=7)
    paths = all_paths(num_tags, length)  # every sequence, scored as one batch
    batch = np.repeat(emissions, len(paths), axis=0)
    lens = np.full(len(paths), length, dtype=np.int64)
    nll = crf.nll(*tensors(batch, paths, lens)).numpy()
    np.testing.assert_allclose(np.exp(-nll).sum(), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("num_tags", [3, 5])
@pytest.mark.parametrize("time,lengths", LENGTH_CASES)
def test_viterbi_equals_brute_force_argmax(num_tags, time, lengths):
    crf, p = random_crf(num_tags, seed=num_tags * 3 + time)
    emissions, _, lens = random_batch(num_tags, time, lengths, seed=num_tags * 7 + time)
    scores, paths = crf.decode(*tensors(emissions, lens))
    scores, paths = scores.numpy(), paths.numpy()

    assert paths.shape == (len(lengths), time) and paths.dtype == np.int64
    for b, n in enumerate(lengths):
        ref = brute_force(emissions[b], n, p["start"], p["end"], p["transitions"])
        assert ref["gap"] > 1e-6, "tie in the reference; pick another seed"
        np.testing.assert_array_equal(paths[b, :n], ref["best_path"])
        np.testing.assert_allclose(scores[b], ref["best_score"], rtol=0, atol=1e-10)
        assert (paths[b, n:] == 0).all(), "positions past the length must be 0"


@pytest.mark.parametrize("num_tags", [3, 5])
def test_constrained_decode_equals_brute_force_over_allowed_paths(num_tags):
    allowed, allowed_start = bio_constraints(LABELS[num_tags])
    crf, p = random_crf(num_tags, seed=11, allowed_transitions=allowed, allowed_start=allowed_start)
    free, _ = random_crf(num_tags, seed=11)  # same parameters, no constraints
    time, lengths = 5, [5, 1, 3, 4, 5, 2, 5, 5]
    emissions, _, lens = random_batch(num_tags, time, lengths, seed=11)
    # Favour I- tags so that the unconstrained best path is often ill-formed.
    i_columns = [k for k, label in enumerate(LABELS[num_tags]) if label.startswith("I-")]
    emissions[:, :, i_columns] += 1.5

    scores, paths = (x.numpy() for x in crf.decode(*tensors(emissions, lens)))
    _, free_paths = (x.numpy() for x in free.decode(*tensors(emissions, lens)))

    differs = 0
    for b, n in enumerate(lengths):
        ref = brute_force(emissions[b], n, p["start"], p["end"], p["transitions"], allowed, allowed_start)
        assert ref["gap"] > 1e-6, "tie in the reference; pick another seed"
        np.testing.assert_array_equal(paths[b, :n], ref["best_path"])
        # The true, unpenalised score of the chosen path.
        np.testing.assert_allclose(scores[b], ref["best_score"], rtol=0, atol=1e-10)
        assert path_allowed(paths[b : b + 1, :n], allowed, allowed_start)[0]
        assert (paths[b, n:] == 0).all()
        differs += not np.array_equal(paths[b, :n], free_paths[b, :n])
    assert differs > 0, "the constraints never mattered here, so this test proves nothing"


def test_constraints_do_not_change_the_likelihood():
    allowed, allowed_start = bio_constraints(LABELS[5])
    crf, _ = random_crf(5, seed=3, allowed_transitions=allowed, allowed_start=allowed_start)
    free, _ = random_crf(5, seed=3)
    emissions, tags, lens = random_batch(5, 5, [5, 2, 1], seed=3)
    args = tensors(emissions, tags, lens)
    np.testing.assert_array_equal(crf.nll(*args).numpy(), free.nll(*args).numpy())


def test_bio_constraints_matrix():
    labels = ["O", "B-PER.NAM", "I-PER.NAM", "B-LOC", "I-LOC"]
    allowed, allowed_start = bio_constraints(labels)
    expected = np.array(
        [
            # to: O  B-P   I-P    B-L   I-L        from:
            [True, True, False, True, False],  # O
            [True, True, True, True, False],  # B-PER.NAM
            [True, True, True, True, False],  # I-PER.NAM
            [True, True, False, True, True],  # B-LOC
            [True, True, False, True, True],  # I-LOC
        ]
    )
    np.testing.assert_array_equal(allowed, expected)
    np.testing.assert_array_equal(allowed_start, [True, True, False, True, False])
    assert allowed.dtype == allowed_start.dtype == np.bool_


@pytest.mark.parametrize(
    "labels,message",
    [
        ([], "at least one label"),
        (["O", "B-X", "O"], "duplicate labels ['O']"),
        (["O", "E-X"], "label 'E-X' is not BIO"),
        (["O", "B-"], "label 'B-' is not BIO"),
        (["O", "PER"], "label 'PER' is not BIO"),
    ],
)
def test_bio_constraints_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError) as info:
        bio_constraints(labels)
    assert message in str(info.value)


# --------------------------------------------------------------------------- one tag


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("time,lengths", LENGTH_CASES)
def test_one_tag_crf_equals_brute_force(constrained, time, lengths):
    """K = 1 (labels ``["O"]``, a corpus without entities): one path per length, so log Z is its
    score, the NLL is 0 and decoding gives all zeros. Paddle's Viterbi op cannot run with one
    tag (it slices out of range), so decode must not depend on it here."""
    masks = bio_constraints(LABELS[1]) if constrained else (None, None)
    crf, p = random_crf(1, seed=time, allowed_transitions=masks[0], allowed_start=masks[1])
    emissions, tags, lens = random_batch(1, time, lengths, seed=time)
    em, tg, ln = tensors(emissions, tags, lens)

    log_z, score, nll = (x.numpy() for x in (crf.log_partition(em, ln), crf.score(em, tg, ln), crf.nll(em, tg, ln)))
    scores, paths = (x.numpy() for x in crf.decode(em, ln))
    assert scores.shape == (len(lengths),) and paths.shape == (len(lengths), time) and paths.dtype == np.int64
    for b, n in enumerate(lengths):
        ref = brute_force(emissions[b], n, p["start"], p["end"], p["transitions"])
        np.testing.assert_allclose(log_z[b], ref["log_z"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(score[b], ref["best_score"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(nll[b], 0.0, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(paths[b, :n], ref["best_path"])
        np.testing.assert_allclose(scores[b], ref["best_score"], rtol=0, atol=1e-10)
    assert (paths == 0).all()


# --------------------------------------------------------------------------- non-finite scores


def _poison(what, value, crf, emissions):
    """Put ``value`` into one emission of sequence 1 or into a CRF parameter."""
    if what == "emission":
        emissions[1, 1, 2] = value
    else:
        param = getattr(crf, what)
        array = param.numpy().copy()
        array.flat[1] = value
        param.set_value(array)
    return emissions


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e35, -1e35])
@pytest.mark.parametrize("what", ["emission", "start", "end", "transitions"])
def test_decode_flags_non_finite_scores_with_nan_and_valid_paths(what, value):
    """A diverged model's scores (NaN, inf, or finite but far beyond any trained model's) make
    Paddle's Viterbi op raise IndexError (Paddle 2.6) or return tag -1 (3.3). decode instead
    returns a NaN score for each affected sequence, in-range tags, and leaves the other
    sequences exactly as they were, so callers can refuse those tags with a clear error."""
    allowed, allowed_start = bio_constraints(LABELS[3])
    crf, _ = random_crf(3, seed=6, dtype="float32", allowed_transitions=allowed, allowed_start=allowed_start)
    lengths = [4, 3, 4]
    clean, _, lens = random_batch(3, 4, lengths, seed=6, dtype="float32", pad=0.0)
    want_scores, want_paths = (x.numpy() for x in crf.decode(*tensors(clean, lens)))
    emissions = _poison(what, value, crf, clean.copy())
    scores, paths = (x.numpy() for x in crf.decode(*tensors(emissions, lens)))

    bad = [1] if what == "emission" else [0, 1, 2]  # a broken CRF parameter breaks every sequence
    assert np.isnan(scores[bad]).all(), scores
    good = [b for b in range(3) if b not in bad]
    np.testing.assert_array_equal(scores[good], want_scores[good])
    np.testing.assert_array_equal(paths[good], want_paths[good])
    assert ((paths >= 0) & (paths < 3)).all(), paths


# --------------------------------------------------------------------------- batching, dtypes


def test_batched_equals_per_example_and_padding_is_ignored():
    num_tags, time, lengths = 5, 6, [6, 1, 4, 2, 6]
    allowed, allowed_start = bio_constraints(LABELS[num_tags])
    crf, _ = random_crf(num_tags, seed=5, allowed_transitions=allowed, allowed_start=allowed_start)
    # NaN emissions and -100 tags past each length: none of it may leak into the results.
    emissions, tags, lens = random_batch(num_tags, time, lengths, seed=5, pad=np.nan)
    nll = crf.nll(*tensors(emissions, tags, lens)).numpy()
    scores, paths = (x.numpy() for x in crf.decode(*tensors(emissions, lens)))
    assert np.isfinite(nll).all() and np.isfinite(scores).all()

    for b, n in enumerate(lengths):
        one = tensors(emissions[b : b + 1, :n], tags[b : b + 1, :n], lens[b : b + 1])
        np.testing.assert_allclose(nll[b], crf.nll(*one).numpy()[0], rtol=0, atol=1e-12)
        s, pth = crf.decode(one[0], one[2])
        np.testing.assert_allclose(scores[b], s.numpy()[0], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(paths[b, :n], pth.numpy()[0])


def test_paths_are_padded_to_time_when_all_sequences_are_shorter():
    # The Viterbi op returns width max(lengths); decode must still return [B, T].
    crf, _ = random_crf(3, seed=2)
    emissions, _, lens = random_batch(3, 7, [3, 1, 2], seed=2)
    emissions[:, :, 2] += 10.0  # every real position decodes to tag 2, so padding 0 is visible
    scores, paths = crf.decode(*tensors(emissions, lens))
    assert list(paths.shape) == [3, 7] and list(scores.shape) == [3]
    expected = np.zeros((3, 7), dtype=np.int64)
    for b, n in enumerate([3, 1, 2]):
        expected[b, :n] = 2
    np.testing.assert_array_equal(paths.numpy(), expected)


def test_float32_agrees_with_float64_brute_force():
    num_tags, time, lengths = 5, 5, [5, 1, 3]
    crf, p = random_crf(num_tags, seed=9, dtype="float32")
    emissions, tags, lens = random_batch(num_tags, time, lengths, seed=9, dtype="float32")
    em, tg, ln = tensors(emissions, tags, lens)
    nll, log_z = crf.nll(em, tg, ln).numpy(), crf.log_partition(em, ln).numpy()
    scores, paths = (x.numpy() for x in crf.decode(em, ln))
    assert nll.dtype == scores.dtype == np.float32
    f64 = {k: v.astype(np.float64) for k, v in p.items()}
    for b, n in enumerate(lengths):
        ref = brute_force(emissions[b].astype(np.float64), n, f64["start"], f64["end"], f64["transitions"])
        e64 = emissions[b, :n].astype(np.float64)
        gold = path_scores(e64, tags[b : b + 1, :n], f64["start"], f64["end"], f64["transitions"])[0]
        np.testing.assert_allclose(log_z[b], ref["log_z"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(nll[b], ref["log_z"] - gold, rtol=1e-5, atol=1e-5)
        assert ref["gap"] > 1e-3, "near-tie in the reference; float32 may legitimately differ"
        np.testing.assert_array_equal(paths[b, :n], ref["best_path"])
        np.testing.assert_allclose(scores[b], ref["best_score"], rtol=1e-5, atol=1e-5)


def test_logsumexp_is_stable_for_large_scores():
    crf, _ = random_crf(3, seed=4, dtype="float32")
    emissions, tags, lens = random_batch(3, 4, [4, 2], seed=4, dtype="float32")
    emissions = emissions * 1e4  # exp() of these overflows float32 without the max shift
    nll = crf.nll(*tensors(emissions, tags, lens)).numpy()
    assert np.isfinite(nll).all() and (nll >= 0).all()


def test_half_precision_emissions_are_computed_in_float32():
    crf, _ = random_crf(3, seed=4, dtype="float32")
    emissions, tags, lens = random_batch(3, 4, [4, 2], seed=4, dtype="float32", pad=0.0)
    half = paddle.to_tensor(emissions).astype("float16")
    nll = crf.nll(half, *tensors(tags, lens))
    assert nll.dtype == paddle.float32
    np.testing.assert_allclose(
        nll.numpy(), crf.nll(half.astype("float32"), *tensors(tags, lens)).numpy(), rtol=0, atol=1e-6
    )


# --------------------------------------------------------------------------- gradients


def test_gradients_are_finite_and_match_finite_differences():
    num_tags, time, lengths = 4, 4, [4, 1, 3]
    crf, p = random_crf(num_tags, seed=13)
    emissions, tags, lens = random_batch(num_tags, time, lengths, seed=13, pad=np.nan)
    tg, ln = tensors(tags, lens)

    em = paddle.to_tensor(emissions, stop_gradient=False)
    crf.nll(em, tg, ln).sum().backward()
    grads = {"emissions": em.grad.numpy()}
    grads.update({name: getattr(crf, name).grad.numpy() for name in ("start", "end", "transitions")})
    for name, grad in grads.items():
        real = grad if name != "emissions" else grad[~np.isnan(emissions)]
        assert np.isfinite(real).all(), name
    # Padding gets exactly zero gradient (and no NaN from the NaN emissions there).
    assert (grads["emissions"][1, 1:] == 0).all()

    def loss(emissions_value, params):
        for name, value in params.items():
            getattr(crf, name).set_value(value)
        return float(crf.nll(paddle.to_tensor(emissions_value), tg, ln).sum())

    eps = 1e-6
    checks = [("emissions", (0, 0, 1)), ("emissions", (2, 2, 3)), ("emissions", (1, 0, 0)),
              ("transitions", (0, 1)), ("transitions", (3, 2)), ("start", (2,)), ("end", (1,))]
    for name, index in checks:
        values = {"emissions": emissions.copy(), **{k: v.copy() for k, v in p.items()}}
        values[name][index] += eps
        plus = loss(values.pop("emissions"), values)
        values = {"emissions": emissions.copy(), **{k: v.copy() for k, v in p.items()}}
        values[name][index] -= eps
        minus = loss(values.pop("emissions"), values)
        numeric = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(grads[name][index], numeric, rtol=1e-6, atol=1e-8, err_msg=f"{name}{index}")


# --------------------------------------------------------------------------- parameters


def test_parameters_shapes_init_and_lr_mult_attribute():
    paddle.seed(0)
    crf = CRF(7, lr_mult=3.0)
    assert [list(crf.start.shape), list(crf.end.shape), list(crf.transitions.shape)] == [[7], [7], [7, 7]]
    for param in (crf.start, crf.end, crf.transitions):
        values = param.numpy()
        assert (np.abs(values) <= 0.1).all() and values.std() > 0.01  # uniform(-0.1, 0.1)
        assert param.optimize_attr["learning_rate"] == 3.0
    assert sorted(crf.state_dict().keys()) == ["allowed_start", "allowed_transitions", "end", "start", "transitions"]
    assert [p.name for p in crf.parameters()] == [crf.start.name, crf.end.name, crf.transitions.name]


@pytest.mark.parametrize("num_tags", [7, 3, 1])
def test_xavier_init_draws_one_crfw_and_splits_it(num_tags):
    """init="xavier": PaddleHub 1.x's crfw, one [K+2, K] Xavier-uniform draw (limit
    sqrt(6 / (2K + 2)), 0.6124 for K = 7); row 0 -> start, row 1 -> end, rows 2.. ->
    transitions [from, to]. Same parameters, names, lr multiplier and state keys as "uniform"."""
    limit = np.sqrt(6.0 / ((num_tags + 2) + num_tags))
    paddle.seed(5)
    crfw = xavier_crfw(num_tags, "float64").numpy()
    assert crfw.shape == (num_tags + 2, num_tags)
    paddle.seed(5)
    crf = CRF(num_tags, init="xavier", dtype="float64", lr_mult=2.0)
    np.testing.assert_array_equal(crf.start.numpy(), crfw[0])
    np.testing.assert_array_equal(crf.end.numpy(), crfw[1])
    np.testing.assert_array_equal(crf.transitions.numpy(), crfw[2:])
    assert np.abs(crfw).max() <= limit
    if num_tags == 7:
        assert limit == pytest.approx(0.6123724356957945)
        assert np.abs(crfw).max() > 0.1  # not the +-0.1 of "uniform"
    for param in (crf.start, crf.end, crf.transitions):
        assert param.optimize_attr["learning_rate"] == 2.0 and not param.stop_gradient
    assert sorted(crf.state_dict().keys()) == ["allowed_start", "allowed_transitions", "end", "start", "transitions"]
    assert "init=xavier" in repr(crf)


def test_xavier_init_consumes_one_draw_only():
    """The three parameters are not drawn first and then overwritten: after CRF(init="xavier")
    the global generator is where one crfw draw leaves it."""
    paddle.seed(11)
    xavier_crfw(5)
    after_one_draw = paddle.rand([4]).numpy()
    paddle.seed(11)
    CRF(5, init="xavier")
    np.testing.assert_array_equal(paddle.rand([4]).numpy(), after_one_draw)


def test_xavier_init_trains_and_decodes_like_any_crf():
    emissions, tags, lens = random_batch(5, 4, [4, 2, 1], seed=3)
    paddle.seed(3)
    crf = CRF(5, init="xavier", dtype="float64")
    start, end, trans = (p.numpy() for p in (crf.start, crf.end, crf.transitions))
    nll = crf.nll(*tensors(emissions, tags, lens)).numpy()
    scores, paths = crf.decode(*tensors(emissions, lens))
    for b, n in enumerate(lens):
        ref = brute_force(emissions[b], n, start, end, trans)
        gold = path_scores(emissions[b, :n], tags[b : b + 1, :n], start, end, trans)[0]
        np.testing.assert_allclose(nll[b], ref["log_z"] - gold, rtol=1e-10, atol=1e-10)
        assert paths.numpy()[b, :n].tolist() == ref["best_path"].tolist()


@pytest.mark.parametrize("optimizer", ["sgd", "adamw_schedule"])
def test_lr_mult_scales_the_update(optimizer):
    """Paddle's optimizers honour ParamAttr.learning_rate: lr_mult=10 moves 10x further."""
    emissions, tags, lens = random_batch(3, 4, [4, 2], seed=1, dtype="float32", pad=0.0)
    moved = {}
    for mult in (1.0, 10.0):
        crf, p = random_crf(3, seed=1, dtype="float32", lr_mult=mult)
        if optimizer == "sgd":
            opt = paddle.optimizer.SGD(learning_rate=1e-3, parameters=crf.parameters())
        else:
            schedule = paddle.optimizer.lr.LinearWarmup(1e-3, warmup_steps=2, start_lr=0.0, end_lr=1e-3)
            opt = paddle.optimizer.AdamW(learning_rate=schedule, parameters=crf.parameters(), weight_decay=0.0)
        for _ in range(3):
            crf.nll(*tensors(emissions, tags, lens)).mean().backward()
            opt.step()
            opt.clear_grad()
            if optimizer != "sgd":
                schedule.step()
        moved[mult] = np.abs(crf.transitions.numpy() - p["transitions"]).sum()
    assert moved[1.0] > 0
    # Not exactly 10: after the first step the two runs see slightly different gradients
    # (measured 9.99 for SGD, 9.9998 for AdamW on both Paddle 2.6 and 3.3).
    np.testing.assert_allclose(moved[10.0] / moved[1.0], 10.0, rtol=0.01)


# --------------------------------------------------------------------------- errors


def test_shape_and_value_errors_state_what_they_got():
    crf, _ = random_crf(3, seed=0)
    emissions, tags, lens = random_batch(3, 4, [4, 2], seed=0, pad=0.0)
    em, tg, ln = tensors(emissions, tags, lens)
    cases = [
        (lambda: crf.nll(em[0], tg, ln), "emissions must have shape [batch, time, num_tags], got [4, 3]"),
        (lambda: crf.decode(paddle.zeros([2, 4, 5], dtype="float64"), ln),
         "expected last dimension of emissions to be 3, got 5 (shape [2, 4, 5])"),
        (lambda: crf.decode(em, ln[:1]), "lengths must have shape [2] to match emissions [2, 4, 3], got [1]"),
        (lambda: crf.decode(em, ln.unsqueeze(1)), "lengths must have shape [batch], got [2, 1]"),
        (lambda: crf.nll(em, tg[:, :3], ln), "tags must have shape [2, 4] to match emissions [2, 4, 3], got [2, 3]"),
        (lambda: crf.decode(em, paddle.to_tensor([4, 0])),
         "lengths must be in [1, 4] (the time dimension of emissions), got [0]"),
        (lambda: crf.log_partition(em, paddle.to_tensor([5, 2])),
         "lengths must be in [1, 4] (the time dimension of emissions), got [5]"),
        (lambda: crf.nll(em, paddle.to_tensor([[0, 1, 3, 0], [0, 1, -1, 9]]), ln),
         "tags within each length must be in [0, 3), got [3] at (batch, time) [(0, 2)]"),
        (lambda: crf.decode(em, ln.astype("float32")), "lengths must be an integer tensor, got paddle.float32"),
        (lambda: crf.decode(em.astype("int64"), ln), "emissions must be a float tensor, got paddle.int64"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as info:
            call()
        assert message in str(info.value)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"num_tags": 0}, "num_tags must be a positive int, got 0"),
        ({"num_tags": 3, "lr_mult": 0.0}, "lr_mult must be > 0, got 0.0"),
        ({"num_tags": 3, "init": "normal"}, "init must be one of uniform, xavier, got 'normal'"),
        ({"num_tags": 3, "allowed_transitions": np.ones((3, 2), bool)},
         "allowed_transitions must have shape [3, 3], got [3, 2]"),
        ({"num_tags": 3, "allowed_start": np.ones(3)}, "allowed_start must be a bool array, got dtype float64"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        CRF(**kwargs)
    assert message in str(info.value)


# --------------------------------------------------------------------------- export


class _Decoder(paddle.nn.Layer):
    """What the exported inference model ends with: emissions -> CRF decode."""

    def __init__(self, crf):
        super().__init__()
        self.crf = crf

    def forward(self, emissions, lengths):
        return self.crf.decode(emissions, lengths)


@pytest.mark.parametrize("num_tags", [5, 1])
def test_decode_exports_with_to_static_and_jit_save(num_tags, tmp_path):
    allowed, allowed_start = bio_constraints(LABELS[num_tags])
    crf, _ = random_crf(num_tags, seed=21, dtype="float32", allowed_transitions=allowed, allowed_start=allowed_start)
    model = _Decoder(crf)
    model.eval()
    spec = [
        paddle.static.InputSpec([None, None, num_tags], "float32", name="emissions"),
        paddle.static.InputSpec([None], "int64", name="lengths"),
    ]
    static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    prefix = str(tmp_path / "crf_decoder")
    paddle.jit.save(static, prefix)
    loaded = paddle.jit.load(prefix)
    loaded.eval()

    # Two batches with different batch and time sizes, both with max(lengths) < T.
    # The last batch has a NaN emission in sequence 1: the graph flags it, as decode does.
    for time, lengths, poison in [(6, [5, 1, 3], False), (9, [2, 8, 4, 1, 7], False), (4, [4, 3], True)]:
        emissions, _, lens = random_batch(num_tags, time, lengths, seed=time, dtype="float32", pad=0.0)
        emissions[1, 2, 0] = np.nan if poison else emissions[1, 2, 0]
        args = tensors(emissions, lens)
        want_scores, want_paths = crf.decode(*args)
        got_scores, got_paths = loaded(*args)
        assert list(got_paths.shape) == [len(lengths), time]
        np.testing.assert_array_equal(got_paths.numpy(), want_paths.numpy())
        np.testing.assert_allclose(got_scores.numpy(), want_scores.numpy(), rtol=1e-6, atol=1e-6)
        assert np.isnan(got_scores.numpy()).tolist() == [False, poison] + [False] * (len(lengths) - 2)


def test_state_dict_round_trip_keeps_the_constraints():
    allowed, allowed_start = bio_constraints(LABELS[5])
    crf, _ = random_crf(5, seed=8, allowed_transitions=allowed, allowed_start=allowed_start)
    fresh = CRF(5, dtype="float64")
    fresh.set_state_dict(crf.state_dict())
    np.testing.assert_array_equal(fresh.allowed_transitions.numpy(), allowed)
    np.testing.assert_array_equal(fresh.allowed_start.numpy(), allowed_start)
    emissions, _, lens = random_batch(5, 5, [5, 3], seed=8)
    args = tensors(emissions, lens)
    np.testing.assert_array_equal(fresh.decode(*args)[1].numpy(), crf.decode(*args)[1].numpy())


# --------------------------------------------------------------------------- upstream


def test_paddlenlp_linear_chain_crf_still_disagrees_with_brute_force():
    """PaddleNLP's LinearChainCrf normalises with transitions[to, from] (FACTS.md section 3).
    Its log Z equals the brute-force log Z of the *transposed* matrix, while its gold score
    uses [from, to]; so its loss is not a likelihood."""
    layers = pytest.importorskip("paddlenlp.layers")  # same path in paddlenlp 2.8.1 and 3.0.0b4
    num_tags, time, lengths = 4, 4, [4, 2, 1, 3]
    theirs = layers.LinearChainCrf(num_tags, crf_lr=1.0, with_start_stop_tag=False)
    rng = np.random.RandomState(17)
    # Scale 3, so that the two orientations give clearly different log Z.
    transitions = (3.0 * rng.randn(num_tags, num_tags)).astype("float32")  # float32: the class hard-codes it
    theirs.transitions.set_value(transitions)
    emissions, tags, lens = random_batch(num_tags, time, lengths, seed=17, dtype="float32", pad=0.0)
    tags[tags == PAD_TAG] = 0  # it has no masking of padding tags
    em, tg, ln = tensors(emissions, tags, lens)
    their_log_z = theirs(em, ln).numpy()
    their_gold = theirs.gold_score(em, tg, ln).numpy()

    zeros = np.zeros(num_tags)
    t64, e64 = transitions.astype(np.float64), emissions.astype(np.float64)
    hint = "if this fails, upstream may have fixed LinearChainCrf (FACTS §3); revisit"
    discriminating = 0
    for b, n in enumerate(lengths):
        right = brute_force(e64[b], n, zeros, zeros, t64)["log_z"]
        transposed = brute_force(e64[b], n, zeros, zeros, t64.T)["log_z"]
        gold = path_scores(e64[b, :n], tags[b : b + 1, :n], zeros, zeros, t64)[0]
        # Its gold score is right ([from, to]) ...
        np.testing.assert_allclose(their_gold[b], gold, rtol=1e-5, atol=1e-5, err_msg=hint)
        # ... its log Z is that of the transposed matrix (the same thing when n == 1) ...
        np.testing.assert_allclose(their_log_z[b], transposed, rtol=1e-5, atol=1e-5, err_msg=hint)
        # ... and so wrong wherever the two orientations differ (float32 error is ~1e-5).
        if abs(right - transposed) > 1e-3:
            discriminating += 1
            assert abs(their_log_z[b] - right) > 1e-3, f"log Z {their_log_z[b]} ~= brute force {right}: {hint}"
    assert discriminating >= 2, "the test data cannot tell the orientations apart; pick another seed"

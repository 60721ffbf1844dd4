"""Our CRF against Paddle 1.8.5's linear_chain_crf / crf_decoding as PaddleHub 1.5.4's
SequenceLabelTask(add_crf=True) used them (tests/golden/crf.json, recorded by
tools/paddlehub_golden/gen_crf.py), and our Xavier init against the crfw PaddleHub created.

The fixture's crfw [K+2, K] is loaded into our three parameters (row 0 -> start, row 1 -> end,
rows 2.. -> transitions [from, to]); its flat LoD emissions [sum(lengths), K] are padded into
[B, T, K] (the padding holds NaN, which the CRF must never read).

Tolerances, float32 (the fixture's dtype and the model's):

- per-sequence NLL and the mean: ``rtol 1e-6, atol 1e-5``. The costs are up to 17.7; float32
  resolves 1.9e-6 there, and a forward algorithm over 6 steps of logsumexp rounds a few times.
  Paddle 1.8's own cost is 2.6e-6 from the float64 brute force (``bruteforce.max_abs_err``);
  ours is compared with both. Measured (Paddle 2.6.2 and 3.3.1): 3.8e-6 from Paddle 1.8's (2
  ulps at 17.7), 1.2e-6 from the brute force; the mean is identical.
- gradients: ``atol 1e-6``. They are sums of path probabilities over the sequences divided by
  B = 5, |g| < 1; Paddle 1.8's own are within 3.3e-8 of the brute force. Measured: 1.0e-7
  (emissions) and 1.3e-7 (crfw).
- decode: exact paths (the fixture's best paths win by margins far above float32 noise; checked
  below against the brute-force runner-up gap).
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from paddle_ner.crf import CRF, xavier_crfw  # noqa: E402

GOLDEN = json.loads((Path(__file__).parent / "golden" / "crf.json").read_text(encoding="utf-8"))
F32 = np.float32
K = GOLDEN["layout"]["K"]
LENGTHS = GOLDEN["inputs"]["lengths"]
OFFSETS = np.concatenate([[0], np.cumsum(LENGTHS)])


def padded(flat, fill):
    """[sum(lengths), ...] LoD rows -> [B, T, ...] with ``fill`` past each length."""
    flat = np.asarray(flat)
    out = np.full((len(LENGTHS), max(LENGTHS)) + flat.shape[1:], fill, dtype=flat.dtype)
    for b, length in enumerate(LENGTHS):
        out[b, :length] = flat[OFFSETS[b]:OFFSETS[b + 1]]
    return out


def unpadded(batch):
    """[B, T, ...] -> the LoD rows [sum(lengths), ...]."""
    return np.concatenate([batch[b, :length] for b, length in enumerate(LENGTHS)])


def crf_from_crfw(crfw, dtype="float32"):
    crfw = np.asarray(crfw, dtype=F32).astype(dtype)  # the fixture's float32 values, exactly
    crf = CRF(K, dtype=dtype)
    crf.start.set_value(crfw[0])
    crf.end.set_value(crfw[1])
    crf.transitions.set_value(crfw[2:])
    return crf


def assembled(start, end, transitions):
    """Our three pieces back into PaddleHub's [K+2, K] crfw layout."""
    return np.concatenate([np.asarray(start)[None], np.asarray(end)[None], np.asarray(transitions)], axis=0)


@pytest.fixture
def inputs():
    paddle.set_device("cpu")
    em = padded(np.array(GOLDEN["inputs"]["emission"], dtype=F32), np.nan)
    tags = padded(np.array(GOLDEN["inputs"]["labels"], dtype=np.int64), -100)
    emissions = paddle.to_tensor(em, stop_gradient=False)
    return emissions, paddle.to_tensor(tags), paddle.to_tensor(np.array(LENGTHS, dtype=np.int64))


def test_nll_matches_linear_chain_crf(inputs):
    emissions, tags, lengths = inputs
    crf = crf_from_crfw(GOLDEN["inputs"]["crfw"])
    nll = crf.nll(emissions, tags, lengths)
    want = np.array(GOLDEN["outputs"]["cost"], dtype=F32)
    np.testing.assert_allclose(nll.numpy(), want, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(nll.numpy(), GOLDEN["bruteforce"]["nll"], rtol=1e-6, atol=1e-5)
    mean = nll.mean()
    np.testing.assert_allclose(float(mean), float(F32(GOLDEN["outputs"]["loss_mean"])), rtol=1e-6, atol=1e-5)


def test_gradients_of_mean_loss_match(inputs):
    emissions, tags, lengths = inputs
    crf = crf_from_crfw(GOLDEN["inputs"]["crfw"])
    crf.nll(emissions, tags, lengths).mean().backward()
    grad_em = emissions.grad.numpy()
    assert np.all(grad_em[np.isnan(padded(np.zeros((sum(LENGTHS), K), F32), np.nan))] == 0)  # padding: no gradient
    np.testing.assert_allclose(unpadded(grad_em), np.array(GOLDEN["outputs"]["grad_emission_of_mean_loss"], F32),
                               rtol=0, atol=1e-6)
    grad_w = assembled(crf.start.grad.numpy(), crf.end.grad.numpy(), crf.transitions.grad.numpy())
    np.testing.assert_allclose(grad_w, np.array(GOLDEN["outputs"]["grad_crfw_of_mean_loss"], F32), rtol=0, atol=1e-6)


def test_decode_matches_crf_decoding(inputs):
    emissions, _, lengths = inputs
    crf = crf_from_crfw(GOLDEN["inputs"]["crfw"])  # no constraints: crf_decoding is plain Viterbi
    scores, paths = crf.decode(emissions, lengths)
    assert GOLDEN["outputs"]["crf_decoding_lod"] == [OFFSETS.tolist()]
    assert unpadded(paths.numpy()).tolist() == GOLDEN["outputs"]["crf_decoding_path"]
    assert unpadded(paths.numpy()).tolist() == [t for p in GOLDEN["bruteforce"]["paths"] for t in p]
    assert np.all(np.isfinite(scores.numpy()))


def test_decode_margins_are_not_float_noise():
    """The recorded best paths win by clear margins, so an exact-path comparison is fair."""
    crfw = np.array(GOLDEN["inputs"]["crfw"], dtype=np.float64)
    em = np.array(GOLDEN["inputs"]["emission"], dtype=np.float64)
    for b, length in enumerate(LENGTHS):
        e = em[OFFSETS[b]:OFFSETS[b + 1]]
        paths = np.array(list(itertools.product(range(K), repeat=length)))
        scores = crfw[0][paths[:, 0]] + crfw[1][paths[:, -1]] + e[np.arange(length), paths].sum(1)
        if length > 1:
            scores = scores + crfw[2:][paths[:, :-1], paths[:, 1:]].sum(1)
        top = np.sort(scores)[-2:]
        assert top[1] - top[0] > 1e-3, (b, top)


def test_float64_matches_too(inputs):
    """The same in float64, so the float32 comparison above is not hiding a formula difference."""
    emissions, tags, lengths = inputs
    crf = crf_from_crfw(GOLDEN["inputs"]["crfw"], dtype="float64")
    nll = crf.nll(emissions.astype("float64"), tags, lengths)
    np.testing.assert_allclose(nll.numpy(), GOLDEN["bruteforce"]["nll"], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ Xavier init


def test_xavier_limit_is_paddle18s():
    xav = GOLDEN["xavier_crfw"]
    limit = float(np.sqrt(6.0 / ((K + 2) + K)))
    assert limit == pytest.approx(xav["theoretical_limit"], abs=1e-15)
    for run in xav["runs"]:
        (op, attrs), = run["startup_ops"]
        assert op == "uniform_random"
        assert attrs["min"] == pytest.approx(-limit, rel=1e-7) and attrs["max"] == pytest.approx(limit, rel=1e-7)


def test_xavier_init_range_matches_fixture():
    """Our draws lie in the same [-limit, limit] as PaddleHub's recorded crfw values and spread
    the same way (a uniform of that limit has std limit / sqrt(3) = 0.354)."""
    paddle.set_device("cpu")
    xav = GOLDEN["xavier_crfw"]
    limit = xav["theoretical_limit"]
    recorded = np.array([run["value"] for run in xav["runs"]], dtype=F32)  # shape: (4, K+2, K)
    assert recorded.shape[1:] == (K + 2, K)
    ours = []
    for seed in range(len(xav["runs"])):
        paddle.seed(seed)
        crf = CRF(K, init="xavier")
        ours.append(assembled(crf.start.numpy(), crf.end.numpy(), crf.transitions.numpy()))
    ours = np.array(ours)
    for values in (recorded, ours):
        assert np.abs(values).max() <= limit
        # the extremes reach out to the limit (252 draws: P(max |w| < 0.95 limit) = 0.95**252 ~ 2e-6)
        assert values.max() > 0.95 * limit and values.min() < -0.95 * limit
        assert values.std() == pytest.approx(limit / np.sqrt(3.0), rel=0.1)
        assert abs(values.mean()) < 0.1
    # and not the uniform +-0.1 init
    paddle.seed(0)
    uniform = CRF(K)
    assert max(float(paddle.abs(p).max()) for p in (uniform.start, uniform.end, uniform.transitions)) <= 0.1


def test_xavier_init_is_one_crfw_split():
    """start = row 0, end = row 1, transitions = rows 2.. of one xavier_crfw draw."""
    paddle.set_device("cpu")
    paddle.seed(2020)
    crfw = xavier_crfw(K).numpy()
    paddle.seed(2020)
    crf = CRF(K, init="xavier")
    np.testing.assert_array_equal(crf.start.numpy(), crfw[0])
    np.testing.assert_array_equal(crf.end.numpy(), crfw[1])
    np.testing.assert_array_equal(crf.transitions.numpy(), crfw[2:])

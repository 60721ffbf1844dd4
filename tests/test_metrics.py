"""paddle_ner.metrics against its references.

- ``entity_prf`` / ``get_entities`` against seqeval 1.2.2 (default mode) on random, mostly
  malformed, tag sequences: exact float equality.
- ``batch_averaged_prf`` against a worked example computed by hand, against the corpus micro
  numbers when one batch holds everything, and against Paddle's real ``chunk_eval`` op driven
  the way PaddleHub 1.x drove it (skipped where Paddle is not installed).
"""
from __future__ import annotations

import itertools
import random
import warnings

import numpy as np
import pytest

seqeval_metrics = pytest.importorskip("seqeval.metrics")
from seqeval.metrics import sequence_labeling as seqeval_sl  # noqa: E402

from paddle_ner import metrics  # noqa: E402
from paddle_ner.metrics import (  # noqa: E402
    batch_averaged_prf,
    entity_prf,
    format_report,
    get_entities,
)

# The tag set the issue asks for: BIO tags of two types plus a mix of BIOES prefixes for ORG,
# so random draws are malformed almost everywhere (I- after O, E-/S- in a BIO corpus, ...).
MIXED_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-ORG", "S-ORG", "I-ORG", "B-ORG"]
# Strings seqeval still assigns meaning to: odd prefixes, '.', bare prefixes, 'O' with a type,
# a type containing '-'.
WEIRD_TAGS = MIXED_TAGS + ["X-PER", ".-PER", ".", "B", "I-", "O-LOC", "S-PER", "E-LOC",
                           "E-PER", ".-LOC", "B-PER-X", "IPER"]
BIO_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def random_corpus(rng: random.Random, tagset, n_sentences, max_len, p_change=0.3):
    """Gold drawn uniformly from ``tagset``; pred = gold with each tag redrawn w.p. p_change,
    so pred shares many (but not all) entities with gold."""
    gold, pred = [], []
    for _ in range(n_sentences):
        g = [rng.choice(tagset) for _ in range(rng.randint(0, max_len))]
        p = [rng.choice(tagset) if rng.random() < p_change else t for t in g]
        gold.append(g)
        pred.append(p)
    return gold, pred


def seqeval_reference(gold, pred):
    """seqeval's micro P/R/F1 and per-type report (default mode, its warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        micro = (
            seqeval_metrics.precision_score(gold, pred),
            seqeval_metrics.recall_score(gold, pred),
            seqeval_metrics.f1_score(gold, pred),
        )
        report = seqeval_metrics.classification_report(gold, pred, output_dict=True)
    per_type = {k: v for k, v in report.items() if not k.endswith(" avg")}
    return micro, per_type, report["micro avg"]["support"]


def assert_matches_seqeval(gold, pred):
    ours = entity_prf(gold, pred)
    (p, r, f), per_type, n_gold = seqeval_reference(gold, pred)
    # Exact: the same integer counts go through the same float operations.
    assert (ours["precision"], ours["recall"], ours["f1"]) == (p, r, f)
    assert ours["n_gold"] == n_gold
    assert set(ours["per_type"]) == set(per_type)
    assert list(ours["per_type"]) == sorted(per_type)
    for type_, ref in per_type.items():
        mine = ours["per_type"][type_]
        assert mine["precision"] == ref["precision"], type_
        assert mine["recall"] == ref["recall"], type_
        assert mine["f1"] == ref["f1-score"], type_
        assert mine["support"] == ref["support"] == mine["n_gold"], type_
    # Counts are consistent with the ratios they produced.
    assert ours["tp"] == sum(d["tp"] for d in ours["per_type"].values())
    assert ours["n_pred"] == sum(d["n_pred"] for d in ours["per_type"].values())
    return ours


# ---------------------------------------------------------------------------------------------
# seqeval-compatible chunking
# ---------------------------------------------------------------------------------------------


def test_chunk_rules_equal_seqeval_truth_tables():
    prefixes = ["B", "I", "O", "E", "S", ".", "X", "-"]
    types = ["A", "B", "_", ""]
    for prev_tag, tag, prev_type, type_ in itertools.product(prefixes, prefixes, types, types):
        args = (prev_tag, tag, prev_type, type_)
        assert metrics._chunk_ends(*args) == seqeval_sl.end_of_chunk(*args), args
        assert metrics._chunk_starts(*args) == seqeval_sl.start_of_chunk(*args), args


def test_get_entities_equals_seqeval_on_random_sentences():
    rng = random.Random(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about the non-NE tags
        for _ in range(2000):
            tags = [rng.choice(WEIRD_TAGS) for _ in range(rng.randint(0, 12))]
            assert get_entities(tags) == seqeval_sl.get_entities(tags), tags


def test_get_entities_examples():
    assert get_entities(["B-PER", "I-PER", "O", "I-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # I- after a different type starts a new chunk; B- inside a chunk splits it.
    assert get_entities(["B-PER", "I-LOC", "B-LOC", "I-LOC"]) == [
        ("PER", 0, 0), ("LOC", 1, 1), ("LOC", 2, 3)]
    assert get_entities([]) == []


def test_entity_prf_equals_seqeval_on_random_mixed_corpora():
    rng = random.Random(1)
    for trial in range(300):
        gold, pred = random_corpus(rng, MIXED_TAGS, rng.randint(1, 8), 12)
        assert_matches_seqeval(gold, pred)


def test_entity_prf_equals_seqeval_on_weird_tags_and_large_corpus():
    rng = random.Random(2)
    for trial in range(100):
        gold, pred = random_corpus(rng, WEIRD_TAGS, rng.randint(1, 6), 10)
        assert_matches_seqeval(gold, pred)
    # One larger corpus of mostly well-formed BIO with some noise, so scores are not tiny.
    gold, pred = random_corpus(rng, BIO_TAGS, 500, 30, p_change=0.05)
    ours = assert_matches_seqeval(gold, pred)
    assert ours["tp"] > 100


def test_entity_prf_keeps_seqeval_offsets_across_sentences():
    # seqeval chunks the corpus as one stream and never resets a chunk's recorded start, so
    # '.-PER E-PER' (a chunk that closes without opening) inherits the last start seen, here
    # the gold B-LOC of the previous sentence (offset 1) but the stream start (0) in pred.
    # Chunking sentence by sentence would call these PER chunks equal; seqeval does not.
    gold = [["O", "B-LOC"], [".-PER", "E-PER"]]
    pred = [["O", "O"], [".-PER", "E-PER"]]
    out = assert_matches_seqeval(gold, pred)
    assert out["per_type"]["PER"]["tp"] == 0


def test_entity_prf_edge_cases():
    zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 0, "n_gold": 0,
            "per_type": {}}
    # seqeval raises TypeError on a corpus of no sentences; ours defines it as all zeros.
    assert entity_prf([], []) == zero
    assert assert_matches_seqeval([[]], [[]]) == zero
    assert assert_matches_seqeval([[], ["O"]], [[], ["O"]]) == zero

    # No gold entities: recall 0 (0/0), precision 0 (0 correct of 2), f1 0.
    out = assert_matches_seqeval([["O", "O", "O"]], [["B-PER", "O", "B-LOC"]])
    assert (out["tp"], out["n_pred"], out["n_gold"]) == (0, 2, 0)
    assert out["per_type"]["PER"]["support"] == 0  # a type present only in pred

    # No predicted entities.
    out = assert_matches_seqeval([["B-PER", "I-PER", "O"]], [["O", "O", "O"]])
    assert (out["precision"], out["recall"], out["f1"]) == (0.0, 0.0, 0.0)
    assert out["per_type"]["PER"]["support"] == 1

    # All correct.
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG"]]
    out = assert_matches_seqeval(gold, [list(s) for s in gold])
    assert (out["precision"], out["recall"], out["f1"]) == (1.0, 1.0, 1.0)
    assert {t: d["support"] for t, d in out["per_type"].items()} == {"LOC": 1, "ORG": 1, "PER": 1}


def test_entity_prf_rejects_misaligned_or_bad_input():
    with pytest.raises(ValueError, match="gold has 1 sentences but pred has 2"):
        entity_prf([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 1: gold has 2 tags but pred has 1"):
        entity_prf([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="non-empty strings, got ''"):
        entity_prf([["O", ""]], [["O", "O"]])
    with pytest.raises(ValueError, match="non-empty strings, got None"):
        entity_prf([["O"]], [[None]])


def test_entity_prf_is_json_ready():
    out = entity_prf([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    for value in [out["precision"], out["recall"], out["f1"]] + [
            v for d in out["per_type"].values() for v in d.values()]:
        assert type(value) in (int, float)


# ---------------------------------------------------------------------------------------------
# PaddleHub batch-averaged convention
# ---------------------------------------------------------------------------------------------

# Five sentences, batch_size 2 -> batches of 2, 2 and 1 (the last one uneven).
HAND_GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC"],   # PER(0-1), LOC(3)
    ["B-ORG", "I-ORG", "I-ORG"],        # ORG(0-2)
    ["O", "O", "O"],                    # nothing
    ["B-PER"],                          # PER(0)
    ["B-LOC", "I-LOC", "O", "B-PER"],   # LOC(0-1), PER(3)
]
HAND_PRED = [
    ["B-PER", "I-PER", "O", "O"],       # PER(0-1): correct; LOC missed
    ["B-ORG", "I-ORG", "I-ORG"],        # ORG(0-2): correct
    ["O", "B-LOC", "O"],                # LOC(1): spurious
    ["B-PER"],                          # PER(0): correct
    ["I-LOC", "I-LOC", "O", "B-ORG"],   # LOC(0-1) (I- after nothing opens it): correct; ORG wrong
]


def test_batch_averaged_hand_example_uneven_last_batch():
    out = batch_averaged_prf(HAND_GOLD, HAND_PRED, batch_size=2)
    # batch 1 (2 sentences): gold 3, pred 2, correct 2 -> P = 1, R = 2/3,
    #                        F1 = 2 * 1 * 2/3 / (1 + 2/3) = 0.8
    # batch 2 (2 sentences): gold 1, pred 2, correct 1 -> P = 1/2, R = 1, F1 = 2/3
    # batch 3 (1 sentence):  gold 2, pred 2, correct 1 -> P = R = F1 = 1/2
    # Weighted by batch size (2, 2, 1), over 5 sentences:
    #   P  = (2*1   + 2*1/2 + 1*1/2) / 5 = 3.5 / 5          = 0.7
    #   R  = (2*2/3 + 2*1   + 1*1/2) / 5 = (23/6) / 5       = 23/30
    #   F1 = (2*0.8 + 2*2/3 + 1*1/2) / 5 = (103/30) / 5     = 103/150
    # Per-batch values are float32 (as in the op), hence the tolerance.
    assert out["precision"] == pytest.approx(0.7, abs=1e-7)
    assert out["recall"] == pytest.approx(23 / 30, abs=1e-7)
    assert out["f1"] == pytest.approx(103 / 150, abs=1e-7)
    # The Table I signature: averaged F1 is not the harmonic mean of averaged P and R
    # (2 * 0.7 * 23/30 / (0.7 + 23/30) = 0.7318...).
    p, r = out["precision"], out["recall"]
    assert abs(out["f1"] - 2 * p * r / (p + r)) > 0.04
    assert {k: out[k] for k in ("tp", "n_pred", "n_gold", "num_batches", "batch_size",
                                "num_sentences", "num_dropped")} == {
        "tp": 4, "n_pred": 6, "n_gold": 6, "num_batches": 3, "batch_size": 2,
        "num_sentences": 5, "num_dropped": 0}
    # Corpus micro on the same data: 4 correct of 6 predicted and 6 gold -> 2/3 everywhere.
    micro = entity_prf(HAND_GOLD, HAND_PRED)
    assert (micro["precision"], micro["recall"], micro["f1"]) == (4 / 6, 4 / 6, 4 / 6)


def test_batch_averaged_drop_last():
    out = batch_averaged_prf(HAND_GOLD, HAND_PRED, batch_size=2, drop_last=True)
    # Only batches 1 and 2 (4 sentences):
    #   P  = (2*1   + 2*1/2) / 4 = 0.75
    #   R  = (2*2/3 + 2*1)   / 4 = 5/6
    #   F1 = (2*0.8 + 2*2/3) / 4 = 11/15
    assert out["precision"] == pytest.approx(0.75, abs=1e-7)
    assert out["recall"] == pytest.approx(5 / 6, abs=1e-7)
    assert out["f1"] == pytest.approx(11 / 15, abs=1e-7)
    assert (out["num_batches"], out["num_sentences"], out["num_dropped"]) == (2, 4, 1)


def test_batch_without_chunks_scores_zero():
    # chunk_eval gives P = R = F1 = 0 to a batch with no chunks at all, even though the
    # prediction is right, and that zero is averaged in with the batch's weight.
    gold = [["O", "O"], ["B-PER"]]
    out = batch_averaged_prf(gold, [list(s) for s in gold], batch_size=1)
    # batch 1: 0, 0, 0; batch 2: 1, 1, 1 -> (1*0 + 1*1) / 2 = 0.5 each.
    assert (out["precision"], out["recall"], out["f1"]) == (0.5, 0.5, 0.5)
    assert entity_prf(gold, gold)["f1"] == 1.0


def test_batch_averaged_one_batch_equals_corpus_micro_on_bio():
    rng = random.Random(3)
    for trial in range(50):
        gold, pred = random_corpus(rng, BIO_TAGS, rng.randint(1, 40), 15, p_change=0.2)
        micro = entity_prf(gold, pred)
        for batch_size in (len(gold), len(gold) + 7):
            out = batch_averaged_prf(gold, pred, batch_size)
            assert out["num_batches"] == 1
            # chunk_eval's IOB chunking and seqeval's agree on O/B-X/I-X tags, malformed
            # or not: identical counts.
            assert (out["tp"], out["n_pred"], out["n_gold"]) == (
                micro["tp"], micro["n_pred"], micro["n_gold"])
            # P and R are the op's correctly rounded float32 quotients of the same counts.
            assert out["precision"] == float(np.float32(micro["precision"]))
            assert out["recall"] == float(np.float32(micro["recall"]))
            # F1 is formed in float32 from float32 P and R.
            assert out["f1"] == pytest.approx(micro["f1"], abs=1e-6)


def test_chunk_eval_segments_equal_seqeval_on_bio_per_sentence():
    rng = random.Random(4)
    for _ in range(2000):
        tags = [rng.choice(BIO_TAGS) for _ in range(rng.randint(0, 12))]
        ref = {(s, e, t) for t, s, e in seqeval_sl.get_entities(tags)}
        assert metrics._iob_segments(tags, 0) == ref, tags


def test_batch_averaged_rejects_bad_input():
    with pytest.raises(ValueError, match="sentence 0, position 1: .*got 'E-ORG'"):
        batch_averaged_prf([["O", "E-ORG"]], [["O", "O"]], 1)
    with pytest.raises(ValueError, match="got 'B-'"):
        batch_averaged_prf([["O"]], [["B-"]], 1)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        batch_averaged_prf([["O"]], [["O"]], 0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 2.0"):
        batch_averaged_prf([["O"]], [["O"]], 2.0)
    with pytest.raises(ValueError, match="sentence 0: gold has 1 tags but pred has 2"):
        batch_averaged_prf([["O"]], [["O", "O"]], 1)
    empty = batch_averaged_prf([], [], 16)
    assert (empty["precision"], empty["num_batches"], empty["num_sentences"]) == (0.0, 0, 0)


def test_batch_averaged_equal_weighting_hand_example():
    # PaddleHub 1.4-1.7 (what the paper ran): every batch weighs the same, the short last one
    # too. Per-batch values as in test_batch_averaged_hand_example_uneven_last_batch:
    #   P  = (1   + 1/2 + 1/2) / 3 = 2/3
    #   R  = (2/3 + 1   + 1/2) / 3 = 13/18
    #   F1 = (0.8 + 2/3 + 1/2) / 3 = 59/90
    out = batch_averaged_prf(HAND_GOLD, HAND_PRED, 2, "equal")
    assert out["precision"] == pytest.approx(2 / 3, abs=1e-7)
    assert out["recall"] == pytest.approx(13 / 18, abs=1e-7)
    assert out["f1"] == pytest.approx(59 / 90, abs=1e-7)
    assert out["weighting"] == "equal"
    # Everything but the averages is the same as with the default, size, weighting.
    size = batch_averaged_prf(HAND_GOLD, HAND_PRED, 2)
    assert size["weighting"] == "size"
    assert size == batch_averaged_prf(HAND_GOLD, HAND_PRED, 2, weighting="size")
    rest = ("tp", "n_pred", "n_gold", "num_batches", "batch_size", "num_sentences", "num_dropped")
    assert {k: out[k] for k in rest} == {k: size[k] for k in rest}
    # With the short batch dropped, only full batches remain and the two rules coincide.
    dropped = batch_averaged_prf(HAND_GOLD, HAND_PRED, 2, "equal", drop_last=True)
    assert dropped == dict(batch_averaged_prf(HAND_GOLD, HAND_PRED, 2, drop_last=True),
                           weighting="equal")


def test_batch_weightings_agree_bit_for_bit_without_a_short_batch():
    rng = random.Random(6)
    for trial in range(100):
        batch_size = rng.randint(1, 12)  # not only powers of two
        gold, pred = random_corpus(rng, BIO_TAGS, batch_size * rng.randint(1, 6), 12)
        size = batch_averaged_prf(gold, pred, batch_size, "size")
        equal = batch_averaged_prf(gold, pred, batch_size, "equal")
        assert equal == dict(size, weighting="equal")


def test_batch_weighting_equal_gives_a_short_last_batch_full_weight():
    # Two batches of 3 and one of 1: the lone sentence is wrong (P = R = F1 = 0).
    gold = [["B-PER"]] * 7
    pred = [["B-PER"]] * 6 + [["B-LOC"]]
    size = batch_averaged_prf(gold, pred, 3, "size")
    equal = batch_averaged_prf(gold, pred, 3, "equal")
    assert size["f1"] == 6 / 7      # (3 * 1 + 3 * 1 + 1 * 0) / 7
    assert equal["f1"] == 2 / 3     # (3 * 1 + 3 * 1 + 3 * 0) / 9
    assert entity_prf(gold, pred)["f1"] == 6 / 7


def test_batch_weighting_rejects_unknown_values():
    assert metrics.BATCH_WEIGHTINGS == ("size", "equal")
    for bad in ("Equal", "real", None, 1):
        with pytest.raises(ValueError, match=r"weighting must be one of \('size', 'equal'\)"):
            batch_averaged_prf([["O"]], [["O"]], 1, bad)


def test_config_batch_weighting_values_are_the_metric_values():
    # train.batch_weighting is handed straight to batch_averaged_prf(weighting=...), so the
    # config's allowed values and default must be ones the metric accepts.
    from paddle_ner import config

    choices = getattr(config, "CHOICES", {}).get("train.batch_weighting")
    if choices is None:
        pytest.skip("paddle_ner.config has no train.batch_weighting")
    assert set(choices) == set(metrics.BATCH_WEIGHTINGS)
    assert config.Config().train.batch_weighting in metrics.BATCH_WEIGHTINGS


# Label ids as PaddleHub's MSRA dataset numbered them (paddlehub/dataset/msra_ner.py); this is
# the layout chunk_eval's IOB scheme decodes (type = id // 2, B/I = id % 2, O = 2 * 3).
PADDLEHUB_MSRA_LABELS = ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "O"]


def _paddle_chunk_eval():
    """Paddle's chunk_eval op in eager mode, IOB with 3 chunk types (skip if unavailable)."""
    paddle = pytest.importorskip("paddle")
    op = getattr(paddle._C_ops, "chunk_eval", None)  # Paddle 3.x
    if op is not None:
        return paddle, lambda inf, lab, lens: op(inf, lab, lens, 3, "IOB", [])
    legacy = getattr(getattr(paddle, "_legacy_C_ops", None), "chunk_eval", None)  # Paddle 2.6
    if legacy is None:
        pytest.skip("this Paddle build exposes no chunk_eval op")
    return paddle, lambda inf, lab, lens: legacy(
        inf, lab, lens, "num_chunk_types", 3, "chunk_scheme", "IOB", "excluded_chunk_types", [])


def test_batch_averaged_equals_paddle_chunk_eval_driven_like_paddlehub():
    paddle, chunk_eval = _paddle_chunk_eval()
    label_id = {t: i for i, t in enumerate(PADDLEHUB_MSRA_LABELS)}
    rng = random.Random(5)
    gold, pred = random_corpus(rng, BIO_TAGS, 203, 20, p_change=0.15)
    gold[7], pred[7] = [], []  # an empty sentence inside a batch
    batch_size = 16  # 203 = 12 * 16 + 11: uneven last batch

    p_sum = r_sum = f_sum = 0.0
    p_eq = r_eq = f_eq = 0.0
    n_eq = 0
    for begin in range(0, len(gold), batch_size):
        g_batch, p_batch = gold[begin:begin + batch_size], pred[begin:begin + batch_size]
        width = max(1, max(len(s) for s in g_batch))
        pad = label_id["O"]  # PaddleHub padded labels with the last id, O

        def ids(batch):
            return paddle.to_tensor(np.array(
                [[label_id[t] for t in s] + [pad] * (width - len(s)) for s in batch],
                dtype="int64"))

        lens = paddle.to_tensor(np.array([len(s) for s in g_batch], dtype="int64"))
        out = [o.numpy() for o in chunk_eval(ids(p_batch), ids(g_batch), lens)]
        precision, recall, f1, n_pred, n_gold, tp = out

        # Per batch: our float32 scores and counts equal the op's, bit for bit.
        mine = batch_averaged_prf(g_batch, p_batch, batch_size)
        assert (mine["tp"], mine["n_pred"], mine["n_gold"]) == (tp[0], n_pred[0], n_gold[0])
        ours32 = metrics._chunk_eval_scores(mine["tp"], mine["n_pred"], mine["n_gold"])
        assert [x.dtype for x in (precision, recall, f1)] == [np.float32] * 3
        assert ours32 == (precision[0], recall[0], f1[0])

        # SequenceLabelTask._calculate_metrics: np.mean(result) * run_examples, summed. The
        # paper ran numpy 1.x, where np.float32 * int is float64; numpy 2 keeps float32, so
        # state the float64 product explicitly.
        n = len(g_batch)
        p_sum += np.float64(np.mean(precision)) * n
        r_sum += np.float64(np.mean(recall)) * n
        f_sum += np.float64(np.mean(f1)) * n
        # PaddleHub 1.5's py_reader path: run_examples = batch_size for every batch.
        p_eq += np.float64(np.mean(precision)) * batch_size
        r_eq += np.float64(np.mean(recall)) * batch_size
        f_eq += np.float64(np.mean(f1)) * batch_size
        n_eq += batch_size

    out = batch_averaged_prf(gold, pred, batch_size)
    assert out["num_batches"] == 13 and out["num_sentences"] == 203
    assert (out["precision"], out["recall"], out["f1"]) == (
        p_sum / len(gold), r_sum / len(gold), f_sum / len(gold))
    equal = batch_averaged_prf(gold, pred, batch_size, "equal")
    assert (equal["precision"], equal["recall"], equal["f1"]) == (
        p_eq / n_eq, r_eq / n_eq, f_eq / n_eq)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def test_format_report_shows_both_conventions():
    micro = entity_prf(HAND_GOLD, HAND_PRED)
    batch = batch_averaged_prf(HAND_GOLD, HAND_PRED, 2)
    text = format_report(micro, batch)
    lines = text.splitlines()
    assert "seqeval" in lines[0] and "PaddleHub" in lines[0]
    by_name = {line.split()[0]: line.split() for line in lines[3:-1]}
    # type, support, pred, correct, P, R, F1, |, batch P, R, F1
    # LOC: gold s1 LOC(3), s5 LOC(0-1); pred s3 LOC(1), s5 LOC(0-1) -> 1 of 2 and 2.
    assert by_name["LOC"][:7] == ["LOC", "2", "2", "1", "50.00", "50.00", "50.00"]
    assert by_name["LOC"][8:] == ["-", "-", "-"]
    # ORG: gold s2; pred s2, s5 -> 1 of 2.
    assert by_name["ORG"][:7] == ["ORG", "1", "2", "1", "50.00", "100.00", "66.67"]
    # PER: gold s1, s4, s5; pred s1, s4 -> 2 of 2 predicted, 2 of 3 gold, F1 = 0.8.
    assert by_name["PER"][:7] == ["PER", "3", "2", "2", "100.00", "66.67", "80.00"]
    assert by_name["overall"] == ["overall", "6", "6", "4", "66.67", "66.67", "66.67", "|",
                                  "70.00", "76.67", "68.67"]
    assert "3 batches of up to 2 sentences (5 scored)" in lines[-1]
    assert "each batch weighted by its size (PaddleHub 1.8.0)" in lines[-1]
    equal = format_report(micro, batch_averaged_prf(HAND_GOLD, HAND_PRED, 2, "equal"))
    assert "every batch weighted equally (PaddleHub 1.4-1.7)" in equal.splitlines()[-1]
    # A result saved before the weighting was recorded still renders, without the clause.
    legacy = {k: v for k, v in batch.items() if k != "weighting"}
    assert "weighted" not in format_report(micro, legacy).splitlines()[-1]
    # Without the batch-averaged dict: micro columns only.
    only = format_report(micro)
    assert "PaddleHub" not in only and "|" not in only
    assert only.splitlines()[-1].split() == ["overall", "6", "6", "4", "66.67", "66.67", "66.67"]

"""paddle_ner.metrics against tests/golden/metrics.json, recorded from PaddleHub 1.5.4's real code.

The fixture (tools/paddlehub_golden/gen_metrics.py, described in tools/paddlehub_golden/README.md)
holds 37 sentences in 5 batches of 8, 8, 8, 8 and 5, the per-batch label ids exactly as
``fluid.layers.chunk_eval`` (Paddle 1.8.5, IOB, 3 chunk types) saw them, i.e. ``[CLS]`` + the
first ``max_seq_len - 2`` tags + ``[SEP]``, O at both ends, and what PaddleHub made of them:

- ``batches[b].chunk_eval``: the op's float32 P, R, F1 and its three chunk counts;
- ``paddlehub_scores`` and ``end_to_end``: ``SequenceLabelTask._calculate_metrics``'s averages,
  every batch with the same weight (PaddleHub 1.4-1.7, what the paper ran);
- ``for_comparison_not_paddlehub_1_5``: corpus micro, the PaddleHub 1.8.0 weighting by real
  batch size, and the harmonic mean of the reported P and R.

Here the fixture's label ids are mapped to tag strings through its own label list and fed to
``batch_averaged_prf`` / ``entity_prf``; every number must come out equal, bit for bit where
PaddleHub's arithmetic is reproduced (see each test for the one place where it cannot be).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from paddle_ner import metrics
from paddle_ner.metrics import batch_averaged_prf, entity_prf, get_entities

FIXTURE = Path(__file__).resolve().parent / "golden" / "metrics.json"
GOLDEN = json.loads(FIXTURE.read_text(encoding="utf-8"))
SETTINGS = GOLDEN["settings"]
LABELS = SETTINGS["label_list"]           # PaddleHub's MSRA order; id = index
BATCH_SIZE = SETTINGS["batch_size"]       # 8
MAX_SEQ_LEN = SETTINGS["max_seq_len"]     # 32
BATCHES = GOLDEN["batches"]
SENTENCES = GOLDEN["sentences"]
COMPARISON = GOLDEN["for_comparison_not_paddlehub_1_5"]
SCORE_KEYS = ("precision", "recall", "f1")


def to_tags(id_rows):
    """PaddleHub label ids -> tag strings, through the fixture's own label list."""
    return [[LABELS[i] for i in row] for row in id_rows]


GOLD_BATCHES = [to_tags(b["gold_ids"]) for b in BATCHES]
PRED_BATCHES = [to_tags(b["pred_ids"]) for b in BATCHES]
# The whole dev set in batch order: exactly the sequences chunk_eval scored, [CLS]/[SEP] as O.
GOLD = [s for batch in GOLD_BATCHES for s in batch]
PRED = [s for batch in PRED_BATCHES for s in batch]


def f32(x) -> np.float32:
    """A fixture float32 (stored as its shortest round-trip decimal) as the exact float32."""
    return np.float32(x)


def test_fixture_is_what_the_tests_assume():
    # The layout chunk_eval's IOB scheme decodes: type = id // 2, B/I = id % 2, O = 2 * 3 last.
    assert LABELS == ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "O"]
    assert (SETTINGS["chunk_scheme"], SETTINGS["num_chunk_types"]) == ("IOB", 3)
    assert GOLDEN["provenance"]["recorded_with"]["paddlehub"] == "1.5.4"
    assert [len(b) for b in GOLD_BATCHES] == [8, 8, 8, 8, 5]  # a short last batch
    assert [b["sentence_indices"] for b in BATCHES] == [
        list(range(i, min(i + BATCH_SIZE, len(SENTENCES))))
        for i in range(0, len(SENTENCES), BATCH_SIZE)]
    # The ids are the sentences' tags, cut to max_seq_len - 2, between an O for [CLS] and one
    # for [SEP]; so mapping ids back through the label list recovers PaddleHub's input exactly.
    cut = MAX_SEQ_LEN - 2
    for b, gold_batch, pred_batch in zip(BATCHES, GOLD_BATCHES, PRED_BATCHES):
        for i, g, p in zip(b["sentence_indices"], gold_batch, pred_batch):
            assert g == ["O"] + SENTENCES[i]["gold"][:cut] + ["O"]
            assert p == ["O"] + SENTENCES[i]["pred"][:cut] + ["O"]
    assert len(SENTENCES[36]["gold"]) == 40 and len(GOLD[36]) == cut + 2


# ---------------------------------------------------------------------------------------------
# Per batch: chunk_eval
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("b", range(len(BATCHES)))
def test_each_batch_equals_chunk_eval(b):
    ref = BATCHES[b]["chunk_eval"]
    gold, pred = GOLD_BATCHES[b], PRED_BATCHES[b]
    # One batch holding the whole batch: its average is that batch's own chunk_eval output.
    for weighting in metrics.BATCH_WEIGHTINGS:
        out = batch_averaged_prf(gold, pred, len(gold), weighting)
        assert out["num_batches"] == 1
        assert (out["tp"], out["n_pred"], out["n_gold"]) == (
            ref["num_correct_chunks"], ref["num_infer_chunks"], ref["num_label_chunks"])
        for key in SCORE_KEYS:
            assert out[key] == float(f32(ref[key])), (weighting, key)
    # And the op's float32 arithmetic, bit for bit, from the counts.
    ours = metrics._chunk_eval_scores(
        ref["num_correct_chunks"], ref["num_infer_chunks"], ref["num_label_chunks"])
    assert all(isinstance(x, np.float32) for x in ours)
    assert ours == tuple(f32(ref[k]) for k in SCORE_KEYS)
    # The real SequenceLabelTask.eval() saw the same per-batch values, on both input paths.
    for path in ("use_pyreader_True", "use_pyreader_False"):
        state = GOLDEN["end_to_end"][path]["run_states"][b]
        assert tuple(f32(state[k]) for k in SCORE_KEYS) == ours, path


def test_zero_denominator_batches_score_zero_as_in_chunk_eval():
    # Batch 2: gold chunks but no predicted one. Batch 3: predicted chunks but no gold one.
    # chunk_eval gives P = R = F1 = 0 to both, and the zeros go into the average.
    no_pred, no_gold = BATCHES[2]["chunk_eval"], BATCHES[3]["chunk_eval"]
    assert (no_pred["num_infer_chunks"], no_pred["num_label_chunks"]) == (0, 15)
    assert (no_gold["num_infer_chunks"], no_gold["num_label_chunks"]) == (4, 0)
    for b in (2, 3):
        out = batch_averaged_prf(GOLD_BATCHES[b], PRED_BATCHES[b], BATCH_SIZE)
        assert (out["precision"], out["recall"], out["f1"]) == (0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# Over the dev set: the three aggregations
# ---------------------------------------------------------------------------------------------


def test_equal_weighting_equals_paddlehub_1_5_scores_exactly():
    out = batch_averaged_prf(GOLD, PRED, BATCH_SIZE, "equal")
    assert (out["num_batches"], out["num_sentences"], out["num_dropped"]) == (5, 37, 0)
    assert out["weighting"] == "equal"
    ours = {k: out[k] for k in SCORE_KEYS}
    # float64 equality, no tolerance: the recorded _calculate_metrics output, and the real
    # SequenceLabelTask(add_crf=True).eval("dev") on both of its input paths.
    assert ours == GOLDEN["paddlehub_scores"]
    assert ours == GOLDEN["end_to_end"]["use_pyreader_True"]["scores"]
    assert ours == GOLDEN["end_to_end"]["use_pyreader_False"]["scores"]
    # The Table I signature: the averaged F1 is not the harmonic mean of the averaged P and R.
    p, r = out["precision"], out["recall"]
    assert 2 * p * r / (p + r) == COMPARISON["harmonic_mean_of_paddlehub_P_R"]
    assert out["f1"] != pytest.approx(COMPARISON["harmonic_mean_of_paddlehub_P_R"], abs=1e-5)


@pytest.mark.parametrize("path, run_examples", [("use_pyreader_True", BATCH_SIZE),
                                                ("use_pyreader_False", 1)])
def test_paddlehub_calculate_metrics_replayed_with_numpy(path, run_examples):
    # SequenceLabelTask._calculate_metrics (sequence_task.py:151-184@v1.5.0), line for line,
    # on the run states the real task recorded: precision_sum += np.mean(P) * run_examples, ...;
    # precision = precision_sum / sum(run_examples). run_examples is batch_size * device_count
    # with the py_reader (base_task.py:899@v1.5.0, 905@v1.5.4) and len(batch) == 1 with the data
    # feeder (base_task.py:851@v1.5.0, 857@v1.5.4): the same for every batch, short or not.
    states = GOLDEN["end_to_end"][path]["run_states"]
    assert [s["run_examples"] for s in states] == [run_examples] * len(BATCHES)
    sums = dict.fromkeys(SCORE_KEYS, 0)
    total = 0
    for s in states:
        for k in SCORE_KEYS:
            # numpy 1.x: np.float32 * int (two scalars) is float64; numpy 2 would keep float32,
            # so the float64 product is spelled out.
            sums[k] += np.float64(np.mean(np.array([s[k]], dtype=np.float32))) * s["run_examples"]
        total += s["run_examples"]
    replay = {k: float(sums[k] / total) for k in SCORE_KEYS}
    assert replay == GOLDEN["end_to_end"][path]["scores"]
    out = batch_averaged_prf(GOLD, PRED, BATCH_SIZE, "equal")
    assert replay == {k: out[k] for k in SCORE_KEYS}


def test_size_weighting_equals_paddlehub_1_8_style_number():
    out = batch_averaged_prf(GOLD, PRED, BATCH_SIZE, "size")
    assert out["weighting"] == "size"
    ref = COMPARISON["weighted_by_real_batch_size (PaddleHub 1.8.0 style)"]
    sizes = [len(b) for b in GOLD_BATCHES]
    per_batch = [b["chunk_eval"] for b in BATCHES]
    for k in SCORE_KEYS:
        # PaddleHub 1.8.0 (base_task.py:1206@v1.8.0) weighs np.mean(P_b), the exact float32, by
        # the batch's real size. From the exact float32 values that is our number, bit for bit.
        exact = float(np.sum([np.float64(f32(b[k])) * n for b, n in zip(per_batch, sizes)])
                      / np.sum(sizes))
        assert out[k] == exact, k
        # The fixture's comparison number was formed (gen_metrics.py, ``weighted``) from the
        # per-batch values AFTER they were written as shortest float32 decimals (0.45454547
        # instead of 0.4545454680919647...), so it differs from the float32-exact result in the
        # ninth or tenth significant digit. Replaying that shows the decimals are the only cause.
        from_decimals = float(np.sum([b[k] * n for b, n in zip(per_batch, sizes)])
                              / np.sum(sizes))
        assert ref[k] == from_decimals, k
        assert out[k] == pytest.approx(ref[k], rel=1e-8, abs=0), k
    # Here the short last batch (5 of 8) is the best one, so weighting it down lowers every score.
    equal = batch_averaged_prf(GOLD, PRED, BATCH_SIZE, "equal")
    assert all(out[k] < equal[k] for k in SCORE_KEYS)
    # Without the short batch the two rules agree exactly.
    kept = [batch_averaged_prf(GOLD, PRED, BATCH_SIZE, w, drop_last=True)
            for w in metrics.BATCH_WEIGHTINGS]
    assert kept[0] == dict(kept[1], weighting="size") and kept[0]["num_dropped"] == 5


def test_corpus_micro_equals_fixture():
    ref = COMPARISON["corpus_micro"]
    out = entity_prf(GOLD, PRED)
    assert (out["tp"], out["n_pred"], out["n_gold"]) == (
        ref["num_correct_chunks"], ref["num_infer_chunks"], ref["num_label_chunks"]) == (23, 47, 54)
    assert {k: out[k] for k in SCORE_KEYS} == {k: ref[k] for k in SCORE_KEYS}
    # The same counts summed from our per-batch chunk_eval port.
    batch = batch_averaged_prf(GOLD, PRED, BATCH_SIZE, "equal")
    assert (batch["tp"], batch["n_pred"], batch["n_gold"]) == (23, 47, 54)
    # The O at [CLS]/[SEP] changes nothing; the truncation does. Sentence 36's gold ORG at 29-32
    # and its predicted ORG at 29-30 both become ORG(29, 29) once cut to 30 characters, so
    # PaddleHub counted that wrong prediction as correct (and dropped the chunks after it).
    assert entity_prf([s[1:-1] for s in GOLD], [s[1:-1] for s in PRED]) == out
    full = entity_prf([s["gold"] for s in SENTENCES], [s["pred"] for s in SENTENCES])
    assert (full["tp"], full["n_pred"], full["n_gold"]) == (22, 49, 56)


# ---------------------------------------------------------------------------------------------
# IOB edge cases (batch 0) and seqeval
# ---------------------------------------------------------------------------------------------

# Sentence -> (gold chunks, predicted chunks) as (type, start, end_inclusive) in the sentence's
# own positions (no [CLS]), under chunk_eval's IOB reading. The fixture pins their totals.
EDGE_CASES = {
    # I-PER I-PER: an I- at the start opens a chunk, with the gold's span, so it is correct.
    0: ([("PER", 0, 1)], [("PER", 0, 1)]),
    # B-LOC I-ORG: the type switch closes LOC and the I-ORG opens an ORG chunk.
    1: ([("LOC", 1, 2)], [("LOC", 1, 1), ("ORG", 2, 2)]),
    # B-ORG B-ORG is two chunks; B-ORG I-ORG one.
    2: ([("ORG", 0, 0), ("ORG", 1, 1)], [("ORG", 0, 1)]),
    # A span one short is wrong; the LOC is right.
    3: ([("PER", 0, 2), ("LOC", 4, 4)], [("PER", 0, 1), ("LOC", 4, 4)]),
    # A lone I-LOC after O is a chunk.
    4: ([], [("LOC", 1, 1)]),
    # Gold itself opening with I-: the same span as B-PER I-PER, so correct.
    5: ([("PER", 0, 1)], [("PER", 0, 1)]),
    # The first chunk too long (wrong), the second right.
    6: ([("PER", 0, 0), ("PER", 2, 2)], [("PER", 0, 1), ("PER", 2, 2)]),
    # A chunk running up to [SEP] is closed there.
    7: ([("LOC", 0, 3)], [("LOC", 0, 3)]),
}


def _shift(chunks, by=1):
    return {(t, s + by, e + by) for t, s, e in chunks}


def test_edge_cases_in_the_fixture_are_the_ones_listed():
    assert BATCHES[0]["sentence_indices"] == sorted(EDGE_CASES)
    notes = [SENTENCES[i]["note"] for i in EDGE_CASES]
    assert notes[0].startswith("prediction starts with I-")
    assert notes[1].startswith("type switch inside a chunk")
    assert notes[4].startswith("lone I- in prediction")
    assert notes[5].startswith("gold itself starts with I-")


@pytest.mark.parametrize("i", sorted(EDGE_CASES))
def test_edge_case_chunks_chunk_eval_port_and_seqeval_default(i):
    gold_chunks, pred_chunks = EDGE_CASES[i]
    # Our chunk_eval port, on exactly what the op saw ([CLS] ... [SEP], offsets +1).
    as_op = lambda chunks: {(s, e, t) for t, s, e in _shift(chunks)}  # noqa: E731
    assert metrics._iob_segments(GOLD[i], i) == as_op(gold_chunks)
    assert metrics._iob_segments(PRED[i], i) == as_op(pred_chunks)
    # entity_prf's (seqeval-default) chunker agrees on these O/B-X/I-X sequences.
    assert set(get_entities(GOLD[i])) == _shift(gold_chunks)
    assert set(get_entities(PRED[i])) == _shift(pred_chunks)
    # And seqeval 1.2.2 itself, default (conlleval-compatible) mode.
    sl = pytest.importorskip("seqeval.metrics.sequence_labeling")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(sl.get_entities(SENTENCES[i]["gold"])) == set(gold_chunks)
        assert set(sl.get_entities(SENTENCES[i]["pred"])) == set(pred_chunks)


def test_edge_case_totals_are_what_chunk_eval_counted():
    gold = sum(len(g) for g, _ in EDGE_CASES.values())
    pred = sum(len(p) for _, p in EDGE_CASES.values())
    correct = sum(len(set(g) & set(p)) for g, p in EDGE_CASES.values())
    ref = BATCHES[0]["chunk_eval"]
    assert (correct, pred, gold) == (
        ref["num_correct_chunks"], ref["num_infer_chunks"], ref["num_label_chunks"]) == (5, 11, 10)


def _seqeval_batch(gold, pred, **kwargs):
    seqeval = pytest.importorskip("seqeval.metrics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 warnings on batches 2 and 3
        return (seqeval.precision_score(gold, pred, **kwargs),
                seqeval.recall_score(gold, pred, **kwargs),
                seqeval.f1_score(gold, pred, **kwargs))


@pytest.mark.parametrize("b", range(len(BATCHES)))
def test_seqeval_default_mode_agrees_with_chunk_eval_per_batch(b):
    # On O/B-X/I-X, seqeval's default mode and chunk_eval's IOB find the same chunks, and both
    # score a 0/0 ratio as 0. They differ only in precision: chunk_eval works in float32 (P and
    # R are the correctly rounded float32 quotients of the counts, which is float32 of seqeval's
    # float64 quotients exactly; F1 is then formed in float32), seqeval in float64.
    ref = BATCHES[b]["chunk_eval"]
    p, r, f = _seqeval_batch(GOLD_BATCHES[b], PRED_BATCHES[b])
    assert (f32(p), f32(r)) == (f32(ref["precision"]), f32(ref["recall"]))
    assert f == pytest.approx(ref["f1"], abs=1e-7)


def test_seqeval_strict_iob2_disagrees_on_the_edge_cases():
    # Where the conventions do NOT agree: seqeval's strict mode (mode="strict", scheme=IOB2)
    # only accepts chunks that open with B-, so it drops the I--initial chunks of sentences 0
    # (pred), 1 (pred I-ORG), 4 (pred) and 5 (gold). PaddleHub's chunk_eval counted them: the
    # fixture's batch-0 counts (5 correct, 11 predicted, 10 gold) rule the strict reading out.
    seqeval = pytest.importorskip("seqeval.metrics")
    from seqeval.scheme import IOB2

    gold = [SENTENCES[i]["gold"] for i in EDGE_CASES]
    pred = [SENTENCES[i]["pred"] for i in EDGE_CASES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = seqeval.classification_report(gold, pred, mode="strict", scheme=IOB2,
                                               output_dict=True)
        strict_p = seqeval.precision_score(gold, pred, mode="strict", scheme=IOB2)
    micro = report["micro avg"]
    # strict: 9 gold chunks (10 - sentence 5's), 8 predicted (11 - three), 3 correct (5 - s0, s5).
    assert micro["support"] == 9
    assert strict_p == 3 / 8
    assert micro["recall"] == 3 / 9
    ref = BATCHES[0]["chunk_eval"]
    counts = (ref["num_correct_chunks"], ref["num_infer_chunks"], ref["num_label_chunks"])
    assert counts != (3, 8, 9)
    # The default mode, like chunk_eval, gives the fixture's counts (5/11, 5/10) on the same data.
    default = entity_prf(gold, pred)
    assert (default["tp"], default["n_pred"], default["n_gold"]) == (5, 11, 10)
    p, r, _ = _seqeval_batch(gold, pred)
    assert (p, r) == (5 / 11, 5 / 10)


# ---------------------------------------------------------------------------------------------
# Today's Paddle chunk_eval op on the same ids (skipped without Paddle)
# ---------------------------------------------------------------------------------------------


def test_installed_paddle_chunk_eval_reproduces_the_paddle_1_8_numbers():
    from test_metrics import _paddle_chunk_eval

    # The op has not changed since Paddle 1.8.5: fed the fixture's ids (padded with O, with
    # explicit lengths instead of LoD), it returns the recorded per-batch outputs bit for bit.
    paddle, chunk_eval = _paddle_chunk_eval()
    o_id = LABELS.index("O")
    for b in BATCHES:
        width = max(len(s) for s in b["gold_ids"])

        def padded(rows):
            return paddle.to_tensor(np.array([r + [o_id] * (width - len(r)) for r in rows],
                                             dtype="int64"))

        lens = paddle.to_tensor(np.array([len(r) for r in b["gold_ids"]], dtype="int64"))
        p, r, f, n_infer, n_label, n_correct = [
            x.numpy() for x in chunk_eval(padded(b["pred_ids"]), padded(b["gold_ids"]), lens)]
        ref = b["chunk_eval"]
        assert (p[0], r[0], f[0]) == tuple(f32(ref[k]) for k in SCORE_KEYS)
        assert (int(n_infer[0]), int(n_label[0]), int(n_correct[0])) == (
            ref["num_infer_chunks"], ref["num_label_chunks"], ref["num_correct_chunks"])

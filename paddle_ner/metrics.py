"""Entity-level precision, recall and F1 under two conventions, and a report showing both.

1. ``entity_prf``: corpus-level micro P/R/F1 over exact entity spans, the standard NER metric.
   It equals seqeval 1.2.2 in its default (conlleval-compatible, non-strict) mode, including
   on malformed tag sequences, but is computed here in plain Python so that this module does
   not need seqeval (seqeval is the reference in the tests).

2. ``batch_averaged_prf``: the number PaddleHub 1.x printed for ``SequenceLabelTask(add_crf=True)``,
   which is what Table I of the paper reports. Paddle's ``chunk_eval`` op scores each batch, and
   the per-batch precision, recall and F1 are then each averaged over batches. That is why Table
   I's F1 differs from 2PR/(P+R) of its own P and R (FACTS.md section 4). How the batches are
   weighted depends on the PaddleHub version (``weighting``): PaddleHub 1.4-1.7, which the paper
   ran (1.5), gave every batch the same weight (``"equal"``); only 1.8.0 weighted each batch by
   its real size (``"size"``). They differ only when the last batch is short.

Both return fractions in [0, 1] plus the raw counts (``tp``, ``n_pred``, ``n_gold``), so
metrics.json can be audited. ``format_report`` renders both side by side for the console.

Input everywhere: ``gold`` and ``pred`` are sequences of sentences, each a sequence of tag
strings (``"O"``, ``"B-PER"``, ...); sentence ``i`` of ``pred`` must have the same length as
sentence ``i`` of ``gold``.

Nothing here imports Paddle: importing this module costs only numpy.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

__all__ = ["get_entities", "entity_prf", "batch_averaged_prf", "format_report", "BATCH_WEIGHTINGS"]

# ``batch_averaged_prf``'s ``weighting`` values, as in the config field ``train.batch_weighting``:
# "size" = PaddleHub 1.8.0 (weight = real batch size), "equal" = PaddleHub 1.4-1.7 (every batch
# the same weight; the paper ran 1.5).
BATCH_WEIGHTINGS = ("size", "equal")

Tags = Sequence[str]
Corpus = Sequence[Tags]


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_aligned(gold: Corpus, pred: Corpus) -> None:
    """ValueError naming the first sentence where ``gold`` and ``pred`` disagree in length."""
    if len(gold) != len(pred):
        raise ValueError(
            f"gold has {len(gold)} sentences but pred has {len(pred)}; they must be aligned"
        )
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(
                f"sentence {i}: gold has {len(g)} tags but pred has {len(p)}; "
                "every character needs exactly one predicted tag"
            )


def _bad_tag(tag) -> ValueError:
    return ValueError(f"tags must be non-empty strings, got {tag!r}")


# ---------------------------------------------------------------------------------------------
# seqeval-compatible chunking (convention 1)
# ---------------------------------------------------------------------------------------------
# A port of seqeval 1.2.2 metrics/sequence_labeling.py (get_entities, end_of_chunk,
# start_of_chunk) in default mode, suffix=False. The prefix is the tag's FIRST CHARACTER and the
# type is what follows the first '-' after it (``'B-PER'`` -> ``('B', 'PER')``; ``'O'`` and bare
# ``'B'`` have type ``'_'``), so arbitrary strings get the same, lenient, conlleval-style reading
# seqeval gives them: an I-/E- tag after O or after another type opens a chunk, a type change
# closes one, E-/S- close one, and unknown prefixes are carried along by the type rules.


def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval ``end_of_chunk``: did a chunk end just before the current token?"""
    if prev_tag == "E" or prev_tag == "S":
        return True
    if (prev_tag == "B" or prev_tag == "I") and (tag == "B" or tag == "S" or tag == "O"):
        return True
    return prev_tag != "O" and prev_tag != "." and prev_type != type_


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval ``start_of_chunk``: does a chunk start at the current token?"""
    if tag == "B" or tag == "S":
        return True
    if (prev_tag == "E" or prev_tag == "S" or prev_tag == "O") and (tag == "E" or tag == "I"):
        return True
    return tag != "O" and tag != "." and prev_type != type_


def _scan(tags) -> List[Tuple[str, int, int]]:
    """Chunks ``(type, start, end_inclusive)`` of one flat tag stream, exactly as seqeval.

    The stream must already end with the ``'O'`` sentinel seqeval appends. ``begin`` is not reset
    when a chunk closes, just as in seqeval: a few malformed streams (``'.-X'`` then ``'E-X'``)
    close a chunk that never opened, and its start is then the last one recorded.
    """
    prev_tag, prev_type, begin = "O", "", 0
    chunks = []
    for i, tag_str in enumerate(tags):
        if not isinstance(tag_str, str) or not tag_str:
            raise _bad_tag(tag_str)
        tag = tag_str[0]
        type_ = tag_str[1:].split("-", 1)[-1] or "_"
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def get_entities(tags: Tags) -> List[Tuple[str, int, int]]:
    """Entities of one sentence as ``(type, start, end)``, ``end`` INCLUSIVE (seqeval's format).

    Equals ``seqeval.metrics.sequence_labeling.get_entities(list(tags))`` for a flat list of
    tags, for any tag strings. Example: ``['B-PER', 'I-PER', 'O', 'I-LOC']`` ->
    ``[('PER', 0, 1), ('LOC', 3, 3)]``.
    """
    return _scan(list(tags) + ["O"])


def _corpus_entities(sentences: Corpus) -> Dict[str, Set[Tuple[int, int]]]:
    """Type -> set of ``(start, end)`` over the whole corpus, in seqeval's global offsets.

    seqeval flattens a list of sentences with an ``'O'`` after each one and chunks the result as
    one stream; doing the same (rather than chunking sentence by sentence) keeps even its
    malformed-input quirks identical.
    """
    stream: List[str] = []
    for sentence in sentences:
        stream.extend(sentence)
        stream.append("O")
    stream.append("O")  # get_entities' own end sentinel
    by_type: Dict[str, Set[Tuple[int, int]]] = defaultdict(set)
    for type_, start, end in _scan(stream):
        by_type[type_].add((start, end))
    return by_type


def _prf(tp: int, n_pred: int, n_gold: int) -> Tuple[float, float, float]:
    """P, R, F1 as fractions, each 0.0 when its denominator is 0 (seqeval's default value,
    without its warning). The F1 expression is seqeval's, operation for operation, so the
    floats are bit-identical."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    denom = precision + recall
    f1 = 2.0 * precision * recall / denom if denom else 0.0
    return precision, recall, f1


def entity_prf(gold: Corpus, pred: Corpus) -> dict:
    """Corpus-level micro P/R/F1 over exact entity spans, equal to seqeval 1.2.2's default mode.

    Args:
        gold: sentences of gold tags, ``[num_sentences][sentence_len]`` strings.
        pred: predicted tags, same shape as ``gold``.

    Returns:
        ``{"precision", "recall", "f1", "tp", "n_pred", "n_gold", "per_type"}`` where
        ``per_type`` maps every type found in gold OR pred (sorted, as seqeval's
        ``classification_report``) to ``{"precision", "recall", "f1", "support", "tp",
        "n_pred", "n_gold"}``; ``support == n_gold`` (0 for a type only predicted). Values are
        Python floats/ints (JSON-ready). A ratio with a zero denominator is 0.0, as in seqeval.
        An empty corpus gives all zeros (seqeval itself raises TypeError on ``[]``).

    Raises:
        ValueError: sentence counts or lengths differ, or a tag is not a non-empty string.
    """
    _check_aligned(gold, pred)
    gold_entities = _corpus_entities(gold)
    pred_entities = _corpus_entities(pred)

    per_type = {}
    tp_all = n_pred_all = n_gold_all = 0
    for type_ in sorted(set(gold_entities) | set(pred_entities)):
        g = gold_entities.get(type_, set())
        p = pred_entities.get(type_, set())
        tp, n_pred, n_gold = len(g & p), len(p), len(g)
        precision, recall, f1 = _prf(tp, n_pred, n_gold)
        per_type[type_] = {
            "precision": precision, "recall": recall, "f1": f1, "support": n_gold,
            "tp": tp, "n_pred": n_pred, "n_gold": n_gold,
        }
        tp_all += tp
        n_pred_all += n_pred
        n_gold_all += n_gold

    precision, recall, f1 = _prf(tp_all, n_pred_all, n_gold_all)
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "tp": tp_all, "n_pred": n_pred_all, "n_gold": n_gold_all,
        "per_type": per_type,
    }


# ---------------------------------------------------------------------------------------------
# PaddleHub 1.x batch-averaged chunk_eval (convention 2)
# ---------------------------------------------------------------------------------------------
# Port of Paddle's chunk_eval op, chunk_scheme="IOB" (paddle/fluid/operators/chunk_eval_op.h,
# PaddlePaddle/Paddle @ 07a3bbce07bd42ff7467131894f1c3409404de07: GetSegments, ChunkBegin,
# ChunkEnd). The op works on label ids, tag = id % 2 (0 = B, 1 = I) and type = id // 2, with
# id == 2 * num_chunk_types meaning O. PaddleHub's MSRA label list
# ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "O"] (paddlehub/dataset/msra_ner.py @
# 04308cee515488086ca01d657e6da0e5ea2faba5) is laid out that way, so reading tag strings as
# (B|I, type) / O is exactly what the op saw. Only O, B-X and I-X exist in that id space.


def _iob_segments(tags: Tags, where: int) -> Set[Tuple[int, int, str]]:
    """chunk_eval's IOB segments ``(start, end_inclusive, type)`` of one sentence.

    ``None`` stands for the op's "other" chunk type (O). ChunkEnd/ChunkBegin restricted to IOB
    (the op sets tag_end = tag_single = -1):
      end   before i: previous type is not O, and (type changes, or tag i is B);
      begin at i:     type i is not O, and (type changes, or tag i is B).
    So an I-X after O or after another type opens a chunk, as in seqeval.
    """
    segments = set()
    in_chunk = False
    start = 0
    prev_type: Optional[str] = None
    for i, tag_str in enumerate(tags):
        if tag_str == "O":
            tag, type_ = "O", None
        elif isinstance(tag_str, str) and len(tag_str) > 2 and tag_str[:2] in ("B-", "I-"):
            tag, type_ = tag_str[0], tag_str[2:]
        else:
            raise ValueError(
                f"sentence {where}, position {i}: chunk_eval's IOB scheme has only O, B-X and "
                f"I-X labels, got {tag_str!r} (convert BIOES/BMES corpora to BIO first)"
            )
        if in_chunk and prev_type is not None and (type_ != prev_type or tag == "B"):
            segments.add((start, i - 1, prev_type))
            in_chunk = False
        if type_ is not None and (type_ != prev_type or tag == "B"):
            start, in_chunk = i, True
        prev_type = type_
    if in_chunk:
        segments.add((start, len(tags) - 1, prev_type))
    return segments


def _chunk_eval_scores(tp: int, n_pred: int, n_gold: int):
    """The op's float32 outputs: P = 0 if no predicted chunk, R = 0 if no gold chunk,
    F1 = 0 if no correct chunk, else 2*P*R/(P+R), every operation in float32 as in the kernel
    (``static_cast<float>(correct) / num_infer`` ...)."""
    f32 = np.float32
    precision = f32(0) if n_pred == 0 else f32(tp) / f32(n_pred)
    recall = f32(0) if n_gold == 0 else f32(tp) / f32(n_gold)
    f1 = f32(0) if tp == 0 else f32(2) * precision * recall / (precision + recall)
    return precision, recall, f1


def batch_averaged_prf(gold: Corpus, pred: Corpus, batch_size: int, weighting: str = "size", *,
                       drop_last: bool = False) -> dict:
    """P/R/F1 the way PaddleHub 1.x ``SequenceLabelTask(add_crf=True)`` printed them (Table I):
    ``chunk_eval`` (IOB) on each consecutive batch of ``batch_size`` sentences, then precision,
    recall and F1 each a weighted mean of the per-batch values (F1 is not recomputed from P and
    R), in PaddleHub's float32 / float64 arithmetic.

    Why a second convention: the paper's pretrained rows were scored this way, and it differs
    from corpus micro scores (a batch with no predicted chunk has precision 0, one with no gold
    chunk recall 0; the result depends on batch size and order), so comparing with them needs it.
    PaddleHub's code, the float details and what is not modelled: docs/how-it-works.md#metrics.

    Args:
        gold: sentences of gold tags (O/B-X/I-X), ``[num_sentences][sentence_len]``, in the
            order they were batched.
        pred: predicted tags, same shape.
        batch_size: sentences per batch (consecutive, in the given order); >= 1.
        weighting: ``"size"`` (each batch weighted by its real size, PaddleHub 1.8.0) or
            ``"equal"`` (every batch the same weight, PaddleHub 1.4-1.7, what the paper ran).
            The config field ``train.batch_weighting`` selects it.
        drop_last: skip a final partial batch (PaddleHub 1.8.0's dataset API); the reader API
            of the paper's era kept it (default).

    Returns:
        ``{"precision", "recall", "f1", "tp", "n_pred", "n_gold", "num_batches", "batch_size",
        "weighting", "num_sentences", "num_dropped"}``: the three averages as Python floats,
        chunk counts summed over the evaluated batches, and how many sentences were scored /
        dropped. Top level only; per-type rows come from ``entity_prf``.

    Raises:
        ValueError: misaligned input, ``batch_size < 1``, an unknown ``weighting``, or a tag
            outside O/B-X/I-X.
    """
    _check_aligned(gold, pred)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if weighting not in BATCH_WEIGHTINGS:
        raise ValueError(
            f"weighting must be one of {BATCH_WEIGHTINGS} (train.batch_weighting), "
            f"got {weighting!r}"
        )

    p_sum = r_sum = f_sum = 0.0
    total_weight = 0
    tp_all = n_pred_all = n_gold_all = 0
    num_batches = num_sentences = 0
    for begin in range(0, len(gold), batch_size):
        size = min(batch_size, len(gold) - begin)
        if drop_last and size < batch_size:
            break
        tp = n_pred = n_gold = 0
        for i in range(begin, begin + size):
            g = _iob_segments(gold[i], i)
            p = _iob_segments(pred[i], i)
            tp += len(g & p)
            n_pred += len(p)
            n_gold += len(g)
        precision, recall, f1 = _chunk_eval_scores(tp, n_pred, n_gold)
        # float(np.float32) * int: the float64 product numpy 1.x forms for np.float32 * int.
        weight = size if weighting == "size" else batch_size
        p_sum += float(precision) * weight
        r_sum += float(recall) * weight
        f_sum += float(f1) * weight
        total_weight += weight
        tp_all += tp
        n_pred_all += n_pred
        n_gold_all += n_gold
        num_batches += 1
        num_sentences += size

    # PaddleHub would divide by zero on an empty split; zeros keep the report printable.
    def mean(total: float) -> float:
        return total / total_weight if total_weight else 0.0

    return {
        "precision": mean(p_sum), "recall": mean(r_sum), "f1": mean(f_sum),
        "tp": tp_all, "n_pred": n_pred_all, "n_gold": n_gold_all,
        "num_batches": num_batches, "batch_size": batch_size, "weighting": weighting,
        "num_sentences": num_sentences, "num_dropped": len(gold) - num_sentences,
    }


# ---------------------------------------------------------------------------------------------
# Console report
# ---------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100.0 * x:.2f}"


def format_report(micro: dict, batch_avg: Optional[dict] = None) -> str:
    """Plain-text table: ``entity_prf`` per-type and overall rows, next to ``batch_averaged_prf``.

    Percentages with 2 decimals. The batch-averaged columns have an overall row only (see
    ``batch_averaged_prf``); per-type cells there show ``-``, and the last line says how the
    batches were weighted. ``batch_avg=None`` drops them.
    """
    # Type names vary by corpus (Weibo's "PER.NAM"); size the first column to fit them.
    name_w = max([len("overall")] + [len(t) for t in micro["per_type"]]) + 3
    head_micro = (f"{'type':<{name_w}}{'support':>9}{'pred':>8}{'correct':>9}"
                  f"{'P':>9}{'R':>9}{'F1':>9}")

    def cells(values) -> str:
        return "".join(f"{v:>9}" for v in values)

    def row(name: str, d: dict, batch: Optional[dict]) -> str:
        text = (f"{name:<{name_w}}{d['n_gold']:>9}{d['n_pred']:>8}{d['tp']:>9}"
                + cells([_pct(d["precision"]), _pct(d["recall"]), _pct(d["f1"])]))
        if batch_avg is not None:
            text += "  |" + cells([_pct(batch["precision"]), _pct(batch["recall"]),
                                   _pct(batch["f1"])] if batch is not None else ["-"] * 3)
        return text

    title = "corpus micro, exact spans (seqeval)"
    header = head_micro
    if batch_avg is not None:
        title = f"{title:<{len(head_micro)}}  | batch-averaged (PaddleHub 1.x)"
        header += "  |" + cells(["P", "R", "F1"])
    rows = [title, header, "-" * len(header)]
    rows += [row(type_, d, None) for type_, d in micro["per_type"].items()]
    rows.append(row("overall", micro, batch_avg))

    if batch_avg is not None:
        note = (f"batch-averaged: {batch_avg['num_batches']} batches of up to "
                f"{batch_avg['batch_size']} sentences ({batch_avg['num_sentences']} scored")
        if batch_avg["num_dropped"]:
            note += f", {batch_avg['num_dropped']} dropped"
        note += ")"
        weighting = batch_avg.get("weighting")  # absent from results saved before it existed
        if weighting == "equal":
            note += ", every batch weighted equally (PaddleHub 1.4-1.7)"
        elif weighting == "size":
            note += ", each batch weighted by its size (PaddleHub 1.8.0)"
        note += ("; P, R and F1 are each averaged over batches, so F1 is in general not "
                 "2PR/(P+R).")
        rows.append(note)
    return "\n".join(rows)

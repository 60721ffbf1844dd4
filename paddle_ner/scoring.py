"""Scoring a tagger on a corpus in both metric conventions (training's dev evaluation, the
final dev/test report, ``python -m paddle_ner.evaluate``).

* **micro**: corpus-level entity P/R/F1 (seqeval-exact) of every character of every sentence,
  tagged through overlapping windows as prediction does: nothing is truncated.
* **batch_averaged**: PaddleHub 1.x's convention, over the sequences as the model's recipe sees
  them in training (``model.long_sentences``: whole sentences, or the first ``max_seq_len - 2``
  characters; with ``model.crf_specials`` the ``[CLS]``/``[SEP]`` positions too, gold ``O``),
  in consecutive batches of ``train.batch_size`` in file order, weighted by
  ``train.batch_weighting``. With the paper's recipe that is exactly what PaddleHub printed.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import paddle

from paddle_ner.batching import bucket_batches, iterate, make_examples
from paddle_ner.compat import cpu_threads
from paddle_ner.compat_paddle import use_cpu_cores
from paddle_ner.metrics import batch_averaged_prf, entity_prf, get_entities
from paddle_ner.models.registry import cpu_single_thread, predict_batch_size
from paddle_ner.predictor import DynamicEngine, InferenceEngine, check_scores, tag_sentences

Tags = List[str]


def evaluate(tagger, mapper, labels: Sequence[str], corpus, cfg, engine=None) -> dict:
    """``{"micro", "batch_averaged", "sentences", "seconds"}`` (and ``"truncation"`` when the
    recipe truncates: how many gold entities the batch-averaged view cannot see). ``engine``
    tags the sentences (default: the dygraph ``tagger``). Without a ``tagger`` (an export),
    a truncating recipe's batch-averaged view, which decodes ``[CLS]``/``[SEP]`` through the
    tagger, is ``None`` and ``"batch_averaged_note"`` says why."""
    start = time.time()
    sentences = [s.chars for s in corpus.sentences]
    gold = [list(s.tags) for s in corpus.sentences]
    pred = tag_sentences(engine or DynamicEngine(tagger), mapper, labels, sentences, cfg.model.max_seq_len,
                         cfg.model.window_overlap, eval_batch_size(cfg, getattr(engine, "device", None)))
    result = {"micro": entity_prf(gold, pred)}
    view_gold, view_pred = gold, pred
    if cfg.model.long_sentences == "truncate":
        limit = cfg.model.max_seq_len - mapper.num_special
        result["truncation"] = {"characters": limit, **entities_beyond(gold, limit)}
        if tagger is None:
            result.update(batch_averaged=None, sentences=len(sentences), seconds=round(time.time() - start, 2),
                          batch_averaged_note="batch-averaged: not given for an export; this recipe's view "
                                              "decodes [CLS]/[SEP], which only the saved model returns "
                                              "(--engine dynamic)")
            return result
        view_gold, view_pred = truncated_view(tagger, mapper, labels, corpus, cfg)
    result["batch_averaged"] = batch_averaged_prf(view_gold, view_pred, cfg.train.batch_size,
                                                  weighting=cfg.train.batch_weighting)
    result.update(sentences=len(sentences), seconds=round(time.time() - start, 2))
    return result


def evaluate_in_training(tagger, mapper, labels: Sequence[str], corpus, cfg, device: str, processes: int = 1) -> dict:
    """:func:`evaluate` of a model being trained (in eval mode) on the engine ``train.eval_engine``
    picks: ``dynamic`` tags with the tagger itself; ``inference`` (``auto`` on CPU) with a static
    copy of its current weights run by ``paddle.inference``, whose oneDNN kernels tag faster on
    CPU, with identical results. ``processes``: the data-parallel ranks sharing the CPU cores."""
    choice = cfg.train.eval_engine
    if not (choice == "inference" or (choice == "auto" and device == "cpu")):
        return evaluate(tagger, mapper, labels, corpus, cfg)
    single_thread = cpu_single_thread(cfg.model.name)
    spec = [paddle.static.InputSpec([None, None] + list(mapper.input_shape), "int64", "input_ids"),
            paddle.static.InputSpec([None], "int64", "lengths")]
    with tempfile.TemporaryDirectory(prefix="paddle-ner-dev-") as tmp:
        # jit.save converts a copy of forward: the tagger itself stays a dygraph layer
        paddle.jit.save(tagger, str(Path(tmp) / "inference" / "model"), input_spec=spec)
        engine = InferenceEngine(Path(tmp), threads=cpu_threads(single_thread, processes), device=device)
    try:
        return evaluate(tagger, mapper, labels, corpus, cfg, engine=engine)
    finally:
        del engine
        if device == "cpu":  # a paddle.inference run leaves this thread at one math thread
            use_cpu_cores(single_thread, processes)


def eval_batch_size(cfg, device=None) -> int:
    """``train.eval_batch_size``, or where it is 0 the measured best for the model on ``device``
    (default: Paddle's current device) (``registry.predict_batch_size``)."""
    if cfg.train.eval_batch_size:
        return cfg.train.eval_batch_size
    return predict_batch_size(cfg.model.name, device or paddle.device.get_device())


def truncated_view(tagger, mapper, labels: Sequence[str], corpus, cfg) -> Tuple[List[Tags], List[Tags]]:
    """(gold, predicted) tags of each sentence as PaddleHub's reader and CRF saw it: its first
    ``max_seq_len - 2`` characters, with ``O`` at ``[CLS]`` and ``[SEP]`` (gold) and the
    decoder's tags there (predicted) when the tagger puts them in its CRF."""
    sentences = [s.chars for s in corpus.sentences]
    examples = make_examples(sentences, mapper, cfg.model.max_seq_len, cfg.model.window_overlap, truncate=True)
    batches = bucket_batches([len(e.ids) for e in examples], eval_batch_size(cfg), shuffle=False)
    special = ["O"] if tagger.specials else []
    decoded: Dict[int, Tags] = {}
    tagger.eval()
    with paddle.no_grad():
        for batch, (ids, lengths, _) in iterate(examples, batches, mapper.pad_id):
            scores, paths, crf_lengths = tagger.decode_crf(paddle.to_tensor(ids), paddle.to_tensor(lengths))
            check_scores(scores.numpy())
            paths, crf_lengths = paths.numpy(), crf_lengths.numpy()
            for row, index in enumerate(batch):
                decoded[examples[index].sentence] = [labels[i] for i in paths[row, :crf_lengths[row]]]
    limit = cfg.model.max_seq_len - mapper.num_special
    gold = [special + list(s.tags[:limit]) + special for s in corpus.sentences]
    pred = [decoded.get(i, special + special) for i in range(len(sentences))]  # an empty sentence: no example
    return gold, pred


def entities_beyond(gold: Sequence[Tags], limit: int) -> dict:
    """Gold entities that do not lie wholly within the first ``limit`` characters."""
    spans = [(start, end) for tags in gold for _, start, end in get_entities(tags)]
    return {"gold_entities": len(spans), "gold_entities_beyond": sum(end >= limit for _, end in spans)}  # end inclusive

"""Tagging raw text with a trained model: one tag per character, entities with offsets.

Two engines run the same model:

* ``dynamic``: the saved dygraph model (``RUN_DIR/model``), what training evaluates with.
* ``inference``: the static graph written by ``python -m paddle_ner.export`` run through
  ``paddle.inference`` (faster on CPU; what a service would deploy).

Both see the same length-sorted batches of windows, and both decode with the model's CRF
constraints, so their tags agree (``tests/test_export.py`` checks it). Both refuse to return
tags decoded from NaN/inf scores (``NonFiniteScores``), which the CRF marks with a NaN score.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import paddle
import paddle.inference as pi
from paddle.base import core

from paddle_ner.alignment import stitch
from paddle_ner.batching import bucket_batches, iterate, make_examples
from paddle_ner.compat import inference_model_files, use_cpu_cores
from paddle_ner.crf import SCORE_LIMIT
from paddle_ner.denormals import set_flush_denormals, wanted
from paddle_ner.errors import NonFiniteScores, UsageError
from paddle_ner.exporting import ensure_export
from paddle_ner.integrity import verify
from paddle_ner.models import load_mapper, load_model
from paddle_ner.models.registry import bf16_pays, cpu_single_thread, fastest_engine, predict_batch_size
from paddle_ner.provenance import has_bf16
from paddle_ner.tags import spans, to_bio

logger = logging.getLogger(__name__)


class DynamicEngine:
    """Runs a :class:`~paddle_ner.models.Tagger` in dygraph mode."""

    name = "dynamic"

    def __init__(self, tagger):
        self.tagger = tagger

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """ids [B, L] int64, lengths [B] int64 -> paths [B, T] int64."""
        self.tagger.eval()
        with paddle.no_grad():
            scores, paths = self.tagger(paddle.to_tensor(ids), paddle.to_tensor(lengths))
        check_scores(scores.numpy())
        return paths.numpy()


PRECISIONS = ("fp32", "bf16", "auto")


def resolve_precision(precision: str, device: str = "cpu", model: Optional[str] = None) -> str:
    """``fp32`` or ``bf16`` for ``precision``: ``auto`` is bf16 on a CPU that reports
    ``amx_bf16`` or ``avx512_bf16`` for a model bf16 speeds up (``registry.bf16_pays``; any
    model when ``model`` is None), else fp32; bf16 on a CPU without them is refused (oneDNN
    would emulate it, slower than fp32). On GPU the engine always runs fp32."""
    if precision not in PRECISIONS:
        raise UsageError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if device != "cpu":
        return "fp32"
    if precision == "auto":
        return "bf16" if has_bf16() and (model is None or bf16_pays(model)) else "fp32"
    if precision == "bf16" and not has_bf16():
        raise UsageError("--precision bf16: this CPU reports neither amx_bf16 nor avx512_bf16; use fp32")
    return precision


def export_model_key(model_dir: Path) -> Optional[str]:
    """The ``--model`` key an export's manifest names, if it has one."""
    try:
        return json.loads((model_dir / "manifest.json").read_text(encoding="utf-8")).get("model")
    except (OSError, ValueError):
        return None


class InferenceEngine:
    """Runs an exported static graph through ``paddle.inference``.

    ``precision`` (CPU only): ``fp32``, or ``bf16`` = oneDNN's bfloat16 pass
    (``enable_mkldnn_bfloat16``: the ops oneDNN has bf16 kernels for run in bf16, the rest in
    fp32), or ``auto`` (:func:`resolve_precision`). ``self.precision`` is what it resolved to;
    a build without the bf16 kernels the model needs is found on the first call, where ``auto``
    falls back to fp32 and ``bf16`` is refused (UsageError). On CPU it also flushes denormals on
    the math threads (``paddle_ner.denormals``)."""

    name = "inference"

    def __init__(self, model_dir: Path, threads: int = 0, device: str = "cpu", precision: str = "fp32"):
        self.precision = resolve_precision(precision, device, export_model_key(Path(model_dir)))
        self.device = device
        self._requested, self._where = precision, (Path(model_dir), threads, device)
        self._load(*self._where)
        if device == "cpu":  # the predictor runs on the OpenMP threads Paddle already has
            set_flush_denormals(wanted())

    def _load(self, model_dir: Path, threads: int, device: str) -> None:
        model_file, params_file = inference_model_files(model_dir / "inference")
        config = pi.Config(str(model_file), str(params_file))
        if device == "gpu":
            config.enable_use_gpu(256, 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(threads or os.cpu_count() or 1)
            # oneDNN kernels: 71k against 44k characters/s with the plain CPU kernels, shrunk BERT,
            # 256 SIGHAN test sentences, this 2-core CPU. oneDNN caches a plan per input shape and
            # batch widths vary, so the cache is bounded.
            config.enable_mkldnn()
            config.set_mkldnn_cache_capacity(32)
            if self.precision == "bf16":
                config.enable_mkldnn_bfloat16()
        config.disable_glog_info()
        config.switch_ir_optim(True)
        self.predictor = pi.create_predictor(config)
        self.inputs = [self.predictor.get_input_handle(n) for n in self.predictor.get_input_names()]
        self.scores, self.paths = (self.predictor.get_output_handle(n) for n in self.predictor.get_output_names())

    def _without_bf16(self, err: NotImplementedError) -> None:
        """bf16 failed for want of a kernel (paddlepaddle-gpu 2.6.2 on CPU: its bf16 pass inserts
        dequantize ops it has none for): ``auto`` falls back to fp32, an explicit bf16 is refused."""
        failure = str(err).strip().splitlines()[0][:160]
        if self._requested == "bf16":
            raise UsageError(f"--precision bf16: this Paddle build has no oneDNN bf16 kernels for this model "
                             f"({failure}); use --precision fp32") from None
        logger.info("bf16 inference is not available in this Paddle build (%s); running fp32", failure)
        self.precision = "fp32"
        self._load(*self._where)

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """ids [B, L] int64, lengths [B] int64 -> paths [B, T] int64."""
        for handle, array in zip(self.inputs, (ids, lengths)):
            handle.reshape(list(array.shape))
            handle.copy_from_cpu(np.ascontiguousarray(array))
        try:
            self.predictor.run()
        except NotImplementedError as err:
            if self.precision != "bf16":
                raise
            self._without_bf16(err)
            return self(ids, lengths)
        check_scores(self.scores.copy_to_cpu())
        return self.paths.copy_to_cpu()


def check_scores(scores: np.ndarray) -> None:
    """NonFiniteScores unless every best-path score (float [B]) is finite. ``CRF.decode`` gives
    NaN where the emissions were NaN, inf or beyond ``SCORE_LIMIT``: the tags decoded there
    are noise, and returning them would hide a broken model behind plausible output."""
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if bad:
        raise NonFiniteScores(f"the model's scores are NaN, inf or beyond {SCORE_LIMIT:g} for {bad} of {len(scores)} "
                              f"windows of a batch: its weights diverged or are damaged, so its tags would be "
                              f"meaningless; retrain it (e.g. with a lower train.lr)")


def tag_sentences(engine, mapper, labels: Sequence[str], sentences: Sequence[Sequence[str]], max_seq_len: int,
                  overlap: int, batch_size: int = 64) -> List[List[str]]:
    """BIO tags for each sentence (a sequence of characters), exactly one per character.

    Long sentences go through overlapping windows and are stitched; a stitch can put ``I-X``
    after a different tag, which is repaired to ``B-X``. So the output is valid BIO whenever the
    decoder's is: always with ``model.constrained_decoding`` (the default); without it, a
    single window's ``I-X`` after ``O`` is returned as decoded (chunk scorers read it as ``B-X``).
    """
    examples = make_examples(sentences, mapper, max_seq_len, overlap)
    batches = bucket_batches([len(e.ids) for e in examples], batch_size, shuffle=False)
    outputs: List[Optional[np.ndarray]] = [None] * len(examples)
    for batch, (ids, lengths, _) in iterate(examples, batches, mapper.pad_id):
        paths = engine(ids, lengths)
        for row, index in enumerate(batch):
            outputs[index] = paths[row, :lengths[row]]
    windows: Dict[int, list] = {}
    for example, path in zip(examples, outputs):
        windows.setdefault(example.sentence, []).append((example.window, path))
    result: List[List[str]] = []
    for index, chars in enumerate(sentences):
        parts = windows.get(index, [])
        ids = stitch([w for w, _ in parts], [p for _, p in parts]) if parts else []
        tags = [labels[i] for i in ids]
        result.append(to_bio(tags, "BIO")[0] if len(parts) > 1 else tags)
    return result


def entities(text: str, tags: Sequence[str]) -> List[dict]:
    """``[{"type", "start", "end", "text"}]`` with character offsets into ``text``, end exclusive."""
    return [{"type": kind, "start": start, "end": end, "text": text[start:end]} for kind, start, end in spans(tags)]


class Predictor:
    """``Predictor.from_run(RUN_DIR)(["张三在北京。"])`` -> one dict per text:
    ``{"text", "tags" (one per character), "entities"}``."""

    def __init__(self, engine, mapper, labels: Sequence[str], max_seq_len: int, overlap: int, batch_size: int = 64):
        self.engine = engine
        self.mapper = mapper
        self.labels = list(labels)
        self.max_seq_len = max_seq_len
        self.overlap = overlap
        self.batch_size = batch_size

    @classmethod
    def from_run(cls, path, engine: str = "auto", batch_size: Optional[int] = None, device: str = "cpu",
                 precision: str = "fp32", threads: int = 0) -> "Predictor":
        """Load from a run directory (``RUN_DIR/model``) or a saved model / export directory.
        ``engine``: ``auto`` (the fastest measured for the model and device, see
        :func:`resolve_engine`), ``dynamic`` or ``inference``; then as :meth:`load`."""
        engine, model_dir = resolve_engine(path, engine, device)
        return cls.load(model_dir, engine, batch_size, device, precision, threads)

    @classmethod
    def load(cls, model_dir: Path, engine: str, batch_size: Optional[int] = None, device: str = "cpu",
             precision: str = "fp32", threads: int = 0) -> "Predictor":
        """The predictor of a resolved ``(engine, model_dir)``. ``precision`` applies to the
        inference engine on CPU (see :class:`InferenceEngine`); ``batch_size`` defaults to the
        measured best for the model and device (``registry.predict_batch_size``); ``threads``:
        CPU math threads (0: the model's own choice in dygraph, all cores for paddle.inference).
        Call it on the thread that will run the model: Paddle's thread setting is per thread."""
        model_dir = Path(model_dir)
        if engine == "dynamic":
            tagger, mapper, cfg, labels = load_model(model_dir)
            if device == "cpu":
                use_cpu_cores(cpu_single_thread(cfg.name))
                if threads:
                    core.set_num_threads(threads)
            runner = DynamicEngine(tagger)
        elif engine == "inference":
            verify(model_dir, "export")
            mapper, cfg, labels = load_mapper(model_dir)
            runner = InferenceEngine(model_dir, threads=threads, device=device, precision=precision)
        else:
            raise UsageError(f"unknown engine {engine!r} (dynamic or inference)")
        return cls(runner, mapper, labels, cfg.max_seq_len, cfg.window_overlap,
                   batch_size or predict_batch_size(cfg.name, device))

    def tag(self, texts: Sequence[str]) -> List[List[str]]:
        return tag_sentences(self.engine, self.mapper, self.labels, [list(t) for t in texts], self.max_seq_len,
                             self.overlap, self.batch_size)

    def __call__(self, texts: Sequence[str]) -> List[dict]:
        if isinstance(texts, str):
            raise TypeError("Predictor takes a list of texts; wrap a single text in a list")
        # Read the texts once: they are iterated twice below (tagging, then zip), and a generator
        # would be empty the second time, silently returning [] (e.g. predictor(l.strip() for l in f)).
        texts = list(texts)
        return [{"text": text, "tags": tags, "entities": entities(text, tags)}
                for text, tags in zip(texts, self.tag(texts))]


ENGINES = ("auto", "dynamic", "inference")


def resolve_engine(path, engine: str = "auto", device: str = "cpu") -> Tuple[str, Path]:
    """(engine, model directory) to tag with for ``path`` (a run, saved model or export).

    ``auto``: the fastest engine measured for the model and device (``registry.fastest_engine``).
    Where that is ``inference`` and ``path`` is a run or saved model, its export is made once
    into ``RUN/export`` and reused while the model is unchanged (``exporting.ensure_export``);
    where it cannot be made, the dygraph engine, with one warning line. An export directory has
    only the inference engine. ``dynamic`` and ``inference`` force the choice."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r} ({', '.join(ENGINES)})")
    path = Path(path)
    if is_export_dir(path):
        if engine == "dynamic":
            raise UsageError(f"{path}: an export directory has no dygraph weights; point at the run directory for "
                             f"--engine dynamic")
        return "inference", path
    model_dir = find_model_dir(path)
    verify(model_dir, "model", check_hashes=False)  # a damaged model is refused here, in one line
    chosen = fastest_engine(export_model_key(model_dir) or "", device) if engine == "auto" else engine
    if chosen == "dynamic":
        return "dynamic", model_dir
    export = ensure_export(model_dir)
    if export is not None:
        return "inference", export
    if engine == "auto":
        return "dynamic", model_dir  # ensure_export said why, in one line
    raise UsageError(f"{path}: --engine inference needs an export, which could not be written; run "
                     f"`python -m paddle_ner.export {path} --out DIR` and predict from DIR")


def is_export_dir(path: Path) -> bool:
    return (path / "inference").is_dir() and (path / "model.json").is_file()


def find_model_dir(path, exported: bool = False) -> Path:
    """The saved model at ``path``: ``path`` itself or, in a run directory, ``path/model``. With
    ``exported``, a directory written by ``paddle_ner.export`` (``path`` or ``path/export``)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such run directory")
    if exported:
        for candidate in (path, path / "export"):
            if (candidate / "inference").is_dir() and (candidate / "model.json").is_file():
                return candidate
        raise UsageError(f"{path}: no exported static graph here or in {path / 'export'}; "
                         f"run `python -m paddle_ner.export {path}` first")
    for candidate in (path, path / "model"):
        if (candidate / "model.json").is_file():
            return candidate
    if (path / "model.old" / "model.json").is_file():
        # training was killed while swapping in a new best model; model.old is the previous one
        logger.warning("%s: no model/, using model.old (the previous best; the run was interrupted while "
                       "saving a new one; --resume restores it)", path)
        return path / "model.old"
    raise UsageError(f"{path}: not a run directory or saved model (no model.json in it or in {path / 'model'}); "
                     f"train one with `python -m paddle_ner.train`")


def write_jsonl(records, stream) -> None:
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")

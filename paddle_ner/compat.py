"""The one place where Paddle 2.6 / PaddleNLP 2.8 and Paddle 3.x / PaddleNLP 3.0 differ.

The CPU profile runs Paddle 3.3 + PaddleNLP 3.0.0b4; V100 / AI Studio users get Paddle 2.6.2 +
PaddleNLP 2.8.1 (the newest paddlepaddle-gpu on PyPI). Everything else in the package is
written against the API both share.
"""
from __future__ import annotations

import logging


def paddle_major() -> int:
    import paddle

    return int(paddle.__version__.split(".")[0])


def quiet_paddlenlp(level: int = logging.WARNING) -> None:
    """PaddleNLP logs every config and weight file it reads at INFO; keep warnings only."""
    from paddlenlp.utils.log import logger

    logger.set_level(logging.getLevelName(level))


def cpu_threads(single_thread: bool, processes: int = 1) -> int:
    """The CPU math threads :func:`use_cpu_cores` sets: ``PADDLE_NER_THREADS`` if set, else 1
    for a ``single_thread`` model, else this process's share of the cores."""
    import os

    env = os.environ.get("PADDLE_NER_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if single_thread:
        return 1
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def use_cpu_cores(single_thread: bool, processes: int = 1) -> int:
    """Set Paddle's CPU math threads for dygraph work; returns the count.

    Dygraph on CPU runs its GEMMs on one thread unless told otherwise. Transformer encoders get
    this process's share of the cores (a [848, 768] x [768, 3072] matmul: 45 GFLOP/s on one
    thread, 87 on two; full BERT training 48 -> 80 tokens/s, this 2-core machine). A model whose
    per-step GEMMs are too small to split (the BiGRU: training 101 ms/step on one thread, 379 on
    two; see ``registry.cpu_single_thread``) keeps one. ``PADDLE_NER_THREADS`` overrides both
    (not ``OMP_NUM_THREADS``: ``import paddle`` sets that to 1 itself). Running a
    ``paddle.inference`` predictor resets the calling thread to one math thread (93 -> 46
    GFLOP/s), so a process that mixes the two calls this again. ``paddle.base.core`` exists in
    2.6 and 3.x.

    It also sets flush-to-zero / denormals-are-zero on every math thread (``paddle_ner.denormals``;
    ``PADDLE_NER_DENORMALS=keep`` opts out): a training whose gradients drift into float32
    denormals otherwise slows down step after step inside the GEMMs."""
    from paddle.base import core

    threads = cpu_threads(single_thread, processes)
    core.set_num_threads(threads)
    from paddle_ner.denormals import set_flush_denormals, wanted

    set_flush_denormals(wanted())
    return threads


def transformers():
    """``paddlenlp.transformers``, imported on first use (it costs ~4 s and 0.5 GB)."""
    import paddlenlp.transformers as module

    quiet_paddlenlp()
    return module


def viterbi_decode(potentials, transitions, lengths):
    """``paddle.text.viterbi_decode(..., include_bos_eos_tag=False)`` with outputs that later
    ops can consume inside ``paddle.jit.to_static``, on Paddle 2.6 and 3.x.

    The op's kernel writes correct tensors, but its static-graph metadata is wrong, and ops
    that consume the outputs are built from that metadata:

    - Paddle 3.x (PIR): ``ViterbiDecodeInferMeta`` declares ``scores`` with the dtype of
      ``lengths`` (int64) and never sets ``path`` (left float32, shape [0]), so the next op
      fails at run time with a dtype mismatch. The declared types are restated here.
    - Paddle 2.6 (legacy static graph): ``scores`` is declared int64 as well, and ``path`` has
      no usable rank. The declared dtype is restated and ``path`` reshaped to 2-D.

    Dynamic mode passes straight through.

    Args: potentials float [B, T, K]; transitions float [K, K] (``[from, to]``); lengths
    int64 [B]. Returns: (scores float [B], path int64 [B, max(lengths)]).
    """
    import paddle

    scores, path = paddle.text.viterbi_decode(potentials, transitions, lengths, include_bos_eos_tag=False)
    if paddle.in_dynamic_mode():
        return scores, path
    pir = getattr(paddle, "pir", None)
    if getattr(pir, "Value", None) is not None and isinstance(path, pir.Value):
        scores.set_type(pir.create_shaped_type(potentials.type(), [-1]))
        path.set_type(pir.create_shaped_type(lengths.type(), [-1, -1]))
    else:
        scores.desc.set_dtype(potentials.dtype)
        path = paddle.reshape(path, [paddle.shape(lengths)[0], -1])
    return scores, path


def to_static(layer, input_spec):
    """``paddle.jit.to_static`` in whole-graph (AST) mode. Paddle 2.6's default bytecode
    translator (SOT) fails on ``nn.GRU`` with numpy 2; the AST path traces every model here on
    both versions."""
    import paddle

    return paddle.jit.to_static(layer, input_spec=input_spec, full_graph=True)


def inference_model_files(prefix_dir):
    """(program file, params file) of a ``paddle.jit.save``'d model in ``prefix_dir/model.*``.
    Paddle 3.x writes the program as PIR JSON (``model.json``), Paddle 2.6 as ``model.pdmodel``."""
    from pathlib import Path

    prefix_dir = Path(prefix_dir)
    params = prefix_dir / "model.pdiparams"
    for name in ("model.json", "model.pdmodel"):
        if (prefix_dir / name).is_file() and params.is_file():
            return prefix_dir / name, params
    raise FileNotFoundError(f"no exported model (model.json or model.pdmodel + model.pdiparams) in {prefix_dir}")



def quiet_imports() -> None:
    """Hide the warnings Paddle and its dependencies print on import (no ccache, setuptools
    replacing distutils), which say nothing about the user's run. CLIs call this first."""
    import warnings

    warnings.filterwarnings("ignore", message="No ccache found")
    warnings.filterwarnings("ignore", message="Setuptools is replacing distutils")
    warnings.filterwarnings("ignore", message=".*distutils.*deprecated", category=DeprecationWarning)

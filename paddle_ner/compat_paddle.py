"""The half of :mod:`paddle_ner.compat` that calls Paddle, and imports it at the top.

``from paddle_ner.compat import use_cpu_cores`` (and the other names here) still works: compat
loads this module on first use, so that the CLIs, which import compat at the top, start fast.
"""
from __future__ import annotations

import paddle
from paddle.base import core  # in Paddle 2.6 and 3.x

from paddle_ner.compat import cpu_threads
from paddle_ner.denormals import set_flush_denormals, wanted


def paddle_major() -> int:
    return int(paddle.__version__.split(".")[0])


def use_cpu_cores(single_thread: bool, processes: int = 1) -> int:
    """Set Paddle's CPU math threads for dygraph work to :func:`~paddle_ner.compat.cpu_threads`
    (this process's share of the cores; 1 for a ``single_thread`` model, whose per-step GEMMs
    are too small to split; ``PADDLE_NER_THREADS`` overrides both); returns the count.

    Why: dygraph on CPU runs its GEMMs on one thread unless told otherwise (``OMP_NUM_THREADS``
    cannot tell it: ``import paddle`` sets that to 1 itself), and a ``paddle.inference`` run
    resets the calling thread to one, so a process that mixes the two calls this again. Also
    sets flush-to-zero / denormals-are-zero on every math thread (``paddle_ner.denormals``;
    ``PADDLE_NER_DENORMALS=keep`` opts out). Figures: ``docs/performance.md``."""
    threads = cpu_threads(single_thread, processes)
    core.set_num_threads(threads)
    set_flush_denormals(wanted())
    return threads


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
    return paddle.jit.to_static(layer, input_spec=input_spec, full_graph=True)

"""The one place where Paddle 2.6 / PaddleNLP 2.8 and Paddle 3.x / PaddleNLP 3.0 differ.

The CPU profile runs Paddle 3.3 + PaddleNLP 3.0.0b4; V100 / AI Studio users get Paddle 2.6.2 +
PaddleNLP 2.8.1 (the newest paddlepaddle-gpu on PyPI). Everything else in the package is
written against the API both share.

This module imports neither Paddle nor PaddleNLP, so every CLI imports it at the top and its
``--help`` stays fast. The helpers that call Paddle live in :mod:`paddle_ner.compat_paddle`
(which imports it at the top); their names are reachable here too (``from paddle_ner.compat
import use_cpu_cores``) and load that module on first use. PaddleNLP loads only in
:func:`transformers`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from paddle_ner import _quiet_import_warnings

# Served by paddle_ner.compat_paddle, imported on first access (PEP 562 module __getattr__).
PADDLE_HELPERS = ("paddle_major", "use_cpu_cores", "viterbi_decode", "to_static")


def __getattr__(name):
    if name in PADDLE_HELPERS:
        from paddle_ner import compat_paddle  # lazily: it imports Paddle; the CLIs import this module

        return getattr(compat_paddle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def quiet_imports() -> None:
    """Hide the warnings Paddle and its dependencies print on import (no ccache, setuptools
    replacing distutils), which say nothing about the user's run. Importing ``paddle_ner`` has
    already done so; CLIs call this first in case the filters were reset since."""
    _quiet_import_warnings()


def quiet_paddlenlp(level: int = logging.WARNING) -> None:
    """PaddleNLP logs every config and weight file it reads at INFO; keep warnings only."""
    from paddlenlp.utils.log import logger  # PaddleNLP, lazily: see transformers()

    logger.set_level(logging.getLevelName(level))


def transformers():
    """``paddlenlp.transformers``, imported on first use."""
    # Lazy on purpose: it costs ~4 s and 0.5 GB, and models.registry (imported by the CLIs'
    # argument parsers) holds its class names without needing it.
    import paddlenlp.transformers as module

    quiet_paddlenlp()
    return module


def cpu_threads(single_thread: bool, processes: int = 1) -> int:
    """The CPU math threads :func:`~paddle_ner.compat_paddle.use_cpu_cores` sets:
    ``PADDLE_NER_THREADS`` if set, else 1 for a ``single_thread`` model, else this process's
    share of the cores."""
    env = os.environ.get("PADDLE_NER_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if single_thread:
        return 1
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def inference_model_files(prefix_dir):
    """(program file, params file) of a ``paddle.jit.save``'d model in ``prefix_dir/model.*``.
    Paddle 3.x writes the program as PIR JSON (``model.json``), Paddle 2.6 as ``model.pdmodel``."""
    prefix_dir = Path(prefix_dir)
    params = prefix_dir / "model.pdiparams"
    for name in ("model.json", "model.pdmodel"):
        if (prefix_dir / name).is_file() and params.is_file():
            return prefix_dir / name, params
    raise FileNotFoundError(f"no exported model (model.json or model.pdmodel + model.pdiparams) in {prefix_dir}")

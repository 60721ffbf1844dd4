"""paddle-ner: Chinese NER with pre-trained encoders + FC + CRF in PaddlePaddle.

Importing the package is cheap: Paddle and PaddleNLP load only when a module that needs
them is imported (``from paddle_ner import Predictor`` imports Paddle on first use).

On import it does two things, here because every entry point, script and
``paddle.distributed.launch`` rank passes through here before Paddle loads. First
:func:`paddle_ner.mkl_dispatch.fix_dispatch`: on an AMD processor MKL must be told its code path
before Paddle's first matrix product. Then it hides the few warnings Paddle and its dependencies
print on import (no ccache, setuptools replacing distutils), which say nothing about the
user's run.
"""
import warnings

from paddle_ner.mkl_dispatch import fix_dispatch as _fix_mkl_dispatch

__version__ = "0.1.0"

__all__ = ["Predictor", "__version__"]

_fix_mkl_dispatch()


def _quiet_import_warnings() -> None:
    """Ignore exactly these import-time warnings (``compat.quiet_imports`` re-applies them)."""
    warnings.filterwarnings("ignore", message="No ccache found")
    warnings.filterwarnings("ignore", message="Setuptools is replacing distutils")
    warnings.filterwarnings("ignore", message=".*distutils.*deprecated", category=DeprecationWarning)


_quiet_import_warnings()


def __getattr__(name):
    if name == "Predictor":
        from paddle_ner.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'paddle_ner' has no attribute {name!r}")

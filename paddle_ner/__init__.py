"""paddle-ner: Chinese NER with pre-trained encoders + FC + CRF in PaddlePaddle.

Importing the package is cheap: Paddle and PaddleNLP load only when a module that needs
them is imported (``from paddle_ner import Predictor`` imports Paddle on first use).

The one thing it does on import is :func:`paddle_ner.mkl_dispatch.fix_dispatch`: on an AMD
processor MKL must be told its code path before Paddle's first matrix product, and every entry
point, script and ``paddle.distributed.launch`` rank passes through here first.
"""
from paddle_ner.mkl_dispatch import fix_dispatch as _fix_mkl_dispatch

__version__ = "0.1.0"

__all__ = ["Predictor", "__version__"]

_fix_mkl_dispatch()


def __getattr__(name):
    if name == "Predictor":
        from paddle_ner.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'paddle_ner' has no attribute {name!r}")

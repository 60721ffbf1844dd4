"""paddle-ner: Chinese NER with pre-trained encoders + FC + CRF in PaddlePaddle.

Importing the package is cheap: Paddle and PaddleNLP load only when a module that needs
them is imported (``from paddle_ner import Predictor`` imports Paddle on first use).
"""
__version__ = "0.1.0"

__all__ = ["Predictor", "__version__"]


def __getattr__(name):
    if name == "Predictor":
        from paddle_ner.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'paddle_ner' has no attribute {name!r}")

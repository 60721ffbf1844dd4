"""paddle-ner: Chinese NER with pre-trained encoders + FC + CRF in PaddlePaddle.

Importing the package is cheap: Paddle and PaddleNLP load only when a module that needs
them is imported.
"""
__version__ = "0.1.0"

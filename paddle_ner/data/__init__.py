"""Data layer: readers for the corpora, named datasets and splits, the label vocabulary.

``python -m paddle_ner.data stats PATH`` prints a corpus's counts (see ``__main__``).
"""
from paddle_ner.data.datasets import DATASETS, Splits, load_splits
from paddle_ner.data.labels import LabelVocab
from paddle_ner.data.readers import FORMATS, Corpus, Sentence, detect_format, read_corpus, write_corpus

__all__ = [
    "DATASETS",
    "FORMATS",
    "Corpus",
    "LabelVocab",
    "Sentence",
    "Splits",
    "detect_format",
    "load_splits",
    "read_corpus",
    "write_corpus",
]

"""Data layer: readers for the corpora, named datasets and splits, the label vocabulary.

``python -m paddle_ner.data stats|convert|split`` looks at, converts and splits corpus files
(see ``__main__``); ``spans`` reads and writes the annotation tools' span formats.
"""
from paddle_ner.data.datasets import DATASETS, Splits, load_splits
from paddle_ner.data.labels import LabelVocab
from paddle_ner.data.readers import (ALL_FORMATS, FORMATS, SPAN_FORMATS, Corpus, Sentence, detect_format, read_corpus,
                                     write_corpus)
from paddle_ner.data.spans import write_doccano, write_jsonl, write_label_studio, write_label_studio_predictions

__all__ = [
    "ALL_FORMATS",
    "DATASETS",
    "FORMATS",
    "SPAN_FORMATS",
    "Corpus",
    "LabelVocab",
    "Sentence",
    "Splits",
    "detect_format",
    "load_splits",
    "read_corpus",
    "write_corpus",
    "write_doccano",
    "write_jsonl",
    "write_label_studio",
    "write_label_studio_predictions",
]

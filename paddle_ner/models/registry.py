"""The paper's five systems, keyed by ``--model``.

The four pretrained encoders are PaddleNLP checkpoints; their architectures ship inside
PaddleNLP as config tables, so they can be built offline with random weights (tests, the
benchmark, pipeline checks) and downloaded for real on users' machines.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Dict

from paddle_ner.compat import transformers


@dataclass(frozen=True)
class EncoderSpec:
    checkpoint: str  # PaddleNLP id of the checkpoint the paper fine-tuned
    model_class: str  # classes in paddlenlp.transformers
    config_class: str
    tokenizer_class: str
    config_module: str  # where PaddleNLP ships the architecture table
    config_table: str
    note: str = ""

    def model_cls(self):
        return getattr(transformers(), self.model_class)

    def config_cls(self):
        return getattr(transformers(), self.config_class)

    def tokenizer_cls(self):
        return getattr(transformers(), self.tokenizer_class)

    def shipped_config(self) -> dict:
        """The architecture of ``checkpoint`` exactly as PaddleNLP ships it."""
        transformers()  # quiets PaddleNLP's logger before the import below
        table = getattr(importlib.import_module(self.config_module), self.config_table)
        return dict(table[self.checkpoint])


PRETRAINED: Dict[str, EncoderSpec] = {
    "bert": EncoderSpec(
        "bert-base-chinese", "BertModel", "BertConfig", "BertTokenizer",
        "paddlenlp.transformers.bert.configuration", "BERT_PRETRAINED_INIT_CONFIGURATION",
    ),
    "ernie": EncoderSpec(
        "ernie-1.0", "ErnieModel", "ErnieConfig", "ErnieTokenizer",
        "paddlenlp.transformers.ernie.configuration", "ERNIE_PRETRAINED_INIT_CONFIGURATION",
    ),
    "ernie_tiny": EncoderSpec(
        "ernie-tiny", "ErnieModel", "ErnieConfig", "ErnieTokenizer",
        "paddlenlp.transformers.ernie.configuration", "ERNIE_PRETRAINED_INIT_CONFIGURATION",
        # ErnieTinyTokenizer segments words first (FACTS §2); labels are per character, so
        # ernie-tiny reads its vocab.txt one character at a time through ErnieTokenizer. How a
        # character is looked up is model.char_lookup: plainly (ours), or only as "\u2581c", as
        # PaddleHub 1.x's FullTokenizer(use_sentence_piece_vocab=True) did (the paper recipe).
        note="character-level input through ErnieTokenizer over ernie-tiny's vocab.txt",
    ),
    "roberta": EncoderSpec(
        "hfl/roberta-wwm-ext", "RobertaModel", "RobertaConfig", "RobertaChineseTokenizer",
        "paddlenlp.transformers.roberta.configuration", "PRETRAINED_INIT_CONFIGURATION",
    ),
}

BASELINE = "bigru_crf"
MODEL_KEYS = (BASELINE,) + tuple(PRETRAINED)


def cpu_single_thread(key: str) -> bool:
    """Whether ``--model key`` trains faster on one CPU math thread (``compat.use_cpu_cores``):
    the BiGRU's per-time-step GEMMs are too small to split across cores."""
    return key == BASELINE


def predict_batch_size(key: str, device: str = "cpu") -> int:
    """Sentences per model call that tag fastest (prediction, serving, dev evaluation with
    ``train.eval_batch_size: 0``), by measurement (``make bench``'s ``inference_by_batch``;
    figures in ``docs/performance.md``). On CPU the full-size encoders peak at 16: a batch is as
    wide as its longest sentence, and more rows buy the 2 cores no better GEMM use, only more
    padding; the BiGRU's small per-step GEMMs want 64 or more. On GPU (not measured here) 64."""
    if device.startswith("gpu"):
        return 64
    return 64 if key == BASELINE else 16


def fastest_engine(key: str, device: str = "cpu") -> str:
    """The engine ``predict`` and ``serve`` use by default for ``--model key`` (``--engine
    auto``), by measurement (docs/performance.md): ``inference`` (the export through
    paddle.inference) for the transformer encoders on CPU, ``dynamic`` for the BiGRU, whose
    dygraph ran faster than its export. On GPU (not measured here) ``dynamic``."""
    if device.startswith("gpu"):
        return "dynamic"
    return "dynamic" if key == BASELINE else "inference"


def bf16_pays(key: str) -> bool:
    """Whether oneDNN's bf16 pass speeds up ``--model key``'s export (``--precision auto``): the
    transformer encoders' GEMMs run in bf16 on AMX / AVX512-BF16; the BiGRU's GRU stays fp32,
    so bf16 buys it nothing (figures: ``docs/performance.md``)."""
    return key != BASELINE


def check_model_key(key: str) -> str:
    if key not in MODEL_KEYS:
        raise ValueError(f"unknown model {key!r}; choose one of {', '.join(MODEL_KEYS)}")
    return key

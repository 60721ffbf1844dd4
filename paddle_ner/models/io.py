"""Build, save and load the paper's taggers (``paddle_ner.models`` re-exports this).

A saved model is a directory that prediction needs and nothing else::

    model.json       the model config section and the label list (in vocabulary order)
    model.pdparams   all weights: encoder, FC and CRF
    encoder/         config.json + tokenizer files (pretrained encoders), or
    char_vocab.json  the character vocabulary (BiGRU baseline)
    manifest.json    size and SHA-256 of each file above, written last (see integrity.py)

Loading verifies the manifest first (a truncated, corrupt or half-written directory is
refused with one line naming the file), then rebuilds the encoder from ``encoder/config.json`` with random weights and then
loads ``model.pdparams``, so a saved model never downloads anything.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import paddle

from paddle_ner.alignment import CharVocab, TokenizerCharMapper
from paddle_ner.config import ModelConfig
from paddle_ner.errors import UsageError
from paddle_ner.integrity import read_json, verify, write_manifest
from paddle_ner.models.checkpoints import load_pretrained_model, load_tokenizer, model_from_config
from paddle_ner.models.encoders import BiGRUEncoder, PretrainedEncoder
from paddle_ner.models.lac import check_init_from, init_from_lac
from paddle_ner.models.registry import BASELINE, check_model_key
from paddle_ner.models.tagger import Tagger

__all__ = ["build_model", "save_model", "load_model", "load_mapper", "load_file", "load_state", "save_metadata",
           "save_state", "tagger_for"]


def _baseline_encoder(cfg: ModelConfig, vocab: CharVocab) -> BiGRUEncoder:
    return BiGRUEncoder(len(vocab), cfg.emb_dim, cfg.hidden_size, cfg.num_layers, cfg.emb_lr, cfg.l2,
                        cfg.emb_dropout, len(vocab.bigrams or ()), cfg.bigram_dim, cfg.sparse_embeddings)


def _check_window(cfg: ModelConfig, encoder_config=None) -> None:
    limit = getattr(encoder_config, "max_position_embeddings", None)
    if limit is not None and cfg.max_seq_len > limit:
        raise UsageError(f"model.max_seq_len={cfg.max_seq_len} exceeds {cfg.name}'s {limit} positions")
    special = 0 if cfg.name == BASELINE else 2
    if cfg.max_seq_len - special <= cfg.window_overlap:
        raise UsageError(f"model.window_overlap={cfg.window_overlap} must be smaller than the "
                         f"{cfg.max_seq_len - special} characters a window holds")


def build_model(cfg: ModelConfig, labels: Sequence[str],
                train_chars: Optional[Iterable[Sequence[str]]] = None) -> Tuple[Tagger, object]:
    """A new tagger and its character mapper. Pretrained encoders load ``cfg.pretrained``
    (a PaddleNLP id or a local directory; default the paper's checkpoint); the baseline
    builds its character vocabulary from ``train_chars`` and, with ``cfg.init_from``, starts
    from LAC's weights (``paddle_ner.models.lac``; the record of what it loaded is the
    encoder's ``init_record``)."""
    check_model_key(cfg.name)
    if cfg.init_from is not None:
        check_init_from(cfg)  # before any vocabulary or checkpoint is built
    if cfg.name == BASELINE:
        if train_chars is None:
            raise ValueError("the BiGRU baseline builds its vocabulary from the training characters")
        mapper = CharVocab.build(train_chars, cfg.min_char_freq, bigrams=cfg.bigram_dim > 0,
                                 min_bigram_freq=cfg.min_bigram_freq)
        encoder = _baseline_encoder(cfg, mapper)
        _check_window(cfg)
        if cfg.init_from is not None:
            encoder.init_record = init_from_lac(encoder, mapper, cfg)  # run.json keeps it (train.py)
    else:
        mapper = TokenizerCharMapper(load_tokenizer(cfg.name, cfg.pretrained), lookup=cfg.char_lookup)
        model = load_pretrained_model(cfg.name, cfg.pretrained, cfg.allow_partial_load)
        _check_window(cfg, model.config)
        encoder = PretrainedEncoder(model)
    return tagger_for(encoder, labels, cfg), mapper


def tagger_for(encoder, labels: Sequence[str], cfg: ModelConfig) -> Tagger:
    """The FC + CRF head over ``encoder``, as ``cfg`` sets it up."""
    return Tagger(encoder, labels, dropout=cfg.dropout, crf_lr=cfg.crf_lr, constrained=cfg.constrained_decoding,
                  fc_init_range=cfg.fc_init_range, fc_l2=cfg.fc_l2, crf_init=cfg.crf_init,
                  crf_specials=cfg.crf_specials)


def save_model(directory, tagger: Tagger, mapper, cfg: ModelConfig, labels: Sequence[str]) -> None:
    """Write everything prediction needs into ``directory`` (see the module docstring)."""
    directory = Path(directory)
    save_metadata(directory, mapper, cfg, labels)
    if cfg.name != BASELINE:
        tagger.encoder.model.config.save_pretrained(str(directory / "encoder"))
    save_state(tagger.state_dict(), directory / "model.pdparams")
    write_manifest(directory, "model", model=cfg.name, labels=list(labels))


def save_metadata(directory, mapper, cfg: ModelConfig, labels: Sequence[str]) -> None:
    """Everything of :func:`save_model` but the weights: what an exported graph needs beside it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"model": dataclasses.asdict(cfg), "labels": list(labels)}
    (directory / "model.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    if cfg.name == BASELINE:
        mapper.save(directory)
    else:
        mapper.save(directory / "encoder")


def save_state(state, path: Path) -> None:
    """``paddle.save`` to a temporary name, then rename: a crash never leaves half a file."""
    tmp = Path(str(path) + ".tmp")
    paddle.save(state, str(tmp))
    tmp.replace(path)


def load_mapper(directory) -> Tuple[object, ModelConfig, List[str]]:
    """(character mapper, model config, labels) of a saved or exported model, no weights."""
    directory = Path(directory)
    meta_path = directory / "model.json"
    if not meta_path.is_file():
        raise UsageError(f"{directory}: not a saved model (no model.json)")
    meta = read_json(meta_path)
    try:
        cfg = ModelConfig(**meta["model"])
        labels = list(meta["labels"])
    except (KeyError, TypeError) as err:
        raise UsageError(f"{meta_path}: not a paddle-ner model description ({err})") from None
    if cfg.name == BASELINE:
        mapper = CharVocab.load(directory)
    else:
        mapper = TokenizerCharMapper(load_tokenizer(cfg.name, str(directory / "encoder")), lookup=cfg.char_lookup)
    return mapper, cfg, labels


def load_model(directory) -> Tuple[Tagger, object, ModelConfig, List[str]]:
    """(tagger in eval mode, mapper, model config, labels) from a :func:`save_model` directory."""
    directory = Path(directory)
    verify(directory, "model")
    mapper, cfg, labels = load_mapper(directory)
    if cfg.name == BASELINE:
        encoder = _baseline_encoder(cfg, mapper)
    else:
        encoder = PretrainedEncoder(model_from_config(cfg.name, directory / "encoder"))
    tagger = tagger_for(encoder, labels, cfg)
    load_state(tagger, directory / "model.pdparams")
    tagger.eval()
    return tagger, mapper, cfg, labels


def load_file(path: Path):
    """``paddle.load``, with a missing or unreadable file reported in one line naming it."""
    if not Path(path).is_file():
        raise UsageError(f"{path}: missing")
    try:
        return paddle.load(str(path))
    except Exception as err:  # noqa: BLE001 - pickle, EOF and Paddle's own errors all mean "corrupt"
        raise UsageError(f"{path}: corrupt or truncated, cannot be loaded ({type(err).__name__})") from None


def load_state(layer, path: Path) -> None:
    """Load weights, failing loudly on a missing or unexpected key or a shape that differs
    (``set_state_dict`` only warns, and would leave those weights random)."""
    state = load_file(path)
    if not isinstance(state, dict):
        raise UsageError(f"{path}: not a state dict")
    expected = layer.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise UsageError(f"{path} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    shapes = [(k, list(state[k].shape), list(v.shape)) for k, v in expected.items()
              if list(state[k].shape) != list(v.shape)]
    if shapes:
        k, got, want = shapes[0]
        raise UsageError(f"{path} does not fit the model: {k} has shape {got}, the model needs {want} "
                         f"(another model size or label set)")
    layer.set_state_dict(state)

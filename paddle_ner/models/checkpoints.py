"""Loading the paper's checkpoints: PaddleNLP ids, local directories and PaddleHub 1.x names.

Three promises, each tested in ``tests/test_checkpoints.py``:

* **One clear error.** A checkpoint or tokenizer that cannot be loaded raises
  :class:`PretrainedLoadError` (a :class:`UsageError`: CLIs print one line and exit 2). It
  names the id or directory, the URL, and the real cause: a name that does not resolve, a
  network that is unreachable, an HTTP status, a corrupt file in the download cache, a
  directory without the files. Only a network cause carries the offline advice, and the
  advice names the flag of the command the user ran (:meth:`PretrainedLoadError.advise`).
* **Strict weights.** PaddleNLP's ``from_pretrained`` only *warns* about weights it could not
  place, so a checkpoint whose key names differ would fine-tune from partly random weights. We
  read its missing and unexpected keys and refuse any that belong to the encoder, unless
  ``model.allow_partial_load`` is set. (Unused pretraining heads such as ``cls.*`` are not the
  encoder's; the pooler is frozen and unused for tagging, so a checkpoint without one loads.)
* **PaddleHub 1.x names.** The paper's tool named its encoders by PaddleHub module
  (``ernie``, ``ernie_tiny``, ``bert_chinese_L-12_H-768_A-12``,
  ``roberta_wwm_ext_chinese_L-12_H-768_A-12``). As ``model.pretrained`` they load the same
  weights through their PaddleNLP id, with a one-line note.
"""
from __future__ import annotations

import difflib
import errno
import logging
import socket
from pathlib import Path
from typing import List, Optional, Tuple

from paddle_ner.errors import UsageError
from paddle_ner.models.registry import PRETRAINED

logger = logging.getLogger("paddle_ner")

# PaddleHub 1.x module name -> the PaddleNLP id of the same weights (FACTS §2, §7).
HUB1_MODULES = {
    "ernie": "ernie-1.0",
    "ernie_tiny": "ernie-tiny",
    "bert_chinese_L-12_H-768_A-12": "bert-base-chinese",
    "roberta_wwm_ext_chinese_L-12_H-768_A-12": "hfl/roberta-wwm-ext",
}

# errno values that mean "this machine cannot reach the server", not "the server said no".
NETWORK_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ETIMEDOUT,
                  errno.ECONNRESET, errno.ENETDOWN}


class PretrainedLoadError(UsageError):
    """A checkpoint or tokenizer could not be loaded. ``source`` is the id or directory,
    ``url`` the address tried (or None), ``cause`` what actually went wrong, ``network`` whether
    the cause is an unreachable server (only then is downloading elsewhere the way out)."""

    def __init__(self, what: str, key: str, source: str, url: Optional[str], cause: str, network: bool,
                 advice: Optional[str] = None):
        self.what, self.key, self.source, self.url, self.cause, self.network = what, key, source, url, cause, network
        self.advice = advice if advice is not None else (
            f"pass --set model.pretrained=DIR/{key} (python -m paddle_ner.models.download DIR fills DIR on a "
            f"machine that can download)")
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" from {self.url}" if self.url else ""
        text = f"could not load the {self.what} of --model {self.key}, {self.source!r}{where}: {self.cause}"
        if self.network:
            text += f". This machine cannot reach the server; {self.advice}"
        return text

    def advise(self, advice: str) -> "PretrainedLoadError":
        """The same error with the offline advice of another command (e.g. reproduce's)."""
        return PretrainedLoadError(self.what, self.key, self.source, self.url, self.cause, self.network, advice)


def resolve_source(key: str, source: Optional[str]) -> str:
    """The id or directory to load for ``--model key``: the paper's checkpoint by default; a
    PaddleHub 1.x module name becomes its PaddleNLP id (with a note), or is refused when it
    names another model's weights."""
    spec = PRETRAINED[key]
    if not source:
        return spec.checkpoint
    if Path(source).is_dir() or source not in HUB1_MODULES:
        return source
    target = HUB1_MODULES[source]
    if target != spec.checkpoint:
        owner = next(k for k, s in PRETRAINED.items() if s.checkpoint == target)
        raise UsageError(f"model.pretrained={source!r} is PaddleHub 1.x's module for {target!r}, the checkpoint "
                         f"of --model {owner}, not of --model {key}; use --model {owner}")
    logger.warning("note: model.pretrained=%r is a PaddleHub 1.x module name; loading the same weights as "
                   "PaddleNLP's %r", source, target)
    return target


def load_tokenizer(key: str, source: Optional[str] = None):
    """The tokenizer of ``--model key``, from a PaddleNLP id, a PaddleHub 1.x name or a directory."""
    spec = PRETRAINED[key]
    source = resolve_source(key, source)
    try:
        return spec.tokenizer_cls().from_pretrained(source)
    except Exception as err:  # noqa: BLE001 - PaddleNLP raises OSError, ValueError, requests errors, ...
        raise _load_error("tokenizer", key, source, err, _resource_url(spec.tokenizer_cls(), source)) from err


def load_pretrained_model(key: str, source: Optional[str] = None, allow_partial: bool = False):
    """The pretrained encoder of ``--model key`` with every encoder weight from the checkpoint
    (see the module docstring); ``allow_partial`` accepts missing or unexpected keys with a warning."""
    spec = PRETRAINED[key]
    source = resolve_source(key, source)
    recording, found = _recording_class(spec.model_cls())
    try:
        model = recording.from_pretrained(source)
    except Exception as err:  # noqa: BLE001 - as above
        raise _load_error("checkpoint", key, source, err, _resource_url(spec.model_cls(), source)) from err
    _check_keys(model, key, source, found, allow_partial)
    return model


def model_from_config(key: str, config):
    """An encoder with random weights: from a config dict, or a directory with config.json
    (a run directory's ``encoder/``, whose weights then come with the whole model's)."""
    spec = PRETRAINED[key]
    config_cls = spec.config_cls()
    cfg = config_cls(**config) if isinstance(config, dict) else config_cls.from_pretrained(str(config))
    return spec.model_cls()(cfg)


def _recording_class(model_cls):
    """A subclass of ``model_cls`` that keeps the (missing, unexpected) keys that PaddleNLP's
    ``_load_pretrained_model`` computes and only logs. That method has the same signature and
    return value in PaddleNLP 2.8 and 3.0; the subclass keeps the class's name, so configs it
    saves name the real architecture."""
    found = {}

    def _load_pretrained_model(cls, *args, **kwargs):
        out = super(recording, cls)._load_pretrained_model(*args, **kwargs)
        found["missing"], found["unexpected"] = list(out[1]), list(out[2])
        return out

    recording = type(model_cls.__name__, (model_cls,), {
        "_load_pretrained_model": classmethod(_load_pretrained_model), "__module__": model_cls.__module__})
    return recording, found


def _check_keys(model, key: str, source: str, found: dict, allow_partial: bool) -> None:
    children = {name for name, _ in model.named_children()}
    prefix = getattr(model, "base_model_prefix", "") + "."

    def encoder_key(name: str) -> bool:
        return (name[len(prefix):] if name.startswith(prefix) else name).split(".")[0] in children

    missing = [k for k in found.get("missing", []) if not k.split(".")[0] == "pooler"]
    unexpected = [k for k in found.get("unexpected", []) if encoder_key(k)]
    if not missing and not unexpected:
        return
    listing = "; ".join(f"{what} {len(keys)}: {', '.join(sorted(keys)[:6])}{', ...' if len(keys) > 6 else ''}"
                        for what, keys in (("missing", missing), ("unexpected", unexpected)) if keys)
    if not allow_partial:
        raise UsageError(f"the checkpoint {source!r} does not fit --model {key}'s encoder ({listing}); fine-tuning "
                         f"would start from partly random weights. Check model.pretrained, or accept this with "
                         f"--set model.allow_partial_load=true")
    logger.warning("model.allow_partial_load: %s loaded partly (%s); those weights are random", source, listing)


def _resource_url(cls, source: str) -> Optional[str]:
    """The URL PaddleNLP downloads for a built-in id (weights or vocabulary), if it is one."""
    for files in getattr(cls, "pretrained_resource_files_map", {}).values():
        if source in files:
            return files[source]
    return None


def _chain(err: BaseException) -> List[BaseException]:
    seen: List[BaseException] = []
    while err is not None and all(err is not e for e in seen):
        seen.append(err)
        err = err.__cause__ or err.__context__
    return seen


def _load_error(what: str, key: str, source: str, err: BaseException, url: Optional[str]) -> PretrainedLoadError:
    cause, network, seen_url = _cause(_chain(err))
    url = seen_url or url
    if Path(source).is_dir():
        cause = f"{Path(source)} is not a complete {what} directory ({_first_line(err)})"
        return PretrainedLoadError(what, key, source, None, cause, False)
    if not network and seen_url is None and _cached(source):
        cause = (f"the copy in the download cache {_cached(source)} is corrupt or incomplete ({cause}); delete that "
                 f"directory and run again")
    known = sorted({spec.checkpoint for spec in PRETRAINED.values()} | set(HUB1_MODULES))
    close = difflib.get_close_matches(source, known, n=1, cutoff=0.8)
    if source not in known and close:  # a mistyped id is looked up as a community model, and fails
        cause += f" ({source!r} is not a built-in PaddleNLP id; did you mean {close[0]!r}?)"
    return PretrainedLoadError(what, key, source, url, cause, network)


def _cause(chain: List[BaseException]) -> Tuple[str, bool, Optional[str]]:
    """(what went wrong, whether it is the network, the URL tried) from an exception chain."""
    url = None
    for err in chain:
        request = getattr(err, "request", None)
        response = getattr(err, "response", None)
        url = url or getattr(response, "url", None) or getattr(request, "url", None)
        if response is not None and getattr(response, "status_code", None):
            status = f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".strip()
            hint = " (no such file: is the id spelled right?)" if response.status_code == 404 else ""
            return status + hint, False, url
    for err in chain:
        name = type(err).__name__
        if name == "NameResolutionError" or isinstance(err, socket.gaierror):
            host = getattr(getattr(err, "conn", None), "host", None)
            return f"cannot resolve the host name{' ' + host if host else ''} ({_first_line(err, after=': ')})", True, url
        if "Timeout" in name or isinstance(err, (socket.timeout, TimeoutError)):
            return f"the connection timed out ({name})", True, url
        if isinstance(err, OSError) and err.errno in NETWORK_ERRNOS:
            return f"{err.strerror or _first_line(err)} (errno {err.errno})", True, url
    for err in chain:
        if type(err).__name__ in ("ConnectionError", "NewConnectionError", "MaxRetryError"):
            return f"cannot connect ({_first_line(err)})", True, url
    return f"{type(chain[-1]).__name__}: {_first_line(chain[-1])}", False, url


def _cached(source: str) -> Optional[Path]:
    """PaddleNLP's download-cache directory of ``source`` if it holds any file."""
    try:
        from paddlenlp.utils.env import MODEL_HOME  # PaddleNLP, lazily: see compat.transformers()
    except ImportError:
        return None
    path = Path(MODEL_HOME) / source
    return path if path.is_dir() and any(p.is_file() for p in path.rglob("*")) else None


def _first_line(err: BaseException, after: Optional[str] = None) -> str:
    text = (str(err) or type(err).__name__).strip().splitlines()[0]
    if after and after in text:
        text = text.rsplit(after, 1)[-1]
    return text[:300]

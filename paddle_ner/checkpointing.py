"""A training run's resumable checkpoint and best model, each written whole or not at all.

``RUN_DIR/checkpoint`` holds what ``--resume`` needs to continue exactly where the run
stopped: the weights (``model.pdparams``), the optimiser's moments (``optimizer.pdopt``, under
structured parameter names: :func:`rename_optimizer_state`), the AMP loss scaler when there is
one (``scaler.pdparams``) and the loop's :class:`TrainState` (``state.json``).
``RUN_DIR/model`` is the best model so far (``models.save_model``). Both are written into
``NAME.tmp``, sealed with a manifest and then swapped in (integrity.py), so a crash never
leaves half of either and a half-written checkpoint is never resumed from.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import paddle

from paddle_ner.errors import RunError, UsageError
from paddle_ner.integrity import read_json, recover, verify, write_dir, write_manifest
from paddle_ner.models import load_file, load_state, save_model


@dataclass
class TrainState:
    """Everything besides weights and optimiser moments that ``--resume`` restores."""

    epoch: int = 0  # current epoch (0-based)
    batch_in_epoch: int = 0  # batches of the current epoch already trained
    global_step: int = 0
    best_f1: float = -1.0
    best_step: int = 0
    history: List[dict] = field(default_factory=list)  # {"step", "loss", "lr"} and {"step", "dev_f1", ...}
    train_seconds: float = 0.0
    finished: bool = False


def save_checkpoint(run_dir: Path, tagger, optimizer, scaler, state: TrainState, model_name: str,
                    labels: Sequence[str]) -> None:
    """Write ``run_dir/checkpoint`` from ``tagger``'s weights, ``optimizer``'s state,
    ``scaler``'s (None without AMP) and ``state``; the manifest records ``model_name`` and
    ``labels`` so that :func:`load_checkpoint` can refuse a checkpoint of another run."""

    def write(tmp: Path) -> None:
        paddle.save(tagger.state_dict(), str(tmp / "model.pdparams"))
        paddle.save(rename_optimizer_state(tagger, optimizer.state_dict(), to_structured=True),
                    str(tmp / "optimizer.pdopt"))
        if scaler is not None:
            paddle.save(scaler.state_dict(), str(tmp / "scaler.pdparams"))
        (tmp / "state.json").write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
        write_manifest(tmp, "checkpoint", model=model_name, labels=list(labels), step=state.global_step)

    write_run_dir(run_dir, "checkpoint", write, state.global_step)


def save_best(run_dir: Path, tagger, mapper, model_cfg, labels: Sequence[str], step: int) -> None:
    """Write ``run_dir/model``: everything prediction and export need (``models.save_model``)."""
    write_run_dir(run_dir, "model", lambda tmp: save_model(tmp, tagger, mapper, model_cfg, labels), step)


def write_run_dir(run_dir: Path, name: str, write: Callable[[Path], None], step: int) -> None:
    """Write ``run_dir/name`` via ``run_dir/name.tmp`` with ``write(tmp)``. A failed write (disk
    full, I/O error) removes the temporary directory and stops the run with a RunError naming
    ``step``; the previous ``name`` is untouched, so the run can be resumed from it."""
    final = run_dir / name
    try:
        write_dir(final, write)
    except OSError as err:
        kept = f"the previous {final} is intact" if final.exists() else f"there is no earlier {name}"
        raise RunError(f"step {step}: could not write {final}: "
                       f"{err.strerror or err}; {kept}. Free space or fix permissions, then continue with "
                       f"--resume --output {run_dir}") from None


def load_checkpoint(directory: Path, tagger, optimizer, scaler, model_name: str, labels: Sequence[str],
                    manifest: Optional[dict] = None) -> TrainState:
    """Restore ``tagger``'s weights, ``optimizer``'s moments and ``scaler``'s state (when not
    None and saved) in place from a sealed checkpoint, and return its loop state. Refuses a
    missing, incomplete or corrupt checkpoint, or one of another model or label set.
    ``manifest``: the result of an earlier ``verify`` of ``directory``, to skip hashing it twice."""
    if recover(directory) is None:
        raise UsageError(f"{directory}: no checkpoint")
    if manifest is None:
        manifest = verify(directory, "checkpoint")
    labels = list(labels)
    if manifest.get("model") != model_name or manifest.get("labels") != labels:
        raise UsageError(f"{directory}: checkpoint of model {manifest.get('model')} with labels "
                         f"{manifest.get('labels')}, but this run builds {model_name} with labels "
                         f"{labels}; refusing to resume from it")
    load_state(tagger, directory / "model.pdparams")
    saved = load_file(directory / "optimizer.pdopt")
    optimizer.set_state_dict(rename_optimizer_state(tagger, saved, to_structured=False))
    if scaler is not None and (directory / "scaler.pdparams").is_file():
        scaler.load_state_dict(load_file(directory / "scaler.pdparams"))
    try:
        return TrainState(**read_json(directory / "state.json"))
    except TypeError as err:
        raise UsageError(f"{directory / 'state.json'}: not a paddle-ner training state ({err})") from None


def saved_step(run_dir: Path) -> Optional[int]:
    """The step of ``run_dir/checkpoint``; None when there is none or it cannot be read."""
    try:
        return int(json.loads((run_dir / "checkpoint" / "state.json").read_text())["global_step"])
    except (OSError, ValueError, KeyError):
        return None


def rename_optimizer_state(tagger, state: dict, to_structured: bool) -> dict:
    """``state`` (an optimiser state dict of ``tagger``'s parameters) with its keys renamed from
    Paddle's internal parameter names (``linear_3.w_0_moment1_0``) to the structured ones
    (``fc.weight_moment1_0``), or back with ``to_structured`` False. Internal names depend on
    how many layers the process built before, so checkpoints use the structured names: a
    resumed run, in whatever process, then finds its moments."""
    pairs = [(p.name, n) for n, p in tagger.named_parameters()]
    mapping = dict(pairs) if to_structured else {n: internal for internal, n in pairs}
    prefixes = sorted(mapping, key=len, reverse=True)  # longest first: "fc.weight" before "fc"
    renamed = {}
    for key, value in state.items():
        for old in prefixes:
            if key.startswith(old + "_"):
                key = mapping[old] + key[len(old):]
                break
        renamed[key] = value
    return renamed

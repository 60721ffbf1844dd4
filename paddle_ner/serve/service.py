"""What the server serves: which model directory and engine, and the description of ``GET /v1/model``.

``RUN_DIR_OR_EXPORT_DIR`` is a training run, a saved model or an export. The default engine
(``auto``) is the one ``predict`` uses: the fastest measured for the model and device
(``predictor.resolve_engine``), exporting a run into ``RUN_DIR/export`` once where that is
``paddle.inference``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional, Tuple

from paddle_ner import __version__
from paddle_ner.integrity import MANIFEST, read_json
from paddle_ner.predictor import Predictor, resolve_engine
from paddle_ner.provenance import package_versions



def resolve(path, engine: str = "auto", device: str = "cpu") -> Tuple[str, Path]:
    """(engine, model directory) to serve ``path`` with: ``predictor.resolve_engine``, the same
    choice ``predict`` makes; a one-line UsageError when there is none."""
    return resolve_engine(path, engine, device)


def entity_types(labels) -> list:
    """Entity types of a BIO label list, in label order (``O B-LOC I-LOC B-PER`` -> LOC, PER).
    The page and ``render.py`` give type ``i`` of this list colour ``i``."""
    types = []
    for label in labels:
        prefix, sep, kind = label.partition("-")
        if sep and kind not in types:
            types.append(kind)
    return types


def run_dir_of(model_dir: Path) -> Optional[Path]:
    """The training run a model or export directory belongs to: itself or its parent when that
    holds run.json (``RUN/model``, ``RUN/export``); None for a model copied elsewhere."""
    for candidate in (model_dir, model_dir.parent):
        if (candidate / "run.json").is_file():
            return candidate
    return None


def describe(model_dir: Path, engine: str) -> dict:
    """``GET /v1/model``: the model, its labels, the run that trained it and its manifest."""
    meta = read_json(model_dir / "model.json")
    model = meta.get("model", {})
    manifest_path = model_dir / MANIFEST
    manifest = read_json(manifest_path)
    run = None
    run_dir = run_dir_of(model_dir)
    if run_dir is not None:
        saved = read_json(run_dir / "run.json")
        run = {"recipe": saved.get("recipe"), "dataset": (saved.get("data") or {}).get("dataset"),
               "seed": saved.get("seed"), "git_commit": saved.get("git_commit"), "command": saved.get("command"),
               "versions": saved.get("versions")}
    return {
        "model": model.get("name"),
        "pretrained": model.get("pretrained"),
        "labels": list(meta.get("labels", [])),
        "types": entity_types(meta.get("labels", [])),
        "max_seq_len": model.get("max_seq_len"),
        "engine": engine,
        "run": run,
        "manifest": {"kind": manifest.get("kind"), "versions": manifest.get("versions"),
                     "sha256": hashlib.sha256(manifest_path.read_bytes()).hexdigest()},
        "server": {"paddle-ner": __version__,
                   **{k: v for k, v in package_versions().items() if k in ("python", "paddlepaddle",
                                                                         "paddlepaddle-gpu", "paddlenlp")}},
    }


def load_predictor(model_dir: Path, engine: str, device: str = "cpu", batch_size: int = 64, threads: int = 0,
                   precision: str = "fp32"):
    """The :class:`~paddle_ner.predictor.Predictor` for a resolved ``(engine, model_dir)``
    (``Predictor.load``). Call it on the thread that will run the model."""
    return Predictor.load(model_dir, engine, batch_size, device, precision, threads)

"""The static-graph inference model of a saved model: written whole, sealed, and kept current.

``export_model`` writes ``OUT/inference/model.*`` (``paddle.jit.save``: encoder + FC + CRF
decoding, inputs ``input_ids`` [B, L] and ``lengths`` [B], outputs scores [B] and paths [B, T])
beside the label vocabulary and tokenizer files, so ``OUT`` is all a deployment needs. Its
manifest names the SHA-256 of the saved model's own manifest (``source_manifest_sha256``).

``ensure_export`` is what ``predict`` and ``serve`` call when the fastest engine is
``paddle.inference``: it reuses ``RUN/export`` when that export is intact and was made from the
model now in ``RUN/model``, and otherwise exports it once, under a file lock (several workers
may start at once) and atomically (``integrity.write_dir``).
"""
from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Optional

import paddle

from paddle_ner.compat import to_static
from paddle_ner.errors import UsageError
from paddle_ner.integrity import MANIFEST, read_json, sha256, verify, write_dir, write_manifest
from paddle_ner.models import BASELINE, load_model, save_metadata

logger = logging.getLogger(__name__)

__all__ = ["export_model", "export_dir_for", "ensure_export"]


def export_model(model_dir: Path, out: Path) -> Path:
    """Export the saved model in ``model_dir`` into ``out``; returns ``out``."""
    model_dir, out = Path(model_dir), Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "inference").is_dir():
        raise UsageError(f"{out}: exists and is not an export directory; pick a new or empty --out "
                         f"(an export replaces the whole directory)")
    tagger, mapper, cfg, labels = load_model(model_dir)
    source = sha256(model_dir / MANIFEST)
    spec = [paddle.static.InputSpec([None, None] + list(mapper.input_shape), "int64", "input_ids"),
            paddle.static.InputSpec([None], "int64", "lengths")]

    def write(tmp: Path) -> None:  # whole and sealed, or not at all (integrity.write_dir)
        save_metadata(tmp, mapper, cfg, labels)
        if cfg.name != BASELINE:
            tagger.encoder.model.config.save_pretrained(str(tmp / "encoder"))
        paddle.jit.save(to_static(tagger, spec), str(tmp / "inference" / "model"))
        write_manifest(tmp, "export", model=cfg.name, labels=list(labels), source_manifest_sha256=source)

    write_dir(out, write)
    return out


def export_dir_for(model_dir: Path) -> Path:
    """Where the automatic export of ``model_dir`` lives: ``RUN/export`` for a run's
    ``RUN/model``, else ``MODEL_DIR/export``."""
    model_dir = Path(model_dir)
    return model_dir.parent / "export" if model_dir.name in ("model", "model.old") else model_dir / "export"


def _current(export: Path, source: str) -> bool:
    """Whether ``export`` is an intact export of the model whose manifest hashes to ``source``."""
    if not (export / MANIFEST).is_file():
        return False
    try:
        verify(export, "export")
    except UsageError as err:
        logger.warning("%s; exporting again", err)
        return False
    return read_json(export / MANIFEST).get("source_manifest_sha256") == source


def ensure_export(model_dir: Path) -> Optional[Path]:
    """The current export of ``model_dir`` (made now if missing or stale), or None when it
    cannot be made (a read-only run directory, a model that fails to export): the caller falls
    back to the dygraph engine, and one warning line says why."""
    model_dir = Path(model_dir)
    export = export_dir_for(model_dir)
    source = sha256(model_dir / MANIFEST)
    if _current(export, source):
        return export
    try:
        export.parent.mkdir(parents=True, exist_ok=True)
        with open(export.parent / (export.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be exporting the same model
            if not _current(export, source):
                logger.info("exporting %s to %s for paddle.inference (once; reused while the model is unchanged)",
                            model_dir, export)
                export_model(model_dir, export)
    except (OSError, UsageError, RuntimeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err).strip().splitlines()[0][:200]
        logger.warning("could not export %s to %s (%s): tagging with the dygraph engine instead", model_dir,
                       export, reason)
        return None
    return export

"""Directories that are either complete or refused: manifests, atomic replacement, recovery.

Every directory the tool writes for later reading (a saved model, a resumable checkpoint, an
exported graph) is written under a temporary name, closed with ``manifest.json`` listing each
file's size and SHA-256 plus what wrote it, and only then renamed into place. Readers call
:func:`verify` first, so a directory that was half-written when the process died, or whose
files were truncated or edited since, is refused with one line naming the file, never loaded
as random or partial weights.

``replace_dir`` swaps a new directory in with two renames. A process killed between them
leaves ``NAME.old`` (the previous, complete directory) and no ``NAME``; :func:`recover` puts
it back.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Callable, Dict, Optional

from paddle_ner.errors import UsageError
from paddle_ner.provenance import package_versions

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST", "sha256", "write_manifest", "verify", "write_dir", "replace_dir", "recover", "read_json",
           "write_text"]

MANIFEST = "manifest.json"
FORMAT = 1  # bump when the layout of saved directories changes incompatibly


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> Dict[str, Path]:
    return {p.relative_to(directory).as_posix(): p for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def _versions() -> Dict[str, str]:
    versions = package_versions()
    return {k: versions[k] for k in ("paddle-ner", "paddlepaddle", "paddlepaddle-gpu", "paddlenlp") if k in versions}


def write_manifest(directory, kind: str, **meta) -> None:
    """Seal ``directory``: record every file's size and SHA-256, flushed to disk, then write
    the manifest itself last (so its presence means everything before it is complete)."""
    directory = Path(directory)
    files = {}
    for name, path in _files(directory).items():
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        files[name] = {"size": path.stat().st_size, "sha256": sha256(path)}
    manifest = {"format": FORMAT, "kind": kind, "versions": _versions(), **meta, "files": files}
    tmp = directory / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(directory / MANIFEST)


def write_text(path, text: str) -> None:
    """Write a small file whole or not at all: a temporary name, then an atomic rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def read_json(path) -> dict:
    """A JSON file's content, or a one-line UsageError naming the file when it is missing or
    not valid JSON (a truncated or hand-edited run file)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: corrupt, not valid JSON ({err})") from None


def verify(directory, kind: str, check_hashes: bool = True) -> dict:
    """The manifest of a complete, intact ``directory`` of ``kind``; otherwise a one-line
    UsageError naming the first missing, truncated or altered file. Logs a warning when the
    directory was written by another version of paddle-ner or Paddle."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise UsageError(f"{path}: missing, so {directory} is incomplete (the process writing it was "
                         f"interrupted) or was not written by paddle-ner; refusing to load it")
    manifest = read_json(path)
    if manifest.get("kind") != kind:
        raise UsageError(f"{path}: this is a {manifest.get('kind')!r} directory, expected a {kind!r} one")
    if manifest.get("format", 0) > FORMAT:
        raise UsageError(f"{path}: written by a newer paddle-ner (layout format {manifest['format']}); "
                         f"upgrade paddle-ner to read it")
    for name, entry in manifest.get("files", {}).items():
        file = directory / name
        if not file.is_file():
            raise UsageError(f"{file}: missing (listed in {path})")
        size = file.stat().st_size
        if size != entry["size"]:
            raise UsageError(f"{file}: truncated or altered ({size} bytes, {entry['size']} when saved); "
                             f"refusing to load it")
        if check_hashes and sha256(file) != entry["sha256"]:
            raise UsageError(f"{file}: corrupt (SHA-256 differs from {path}); refusing to load it")
    saved, current = manifest.get("versions", {}), _versions()
    changed = [f"{k} {saved[k]} (now {current[k]})" for k in saved if k in current and saved[k] != current[k]]
    if changed:
        logger.warning("%s was written by %s; loading it anyway, check its results", directory, ", ".join(changed))
    return manifest


def write_dir(final: Path, write: Callable[[Path], None]) -> None:
    """Produce ``final`` whole: ``write(tmp)`` fills ``final.tmp`` (and seals it with
    :func:`write_manifest`), which then replaces ``final``. If ``write`` fails, the temporary
    directory is removed and ``final`` is untouched; the error propagates."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        write(tmp)
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a fully written and sealed ``tmp`` into place as ``final``. At every instant either
    ``final`` or ``final.old`` is a complete directory (see :func:`recover`)."""
    old = final.with_name(final.name + ".old")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def recover(final: Path) -> Optional[Path]:
    """Finish an interrupted :func:`replace_dir`: with ``final`` gone and ``final.old`` left,
    put the old one back. Returns ``final`` when it exists afterwards."""
    old = final.with_name(final.name + ".old")
    if not final.exists() and old.is_dir():
        logger.warning("%s was being replaced when the process stopped; restoring the previous one", final)
        old.rename(final)
    return final if final.exists() else None

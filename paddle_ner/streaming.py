"""Tagging a corpus larger than memory: chunks of lines in, records out, resumable.

The input is read as bytes and cut at ``\\n`` (a ``\\r`` before it is dropped), one text per
line, so line N of the file is record N of the output, whatever characters a line holds. Each
line is decoded on its own: a line that is not UTF-8 becomes an error record
``{"line": N, "error": ...}`` and the job goes on (``strict`` raises ``DataError`` instead).

Lines are taken in chunks (at most ``CHUNK_LINES`` lines or ``CHUNK_CHARS`` characters); the
caller tags a chunk (length-sorted inside it) and writes its records in input order before the
next chunk is read, so memory is bounded by the chunk, not the file.

With an output file, :class:`Progress` records after every chunk how far input and output got
(``OUTPUT.progress.json``: input bytes and lines consumed, the SHA-256 of the consumed input,
output bytes). A job killed at any moment resumes from the last recorded chunk: the output is
cut back to that record, the input's consumed prefix must hash the same, and the chunks after it
are the ones an uninterrupted run would have read, so the output is byte-identical.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional

from paddle_ner.errors import DataError, UsageError
from paddle_ner.integrity import write_text

CHUNK_LINES = 1024
CHUNK_CHARS = 128 * 1024


@dataclass
class Line:
    number: int  # 1-based line of the input
    text: Optional[str]  # None when the line is not UTF-8
    error: Optional[str] = None


@dataclass
class Chunk:
    lines: List[Line]
    end_offset: int  # input bytes consumed after this chunk
    digest: "hashlib._Hash"  # SHA-256 of the input up to end_offset


def decode(raw: bytes, path: str, number: int, strict: bool) -> Line:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return Line(number, raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        message = f"not UTF-8 ({err.reason} at byte {err.start + 1} of the line)"
        if strict:
            raise DataError(path, number, message) from None
        return Line(number, None, message)


def read_chunks(stream: BinaryIO, path: str, strict: bool = False, first_line: int = 1, offset: int = 0,
                digest=None, chunk_lines: Optional[int] = None, chunk_chars: Optional[int] = None) -> Iterator[Chunk]:
    """Chunks of decoded lines from ``stream`` (positioned at ``offset``, the start of line
    ``first_line``; ``digest`` holds the SHA-256 of the bytes before it), of at most
    ``chunk_lines`` lines or ``chunk_chars`` characters (default :data:`CHUNK_LINES`,
    :data:`CHUNK_CHARS`)."""
    digest = digest or hashlib.sha256()
    chunk_lines, chunk_chars = chunk_lines or CHUNK_LINES, chunk_chars or CHUNK_CHARS
    number, lines, chars = first_line, [], 0
    for raw in stream:
        offset += len(raw)
        digest.update(raw)
        line = decode(raw[:-1] if raw.endswith(b"\n") else raw, path, number, strict)
        lines.append(line)
        chars += len(line.text or "")
        number += 1
        if len(lines) >= chunk_lines or chars >= chunk_chars:
            yield Chunk(lines, offset, digest.copy())
            lines, chars = [], 0
    if lines:
        yield Chunk(lines, offset, digest.copy())


class Progress:
    """How far a job writing ``output`` got, in ``OUTPUT.progress.json`` (see the module docstring)."""

    def __init__(self, output: Path, input_path: str):
        self.path = output.with_name(output.name + ".progress.json")
        self.output, self.input_path = output, input_path

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, chunk: Chunk, lines_done: int) -> None:
        """After the chunk's records are written and synced to ``output``."""
        write_text(self.path, json.dumps({
            "input": self.input_path, "input_bytes": chunk.end_offset, "input_sha256": chunk.digest.hexdigest(),
            "lines": lines_done, "output_bytes": self.output.stat().st_size}))

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)

    def resume(self, stream: BinaryIO) -> dict:
        """Cut ``output`` back to the last recorded chunk and check the input's consumed prefix;
        returns ``{"lines", "input_bytes", "digest"}`` to continue from (``stream`` is left at
        ``input_bytes``). One-line UsageError when there is nothing to resume or the input changed."""
        if not self.path.is_file():
            raise UsageError(f"{self.output}: no interrupted job to resume ({self.path.name} is missing: the job "
                             f"finished, or the file was not written by predict --output)")
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            lines, consumed, written = int(saved["lines"]), int(saved["input_bytes"]), int(saved["output_bytes"])
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{self.path}: corrupt; delete it and {self.output} and start again") from None
        if not self.output.is_file() or self.output.stat().st_size < written:
            raise UsageError(f"{self.output}: shorter than the {written} bytes {self.path.name} records; it was "
                             f"changed since, start again without --resume")
        digest = hashlib.sha256()
        left = consumed
        while left:
            block = stream.read(min(left, 1 << 20))
            if not block:
                break
            digest.update(block)
            left -= len(block)
        if left or digest.hexdigest() != saved["input_sha256"]:
            raise UsageError(f"{self.input_path}: its first {lines} lines ({consumed} bytes) differ from those "
                             f"{self.output} was made from; refusing to resume (start again without --resume)")
        with open(self.output, "r+b") as f:
            f.truncate(written)
        return {"lines": lines, "input_bytes": consumed, "digest": digest}


def sync(stream) -> None:
    """Flush ``stream`` to the disk (a file), or just flush it (a pipe, a terminal)."""
    stream.flush()
    try:
        os.fsync(stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass

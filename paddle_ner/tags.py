"""Tagging schemes: BIO (IOB2), BIOES and BMES, and conversion between them and spans.

Everything downstream of the readers works in BIO: a corpus in BIOES or BMES (Resume NER) is
converted on reading and remembers its source scheme, so it can be written back unchanged.

A tag is ``O`` or ``PREFIX-TYPE``. The prefix is split off at the FIRST ``-``, so Weibo's
``B-PER.NAM`` has type ``PER.NAM`` and a type may itself contain ``-``.

Schemes and the prefixes they allow:

- ``BIO``:   B (begin), I (inside).
- ``BIOES``: B, I, E (end), S (single).
- ``BMES``:  B, M (middle), E, S.

Orphans. A continuation tag (``I-``/``M-``/``E-``) that cannot continue an open chunk of the
same type -- after ``O``, after a chunk of another type, after ``E-``/``S-``, or at the start of a
sentence -- is read the way conlleval reads it: it starts a new chunk, i.e. becomes ``B-X``. This
keeps the conversion span-preserving for the lenient (conlleval-style) chunk counts, and the
converters count how many such repairs they made (Weibo train has 10, Resume train 2).

Spans are ``(type, start, end)`` with ``end`` exclusive, in character positions.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

__all__ = [
    "SCHEMES",
    "TagError",
    "split_tag",
    "detect_scheme",
    "check_tag",
    "to_bio",
    "spans",
    "spans_to_bio",
    "from_bio",
]

SCHEMES = ("BIO", "BIOES", "BMES")
# Prefixes each scheme allows besides the bare ``O``.
_PREFIXES = {"BIO": frozenset("BI"), "BIOES": frozenset("BIES"), "BMES": frozenset("BMES")}
_ALL_PREFIXES = frozenset("BIMES")

Span = Tuple[str, int, int]


class TagError(ValueError):
    """A bad tag at position ``index`` of a tag sequence (``None`` when not tied to one)."""

    def __init__(self, message: str, index: Optional[int] = None):
        super().__init__(message, index)
        self.message = message
        self.index = index

    def __str__(self) -> str:
        return self.message


def split_tag(tag: str) -> Tuple[str, Optional[str]]:
    """``'B-PER.NAM' -> ('B', 'PER.NAM')``, ``'O' -> ('O', None)``; ValueError if malformed.

    Accepts any of the prefixes B, I, M, E, S; whether the prefix belongs to a particular scheme
    is ``check_tag``'s job.
    """
    if tag == "O":
        return "O", None
    prefix, sep, typ = tag.partition("-")
    if not sep or prefix not in _ALL_PREFIXES or not typ or any(c.isspace() for c in typ):
        raise TagError(f"malformed tag {tag!r} (expected 'O' or PREFIX-TYPE with PREFIX in B, I, M, E, S "
                       f"and a TYPE without whitespace)")
    return prefix, typ


def check_tag(tag: str, scheme: str) -> Tuple[str, Optional[str]]:
    """``split_tag`` plus a check that the prefix belongs to ``scheme``."""
    prefix, typ = split_tag(tag)
    if typ is not None and prefix not in _prefixes(scheme):
        raise TagError(f"tag {tag!r} is outside the {scheme} scheme (allowed prefixes: "
                       f"{', '.join(sorted(_prefixes(scheme)))}, and O)")
    return prefix, typ


def _prefixes(scheme: str) -> frozenset:
    try:
        return _PREFIXES[scheme]
    except KeyError:
        raise ValueError(f"unknown tagging scheme {scheme!r}; expected one of {', '.join(SCHEMES)}") from None


def detect_scheme(tags: Iterable[str]) -> str:
    """The scheme a collection of tags is written in: ``'BIO'``, ``'BIOES'`` or ``'BMES'``.

    ``M-`` means BMES; otherwise ``E-``/``S-`` mean BIOES; otherwise BIO (also for all-``O``
    data). A file with only B/E/S prefixes is reported as BIOES; BMES would convert to the same
    spans. Raises TagError for a malformed tag, or when ``I-`` and ``M-`` are mixed.
    """
    prefixes = set()
    for tag in set(tags):
        prefix, _ = split_tag(tag)
        prefixes.add(prefix)
    if "M" in prefixes:
        if "I" in prefixes:
            raise TagError("tags mix I- (BIO/BIOES) and M- (BMES) prefixes; no single scheme fits")
        return "BMES"
    if "E" in prefixes or "S" in prefixes:
        return "BIOES"
    return "BIO"


def to_bio(tags: Sequence[str], scheme: str = "BIO", strict: bool = False) -> Tuple[List[str], int]:
    """Convert ``tags`` (in ``scheme``) to BIO; returns ``(bio_tags, n_repaired)``.

    ``n_repaired`` counts orphan continuations turned into ``B-`` (see the module docstring).
    With ``strict=True`` the first orphan raises TagError instead. A tag outside ``scheme``
    always raises TagError; its ``index`` is the offending position.
    """
    _prefixes(scheme)
    return _to_bio(tags, scheme, strict, {})


def _to_bio(tags: Sequence[str], scheme: str, strict: bool, parsed: dict) -> Tuple[List[str], int]:
    """``to_bio`` with ``parsed``, a tag -> (prefix, type) cache the caller may share across
    sentences: a corpus has a handful of distinct tags, so each is checked once, not per token."""
    out: List[str] = []
    append = out.append
    repaired = 0
    # Type of the chunk the next I-/M-/E- may continue; None after O, E-, S- and at the start.
    open_type: Optional[str] = None
    for i, tag in enumerate(tags):
        if tag == "O":
            append("O")
            open_type = None
            continue
        split = parsed.get(tag)
        if split is None:
            try:
                split = parsed[tag] = check_tag(tag, scheme)
            except TagError as err:
                raise TagError(err.message, i) from None
        prefix, typ = split
        if prefix == "B":
            append(tag)
            open_type = typ
        elif prefix == "S":
            append("B-" + typ)
            open_type = None
        else:  # I, M or E: continues an open chunk of the same type, or is an orphan
            if open_type == typ:
                append("I-" + typ)
            else:
                if strict:
                    raise TagError(_orphan_message(tag, tags[i - 1] if i else None), i)
                append("B-" + typ)
                repaired += 1
            open_type = None if prefix == "E" else typ
    return out, repaired


def _orphan_message(tag: str, previous: Optional[str]) -> str:
    where = f"after {previous!r}" if previous is not None else "at the start of a sentence"
    _, typ = split_tag(tag)
    return (f"orphan tag {tag!r} {where}: it does not continue a {typ} chunk "
            f"(read as B-{typ} unless --strict)")


def spans(bio_tags: Sequence[str]) -> List[Span]:
    """Chunks of a BIO sequence as ``(type, start, end)``, end exclusive, in order.

    Lenient like conlleval and seqeval: an ``I-X`` that does not continue an ``X`` chunk starts
    one. Raises TagError for a tag that is not O/B-/I-.
    """
    out: List[Span] = []
    typ_open: Optional[str] = None
    start = 0
    for i, tag in enumerate(bio_tags):
        if tag == "O":
            if typ_open is not None:
                out.append((typ_open, start, i))
                typ_open = None
            continue
        prefix, sep, typ = tag.partition("-")
        if not sep or prefix not in ("B", "I") or not typ:
            raise TagError(f"tag {tag!r} is not a BIO tag", i)
        if prefix == "I" and typ == typ_open:
            continue
        if typ_open is not None:
            out.append((typ_open, start, i))
        typ_open, start = typ, i
    if typ_open is not None:
        out.append((typ_open, start, len(bio_tags)))
    return out


def spans_to_bio(length: int, chunks: Iterable[Span]) -> List[str]:
    """BIO tags of length ``length`` with the given non-overlapping ``(type, start, end)`` spans."""
    tags = ["O"] * length
    for typ, start, end in sorted(chunks, key=lambda s: (s[1], s[2])):
        if not 0 <= start < end <= length:
            raise ValueError(f"span {(typ, start, end)} is empty or outside a sequence of length {length}")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"span {(typ, start, end)} overlaps another span")
        tags[start] = "B-" + typ
        for k in range(start + 1, end):
            tags[k] = "I-" + typ
    return tags


def from_bio(bio_tags: Sequence[str], scheme: str) -> List[str]:
    """Write BIO tags in ``scheme`` (BIO, BIOES or BMES) with the same spans."""
    _prefixes(scheme)
    chunks = spans(bio_tags)
    if scheme == "BIO":
        return spans_to_bio(len(bio_tags), chunks)
    middle = "I" if scheme == "BIOES" else "M"
    out = ["O"] * len(bio_tags)
    for typ, start, end in chunks:
        if end - start == 1:
            out[start] = "S-" + typ
            continue
        out[start] = "B-" + typ
        for k in range(start + 1, end - 1):
            out[k] = f"{middle}-{typ}"
        out[end - 1] = "E-" + typ
    return out

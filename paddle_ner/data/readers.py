"""Read and write NER corpora: the three tag formats Chinese NER data ships in, and the span
formats of annotation tools.

Formats (``detect_format`` tells them apart from the first 64 KB; ``format=`` forces one).
``FORMATS`` are the tag formats, one tag per token as written in the file:

- ``conll``: one token per line, ``token<TAB>tag`` (SIGHAN MSRA, Weibo, our sample) or
  ``token<SPACE>tag`` (Resume upstream, zjy-ucas), a blank line after each sentence. The
  separator is decided once per file, from its first token line. Tags in BIO, BIOES or BMES.
- ``ernie_tsv``: the ERNIE 1.0 / PaddleHub TSV. Line 1 is the header ``text_a<TAB>label``; each
  further line is one sentence, the characters joined by ``\\x02``, a TAB, the tags joined by
  ``\\x02``.
- ``msra_tsv``: PaddleNLP's ``msra_ner`` TSV, the same layout without the header.

``SPAN_FORMATS`` hold a text and its entities as character offsets (``paddle_ner.data.spans``
describes them and their own rules: overlapping spans, Label Studio's several annotations per
task, the errors they add): ``doccano`` (JSONL), ``label_studio`` (its JSON export) and
``jsonl`` (``paddle_ner.predict``'s output). ``ALL_FORMATS`` is both.

What a reader guarantees:

- Every character in the file is in the corpus, in order; no sentence is dropped. A token is the
  whole first field, so Weibo's two-code-point ``\\ufffd\\ufffd`` stays one token. In the tab
  format a token may be a whitespace character (the TAB makes it unambiguous); in the space
  format a line starting with a space is an error, because ``'  O'`` could be a space token or
  a typo and there is no way to tell.
- Tags come out in BIO; ``Corpus.scheme`` remembers the source scheme (detected, or forced by
  ``scheme=``; ``BIO`` for the span formats, which have no tags).
- Repairs, counted in ``Corpus.repairs`` and logged as one warning line:
  ``empty_tag``: a token with an empty tag (SIGHAN train has 57 lines ``0<TAB>``, each between
  two ``O`` tags) is read as ``O``. ``orphan_continuation``: an ``I-``/``M-``/``E-`` tag that
  continues no chunk of its type is read as ``B-`` (conlleval's reading; see ``paddle_ner.tags``).
  ``strict=True`` refuses to repair: the first such tag raises DataError. The span formats add
  ``overlap_dropped`` (``overlaps="longest"``) and ``annotations_skipped`` (Label Studio), which
  ``strict`` leaves to their own settings.
- ``labels=``: the entity types allowed; a tag or span of another type raises DataError.
- Anything else that is wrong raises ``DataError`` whose ``str()`` is ``PATH:LINE: message``,
  LINE being the 1-based line of the offending text: a wrong column count, an empty token, a
  malformed tag or one outside the scheme, text and label of different lengths in a TSV line,
  bytes that are not UTF-8 (the line of the first bad byte), a UTF-8 byte-order mark (line 1), a
  CR (CRLF line endings; the first line that has one; the JSON formats allow it, JSON treats it
  as a space), a missing or unexpected TSV header.
"""
from __future__ import annotations

import gc
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

from paddle_ner.data import spans as span_formats
from paddle_ner.data.spans import OVERLAPS, SPAN_FORMATS, WriteError
from paddle_ner.errors import DataError
from paddle_ner.tags import SCHEMES, TagError, _to_bio, detect_scheme, from_bio, spans, split_tag

__all__ = [
    "FORMATS",
    "SPAN_FORMATS",
    "ALL_FORMATS",
    "OVERLAPS",
    "WriteError",
    "ERNIE_HEADER",
    "Sentence",
    "Corpus",
    "detect_format",
    "read_corpus",
    "write_corpus",
    "describe_repairs",
]

logger = logging.getLogger(__name__)

FORMATS = ("conll", "ernie_tsv", "msra_tsv")  # the tag formats
ALL_FORMATS = FORMATS + SPAN_FORMATS
ERNIE_HEADER = "text_a\tlabel"
_SEP = "\x02"
_BOM = b"\xef\xbb\xbf"
_DETECT_BYTES = 1 << 16

PathLike = Union[str, Path]
TokenFix = Callable[[str], str]


@dataclass
class Sentence:
    """One sentence: ``chars[i]`` is tagged ``tags[i]`` (BIO); ``line`` is where it starts (1-based)."""

    chars: List[str]
    tags: List[str]
    line: int = 0

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def spans(self) -> List[Tuple[str, int, int]]:
        """Entities as ``(type, start, end)``, end exclusive."""
        return spans(self.tags)


@dataclass
class Corpus:
    """Sentences read from ``path`` (tags in BIO), with the source format and scheme.

    ``repairs`` maps each repair kind (``empty_tag``, ``orphan_continuation``) to its count.
    """

    path: str
    format: str
    scheme: str
    sentences: List[Sentence]
    repairs: Dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self):
        return iter(self.sentences)

    @property
    def num_chars(self) -> int:
        return sum(len(s.chars) for s in self.sentences)

    def entity_counts(self) -> Dict[str, int]:
        """Entities per type, sorted by type name."""
        counts: Counter = Counter()
        for s in self.sentences:
            counts.update(typ for typ, _, _ in spans(s.tags))
        return dict(sorted(counts.items()))

    def types(self) -> List[str]:
        """Entity types occurring in the tags, sorted."""
        found = set()
        for s in self.sentences:
            found.update(t[2:] for t in s.tags if t != "O")
        return sorted(found)

    def stats(self) -> dict:
        """Counts for reports and ``python -m paddle_ner.data stats``.

        ``lengths.p99`` is the nearest-rank 99th percentile: the smallest sentence length that
        at least 99% of sentences do not exceed (always an actual length, an integer).
        """
        lengths = sorted(len(s.chars) for s in self.sentences)
        entities = self.entity_counts()
        n = len(lengths)
        return {
            "path": self.path,
            "format": self.format,
            "scheme": self.scheme,
            "sentences": n,
            "chars": sum(lengths),
            "entities": entities,
            "entities_total": sum(entities.values()),
            "lengths": {
                "max": lengths[-1] if n else 0,
                "mean": round(sum(lengths) / n, 2) if n else 0.0,
                "p99": lengths[max(0, math.ceil(0.99 * n) - 1)] if n else 0,
            },
            "repairs": dict(self.repairs),
        }


# ---------------------------------------------------------------------------------------------
# Bytes -> text, with the encoding checks every format shares


def _read_text(path: PathLike, allow_cr: bool = False) -> str:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, expected a data file") from None
    except OSError as err:
        raise DataError(path, None, f"cannot read: {err.strerror or err}") from None
    if data.startswith(_BOM):
        raise DataError(path, 1, "file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(path, line, f"not valid UTF-8: byte 0x{data[err.start]:02x} at byte {column} of the line "
                                    f"(convert the file to UTF-8, e.g. iconv -f GB18030 -t UTF-8)") from None
    cr = -1 if allow_cr else text.find("\r")
    if cr >= 0:
        line = text.count("\n", 0, cr) + 1
        raise DataError(path, line, "CR character (CRLF / Windows line endings); convert to LF line endings, "
                                    "e.g. with dos2unix")
    return text


# ---------------------------------------------------------------------------------------------
# Format detection


def detect_format(path: PathLike) -> str:
    """One of ALL_FORMATS, judged from the first 64 KB of ``path``.

    The ERNIE header on the first non-empty line means ``ernie_tsv``; otherwise a JSON array or
    JSON lines mean a span format (``spans.sniff`` tells which; a conll-shaped first line such as
    ``{<TAB>O`` is never JSON); otherwise a ``\\x02`` in the sample means ``msra_tsv``;
    otherwise ``conll``. Encoding problems are left to the reader, which reports them with a
    line number.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(_DETECT_BYTES)
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, expected a data file") from None
    except OSError as err:
        # Any other unreadable path (no permission, a symlink loop, a name too long) gets the
        # same one-line DataError as _read_text gives it; it used to escape as a bare OSError
        # traceback whenever the format was detected rather than forced.
        raise DataError(path, None, f"cannot read: {err.strerror or err}") from None
    return _detect_format_text(head.decode("utf-8", errors="replace"))


def _detect_format_text(sample: str) -> str:
    sample = sample.lstrip("\ufeff")
    for line in sample.split("\n"):
        line = line.rstrip("\r")
        if line:
            if line == ERNIE_HEADER:
                return "ernie_tsv"
            found = span_formats.sniff(sample, line)
            if found is not None:
                return found
            break
    return "msra_tsv" if _SEP in sample else "conll"


# ---------------------------------------------------------------------------------------------
# Parsing: text -> raw sentences (start line, chars, tags as written); no tag checks yet

# A raw sentence: (first line, chars, tags). In conll the tag at index i is on line first+i; in
# the TSV formats the whole sentence is on line `first`.
_Raw = Tuple[int, List[str], List[str]]


# A line the fast conll path can take apart with str.split: a token without whitespace at its
# ends, exactly one separator, a tag without the separator. The patterns find the first line
# that is NOT like that (and not empty); only files with such a line take the slow path, which
# either accepts the line (a whitespace token after a TAB) or reports what is wrong with it.
_SUSPECT_LINE = {
    "\t": re.compile(r"^(?!$|(?:\S|\S[^\t\n]*\S)\t[^\t\n]*$)", re.M),
    " ": re.compile(r"^(?!$|\S+ \S*$)", re.M),
}


def _parse_conll(path: str, text: str, token_fix: Optional[TokenFix]) -> List[_Raw]:
    first_token_line = re.search(r"^.+$", text, re.M)
    sep = "\t" if first_token_line is None or "\t" in first_token_line.group() else " "
    if _SUSPECT_LINE[sep].search(text) is not None:
        return _parse_conll_lines(path, text, sep, token_fix)
    raw: List[_Raw] = []
    start = 1  # line on which the current block of text.split("\n\n") starts
    for block in text.split("\n\n"):
        body = block.strip("\n")  # extra blank lines lead a block; the file's last newline ends one
        if body:
            first = start + len(block) - len(block.lstrip("\n"))
            # Every line is "token<sep>tag", so joining lines with sep alternates token, tag.
            parts = body.replace("\n", sep).split(sep)
            chars = parts[0::2]
            if token_fix is not None:
                chars = _fix_tokens(path, first, chars, token_fix)
            raw.append((first, chars, parts[1::2]))
        start += block.count("\n") + 2
    return raw


def _fix_tokens(path: str, first: int, chars: List[str], token_fix: TokenFix) -> List[str]:
    out = []
    for k, token in enumerate(chars):
        try:
            out.append(token_fix(token))
        except ValueError as err:
            raise DataError(path, first + k, str(err)) from None
    return out


def _parse_conll_lines(path: str, text: str, sep: str, token_fix: Optional[TokenFix]) -> List[_Raw]:
    """Line-by-line parse of a file with suspect lines: accepts or reports each of them."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    raw: List[_Raw] = []
    chars: List[str] = []
    tags: List[str] = []
    start = 0
    for lineno, line in enumerate(lines, 1):
        if not line:
            if chars:
                raw.append((start, chars, tags))
                chars, tags = [], []
            continue
        token, found, tag = line.partition(sep)
        if not found or not token or sep in tag or token[0].isspace() or token[-1].isspace() or "\t" in token:
            _conll_line_error(path, lineno, line, sep)
        if token_fix is not None:
            try:
                token = token_fix(token)
            except ValueError as err:
                raise DataError(path, lineno, str(err)) from None
        if not chars:
            start = lineno
        chars.append(token)
        tags.append(tag)
    if chars:
        raw.append((start, chars, tags))
    return raw


def _conll_line_error(path: str, lineno: int, line: str, sep: str) -> None:
    """Raise the DataError for a conll line that failed the fast check, or return if it is fine."""
    name = "TAB" if sep == "\t" else "space"
    if line.strip() == "":
        raise DataError(path, lineno, f"line has only whitespace ({line!r}); sentences are separated by empty lines")
    if sep == " " and line.startswith(" "):
        raise DataError(path, lineno, f"line starts with a space ({line!r}): in the space-separated format a "
                                      f"token cannot be whitespace; use 'token<TAB>tag' lines for such tokens")
    fields = line.split(sep)
    if len(fields) != 2:
        other = ""
        if len(fields) == 1:  # no separator: perhaps the other one, so say which this file uses
            other = (" (this file uses TAB: its first token line has one)" if sep == "\t" else
                     " (this file uses spaces: its first token line has no TAB)")
        raise DataError(path, lineno, f"expected 2 {name}-separated columns (token, tag), got {len(fields)}: "
                                      f"{line!r}{other}")
    token = fields[0]
    if not token:
        raise DataError(path, lineno, f"empty token: {line!r}")
    if "\t" in token:
        raise DataError(path, lineno, f"token {token!r} contains a TAB (this file is space-separated: its first "
                                      f"token line has no TAB)")
    if token.strip() == "":
        return  # a whitespace token: unambiguous after a TAB, or a non-ASCII space before the separating space
    if token != token.strip():
        raise DataError(path, lineno, f"token {token!r} has leading or trailing whitespace")


def _parse_tsv(path: str, text: str, header: bool, token_fix: Optional[TokenFix]) -> List[_Raw]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    first = 1
    if header:
        if not lines or lines[0] != ERNIE_HEADER:
            got = repr(lines[0]) if lines else "an empty file"
            raise DataError(path, 1, f"expected the ERNIE header {ERNIE_HEADER!r}, got {got} "
                                     f"(a file without header is --format msra_tsv)")
        first = 2
    elif lines and lines[0] == ERNIE_HEADER:
        raise DataError(path, 1, f"line 1 is the ERNIE header {ERNIE_HEADER!r}; read this file as --format ernie_tsv")
    raw: List[_Raw] = []
    for lineno in range(first, len(lines) + 1):
        line = lines[lineno - 1]
        if not line:
            raise DataError(path, lineno, "empty line; a TSV file has one sentence per line and no blank lines")
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(path, lineno, f"expected 2 TAB-separated columns (text, label), got {len(fields)}")
        text_field, label_field = fields
        chars = text_field.split(_SEP)
        tags = label_field.split(_SEP)
        if len(chars) != len(tags):
            raise DataError(path, lineno, f"text has {len(chars)} characters but label has {len(tags)} tags "
                                          f"(both are joined by \\x02)")
        if "" in chars:
            if text_field == "":
                raise DataError(path, lineno, "empty sentence (no text before the TAB)")
            i = chars.index("")
            raise DataError(path, lineno, f"character {i + 1} is empty (two \\x02 in a row, or one at an end)")
        if token_fix is not None:
            try:
                chars = [token_fix(c) for c in chars]
            except ValueError as err:
                raise DataError(path, lineno, str(err)) from None
        raw.append((lineno, chars, tags))
    return raw


# ---------------------------------------------------------------------------------------------
# Tags: empty-tag repair, scheme detection, conversion to BIO


def _where(fmt: str, first: int, index: int) -> Tuple[int, str]:
    """(line, message prefix) of tag ``index`` of a sentence starting at line ``first``."""
    if fmt == "conll":
        return first + index, ""
    return first, f"tag {index + 1}: "


def _detect_scheme_located(path: str, fmt: str, raw: List[_Raw]) -> str:
    distinct = set()
    for _, _, tags in raw:
        distinct.update(tags)
    distinct.discard("")  # empty tags are repaired (or refused) later, whatever the scheme
    try:
        return detect_scheme(distinct)
    except TagError:
        pass
    # Find the first offending tag in file order: a malformed tag, or the first tag whose prefix
    # contradicts the scheme implied by the I-/M- prefix seen first.
    seen_i = seen_m = False
    for first, _, tags in raw:
        for k, tag in enumerate(tags):
            if tag == "":
                continue
            try:
                prefix, _ = split_tag(tag)
            except TagError as err:
                line, pre = _where(fmt, first, k)
                raise DataError(path, line, pre + err.message) from None
            if prefix == "I":
                seen_i = True
            elif prefix == "M":
                seen_m = True
            if seen_i and seen_m:
                line, pre = _where(fmt, first, k)
                other = "M-" if prefix == "I" else "I-"
                raise DataError(path, line, f"{pre}tag {tag!r} mixes schemes: earlier tags use {other} "
                                            f"(BMES uses M-, BIO/BIOES use I-)")
    raise AssertionError("detect_scheme failed but no offending tag was found")  # pragma: no cover


def _convert(path: str, fmt: str, scheme: str, raw: List[_Raw], strict: bool) -> Tuple[List[Sentence], Dict[str, int]]:
    sentences: List[Sentence] = []
    empty = orphans = 0
    parsed: dict = {}  # tag -> (prefix, type), shared by all sentences
    for first, chars, tags in raw:
        if "" in tags:
            if strict:
                line, pre = _where(fmt, first, tags.index(""))
                raise DataError(path, line, pre + "empty tag (read as O unless --strict)")
            n = tags.count("")
            empty += n
            tags = ["O" if t == "" else t for t in tags]
        try:
            bio, repaired = _to_bio(tags, scheme, strict, parsed)
        except TagError as err:
            line, pre = _where(fmt, first, err.index or 0)
            raise DataError(path, line, pre + err.message) from None
        orphans += repaired
        sentences.append(Sentence(chars, bio, first))
    return sentences, {"empty_tag": empty, "orphan_continuation": orphans}


def read_corpus(path: PathLike, format: Optional[str] = None, scheme: Optional[str] = None,
                strict: bool = False, token_fix: Optional[TokenFix] = None, overlaps: str = "refuse",
                labels: Optional[Iterable[str]] = None) -> Corpus:
    """Read ``path`` into a Corpus with BIO tags. Raises DataError (``PATH:LINE: ...``).

    ``format``: one of ALL_FORMATS, or None to detect. ``scheme``: BIO/BIOES/BMES, or None to
    detect from the tags (the span formats have no tags: ignored there). ``strict``: refuse
    repairs (see module docstring). ``token_fix``: a function applied to each token as read
    (raising ValueError for a bad token), for datasets whose upstream token field carries extra
    data (Weibo's jieba position digits); tag formats only. ``overlaps``: ``"refuse"`` or
    ``"longest"``, what the span formats do with overlapping spans. ``labels``: the allowed
    entity types, or None for any.
    """
    spath = str(path)
    if format is None:
        format = detect_format(path)
    elif format not in ALL_FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(ALL_FORMATS)}")
    if scheme is not None and scheme not in SCHEMES:
        raise ValueError(f"unknown tagging scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    if overlaps not in OVERLAPS:
        raise ValueError(f"overlaps must be one of {', '.join(OVERLAPS)}, got {overlaps!r}")
    allowed = None if labels is None else frozenset(labels)
    if format in SPAN_FORMATS:
        if token_fix is not None:
            raise ValueError(f"token_fix applies to the tag formats ({', '.join(FORMATS)}), not {format}")
        return _read_spans(spath, format, overlaps, allowed)
    text = _read_text(path)
    # Reading allocates millions of small lists and strings and frees none of them, so every
    # cyclic-GC pass is wasted work that grows with the heap: with a previous corpus alive the
    # collector doubles the time of reading SIGHAN train (2.5 s -> 1.2 s). Pause it, as json and
    # pickle users commonly do, and restore whatever state the caller had.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if format == "conll":
            raw = _parse_conll(spath, text, token_fix)
        else:
            raw = _parse_tsv(spath, text, header=format == "ernie_tsv", token_fix=token_fix)
        if not raw:
            raise DataError(spath, None, "no sentences in file")
        if scheme is None:
            scheme = _detect_scheme_located(spath, format, raw)
        sentences, repairs = _convert(spath, format, scheme, raw, strict)
        if allowed is not None:
            _check_types(spath, format, sentences, allowed)
    finally:
        if gc_was_enabled:
            gc.enable()
    if any(repairs.values()):
        logger.warning("%s: %s", spath, describe_repairs(repairs))
    return Corpus(spath, format, scheme, sentences, repairs)


def _read_spans(path: str, format: str, overlaps: str, allowed: Optional[frozenset]) -> Corpus:
    # JSON allows CR as whitespace between values; inside a string a raw CR is a JSON error.
    text = _read_text(path, allow_cr=True)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as in read_corpus
    try:
        raw, repairs = span_formats.parse(path, text, format, overlaps=overlaps, labels=allowed)
        sentences = [Sentence(chars, tags, line) for line, chars, tags in raw]
    finally:
        if gc_was_enabled:
            gc.enable()
    if not sentences:
        raise DataError(path, None, "no sentences in file")
    if any(repairs.values()):
        logger.warning("%s: %s", path, describe_repairs(repairs))
    return Corpus(path, format, "BIO", sentences, repairs)


def _check_types(path: str, fmt: str, sentences: List[Sentence], allowed: frozenset) -> None:
    """DataError at the first tag whose type is not in ``allowed``."""
    for sentence in sentences:
        for k, tag in enumerate(sentence.tags):
            if tag != "O" and tag[2:] not in allowed:
                line, pre = _where(fmt, sentence.line, k)
                raise DataError(path, line, f"{pre}unknown entity type {tag[2:]!r} (allowed: "
                                            f"{', '.join(sorted(allowed))})")


def describe_repairs(repairs: Dict[str, int]) -> str:
    """One line for logs and reports, e.g. ``'57 empty tags read as O'``, or ``'none'``."""
    parts = []
    if repairs.get("empty_tag"):
        parts.append(f"{repairs['empty_tag']} empty tag(s) read as O")
    if repairs.get("orphan_continuation"):
        parts.append(f"{repairs['orphan_continuation']} orphan I-/M-/E- tag(s) read as B- (conlleval-style)")
    if repairs.get("overlap_dropped"):
        parts.append(f"{repairs['overlap_dropped']} overlapping span(s) dropped (the longest kept)")
    if repairs.get("annotations_skipped"):
        parts.append(f"{repairs['annotations_skipped']} Label Studio annotation(s) skipped (cancelled, or not "
                     f"the task's most recent)")
    return "; ".join(parts) if parts else "none"


# ---------------------------------------------------------------------------------------------
# Writing


def write_corpus(sentences: Union[Corpus, Iterable[Sentence]], path: PathLike, format: str = "conll",
                 scheme: str = "BIO") -> None:
    """Write BIO-tagged ``sentences`` to ``path`` in ``format``, with tags in ``scheme``.

    ``conll`` is written with TABs and a blank line after every sentence. The span formats store
    entities, not tags (``scheme`` does not apply); ``spans.write_sentences`` writes them and
    says what they cannot hold (a token that is not exactly one character, for one).

    Raises WriteError (a ValueError whose ``index`` is the sentence's) for data the format
    cannot hold, so that every file written reads back as the same sentences: an empty sentence
    or token, a token containing a TAB, newline, CR, or, in the TSV formats,
    ``\\x02``; in conll, a token with whitespace at one end and not only whitespace (the reader
    refuses it as a likely typo); a malformed tag (a type with whitespace), or one containing
    ``\\x02`` in the TSV formats; in msra_tsv, U+FEFF as the first character of the file (it would
    read as a byte-order mark; conll then starts with a blank line instead).
    """
    if format not in ALL_FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(ALL_FORMATS)}")
    if isinstance(sentences, Corpus):
        sentences = sentences.sentences
    if format in SPAN_FORMATS:
        span_formats.write_sentences(sentences, path, format)
        return
    forbidden = "\t\n\r" + (_SEP if format != "conll" else "")
    out: List[str] = []
    if format == "ernie_tsv":
        out.append(ERNIE_HEADER + "\n")
    checked_tags = set()
    for n, sentence in enumerate(sentences):
        if not sentence.chars or len(sentence.chars) != len(sentence.tags):
            raise WriteError(n, f"{len(sentence.chars)} chars and {len(sentence.tags)} tags; "
                                f"need the same non-zero number")
        for c in sentence.chars:
            # Leading/trailing whitespace is refused in conll only: the conll reader rejects such a
            # token, while between \x02 and TAB its ends are unambiguous and the TSV readers keep it
            # (refusing it there made a TSV corpus that read fine impossible to write back).
            if not c or any(ch in c for ch in forbidden) or (format == "conll" and c != c.strip() and c.strip()):
                raise WriteError(n, f"token {c!r} cannot be written in the {format} format")
        if not out and sentence.chars[0].startswith("\ufeff"):
            # U+FEFF as the file's first character would be the bytes EF BB BF, which _read_text
            # refuses as a byte-order mark. conll puts a blank line first (the reader skips leading
            # blank lines); msra_tsv allows no blank line, so it cannot hold this corpus.
            if format != "conll":
                raise WriteError(n, f"token {sentence.chars[0]!r} starts with U+FEFF, which as the "
                                    f"first character of a {format} file reads as a byte-order mark; write this "
                                    f"corpus as ernie_tsv or conll, or drop the character")
            out.append("\n")
        # Tags are checked too (each distinct tag once): a \x02 inside a TSV tag splits it in two,
        # and a type with whitespace is refused by every reader, so either used to be written
        # into a file that read_corpus then rejected.
        for tag in set(sentence.tags) - checked_tags:
            try:
                split_tag(tag)
            except TagError as err:
                raise WriteError(n, str(err)) from None
            if _SEP in tag and format != "conll":
                raise WriteError(n, f"tag {tag!r} cannot be written in the {format} format")
            checked_tags.add(tag)
        tags = from_bio(sentence.tags, scheme)
        if format == "conll":
            out.extend(f"{c}\t{t}\n" for c, t in zip(sentence.chars, tags))
            out.append("\n")
        else:
            out.append(f"{_SEP.join(sentence.chars)}\t{_SEP.join(tags)}\n")
    # open(..., newline="\n") rather than Path.write_text(newline=...), which needs Python 3.10.
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(out))


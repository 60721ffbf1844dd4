"""Span formats: each sentence is a text plus entities as character offsets, the way annotation
tools export them. ``readers.read_corpus`` / ``write_corpus`` dispatch here for these formats.

Formats:

- ``doccano``: JSON lines, one object per sentence, ``{"text": ..., "label": [[start, end, "PER"],
  ...]}``: doccano's sequence-labelling import and export (doccano 1.x exported the list as
  ``"labels"``, which is read too), or ``{"text": ..., "entities": [{"start_offset", "end_offset",
  "label", ...}]}``: doccano's export of a project with relations. Other keys (``id``,
  ``Comments``, ``relations``, metadata) are ignored. Written as ``{"text", "label"}``.
- ``label_studio``: Label Studio's JSON export (the format named "JSON" in its export dialog): a
  JSON array of tasks ``{"data": {"text": ...}, "annotations": [{"result": [{"type": "labels",
  "value": {"start", "end", "text", "labels": ["PER"]}, "from_name", "to_name", "id"}],
  "was_cancelled", "created_at", "updated_at", "id", ...}], "predictions": [...]}``. The text is
  ``data["text"]``, or the only string field of ``data``. Written as one task per line with one
  annotation (``from_name`` "label", ``to_name`` "text"); :func:`write_label_studio_predictions`
  writes pre-annotations instead.
- ``jsonl``: ``python -m paddle_ner.predict`` output, ``{"text", "tags", "entities": [{"type",
  "start", "end", "text", "score"?}]}``, so predictions, corrected or not, go back into training.
  ``tags`` may be left out; where present it must agree with ``entities``.

What reading guarantees (besides what ``readers`` guarantees for every format):

- A task (a line, or one element of the Label Studio array) is one sentence. Every character of
  its text is kept, whitespace and line breaks included, and gets exactly one BIO tag. Offsets
  count characters (Python code points), end exclusive, as doccano and Label Studio (since it
  stopped counting UTF-16 code units) store them.
- Label Studio: the annotation read is the task's most recent one that is not ``was_cancelled``
  (latest ``updated_at``, else ``created_at``, then the larger ``id``, then the later in the list).
  The others are skipped and counted (``annotations_skipped``). A task with no such annotation is
  refused (predictions are never read as annotations: accept or correct them in Label Studio
  first). Results of type ``labels`` are the spans; ``relation``, ``choices``, ``textarea`` and
  other non-span results are ignored; other ``*labels`` results (``hypertextlabels``, image
  regions...) are refused, since they are not character offsets into a plain text.
- Overlapping or nested spans (a character would need two tags) are refused, naming both, unless
  ``overlaps="longest"``: then spans are taken longest first (ties: the earlier start, then the
  earlier in the task), a span that overlaps one already taken is dropped, and the drops are
  counted (``overlap_dropped``).
- Refused with ``DataError`` (``PATH:LINE: message``; LINE is the task's line; for Label Studio
  it is the line where the task's object starts, and as Label Studio writes its whole export on
  one line, the message then starts ``task N (id ID):``, N counting tasks from 1): malformed
  JSON, a task without a text (no text field, or an empty one), offsets that are not integers,
  reversed or empty (start >= end) or outside the text, a span whose stored ``text`` differs
  from the text at its offsets, an empty label, a label with whitespace (not an entity type), a
  label outside the ``labels`` given, several labels on one span, a lone surrogate
  (``\\ud800``) in a text or label.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Collection, Dict, IO, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from paddle_ner.errors import DataError
from paddle_ner.tags import TagError, spans, spans_to_bio, split_tag

__all__ = [
    "SPAN_FORMATS",
    "OVERLAPS",
    "WriteError",
    "sniff",
    "parse",
    "write_sentences",
    "write_doccano",
    "write_jsonl",
    "write_label_studio",
    "write_label_studio_predictions",
]

SPAN_FORMATS = ("doccano", "label_studio", "jsonl")
OVERLAPS = ("refuse", "longest")

# Where Label Studio's export puts a Text object's NER spans (the <Labels> tag's result type);
# other result types ending in "labels" label something else (HTML ranges, image regions).
_LS_SPAN_TYPE = "labels"
_JSON_SPACE = " \t\r\n"
# A conll token line: a token, one separator, a tag (or nothing). A file whose first line looks
# like this is conll even if its token is '{' or '['.
_CONLL_LINE = re.compile(r"^\S+[\t ](?:O|[BIMES]-\S+)?$")
_SURROGATE = re.compile("[\ud800-\udfff]")

Raw = Tuple[int, List[str], List[str]]  # (line, chars, BIO tags), as readers builds Sentences
StreamOrPath = Union[str, Path, IO[str]]


class WriteError(ValueError):
    """Sentence ``index`` (0-based) holds something the target format cannot (``detail`` says
    what); ``str()`` is ``sentence INDEX: DETAIL``."""

    def __init__(self, index: int, detail: str):
        super().__init__(f"sentence {index}: {detail}")
        self.index = index
        self.detail = detail

    def __str__(self) -> str:
        return f"sentence {self.index}: {self.detail}"


@dataclass
class _Span:
    """A span as found in a file, not yet checked: any JSON values."""

    label: Any
    start: Any
    end: Any
    text: Any = None  # the span's own copy of its text, where the format stores one


# ---------------------------------------------------------------------------------------------
# Detection


def sniff(sample: str, first_line: str) -> Optional[str]:
    """The span format ``sample`` (the start of a file) is in, or None for a tag format.

    ``first_line`` is its first non-empty line. A JSON array (``[`` then ``{`` or ``]``) is
    ``label_studio``; a first line starting with ``{"`` is JSON lines: ``jsonl`` when an object
    has ``tags`` or ``entities`` with ``type``, ``doccano`` when it has ``label``/``labels`` or
    ``entities`` with ``start_offset`` (the first object that tells decides; where none does,
    all entity lists are empty and both read the same). A conll-shaped first line
    (``{<TAB>O``) is never JSON, nor is a line with a raw ``\\x02`` (TSV).
    """
    if _CONLL_LINE.match(first_line) or "\x02" in first_line:
        return None  # a raw \x02 is never JSON (strings escape it): a TSV line starting '[' or '{'
    body = sample.lstrip(_JSON_SPACE)
    if body.startswith("["):
        rest = body[1:].lstrip(_JSON_SPACE)
        return "label_studio" if rest[:1] in ("{", "]", "") else None
    head = first_line.lstrip(_JSON_SPACE)
    # '{' then a key's quote (or '}'): JSON, even if the line is cut or broken.
    if not head.startswith("{") or head[1:].lstrip(_JSON_SPACE)[:1] not in ('"', "}", ""):
        return None
    for line in sample.split("\n"):
        if not line.strip(_JSON_SPACE):
            continue
        try:
            obj = json.loads(line)
        except ValueError:  # broken JSON (or a line cut at the end of the sample): guess by keys
            if '"tags"' in line or '"type"' in line:
                return "jsonl"
            if '"label' in line or '"start_offset"' in line:
                return "doccano"
            continue
        kind = _json_line_kind(obj)
        if kind is not None:
            return kind
    return "doccano"


def _json_line_kind(obj: Any) -> Optional[str]:
    if not isinstance(obj, dict):
        return None
    if "tags" in obj:
        return "jsonl"
    if "label" in obj or "labels" in obj:
        return "doccano"
    entities = obj.get("entities")
    if isinstance(entities, list) and entities and isinstance(entities[0], dict):
        if "start_offset" in entities[0]:
            return "doccano"
        if "type" in entities[0] or "start" in entities[0]:
            return "jsonl"
    return None


# ---------------------------------------------------------------------------------------------
# Reading


def parse(path: str, text: str, fmt: str, overlaps: str = "refuse",
          labels: Optional[Collection[str]] = None) -> Tuple[List[Raw], Dict[str, int]]:
    """Sentences of a span-format file: ``([(line, chars, bio_tags)], repairs)``.

    ``text``: the file's decoded contents. ``overlaps``: "refuse" or "longest" (module doc).
    ``labels``: the allowed entity types, or None for any. Raises DataError (module doc).
    """
    if fmt not in SPAN_FORMATS:
        raise ValueError(f"unknown span format {fmt!r}; expected one of {', '.join(SPAN_FORMATS)}")
    if overlaps not in OVERLAPS:
        raise ValueError(f"overlaps must be one of {', '.join(OVERLAPS)}, got {overlaps!r}")
    allowed = None if labels is None else frozenset(labels)
    repairs = {"overlap_dropped": 0, "annotations_skipped": 0}
    raw: List[Raw] = []
    if fmt == "label_studio":
        objects = _json_array(path, text)
    else:
        objects = _json_lines(path, text)
    read = {"doccano": _doccano_task, "jsonl": _jsonl_task, "label_studio": _label_studio_task}[fmt]
    for k, (line, obj) in enumerate(objects, 1):
        try:
            sentence, found, tags = read(path, line, obj, repairs)
            bio, dropped = _tags(path, line, sentence, found, overlaps, allowed)
            if tags is not None:
                _check_tags_agree(path, line, tags, bio)
        except DataError as err:
            if fmt != "label_studio":
                raise
            # Label Studio exports the whole array on one line: name the task too.
            raise DataError(err.path, err.line, f"task {k}{_task_id(obj)}: {err.message}") from None
        repairs["overlap_dropped"] += dropped
        raw.append((line, list(sentence), bio))
    return raw, repairs


def _json_lines(path: str, text: str) -> Iterator[Tuple[int, Any]]:
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip(_JSON_SPACE):
            continue  # blank lines (and the newline that ends the file) separate nothing
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(path, lineno, f"not valid JSON: {err.msg} (column {err.colno}); a JSON lines "
                                          f"file has one complete object per line") from None
        if not isinstance(obj, dict):
            raise DataError(path, lineno, f"expected a JSON object (one task per line), got {_json_kind(obj)}")
        yield lineno, obj


def _json_array(path: str, text: str) -> Iterator[Tuple[int, Any]]:
    """(line where the element starts, element) for each element of the JSON array ``text``."""
    decoder = json.JSONDecoder()
    n = len(text)

    def skip(i: int) -> int:
        while i < n and text[i] in _JSON_SPACE:
            i += 1
        return i

    def line_at(i: int) -> int:
        return text.count("\n", 0, i) + 1

    i = skip(0)
    if i == n or text[i] != "[":
        got = "an empty file" if i == n else repr(text[i:i + 20])
        raise DataError(path, line_at(i) if i < n else None,
                        f"expected a JSON array of Label Studio tasks (its JSON export), got {got}")
    i = skip(i + 1)
    if i < n and text[i] == "]":
        i = skip(i + 1)
    else:
        counted, line = 0, 1  # newlines are counted incrementally: the file can be large
        while True:
            try:
                obj, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError as err:
                raise DataError(path, err.lineno, f"not valid JSON: {err.msg} (column {err.colno})") from None
            line += text.count("\n", counted, i)
            counted = i
            yield line, obj
            i = skip(end)
            if i < n and text[i] == ",":
                i = skip(i + 1)
                continue
            if i < n and text[i] == "]":
                i = skip(i + 1)
                break
            what = "the end of the file" if i == n else repr(text[i])
            raise DataError(path, line_at(i), f"not valid JSON: expected ',' or ']' after a task, got {what}")
    if i < n:
        raise DataError(path, line_at(i), f"not valid JSON: extra data after the array: {text[i:i + 20]!r}")


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number")


def _text_field(path: str, line: int, obj: dict, key: str) -> str:
    if key not in obj:
        raise DataError(path, line, f'a task without a text: no "{key}" field')
    text = obj[key]
    if not isinstance(text, str):
        raise DataError(path, line, f'a task without a text: "{key}" is {_json_kind(text)}, not a string')
    if not text:
        raise DataError(path, line, f'a task without a text: "{key}" is empty')
    bad = _SURROGATE.search(text)
    if bad:
        raise DataError(path, line, f"character {bad.start()} of the text is a lone surrogate "
                                    f"U+{ord(bad.group()):04X} (an unpaired \\u escape), not a character")
    return text


def _list_field(path: str, line: int, obj: dict, key: str) -> list:
    value = obj[key]
    if not isinstance(value, list):
        raise DataError(path, line, f'"{key}" must be a list, got {_json_kind(value)}')
    return value


def _doccano_task(path: str, line: int, obj: dict, repairs: Dict[str, int]):
    text = _text_field(path, line, obj, "text")
    keys = [k for k in ("label", "labels", "entities") if k in obj]
    if not keys:
        raise DataError(path, line, 'no spans: expected "label": [[start, end, "TYPE"], ...] or "entities": '
                                    '[{"start_offset", "end_offset", "label"}, ...]')
    if len(keys) > 1:
        raise DataError(path, line, f'both "{keys[0]}" and "{keys[1]}": cannot tell which holds the spans')
    found = []
    for item in _list_field(path, line, obj, keys[0]):
        if keys[0] == "entities":
            if not isinstance(item, dict) or not {"start_offset", "end_offset", "label"} <= set(item):
                raise DataError(path, line, f'expected an entity {{"start_offset", "end_offset", "label"}}, '
                                            f"got {_short(item)}")
            found.append(_Span(item["label"], item["start_offset"], item["end_offset"]))
        else:
            if not isinstance(item, list) or len(item) != 3:
                raise DataError(path, line, f"expected a span [start, end, label], got {_short(item)}")
            found.append(_Span(item[2], item[0], item[1]))
    return text, found, None


def _jsonl_task(path: str, line: int, obj: dict, repairs: Dict[str, int]):
    text = _text_field(path, line, obj, "text")
    if "entities" not in obj:
        raise DataError(path, line, 'no "entities" field (a list of {"type", "start", "end"}; [] for none)')
    found = []
    for item in _list_field(path, line, obj, "entities"):
        if not isinstance(item, dict) or not {"type", "start", "end"} <= set(item):
            raise DataError(path, line, f'expected an entity {{"type", "start", "end", "text"}}, got {_short(item)}')
        found.append(_Span(item["type"], item["start"], item["end"], item.get("text")))
    tags = None
    if "tags" in obj:
        tags = _list_field(path, line, obj, "tags")
        if len(tags) != len(text):
            raise DataError(path, line, f'"tags" has {len(tags)} tags for {len(text)} characters; leave "tags" '
                                        f'out to read the entities alone')
    return text, found, tags


def _label_studio_task(path: str, line: int, task: Any, repairs: Dict[str, int]):
    if not isinstance(task, dict):
        raise DataError(path, line, f"expected a task object, got {_json_kind(task)}")
    data = task.get("data")
    if not isinstance(data, dict):
        hint = " (this looks like Label Studio's JSON-MIN export; export as JSON)" if "text" in task else ""
        raise DataError(path, line, f'a task without a text: no "data" object{hint}')
    key = "text"
    if key not in data:
        strings = [k for k, v in data.items() if isinstance(v, str)]
        if len(strings) == 1:
            key = strings[0]
        else:
            raise DataError(path, line, f'a task without a text: "data" has no "text" field and not exactly one '
                                        f"string field (fields: {', '.join(map(repr, data)) or 'none'})")
    text = _text_field(path, line, data, key)
    # "completions" is what Label Studio before 1.0 called the annotations.
    field = "annotations" if "annotations" in task or "completions" not in task else "completions"
    annotations = _list_field(path, line, task, field) if field in task else []
    for k, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            raise DataError(path, line, f"annotation {k + 1} is {_json_kind(annotation)}, not an object")
    usable = [(k, a) for k, a in enumerate(annotations) if not a.get("was_cancelled")]
    if not usable:
        if annotations:
            why = f"all {len(annotations)} of its annotations are cancelled"
        elif task.get("predictions"):
            why = "it has predictions only (accept or correct them in Label Studio to make an annotation)"
        else:
            why = "it has no annotations"
        raise DataError(path, line, f"no annotation to read: {why}")
    _, chosen = max(usable, key=lambda pair: _recency(path, line, *pair))
    repairs["annotations_skipped"] += len(annotations) - 1
    if "result" not in chosen:
        raise DataError(path, line, 'its annotation has no "result"')
    found, targets = [], set()
    for item in _list_field(path, line, chosen, "result"):
        if not isinstance(item, dict):
            raise DataError(path, line, f"expected a result object, got {_short(item)}")
        kind = item.get("type")
        if kind != _LS_SPAN_TYPE:
            if isinstance(kind, str) and kind.endswith("labels"):
                raise DataError(path, line, f"result type {kind!r} is not character offsets into a text; NER "
                                            f"is read from <Labels> on a <Text> object (type 'labels')")
            continue  # relations, choices, textarea...: not entities
        value = item.get("value")
        if not isinstance(value, dict) or not {"start", "end", "labels"} <= set(value):
            raise DataError(path, line, f'expected a labels result with a value {{"start", "end", "labels"}}, '
                                        f"got {_short(value)}")
        names = value["labels"]
        if not isinstance(names, list) or len(names) > 1:
            raise DataError(path, line, f"span [{_short(value['start'])}, {_short(value['end'])}) has labels "
                                        f"{_short(names)}; one entity type per span")
        targets.add(_short(item.get("to_name")))
        found.append(_Span(names[0] if names else "", value["start"], value["end"], value.get("text")))
    if len(targets) > 1:
        raise DataError(path, line, f"the spans label {len(targets)} different objects (to_name "
                                    f"{', '.join(sorted(targets))}); one text per task can be read")
    return text, found, None


def _task_id(task: Any) -> str:
    """`` (id 7)`` for a task that has an id, else nothing."""
    ident = task.get("id") if isinstance(task, dict) else None
    if isinstance(ident, int) and not isinstance(ident, bool):
        return f" (id {ident})"
    return f" (id {_short(ident)})" if isinstance(ident, str) else ""


def _recency(path: str, line: int, index: int, annotation: dict) -> tuple:
    """Sort key: later = more recent (updated_at, else created_at; then id; then list order)."""
    stamp = annotation.get("updated_at") or annotation.get("created_at")
    when = datetime.min.replace(tzinfo=timezone.utc)
    if stamp is not None:
        try:
            when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            raise DataError(path, line, f"annotation {index + 1}: unreadable timestamp {_short(stamp)} "
                                        f"(expected ISO 8601, as Label Studio writes)") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    ident = annotation.get("id")
    return (stamp is not None, when, ident if isinstance(ident, int) and not isinstance(ident, bool) else -1, index)


def _short(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters: how messages quote what the file holds."""
    text = json.dumps(value, ensure_ascii=False)
    if _SURROGATE.search(text):
        text = json.dumps(value)  # \ud800 escaped: a lone surrogate cannot be printed
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# Spans -> BIO tags, with every check


def _tags(path: str, line: int, text: str, found: Sequence[_Span], overlaps: str,
          allowed: Optional[frozenset]) -> Tuple[List[str], int]:
    checked = [_check_span(path, line, text, span, allowed) for span in found]
    kept = checked
    if len(checked) > 1:
        kept = _resolve_overlaps(path, line, text, checked, overlaps)
    return spans_to_bio(len(text), kept), len(checked) - len(kept)


def _check_span(path: str, line: int, text: str, span: _Span, allowed: Optional[frozenset]) -> Tuple[str, int, int]:
    start, end, label = span.start, span.end, span.label
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise DataError(path, line, f"span [{_short(start)}, {_short(end)}) {_short(label)}: offsets must be integers")
    if start >= end:
        raise DataError(path, line, f"span [{start}, {end}) {_short(label)}: start must be less than end")
    if start < 0 or end > len(text):
        raise DataError(path, line, f"span [{start}, {end}) {_short(label)} is outside the text, which has "
                                    f"{len(text)} characters{_utf16_hint(text, start, end, span.text)}")
    if span.text is not None and span.text != text[start:end]:
        raise DataError(path, line, f"span [{start}, {end}) {_short(label)}: its text {_short(span.text)} differs "
                                    f"from the text at those offsets, {_short(text[start:end])}"
                                    f"{_utf16_hint(text, start, end, span.text)}")
    where = f"span [{start}, {end}) {_short(text[start:end])}"
    if not isinstance(label, str):
        raise DataError(path, line, f"{where}: the label must be a string, got {_short(label)}")
    if not label:
        raise DataError(path, line, f"{where}: empty label")
    if any(c.isspace() for c in label):
        raise DataError(path, line, f"{where}: label {_short(label)} contains whitespace, which an entity type cannot")
    if _SURROGATE.search(label):
        raise DataError(path, line, f"{where}: label {_short(label)} holds a lone surrogate, not a character")
    if allowed is not None and label not in allowed:
        raise DataError(path, line, f"{where}: unknown label {_short(label)} (allowed: {', '.join(sorted(allowed))})")
    return label, start, end


def _utf16_hint(text: str, start: int, end: int, wanted: Any) -> str:
    """Why offsets may be off: JavaScript tools that count UTF-16 code units, not characters."""
    if not isinstance(wanted, str) or all(ord(c) <= 0xFFFF for c in text):
        return ""
    units = [0]  # units[i] = UTF-16 position of character i
    for c in text:
        units.append(units[-1] + (2 if ord(c) > 0xFFFF else 1))
    index = {u: i for i, u in enumerate(units)}
    if start in index and end in index and text[index[start]:index[end]] == wanted:
        return (" (they fit if counted in UTF-16 code units, as JavaScript counts: the text has characters "
                "beyond U+FFFF; convert the offsets to characters)")
    return ""


def _describe(text: str, span: Tuple[str, int, int]) -> str:
    label, start, end = span
    return f"{label} [{start}, {end}) {_short(text[start:end])}"


def _resolve_overlaps(path: str, line: int, text: str, found: List[Tuple[str, int, int]],
                      overlaps: str) -> List[Tuple[str, int, int]]:
    if overlaps == "refuse":
        order = sorted(range(len(found)), key=lambda i: (found[i][1], found[i][2], i))
        reach = order[0]  # the span seen so far that ends last
        for i in order[1:]:
            if found[i][1] < found[reach][2]:
                raise DataError(path, line, f"overlapping spans {_describe(text, found[reach])} and "
                                            f"{_describe(text, found[i])} (a character has one tag); "
                                            f"--overlaps longest (data.overlaps: longest) keeps the longest")
            if found[i][2] > found[reach][2]:
                reach = i
        return found
    taken = bytearray(len(text))
    kept = []
    for i in sorted(range(len(found)), key=lambda i: (found[i][1] - found[i][2], found[i][1], i)):
        _, start, end = found[i]
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            kept.append(found[i])
    return sorted(kept, key=lambda s: s[1])


def _check_tags_agree(path: str, line: int, tags: list, bio: List[str]) -> None:
    for k, (tag, want) in enumerate(zip(tags, bio)):
        if tag != want:
            raise DataError(path, line, f'"tags" and "entities" disagree at character {k}: {_short(tag)} vs '
                                        f'{want!r} from the entities; leave "tags" out to read the entities alone')


# ---------------------------------------------------------------------------------------------
# Writing


def write_sentences(sentences: Iterable, path, fmt: str) -> None:
    """Write ``sentences`` (each with ``chars`` and BIO ``tags``) to ``path`` in span format ``fmt``.

    Raises WriteError (a ValueError) for a sentence the format cannot hold, so that every file
    written reads back as the same sentences: an empty sentence, chars and tags of different
    lengths, a token that is not exactly one character (the text keeps no token boundaries), a
    lone surrogate, or a tag that is not BIO with a type free of whitespace.
    """
    if fmt not in SPAN_FORMATS:
        raise ValueError(f"unknown span format {fmt!r}; expected one of {', '.join(SPAN_FORMATS)}")
    records = []
    for n, sentence in enumerate(sentences):
        chars, tags = list(sentence.chars), list(sentence.tags)
        if not chars or len(chars) != len(tags):
            raise WriteError(n, f"{len(chars)} chars and {len(tags)} tags; need the same non-zero number")
        for c in chars:
            if len(c) != 1:
                raise WriteError(n, f"token {c!r} is {len(c)} characters; {fmt} stores the text, so each token "
                                    f"must be one character")
            if _SURROGATE.match(c):
                raise WriteError(n, f"token {c!r} is a lone surrogate, which UTF-8 cannot encode")
        try:
            for tag in set(tags):
                split_tag(tag)
            entities = spans(tags)
        except TagError as err:
            raise WriteError(n, str(err)) from None
        for typ, _, _ in entities:
            if _SURROGATE.search(typ):
                raise WriteError(n, f"entity type {typ!r} holds a lone surrogate, which UTF-8 cannot encode")
        text = "".join(chars)
        records.append({"text": text, "tags": tags, "entities": [
            {"type": typ, "start": start, "end": end, "text": text[start:end]} for typ, start, end in entities]})
    writer = {"doccano": write_doccano, "jsonl": write_jsonl, "label_studio": write_label_studio}[fmt]
    writer(records, path)


def write_doccano(records: Iterable[dict], out: StreamOrPath) -> int:
    """Write predict records ``{"text", "entities": [{"type", "start", "end", ...}]}`` as doccano
    JSONL ``{"text", "label": [[start, end, type], ...]}`` (scores are dropped: doccano has none).
    Records with an empty text are skipped (a task needs a text); returns how many were written."""
    lines = [_dumps({"text": text, "label": [[e["start"], e["end"], e["type"]] for e in entities]}) + "\n"
             for text, entities in _checked_records(records)]
    _write(out, "".join(lines))
    return len(lines)


def write_jsonl(records: Iterable[dict], out: StreamOrPath) -> int:
    """Write records as our ``jsonl`` (predict's output): ``{"text", "tags", "entities"}``, the tags
    derived from the entities, each entity ``{"type", "start", "end", "text"}`` plus its
    ``score`` where it has one. Empty texts are skipped; returns how many were written."""
    lines = []
    for text, entities in _checked_records(records):
        spans_ = [(e["type"], e["start"], e["end"]) for e in entities]
        record = {"text": text, "tags": spans_to_bio(len(text), spans_),
                  "entities": [_entity(text, e) for e in entities]}
        lines.append(_dumps(record) + "\n")
    _write(out, "".join(lines))
    return len(lines)


def write_label_studio(records: Iterable[dict], out: StreamOrPath) -> int:
    """Write records as Label Studio tasks to import, each with one annotation holding its
    entities (``from_name`` "label", ``to_name`` "text", the labelling config's usual names):
    a JSON array, one task per line. Empty texts are skipped; returns how many were written."""
    tasks = [{"data": {"text": text}, "annotations": [{"result": _ls_results(text, entities, scores=False)}]}
             for text, entities in _checked_records(records)]
    _write(out, _json_array_text(tasks))
    return len(tasks)


def write_label_studio_predictions(records: Iterable[dict], out: StreamOrPath, model_version: str) -> int:
    """Write predict records as Label Studio tasks with pre-annotations: each task
    ``{"data": {"text"}, "predictions": [{"model_version", "score"?, "result": [...]}]}``, each
    result carrying its entity's ``score`` where the record has one. The prediction's ``score``
    (which Label Studio sorts tasks by) is the lowest entity score, present only when the task
    has entities and all have scores. Empty texts are skipped; returns how many were written."""
    tasks = []
    for text, entities in _checked_records(records):
        prediction: Dict[str, Any] = {"model_version": str(model_version)}
        scores = [e.get("score") for e in entities]
        if scores and all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
            prediction["score"] = min(scores)
        prediction["result"] = _ls_results(text, entities, scores=True)
        tasks.append({"data": {"text": text}, "predictions": [prediction]})
    _write(out, _json_array_text(tasks))
    return len(tasks)


def _checked_records(records: Iterable[dict]) -> Iterator[Tuple[str, List[dict]]]:
    """(text, entities sorted by start) of each record with a non-empty text; ValueError for
    entities that do not fit the text or overlap."""
    for n, record in enumerate(records):
        text = record.get("text")
        if not isinstance(text, str):
            raise ValueError(f"record {n}: no text")
        if not text:
            continue
        entities = sorted(record.get("entities", []), key=lambda e: (e["start"], e["end"]))
        for e in entities:
            typ, start, end = e["type"], e["start"], e["end"]
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                raise ValueError(f"record {n}: entity {typ!r} [{start}, {end}) does not fit a text of {len(text)} "
                                 f"characters")
            if "text" in e and e["text"] != text[start:end]:
                raise ValueError(f"record {n}: entity text {e['text']!r} is not text[{start}:{end}] "
                                 f"{text[start:end]!r}")
            try:
                split_tag("B-" + typ)
            except (TagError, TypeError):
                raise ValueError(f"record {n}: entity type {typ!r} is not a type (a string without "
                                 f"whitespace)") from None
        for a, b in zip(entities, entities[1:]):
            if b["start"] < a["end"]:
                raise ValueError(f"record {n}: entities [{a['start']}, {a['end']}) and [{b['start']}, {b['end']}) "
                                 f"overlap")
        yield text, entities


def _entity(text: str, e: dict) -> dict:
    out = {"type": e["type"], "start": e["start"], "end": e["end"], "text": text[e["start"]:e["end"]]}
    if e.get("score") is not None:
        out["score"] = e["score"]
    return out


def _ls_results(text: str, entities: List[dict], scores: bool) -> List[dict]:
    results = []
    for k, e in enumerate(entities, 1):
        item = {"id": f"e{k}", "from_name": "label", "to_name": "text", "type": _LS_SPAN_TYPE,
                "value": {"start": e["start"], "end": e["end"], "text": text[e["start"]:e["end"]],
                          "labels": [e["type"]]}}
        if scores and e.get("score") is not None:
            item["score"] = e["score"]
        results.append(item)
    return results


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _json_array_text(items: List[Any]) -> str:
    """A JSON array with one element per line: readable, diffable, and each task's line is
    where read errors point."""
    if not items:
        return "[]\n"
    return "[\n" + ",\n".join(_dumps(item) for item in items) + "\n]\n"


def _write(out: StreamOrPath, text: str) -> None:
    if isinstance(out, (str, Path)):
        # open(..., newline="\n"): the same bytes on every platform.
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    elif hasattr(out, "write"):
        out.write(text)
    else:
        raise TypeError(f"expected a path or a text stream, got {type(out).__name__}")

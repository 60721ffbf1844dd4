"""Span formats (doccano, Label Studio, our jsonl): detection, reading, writing, every error's exact
one-line message and exit status through the CLI, `convert` and `split`, and a real Label Studio
export (tests/fixtures/annotation, made by tools/annotation_fixtures/label_studio.py)."""
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import quiet_logger
from paddle_ner.config import load_config
from paddle_ner.data import load_splits, write_doccano, write_label_studio_predictions
from paddle_ner.data.__main__ import main
from paddle_ner.data.readers import (ALL_FORMATS, FORMATS, SPAN_FORMATS, Sentence, detect_format, read_corpus,
                                     write_corpus)
from paddle_ner.errors import DataError, UsageError
from paddle_ner.tags import to_bio

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "annotation"


def write(tmp_path, text, name="data.jsonl"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def jsonl(*objects):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def ls_task(text, *results, **task):
    """A Label Studio task with one annotation holding ``results`` (label, start, end[, text])."""
    items = []
    for label, start, end, *stored in results:
        value = {"start": start, "end": end, "labels": [label] if label is not None else []}
        value["text"] = stored[0] if stored else text[start:end]
        items.append({"type": "labels", "from_name": "label", "to_name": "text", "value": value})
    return {"data": {"text": text}, "annotations": [{"result": items}], **task}


def cli_error(capsys, argv):
    """Run the data CLI; it must exit 2 with one line on stderr. Returns that line."""
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in argv])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    return captured.err[:-1]


def stats_error(capsys, path, *flags):
    return cli_error(capsys, ["stats", path, *flags])


@pytest.fixture(autouse=True)
def quiet_repairs():
    with quiet_logger("paddle_ner.data.readers"):
        yield


# ---------------------------------------------------------------------------------------------
# Round trip and detection


def test_sample_round_trip_through_every_span_format_is_byte_identical(tmp_path, sample_dir, capsys):
    """The issue's check: conll -> doccano -> jsonl -> label_studio -> conll, through the CLI."""
    source = sample_dir / "train.txt"
    chain = [("doccano", "a.jsonl"), ("jsonl", "b.jsonl"), ("label_studio", "c.json"), ("conll", "d.txt")]
    previous = source
    for fmt, name in chain:
        target = tmp_path / name
        assert main(["convert", str(previous), str(target), "--to", fmt]) == 0
        assert detect_format(target) == fmt
        previous = target
    assert previous.read_bytes() == source.read_bytes()
    corpus = read_corpus(tmp_path / "c.json")
    assert (corpus.format, corpus.scheme, len(corpus)) == ("label_studio", "BIO", 400)
    assert corpus.repairs == {"overlap_dropped": 0, "annotations_skipped": 0}
    # every task on its own line: errors point at it
    assert [s.line for s in corpus][:3] == [2, 3, 4]
    assert "400 sentences" in capsys.readouterr().err


def test_written_bytes(tmp_path):
    sentences = [Sentence(list("张三在北京。"), ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]),
                 Sentence(list("好 "), ["O", "O"])]
    write_corpus(sentences, tmp_path / "d", "doccano")
    assert (tmp_path / "d").read_text(encoding="utf-8") == (
        '{"text": "张三在北京。", "label": [[0, 2, "PER"], [3, 5, "LOC"]]}\n{"text": "好 ", "label": []}\n')
    write_corpus(sentences, tmp_path / "j", "jsonl")
    first = json.loads((tmp_path / "j").read_text(encoding="utf-8").split("\n")[0])
    assert first == {"text": "张三在北京。", "tags": sentences[0].tags, "entities": [
        {"type": "PER", "start": 0, "end": 2, "text": "张三"},
        {"type": "LOC", "start": 3, "end": 5, "text": "北京"}]}
    write_corpus(sentences, tmp_path / "l", "label_studio")
    text = (tmp_path / "l").read_text(encoding="utf-8")
    assert text.startswith("[\n{") and text.endswith("}\n]\n") and text.count("\n") == 4
    tasks = json.loads(text)
    assert tasks[0]["data"] == {"text": "张三在北京。"}
    assert tasks[0]["annotations"][0]["result"][1] == {
        "id": "e2", "from_name": "label", "to_name": "text", "type": "labels",
        "value": {"start": 3, "end": 5, "text": "北京", "labels": ["LOC"]}}
    for name in "djl":
        back = read_corpus(tmp_path / name)
        assert [(s.chars, s.tags) for s in back] == [(s.chars, s.tags) for s in sentences]


def test_whitespace_and_line_breaks_are_characters(tmp_path):
    text = " 李华\t和\n王芳 \u3000"
    path = write(tmp_path, jsonl({"text": text, "label": [[1, 3, "PER"], [6, 8, "PER"]]}))
    sentence = read_corpus(path).sentences[0]
    assert sentence.chars == list(text) and len(sentence.tags) == len(text)
    assert sentence.spans() == [("PER", 1, 3), ("PER", 6, 8)]
    for fmt in SPAN_FORMATS:
        write_corpus([sentence], tmp_path / fmt, fmt)
        assert read_corpus(tmp_path / fmt).sentences[0].chars == list(text)


@pytest.mark.parametrize("text, expected", [
    (jsonl({"text": "ab", "label": [[0, 1, "X"]]}), "doccano"),
    (jsonl({"id": 3, "text": "ab", "labels": [[0, 1, "X"]], "annotation_approver": None}), "doccano"),
    (jsonl({"text": "ab", "entities": [{"id": 1, "label": "X", "start_offset": 0, "end_offset": 1}],
            "relations": []}), "doccano"),
    (jsonl({"text": "ab", "tags": ["O", "O"], "entities": []}), "jsonl"),
    (jsonl({"text": "ab", "entities": [{"type": "X", "start": 0, "end": 1}]}), "jsonl"),
    # the first line does not tell (no entities, no tags); a later one does
    (jsonl({"text": "ab", "entities": []}, {"text": "ab", "entities": [{"type": "X", "start": 0, "end": 1}]}), "jsonl"),
    ('[{"data": {"text": "ab"}, "annotations": []}]', "label_studio"),
    ('\n  [\n  {\n "data": {}}]', "label_studio"),
    ("[]", "label_studio"),
    ('{"text": "ab", "label": [[0, 1, "X"]', "doccano"),  # broken JSON: still JSON lines, by its keys
    ("{\tO\n}\tO\n\n", "conll"),  # conll whose tokens are braces
    ("[\tB-X\n]\tI-X\n\n", "conll"),
    ("[\x02{\tO\x02O\n", "msra_tsv"),
    ("{\x02a\tO\x02O\n", "msra_tsv"),
    ("{\tB-PER.NAM\n\n", "conll"),
    ("text_a\tlabel\n{\tO\n", "ernie_tsv"),
])
def test_detection(tmp_path, text, expected):
    assert detect_format(write(tmp_path, text)) == expected


@pytest.mark.parametrize("token", ["{", "[", '{"', "[{", "{}", "]", '"'])
@pytest.mark.parametrize("fmt", FORMATS)
def test_tag_formats_starting_with_json_punctuation_are_not_json(tmp_path, token, fmt):
    path = tmp_path / "t"
    write_corpus([Sentence([token, "a"], ["O", "B-X"]), Sentence(["b"], ["O"])], path, fmt)
    assert detect_format(path) == fmt


def test_forced_format(tmp_path, capsys):
    path = write(tmp_path, jsonl({"text": "张三", "entities": []}))
    assert read_corpus(path, format="doccano").format == "doccano"
    assert read_corpus(path, format="jsonl").format == "jsonl"
    doccano = write(tmp_path, jsonl({"text": "张三", "label": [[0, 2, "PER"]]}), "d.jsonl")
    assert stats_error(capsys, doccano, "--format", "jsonl") == (
        f'{doccano}:1: no "entities" field (a list of {{"type", "start", "end"}}; [] for none)')
    assert stats_error(capsys, doccano, "--format", "label_studio") == (
        f"{doccano}:1: expected a JSON array of Label Studio tasks (its JSON export), got "
        f"'{{\"text\": \"张三\", \"labe'")
    assert main(["stats", str(doccano), "--format", "doccano", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entities"] == {"PER": 1}
    with pytest.raises(ValueError, match="unknown format 'json'"):
        read_corpus(path, format="json")
    assert set(FORMATS) | set(SPAN_FORMATS) == set(ALL_FORMATS)


# ---------------------------------------------------------------------------------------------
# Every error: exact one-line message, exit status 2


ERRORS = [
    # (name, file format, file text, extra flags, expected message after "PATH:LINE: ")
    ("out of range", "doccano", jsonl({"text": "张三在北京", "label": [[3, 9, "LOC"]]}), [],
     '1: span [3, 9) "LOC" is outside the text, which has 5 characters'),
    ("negative", "doccano", jsonl({"text": "张三", "label": [[-1, 1, "PER"]]}), [],
     '1: span [-1, 1) "PER" is outside the text, which has 2 characters'),
    ("reversed", "doccano", jsonl({"text": "ok", "label": []},
                                  {"text": "张三在北京", "label": [[4, 3, "LOC"]]}), [],
     '2: span [4, 3) "LOC": start must be less than end'),
    ("empty span", "jsonl", jsonl({"text": "张三", "entities": [{"type": "PER", "start": 1, "end": 1}]}), [],
     '1: span [1, 1) "PER": start must be less than end'),
    ("not integers", "doccano", jsonl({"text": "张三", "label": [["0", 2, "PER"]]}), [],
     '1: span ["0", 2) "PER": offsets must be integers'),
    ("text disagrees", "jsonl", jsonl({"text": "张三在北京", "entities": [
        {"type": "LOC", "start": 2, "end": 4, "text": "北京"}]}), [],
     '1: span [2, 4) "LOC": its text "北京" differs from the text at those offsets, "在北"'),
    ("empty label", "doccano", jsonl({"text": "张三", "label": [[0, 2, ""]]}), [],
     '1: span [0, 2) "张三": empty label'),
    ("label with whitespace", "doccano", jsonl({"text": "张三", "label": [[0, 2, "PER NAM"]]}), [],
     '1: span [0, 2) "张三": label "PER NAM" contains whitespace, which an entity type cannot'),
    ("label not a string", "doccano", jsonl({"text": "张三", "label": [[0, 2, 7]]}), [],
     '1: span [0, 2) "张三": the label must be a string, got 7'),
    ("unknown label", "doccano", jsonl({"text": "张三", "label": [[0, 2, "PERSON"]]}), ["--labels", "PER,LOC,ORG"],
     '1: span [0, 2) "张三": unknown label "PERSON" (allowed: LOC, ORG, PER)'),
    ("no text field", "doccano", jsonl({"text": "a", "label": []}, {"label": []}), [],
     '2: a task without a text: no "text" field'),
    ("empty text", "jsonl", jsonl({"text": "", "tags": [], "entities": []}), [],
     '1: a task without a text: "text" is empty'),
    ("text not a string", "doccano", jsonl({"text": None, "label": []}), [],
     '1: a task without a text: "text" is null, not a string'),
    ("malformed JSON line", "doccano", '{"text": "a", "label": []}\n\n{"text": "b", "label": [}\n', [],
     "3: not valid JSON: Expecting value (column 25); a JSON lines file has one complete object per line"),
    ("not an object", "doccano", '{"text": "a", "label": []}\n["b"]\n', ["--format", "doccano"],
     "2: expected a JSON object (one task per line), got an array"),
    ("no spans key", "doccano", jsonl({"text": "张三"}), ["--format", "doccano"],
     '1: no spans: expected "label": [[start, end, "TYPE"], ...] or "entities": [{"start_offset", "end_offset", '
     '"label"}, ...]'),
    ("bad doccano span", "doccano", jsonl({"text": "张三", "label": [[0, 2]]}), [],
     "1: expected a span [start, end, label], got [0, 2]"),
    ("overlap", "doccano", jsonl({"text": "张三丰台区", "label": [[0, 3, "PER"], [2, 4, "LOC"]]}), [],
     '1: overlapping spans PER [0, 3) "张三丰" and LOC [2, 4) "丰台" (a character has one tag); '
     "--overlaps longest (data.overlaps: longest) keeps the longest"),
    ("nested", "jsonl", jsonl({"text": "北京大学", "entities": [{"type": "LOC", "start": 0, "end": 2},
                                                          {"type": "ORG", "start": 0, "end": 4}]}), [],
     '1: overlapping spans LOC [0, 2) "北京" and ORG [0, 4) "北京大学" (a character has one tag); '
     "--overlaps longest (data.overlaps: longest) keeps the longest"),
    ("tags disagree", "jsonl", jsonl({"text": "张三", "tags": ["B-PER", "O"],
                                      "entities": [{"type": "PER", "start": 0, "end": 2}]}), [],
     '1: "tags" and "entities" disagree at character 1: "O" vs \'I-PER\' from the entities; leave "tags" out to '
     "read the entities alone"),
    ("tags length", "jsonl", jsonl({"text": "张三", "tags": ["O"], "entities": []}), [],
     '1: "tags" has 1 tags for 2 characters; leave "tags" out to read the entities alone'),
    ("lone surrogate", "doccano", '{"text": "a\\ud800", "label": []}\n', [],
     "1: character 1 of the text is a lone surrogate U+D800 (an unpaired \\u escape), not a character"),
    ("UTF-16 offsets", "label_studio", json.dumps([ls_task("😀张三好", ("PER", 2, 4, "张三"))]), [],
     '1: task 1: span [2, 4) "PER": its text "张三" differs from the text at those offsets, "三好" (they fit if '
     "counted in UTF-16 code units, as JavaScript counts: the text has characters beyond U+FFFF; convert the "
     "offsets to characters)"),
    ("UTF-16 offsets at the end", "label_studio", json.dumps([ls_task("😀张三", ("PER", 2, 4, "张三"))]), [],
     '1: task 1: span [2, 4) "PER" is outside the text, which has 3 characters (they fit if counted in UTF-16 '
     "code units, as JavaScript counts: the text has characters beyond U+FFFF; convert the offsets to characters)"),
    ("LS text disagrees", "label_studio",
     json.dumps([ls_task("张三在北京", ("LOC", 3, 5, "上海"))], indent=1), [],
     '2: task 1: span [3, 5) "LOC": its text "上海" differs from the text at those offsets, "北京"'),
    ("LS empty label", "label_studio", json.dumps([ls_task("张三", (None, 0, 2))]), [],
     '1: task 1: span [0, 2) "张三": empty label'),
    ("LS several labels", "label_studio", json.dumps([{"id": 9, "data": {"text": "张三"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 0, "end": 2, "labels": ["PER", "ORG"]}}]}]}]), [],
     '1: task 1 (id 9): span [0, 2) has labels ["PER", "ORG"]; one entity type per span'),
    ("LS no text", "label_studio", json.dumps([{"id": 4, "data": {"image": "x.png", "caption": "c", "n": 3},
                                                "annotations": []}]), [],
     "1: task 1 (id 4): a task without a text: \"data\" has no \"text\" field and not exactly one string field "
     "(fields: 'image', 'caption', 'n')"),
    ("LS empty text", "label_studio", "[\n" + json.dumps(ls_task("", id=5)) + "\n]", [],
     '2: task 1 (id 5): a task without a text: "text" is empty'),
    ("LS JSON-MIN", "label_studio", json.dumps([{"text": "张三", "id": 1, "label": []}]), [],
     "1: task 1 (id 1): a task without a text: no \"data\" object (this looks like Label Studio's JSON-MIN export; "
     "export as JSON)"),
    ("LS only cancelled", "label_studio", json.dumps([{"data": {"text": "a"}, "annotations": [
        {"result": [], "was_cancelled": True}, {"result": [], "was_cancelled": True}]}]), [],
     "1: task 1: no annotation to read: all 2 of its annotations are cancelled"),
    ("LS predictions only", "label_studio", json.dumps([{"id": 2, "data": {"text": "a"}, "annotations": [],
                                                        "predictions": [{"result": []}]}]), [],
     "1: task 1 (id 2): no annotation to read: it has predictions only (accept or correct them in Label Studio "
     "to make an annotation)"),
    ("LS html labels", "label_studio", json.dumps([{"data": {"text": "a"}, "annotations": [{"result": [
        {"type": "hypertextlabels", "value": {"start": "/p[1]", "end": "/p[1]", "hypertextlabels": ["X"]}}]}]}]), [],
     "1: task 1: result type 'hypertextlabels' is not character offsets into a text; NER is read from <Labels> on a "
     "<Text> object (type 'labels')"),
    ("LS bad timestamp", "label_studio", json.dumps([{"data": {"text": "a"}, "annotations": [
        {"result": [], "updated_at": "yesterday"}, {"result": []}]}]), [],
     '1: task 1: annotation 1: unreadable timestamp "yesterday" (expected ISO 8601, as Label Studio writes)'),
    ("LS malformed JSON", "label_studio", '[\n' + json.dumps(ls_task("a")) + ',\n{"data": }\n]', [],
     "3: not valid JSON: Expecting value (column 10)"),
    ("LS missing comma", "label_studio", '[\n' + json.dumps(ls_task("a")) + '\n{"data": {}}\n]', [],
     "3: not valid JSON: expected ',' or ']' after a task, got '{'"),
    ("LS not an array", "label_studio", '{"data": {"text": "a"}}', ["--format", "label_studio"],
     "1: expected a JSON array of Label Studio tasks (its JSON export), got '{\"data\": {\"text\": \"a'"),
]


@pytest.mark.parametrize("name, fmt, text, flags, expected", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_message_and_exit_status(tmp_path, capsys, name, fmt, text, flags, expected):
    path = write(tmp_path, text, "data.json" if fmt == "label_studio" else "data.jsonl")
    if "--format" not in flags:
        assert detect_format(path) == fmt
    assert stats_error(capsys, path, *flags) == f"{path}:{expected}"
    # the same through convert and split, which read the same way
    assert cli_error(capsys, ["convert", path, tmp_path / "out", "--to", "conll", *flags]) == f"{path}:{expected}"
    assert not (tmp_path / "out").exists()


def test_labels_check_tag_formats_too(tmp_path, capsys):
    conll = write(tmp_path, "张\tB-PER\n三\tI-PER\n\n北\tB-GPE\n\n", "c.txt")
    assert stats_error(capsys, conll, "--labels", "PER,LOC") == (
        f"{conll}:4: unknown entity type 'GPE' (allowed: LOC, PER)")
    tsv = write(tmp_path, "text_a\tlabel\n张\x02三\tO\x02B-ORG\n", "e.tsv")
    assert stats_error(capsys, tsv, "--labels", "PER") == f"{tsv}:2: tag 2: unknown entity type 'ORG' (allowed: PER)"
    assert main(["stats", str(conll), "--labels", "PER, GPE", "--json"]) == 0
    assert cli_error(capsys, ["stats", conll, "--labels", " , "]) == (
        "--labels ' , ': expected comma-separated entity types, e.g. PER,LOC,ORG")


def test_non_utf8_input(tmp_path, capsys):
    data = '{"text": "张三", "label": []}\n'.encode("utf-8") + '{"text": "北京", "label": []}\n'.encode("gb18030")
    path = write(tmp_path, data)
    assert stats_error(capsys, path, "--format", "doccano") == (
        f"{path}:2: not valid UTF-8: byte 0xb1 at byte 11 of the line (convert the file to UTF-8, e.g. iconv -f "
        f"GB18030 -t UTF-8)")
    ls = write(tmp_path, b'[{"data": {"text": "\xb1\xb1"}}]', "ls.json")
    assert stats_error(capsys, ls).startswith(f"{ls}:1: not valid UTF-8: byte 0xb1")


def test_empty_files(tmp_path, capsys):
    assert stats_error(capsys, write(tmp_path, "[]\n", "e.json")) == f"{tmp_path / 'e.json'}: no sentences in file"
    path = write(tmp_path, "\n\n", "e.jsonl")
    assert stats_error(capsys, path, "--format", "jsonl") == f"{path}: no sentences in file"


def test_crlf_is_json_whitespace(tmp_path):
    path = write(tmp_path, '{"text": "张三", "label": [[0, 2, "PER"]]}\r\n{"text": "好", "label": []}\r\n')
    assert [s.text for s in read_corpus(path)] == ["张三", "好"]
    ls = write(tmp_path, '[\r\n{"data": {"text": "好"}, "annotations": [{"result": []}]}\r\n]\r\n', "ls.json")
    assert read_corpus(ls).sentences[0].line == 2


def test_label_studio_line_is_where_the_task_starts(tmp_path):
    tasks = [ls_task("张三", ("PER", 0, 2)), ls_task("北京", ("LOC", 0, 2)), ls_task("好", ("X", 0, 1, "坏"))]
    path = write(tmp_path, json.dumps(tasks, indent=2, ensure_ascii=False), "ls.json")
    text = path.read_text(encoding="utf-8")
    starts = [i + 1 for i, line in enumerate(text.split("\n")) if line == "  {"]
    err = pytest.raises(DataError, read_corpus, path).value
    assert (err.line, err.message) == (starts[2], 'task 3: span [0, 1) "X": its text "坏" differs from the text '
                                                   'at those offsets, "好"')
    tasks[2] = ls_task("好", ("X", 0, 1))
    path.write_text(json.dumps(tasks, indent=2, ensure_ascii=False), encoding="utf-8")
    assert [s.line for s in read_corpus(path)] == starts


# ---------------------------------------------------------------------------------------------
# Overlaps, Label Studio's several annotations


def test_overlaps_longest_keeps_the_longest_and_counts(tmp_path, capsys, caplog):
    path = write(tmp_path, jsonl(
        {"text": "北京大学在海淀区", "label": [[0, 2, "LOC"], [0, 4, "ORG"], [5, 8, "LOC"], [5, 7, "LOC"]]},
        {"text": "张三丰", "label": [[0, 2, "PER"], [1, 3, "PER"]]},  # same length: the earlier start wins
        {"text": "好", "label": []}))
    corpus = read_corpus(path, overlaps="longest")
    assert [s.spans() for s in corpus] == [[("ORG", 0, 4), ("LOC", 5, 8)], [("PER", 0, 2)], []]
    assert corpus.repairs == {"overlap_dropped": 3, "annotations_skipped": 0}
    with caplog.at_level(logging.WARNING, logger="paddle_ner.data.readers"):
        read_corpus(path, overlaps="longest")
    assert caplog.messages == [f"{path}: 3 overlapping span(s) dropped (the longest kept)"]
    assert main(["stats", str(path), "--overlaps", "longest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repairs"] == {"overlap_dropped": 3, "annotations_skipped": 0}
    assert main(["stats", str(path), "--overlaps", "longest"]) == 0
    assert "repairs    3 overlapping span(s) dropped (the longest kept)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="overlaps must be one of refuse, longest"):
        read_corpus(path, overlaps="merge")


def test_label_studio_reads_the_most_recent_annotation_not_cancelled(tmp_path, caplog):
    def annotation(label, **fields):
        value = {"start": 0, "end": 2, "text": "张三", "labels": [label]}
        return {"result": [{"type": "labels", "value": value}], **fields}

    tasks = [
        # updated_at decides, whatever the ids and the order
        {"data": {"text": "张三"}, "annotations": [
            annotation("A", id=9, created_at="2024-01-01T00:00:00Z", updated_at="2024-03-01T00:00:00.5Z"),
            annotation("B", id=3, created_at="2024-02-01T00:00:00Z", updated_at="2024-03-01T00:00:01Z"),
            annotation("C", id=1, created_at="2024-01-01T00:00:00Z")]},
        # a cancelled one is skipped even when it is the newest
        {"data": {"text": "张三"}, "annotations": [
            annotation("A", id=1, updated_at="2024-01-01T00:00:00+00:00"),
            annotation("B", id=2, updated_at="2024-05-01T00:00:00+00:00", was_cancelled=True)]},
        # no timestamps: the larger id, then the later in the list
        {"data": {"text": "张三"}, "annotations": [annotation("A", id=5), annotation("B", id=4)]},
        {"data": {"text": "张三"}, "annotations": [annotation("A"), annotation("B")]},
        # Label Studio before 1.0 called them completions
        {"data": {"text": "张三"}, "completions": [annotation("D")]},
        # another data field name, the only string one
        {"data": {"content": "张三", "meta_id": 7}, "annotations": [annotation("E")]},
    ]
    path = write(tmp_path, json.dumps(tasks), "ls.json")
    with caplog.at_level(logging.WARNING, logger="paddle_ner.data.readers"):
        corpus = read_corpus(path)
    assert [s.spans()[0][0] for s in corpus] == ["B", "A", "A", "B", "D", "E"]
    assert corpus.repairs == {"overlap_dropped": 0, "annotations_skipped": 2 + 1 + 1 + 1}
    assert caplog.messages == [f"{path}: 5 Label Studio annotation(s) skipped (cancelled, or not the task's most "
                               f"recent)"]


def test_label_studio_ignores_non_span_results(tmp_path):
    task = ls_task("张三说好", ("PER", 0, 2))
    task["annotations"][0]["result"] += [
        {"type": "choices", "value": {"choices": ["positive"]}, "from_name": "sentiment", "to_name": "text"},
        {"type": "relation", "from_id": "a", "to_id": "b", "direction": "right"},
        {"type": "textarea", "value": {"text": ["note"]}, "from_name": "note", "to_name": "text"}]
    path = write(tmp_path, json.dumps([task]), "ls.json")
    assert read_corpus(path).sentences[0].spans() == [("PER", 0, 2)]


def test_label_studio_spans_on_two_texts_are_refused(tmp_path):
    task = ls_task("张三说好", ("PER", 0, 2))
    task["annotations"][0]["result"].append(
        {"type": "labels", "to_name": "title", "value": {"start": 0, "end": 1, "labels": ["X"]}})
    path = write(tmp_path, json.dumps([task]), "ls.json")
    assert str(pytest.raises(DataError, read_corpus, path).value) == (
        f'{path}:1: task 1: the spans label 2 different objects (to_name "text", "title"); one text per task '
        f"can be read")


def test_real_label_studio_export(tmp_path, capsys):
    """An export made by Label Studio itself (see its meta file for version and steps) reads back
    as the annotations it holds, with the two skipped ones counted."""
    path = FIXTURES / "label_studio_export.json"
    meta = json.loads((FIXTURES / "label_studio_export.meta.json").read_text(encoding="utf-8"))
    assert meta["label_studio_version"] == "1.23.2"
    assert detect_format(path) == "label_studio"
    corpus = read_corpus(path)
    assert [(s.text, s.spans()) for s in corpus] == [
        ("张三在北京工作。", [("PER", 0, 2), ("LOC", 3, 5)]),
        # annotated twice, then the first one edited: the first (most recent updated_at, smaller id) is read
        ("李四去了上海浦东。", [("PER", 0, 2), ("LOC", 4, 8)]),
        ("中山大学的王芳说好。", [("ORG", 0, 4), ("PER", 5, 7)]),  # after a cancelled annotation
        ("李华 和\t王芳\n去了 南京。", [("PER", 0, 2), ("PER", 5, 7), ("LOC", 11, 13)]),
        ("王五在广州。", [("PER", 0, 2), ("LOC", 3, 5)]),  # imported from write_label_studio
    ]
    assert corpus.repairs == {"overlap_dropped": 0, "annotations_skipped": 2}
    # our pre-annotations went through Label Studio unchanged: model version, scores, offsets
    tasks = json.loads(path.read_text(encoding="utf-8"))
    prediction = tasks[0]["annotations"][0]["prediction"]
    assert prediction["model_version"] == "paddle-ner-fixture" and prediction["score"] == 0.91
    assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"], r["score"]) for r in prediction["result"]] \
        == [(0, 2, ["PER"], 0.97), (3, 5, ["LOC"], 0.91)]
    # and it converts: to conll (the newline inside task 4 is refused there), to jsonl
    assert cli_error(capsys, ["convert", path, tmp_path / "x.txt", "--to", "conll"]) == (
        f"{path}:1: cannot be written as conll: token '\\t' cannot be written in the conll format")
    assert main(["convert", str(path), str(tmp_path / "x.jsonl"), "--to", "jsonl"]) == 0
    assert [s.spans() for s in read_corpus(tmp_path / "x.jsonl")] == [s.spans() for s in corpus]


# ---------------------------------------------------------------------------------------------
# Writers for predict records


RECORDS = [
    {"text": "张三在北京。", "tags": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"], "entities": [
        {"type": "PER", "start": 0, "end": 2, "text": "张三", "score": 0.9},
        {"type": "LOC", "start": 3, "end": 5, "text": "北京", "score": 0.6}]},
    {"text": "", "tags": [], "entities": []},  # predict's output for an empty line
    {"text": "好", "tags": ["O"], "entities": []},
]


def test_write_label_studio_predictions():
    out = io.StringIO()
    assert write_label_studio_predictions(RECORDS, out, model_version="run-7") == 2
    tasks = json.loads(out.getvalue())
    assert tasks == [
        {"data": {"text": "张三在北京。"}, "predictions": [{"model_version": "run-7", "score": 0.6, "result": [
            {"id": "e1", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 0, "end": 2, "text": "张三", "labels": ["PER"]}, "score": 0.9},
            {"id": "e2", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 3, "end": 5, "text": "北京", "labels": ["LOC"]}, "score": 0.6}]}]},
        {"data": {"text": "好"}, "predictions": [{"model_version": "run-7", "result": []}]},
    ]


def test_write_doccano_records_read_back(tmp_path):
    path = tmp_path / "p.jsonl"
    assert write_doccano(RECORDS, path) == 2
    assert path.read_text(encoding="utf-8").split("\n")[0] == (
        '{"text": "张三在北京。", "label": [[0, 2, "PER"], [3, 5, "LOC"]]}')
    assert [s.spans() for s in read_corpus(path)] == [[("PER", 0, 2), ("LOC", 3, 5)], []]
    with pytest.raises(ValueError, match=r"record 0: entity 'PER' \[0, 9\) does not fit a text of 1 characters"):
        write_doccano([{"text": "好", "entities": [{"type": "PER", "start": 0, "end": 9}]}], tmp_path / "bad")


def test_predict_output_is_jsonl(tmp_path):
    """jsonl is predict's own output: its records, scores and all, read as training data."""
    path = tmp_path / "predicted.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS[:1] + RECORDS[2:]),
                    encoding="utf-8")
    assert detect_format(path) == "jsonl"
    assert [s.tags for s in read_corpus(path)] == [RECORDS[0]["tags"], ["O"]]


# ---------------------------------------------------------------------------------------------
# convert: refusals where the target cannot hold the data


def test_convert_refuses_what_the_target_cannot_hold(tmp_path, capsys):
    conll = write(tmp_path, "\ufffd\ufffd\tO\n好\tB-X\n\n", "weibo.txt")  # a two-character token
    assert cli_error(capsys, ["convert", conll, tmp_path / "o.jsonl", "--to", "doccano"]) == (
        f"{conll}:1: cannot be written as doccano: token '\ufffd\ufffd' is 2 characters; doccano stores the text, "
        f"so each token must be one character")
    newline = write(tmp_path, jsonl({"text": "a", "label": []}, {"text": "张\n三", "label": [[0, 3, "PER"]]}))
    for fmt in ("conll", "ernie_tsv", "msra_tsv"):
        assert cli_error(capsys, ["convert", newline, tmp_path / "o", "--to", fmt]) == (
            f"{newline}:2: cannot be written as {fmt}: token '\\n' cannot be written in the {fmt} format")
    assert not (tmp_path / "o").exists()
    assert main(["convert", str(newline), str(tmp_path / "o.json"), "--to", "label_studio"]) == 0


def test_convert_keeps_the_scheme_of_tag_formats(tmp_path):
    bmes = write(tmp_path, "高 B-NAME\n勇 E-NAME\n说 O\n\n", "r.bmes")
    main(["convert", str(bmes), str(tmp_path / "r.tsv"), "--to", "msra_tsv", "--scheme", "BMES"])
    assert (tmp_path / "r.tsv").read_text(encoding="utf-8") == "高\x02勇\x02说\tB-NAME\x02E-NAME\x02O\n"
    main(["convert", str(bmes), str(tmp_path / "r.jsonl"), "--to", "doccano"])
    main(["convert", str(tmp_path / "r.jsonl"), str(tmp_path / "r.txt"), "--to", "conll"])
    assert (tmp_path / "r.txt").read_text(encoding="utf-8") == "高\tB-NAME\n勇\tI-NAME\n说\tO\n\n"


def test_subprocess_exit_status_and_stderr(tmp_path):
    path = write(tmp_path, jsonl({"text": "张三", "label": [[0, 5, "PER"]]}))
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "paddle_ner.data", "convert", str(path), str(tmp_path / "o.txt"),
                           "--to", "conll"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == f'{path}:1: span [0, 5) "PER" is outside the text, which has 2 characters\n'
    assert proc.stdout == ""


# ---------------------------------------------------------------------------------------------
# split


def test_split_is_deterministic_and_keeps_duplicates_together(tmp_path, sample_dir, capsys):
    source = tmp_path / "all.jsonl"
    corpus = read_corpus(sample_dir / "train.txt")
    # 40 duplicated sentences, 5 of them tagged differently the second time
    changed = [i for i, s in enumerate(corpus.sentences[:40]) if s.spans()][:5]
    extra = [Sentence(s.chars, ["O"] * len(s) if i in changed else s.tags) for i, s in enumerate(corpus.sentences[:40])]
    write_corpus(corpus.sentences + extra, source, "doccano")
    argv = ["split", str(source), "--dev", "0.1", "--test", "0.15", "--seed", "3"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["dev.jsonl", "split.json", "test.jsonl", "train.jsonl"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    parts = {name: read_corpus(tmp_path / "a" / f"{name}.jsonl") for name in ("train", "dev", "test")}
    texts = {name: [s.text for s in part] for name, part in parts.items()}
    assert sum(len(t) for t in texts.values()) == 440
    assert not set(texts["train"]) & set(texts["dev"]) and not set(texts["train"]) & set(texts["test"])
    assert not set(texts["dev"]) & set(texts["test"])
    assert len(texts["test"]) >= 66 and len(texts["dev"]) >= 44  # round(0.15 * 440), round(0.1 * 440)
    # each split keeps input order: it is the input's subsequence of its texts
    everything = [s.text for s in corpus.sentences + extra]
    for name, part in texts.items():
        assert part == [t for t in everything if t in set(part)], name
    info = json.loads((tmp_path / "a" / "split.json").read_text(encoding="utf-8"))
    assert info["input"]["path"] == str(source) and info["input"]["format"] == "doccano"
    assert len(info["input"]["sha256"]) == 64 and info["seed"] == 3
    assert info["fractions"] == {"dev": 0.1, "test": 0.15}
    assert info["duplicates"] == {"sentences": 40, "texts_with_different_tags": 5}
    assert {k: v["sentences"] for k, v in info["counts"].items()} == {k: len(v) for k, v in texts.items()}
    # another seed, another split; --to writes another format
    assert main(["split", str(source), "--seed", "4", "--out", str(tmp_path / "c"), "--to", "conll"]) == 0
    assert (tmp_path / "c" / "test.txt").read_bytes() != (tmp_path / "a" / "test.jsonl").read_bytes()
    assert read_corpus(tmp_path / "c" / "train.txt").format == "conll"
    assert "40 duplicate sentence(s) kept with their twin (5 text(s) tagged differently)" in capsys.readouterr().err


def test_split_refusals(tmp_path, capsys):
    path = write(tmp_path, jsonl(*({"text": t, "label": []} for t in "甲乙丙丁戊")))
    out = tmp_path / "out"
    assert cli_error(capsys, ["split", path, "--out", out, "--dev", "0.6", "--test", "0.4"]) == (
        "--dev 0.6 + --test 0.4 leaves no training data; their sum must be below 1")
    assert cli_error(capsys, ["split", path, "--out", out, "--dev", "-0.1"]) == "--dev -0.1: must be in [0, 1)"
    assert cli_error(capsys, ["split", path, "--out", out, "--dev", "0.05"]) == (
        f"{path}: 5 sentences are too few for --dev 0.05: it would get none (pass --dev 0 for no dev file)")
    same = write(tmp_path, jsonl(*({"text": "同一句", "label": []} for _ in range(5))), "same.jsonl")
    assert cli_error(capsys, ["split", same, "--out", out, "--dev", "0.2", "--test", "0"]) == (
        f"{same}: 5 sentences (1 distinct texts) leave none for train after dev 0.2 and test 0.0")
    assert main(["split", str(path), "--out", str(out), "--dev", "0", "--test", "0.2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["split.json", "test.jsonl", "train.jsonl"]


# ---------------------------------------------------------------------------------------------
# Plumbing: load_splits, config


def test_load_splits_reads_span_files(tmp_path):
    train = write(tmp_path, jsonl(*({"text": f"张三{i}", "label": [[0, 2, "PER"], [1, 3, "X"]]} for i in range(20))))
    with pytest.raises(DataError, match="overlapping spans"):
        load_splits(train=train, splits=("train",))
    splits = load_splits(train=train, splits=("train", "dev"), overlaps="longest", format="doccano")
    assert len(splits.train) == 18 and len(splits.dev) == 2
    assert splits.info["splits"]["train"]["format"] == "doccano"
    assert splits.train.repairs == {"overlap_dropped": 20, "annotations_skipped": 0}


def test_config_overlaps():
    assert load_config().data.overlaps == "refuse"
    assert load_config(overrides=["data.overlaps=longest"]).data.overlaps == "longest"
    with pytest.raises(UsageError, match="config key data.overlaps: 'merge' is not one of refuse, longest"):
        load_config(overrides=["data.overlaps=merge"])


# ---------------------------------------------------------------------------------------------
# Properties: any text round-trips; any damaged file reads or fails with a located DataError


def examples(n):
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])


# Characters that trouble JSON and the readers: whitespace and line breaks, quotes and backslashes,
# brackets, a BOM, astral characters, \x02; and any other code point.
TROUBLE = list(" \t\n\r\u3000\u2028\x85\x00\x02\ufeff\"\\{}[]张三") + ["\U0001f600", "\U00020000"]
CHAR = st.one_of(st.sampled_from(TROUBLE), st.characters(exclude_categories=("Cs",)))
TYPES = ["PER", "LOC", "GPE.NAM", "A-B", "人名", "X\x02", "{"]


@st.composite
def one_char_sentences(draw):
    chunks = draw(st.lists(st.tuples(st.sampled_from([None] + TYPES), st.integers(1, 4)), min_size=1, max_size=6))
    tags = []
    for typ, n in chunks:
        tags += ["O"] * n if typ is None else ["B-" + typ] + ["I-" + typ] * (n - 1)
    return Sentence(draw(st.lists(CHAR, min_size=len(tags), max_size=len(tags))), tags)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("spans")


@examples(200)
@given(corpus=st.lists(one_char_sentences(), min_size=1, max_size=5), fmt=st.sampled_from(SPAN_FORMATS))
def test_any_text_round_trips(workdir, corpus, fmt):
    path = workdir / "rt"
    write_corpus(corpus, path, fmt)
    assert detect_format(path) == fmt
    back = read_corpus(path)
    assert [(s.chars, s.tags) for s in back] == [(s.chars, s.tags) for s in corpus]
    again = workdir / "again"
    write_corpus(back, again, fmt)
    assert again.read_bytes() == path.read_bytes()


def mutate(data: bytes, ops) -> bytes:
    data = bytearray(data)
    for op, position, payload in ops:
        i = position % (len(data) + 1)
        if op == "insert":
            data[i:i] = payload
        elif op == "delete":
            del data[i:i + len(payload) * 4]
        else:
            data[i:i + len(payload)] = payload
    return bytes(data)


def _bases():
    sentences = [Sentence(list("张三在北京。"), ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]),
                 Sentence(list("好 \n"), ["O", "B-X", "O"]), Sentence(list("北京大学"), ["B-ORG"] + ["I-ORG"] * 3)]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in SPAN_FORMATS:
            write_corpus(sentences, Path(tmp, fmt), fmt)
            out[fmt] = Path(tmp, fmt).read_bytes()
    ls = json.loads(out["label_studio"])
    ls[0]["annotations"] = [dict(ls[0]["annotations"][0], id=2, updated_at="2024-01-01T00:00:00Z"),
                            {"id": 3, "was_cancelled": True, "result": []}]
    out["label_studio_pretty"] = json.dumps(ls, indent=2, ensure_ascii=False).encode("utf-8")
    return out


BASES = _bases()
PIECES = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\n", b"\r", b"0", b"-1", b"99", b"null", b"true",
          b'"start"', b'"end"', b'"label"', b'"labels"', b'"text"', b'"entities"', b'"was_cancelled"', b"\xff",
          b"\xe4\xb8", "\ufeff".encode(), b'"\\ud800"', b"1e400", b"1.5"]


@examples(400)
@given(base=st.sampled_from(sorted(BASES)), ops=st.lists(st.tuples(
    st.sampled_from(["insert", "delete", "replace"]), st.integers(0, 1 << 16),
    st.one_of(st.sampled_from(PIECES), st.binary(min_size=1, max_size=3))), min_size=1, max_size=4),
    overlaps=st.sampled_from(["refuse", "longest"]))
def test_damaged_files_read_or_fail_with_a_located_error(workdir, base, ops, overlaps):
    data = mutate(BASES[base], ops)
    path = workdir / "damaged"
    path.write_bytes(data)
    for fmt in (None,) + SPAN_FORMATS:
        try:
            corpus = read_corpus(path, format=fmt, overlaps=overlaps)
        except DataError as err:
            assert err.path == str(path)
            if err.line is not None:
                assert str(err).startswith(f"{path}:{err.line}: ")
                assert 1 <= err.line <= data.count(b"\n") + 1, str(err)
            assert "\n" not in err.message
            continue
        for s in corpus:
            assert s.chars and len(s.chars) == len(s.tags) and all(len(c) == 1 for c in s.chars)
            assert to_bio(s.tags, "BIO", strict=True)[0] == s.tags
        for target in SPAN_FORMATS:  # what was read can be written and reads back the same
            write_corpus(corpus, workdir / "rewritten", target)
            assert [(s.chars, s.tags) for s in read_corpus(workdir / "rewritten", format=target)] == \
                [(s.chars, s.tags) for s in corpus]


def test_the_real_label_studio_export_trains_end_to_end(tmp_path):
    """The fixture exported by a running Label Studio (tools/annotation_fixtures/label_studio.py)
    is training data as it stands: python -m paddle_ner.train --train export.json."""
    from paddle_ner import train as train_cli

    export = Path(__file__).resolve().parent / "fixtures" / "annotation" / "label_studio_export.json"
    out = tmp_path / "run"
    assert train_cli.main(["--model", "bigru_crf", "--train", str(export), "--dev", str(export), "--output", str(out),
                           "--device", "cpu", "--max-steps", "2", "--set", "model.emb_dim=16",
                           "--set", "model.hidden_size=16"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["data"]["splits"]["train"]["format"] == "label_studio"

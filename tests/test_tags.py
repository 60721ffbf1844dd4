"""paddle_ner.tags: scheme detection, conversion to BIO, spans, and writing back.

The reference for chunking is seqeval's get_entities (the conlleval rules extended to E-/S-),
checked exhaustively on every short tag sequence of each scheme.
"""
import itertools
import warnings

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from paddle_ner.tags import (SCHEMES, TagError, check_tag, detect_scheme, from_bio, spans, spans_to_bio,
                             split_tag, to_bio)

TYPES = ("X", "Y")
SCHEME_TAGS = {
    "BIO": ["O"] + [f"{p}-{t}" for p in "BI" for t in TYPES],
    "BIOES": ["O"] + [f"{p}-{t}" for p in "BIES" for t in TYPES],
    "BMES": ["O"] + [f"{p}-{t}" for p in "BMES" for t in TYPES],
}


def reference_chunks(tags):
    """seqeval's lenient chunks as (type, start, end_exclusive); M- read as I- (seqeval has no M)."""
    mapped = ["I" + t[1:] if t.startswith("M-") else t for t in tags]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any tag seqeval does not understand fails the test
        return sorted((typ, start, end + 1) for typ, start, end in get_entities(mapped))


def all_sequences(scheme, max_len):
    for n in range(1, max_len + 1):
        yield from itertools.product(SCHEME_TAGS[scheme], repeat=n)


@pytest.mark.parametrize("tag, expected", [
    ("O", ("O", None)),
    ("B-PER", ("B", "PER")),
    ("I-LOC", ("I", "LOC")),
    ("B-PER.NAM", ("B", "PER.NAM")),   # Weibo
    ("E-A-B", ("E", "A-B")),           # split at the FIRST '-'
    ("S-NAME", ("S", "NAME")),
    ("M-ORG", ("M", "ORG")),
])
def test_split_tag(tag, expected):
    assert split_tag(tag) == expected


@pytest.mark.parametrize("tag", ["", "B", "B-", "PER", "X-PER", "b-PER", "O-PER", "B-P ER", "B- PER", "BI-PER", "o"])
def test_split_tag_rejects_malformed(tag):
    with pytest.raises(TagError, match="malformed tag"):
        split_tag(tag)


@pytest.mark.parametrize("scheme, tag", [("BIO", "E-X"), ("BIO", "S-X"), ("BIO", "M-X"), ("BIOES", "M-X"),
                                         ("BMES", "I-X")])
def test_check_tag_outside_scheme(scheme, tag):
    with pytest.raises(TagError, match=f"outside the {scheme} scheme"):
        check_tag(tag, scheme)


def test_unknown_scheme():
    with pytest.raises(ValueError, match="unknown tagging scheme 'IOB1'"):
        to_bio(["O"], "IOB1")


@pytest.mark.parametrize("tags, scheme", [
    (["O", "B-X", "I-X", "O"], "BIO"),
    (["O", "O"], "BIO"),
    (["B-X", "I-X", "E-X", "S-Y"], "BIOES"),
    (["S-X"], "BIOES"),
    (["B-X", "E-X"], "BIOES"),      # B/E/S only: BIOES (BMES would give the same spans)
    (["B-X", "M-X", "E-X", "O"], "BMES"),
])
def test_detect_scheme(tags, scheme):
    assert detect_scheme(tags) == scheme


def test_detect_scheme_rejects_mixed_and_malformed():
    with pytest.raises(TagError, match="mix I- .* and M-"):
        detect_scheme(["B-X", "I-X", "M-X", "E-X"])
    with pytest.raises(TagError, match="malformed"):
        detect_scheme(["O", "PER"])


def test_to_bio_examples():
    assert to_bio(["B-X", "I-X", "E-X", "O", "S-Y", "B-Y", "E-Y"], "BIOES") == (
        ["B-X", "I-X", "I-X", "O", "B-Y", "B-Y", "I-Y"], 0)
    assert to_bio(["B-NAME", "M-NAME", "E-NAME", "S-ORG"], "BMES") == (["B-NAME", "I-NAME", "I-NAME", "B-ORG"], 0)
    # Orphans start a chunk: I- after O, I- of another type, E- after E-, I- at the start.
    assert to_bio(["I-X", "I-X", "O", "B-X", "I-Y"], "BIO") == (["B-X", "I-X", "O", "B-X", "B-Y"], 2)
    assert to_bio(["B-X", "E-X", "E-X", "O", "M-X", "E-X"], "BMES") == (
        ["B-X", "I-X", "B-X", "O", "B-X", "I-X"], 2)


def test_to_bio_strict_and_bad_tags_report_the_position():
    with pytest.raises(TagError, match=r"orphan tag 'I-X' after 'O'") as err:
        to_bio(["B-X", "O", "I-X"], "BIO", strict=True)
    assert err.value.index == 2
    with pytest.raises(TagError, match="at the start of a sentence") as err:
        to_bio(["E-X"], "BIOES", strict=True)
    assert err.value.index == 0
    with pytest.raises(TagError, match="outside the BIO scheme") as err:
        to_bio(["O", "O", "E-X"], "BIO")
    assert err.value.index == 2


@pytest.mark.parametrize("scheme", SCHEMES)
def test_to_bio_matches_seqeval_exhaustively(scheme):
    """Every sequence of up to 4 tags (2 types): spans and orphan counts equal seqeval's chunks."""
    checked = 0
    for seq in all_sequences(scheme, 4):
        bio, repaired = to_bio(seq, scheme)
        expected = reference_chunks(seq)
        assert sorted(spans(bio)) == expected, seq
        # Each chunk starts at a B-/S- tag or is an orphan that was repaired.
        assert repaired == sum(1 for _, start, _ in expected if seq[start][0] not in "BS"), seq
        # Output is canonical BIO: converting again changes nothing.
        assert to_bio(bio, "BIO") == (bio, 0)
        if repaired == 0:
            to_bio(seq, scheme, strict=True)  # strict accepts exactly the sequences with no orphans
        else:
            with pytest.raises(TagError):
                to_bio(seq, scheme, strict=True)
        checked += 1
    assert checked == sum(len(SCHEME_TAGS[scheme]) ** n for n in range(1, 5))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_from_bio_round_trip_exhaustively(scheme):
    """BIO -> scheme -> BIO keeps the spans, for every BIO sequence (orphans included)."""
    for seq in all_sequences("BIO", 5):
        written = from_bio(seq, scheme)
        assert all(check_tag(t, scheme) for t in written)
        back, repaired = to_bio(written, scheme)
        assert repaired == 0  # from_bio writes well-formed tags
        assert spans(back) == spans(seq)
        assert back == spans_to_bio(len(seq), spans(seq))


def test_from_bio_examples():
    bio = ["B-X", "I-X", "I-X", "O", "B-Y", "B-Y", "I-Y"]
    assert from_bio(bio, "BIOES") == ["B-X", "I-X", "E-X", "O", "S-Y", "B-Y", "E-Y"]
    assert from_bio(bio, "BMES") == ["B-X", "M-X", "E-X", "O", "S-Y", "B-Y", "E-Y"]
    assert from_bio(bio, "BIO") == bio


def test_spans():
    assert spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6)]
    assert spans(["O", "O"]) == []
    assert spans([]) == []
    assert spans(["I-PER", "I-PER"]) == [("PER", 0, 2)]  # lenient, like conlleval
    assert spans(["B-PER.NAM", "I-PER.NAM"]) == [("PER.NAM", 0, 2)]
    with pytest.raises(TagError, match="not a BIO tag"):
        spans(["S-PER"])


def test_spans_to_bio():
    assert spans_to_bio(5, [("LOC", 3, 5), ("PER", 0, 1)]) == ["B-PER", "O", "O", "B-LOC", "I-LOC"]
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_bio(5, [("PER", 0, 3), ("LOC", 2, 4)])
    with pytest.raises(ValueError, match="outside"):
        spans_to_bio(3, [("PER", 2, 4)])
    with pytest.raises(ValueError, match="empty"):
        spans_to_bio(3, [("PER", 1, 1)])

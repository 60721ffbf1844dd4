"""Our encoding against PaddleHub 1.5.4's ``SequenceLabelReader`` (tests/golden/reader.json).

The fixture holds the reader's unpadded records (token ids, label ids, seq_len) for nine
sentences, on the plain path (``FullTokenizer``, as for bert/ernie/roberta) and on ernie_tiny's
path (``FullTokenizer(use_sentence_piece_vocab=True)``). We build each tokenizer class our
registry uses over the fixture's own vocabulary, encode every sentence with our mapper and
PaddleHub's truncation (``make_examples(truncate=True)``), put ``[CLS]``/``[SEP]`` labelled ``O``
around it and compare, labels by name (our label ids follow our own label order).

Sentences 6-8 are where the two deliberately differ: PaddleHub drops a character its tokenizer
turns into nothing (whitespace, U+200B) together with its label, and gives a character that
splits into several word pieces (a Hangul syllable) one position per piece; we keep exactly one
position per character (README house rule). Those differences are asserted position by
position, not skipped.
"""
import json
from pathlib import Path

import pytest

from paddle_ner.alignment import TokenizerCharMapper, is_space
from paddle_ner.batching import make_examples
from paddle_ner.data import LabelVocab
from paddle_ner.models.registry import PRETRAINED

GOLDEN = json.loads((Path(__file__).parent / "golden" / "reader.json").read_text(encoding="utf-8"))
MAX_SEQ_LEN = GOLDEN["settings"]["max_seq_len"]  # 128
PH_LABELS = GOLDEN["settings"]["label_list"]  # PaddleHub's order, O last
OURS = LabelVocab(["PER", "ORG", "LOC"])  # our order, O first
INDEX = {label: i for i, label in enumerate(OURS.labels)}

# (registry key, fixture path, lookup): PaddleHub fed bert, ernie and roberta through the plain
# FullTokenizer, and ernie_tiny through the sentencepiece-vocab one.
PATHS = [("bert", "bert_path", "plain"), ("ernie", "bert_path", "plain"), ("roberta", "bert_path", "plain"),
         ("ernie_tiny", "ernie_tiny_path", "sentencepiece_marker")]

# The documented differences (the fixture's notes). dropped: character positions PaddleHub's
# tokenizer turns into nothing, removed with their labels (we keep them, as a placeholder id);
# split: character position -> number of PaddleHub word pieces (we keep the first only).
EDGE = {
    6: {"dropped": {1: " ", 4: "\u3000"}, "split": {}},
    7: {"dropped": {7: "\u200b"}, "split": {}},
    8: {"dropped": {}, "split": {2: 3}},  # 한 -> ᄒ ᅡ ᆫ on both paths; 국 is one [UNK]
}
PLAIN = [i for i in range(len(GOLDEN["sentences"])) if i not in EDGE]


@pytest.fixture(scope="module", params=PATHS, ids=[p[0] for p in PATHS])
def path(request, tmp_path_factory):
    key, name, lookup = request.param
    vocab_file = tmp_path_factory.mktemp(f"vocab-{key}") / "vocab.txt"
    vocab_file.write_text("\n".join(GOLDEN[name]["vocab"]) + "\n", encoding="utf-8")
    tokenizer = PRETRAINED[key].tokenizer_cls()(str(vocab_file))
    return TokenizerCharMapper(tokenizer, lookup=lookup), GOLDEN[name]


def encode(mapper, sentence):
    """Our [CLS] + ids + [SEP] and the label names at those positions, [CLS]/[SEP] labelled O."""
    examples = make_examples([list(sentence["text"])], mapper, MAX_SEQ_LEN, 32, tags=[sentence["tags"]],
                             label_index=INDEX, truncate=True)
    assert len(examples) == 1  # truncation: one example however long the sentence
    ex = examples[0]
    return ex.ids.tolist(), ["O"] + [OURS.labels[i] for i in ex.labels] + ["O"]


def test_special_ids_match(path):
    mapper, golden = path
    special = golden["special_ids"]
    assert (mapper.cls_id, mapper.sep_id, mapper.pad_id, mapper.unk_id) == (
        special["[CLS]"], special["[SEP]"], special["[PAD]"], special["[UNK]"])


@pytest.mark.parametrize("index", PLAIN)
def test_same_records_as_paddlehub(path, index):
    mapper, golden = path
    sentence, record = GOLDEN["sentences"][index], golden["records"][index]
    ids, labels = encode(mapper, sentence)
    assert ids == record["token_ids"]
    assert len(ids) == record["seq_len"] == min(len(sentence["text"]), MAX_SEQ_LEN - 2) + 2
    assert labels == record["labels"] == [PH_LABELS[i] for i in record["label_ids"]]


def test_truncation_keeps_the_first_126_characters_and_their_tags(path):
    mapper, golden = path
    for index in (4, 5):  # 127 and 200 characters
        sentence, record = GOLDEN["sentences"][index], golden["records"][index]
        ids, labels = encode(mapper, sentence)
        assert len(sentence["text"]) > MAX_SEQ_LEN - 2 and len(ids) == record["seq_len"] == MAX_SEQ_LEN
        assert labels[1:-1] == sentence["tags"][:MAX_SEQ_LEN - 2]
    # Sentence 4: the LOC at 124-126 loses its last character; sentence 5: the ORG at 124-127 keeps 124, 125.
    assert encode(mapper, GOLDEN["sentences"][4])[1][-3:] == ["B-LOC", "I-LOC", "O"]
    assert encode(mapper, GOLDEN["sentences"][5])[1][-3:] == ["B-ORG", "I-ORG", "O"]


@pytest.mark.parametrize("index", sorted(EDGE))
def test_edge_cases_differ_from_paddlehub_exactly_as_documented(path, index):
    """PaddleHub: dropped characters vanish with their labels, a split character takes one
    position per piece (its label repeated as I-). Ours: one position per character, a dropped
    one as the space placeholder (whitespace) or [UNK], with its own label; a split one as its
    first piece. Everything else is identical."""
    mapper, golden = path
    sentence, record = GOLDEN["sentences"][index], golden["records"][index]
    text, tags, edge = sentence["text"], sentence["tags"], EDGE[index]
    ids, labels = encode(mapper, sentence)

    # Ours: one position per character, whatever the tokenizer does.
    assert len(ids) == len(text) + 2
    # PaddleHub's: fewer or more positions, exactly by the documented characters.
    extra = sum(n - 1 for n in edge["split"].values())
    assert record["seq_len"] == len(record["token_ids"]) == len(text) + 2 - len(edge["dropped"]) + extra
    assert record["seq_len"] != len(ids)

    # Our mapper sees the same pieces PaddleHub's tokenizer made (none / several) and still keeps one.
    for pos, char in enumerate(text):
        pieces = mapper.pieces(char)
        if pos in edge["dropped"]:
            assert text[pos] == edge["dropped"][pos] and pieces == []
        elif pos in edge["split"]:
            assert len(pieces) == edge["split"][pos]
        else:
            assert len(pieces) == 1, (pos, char, pieces)

    # Walk PaddleHub's record character by character.
    ph_ids, ph_labels = record["token_ids"][1:-1], [PH_LABELS[i] for i in record["label_ids"][1:-1]]
    cursor = 0
    for pos, char in enumerate(text):
        ours_id, ours_label = ids[1 + pos], labels[1 + pos]
        assert ours_label == tags[pos]  # we keep every character's own tag
        if pos in edge["dropped"]:
            placeholder = mapper.space_id if is_space(char) else mapper.unk_id
            assert ours_id == placeholder  # PaddleHub: no position, label lost
            continue
        width = edge["split"].get(pos, 1)
        assert ours_id == ph_ids[cursor]  # the first piece, the same id
        assert ph_labels[cursor] == tags[pos]
        if width > 1:  # PaddleHub's extra pieces, label repeated as I-; we have none
            assert ph_labels[cursor + 1:cursor + width] == ["I-" + tags[pos][2:]] * (width - 1)
            assert ph_ids[cursor + 1:cursor + width] == [
                mapper.tokenizer.convert_tokens_to_ids(p) for p in mapper.pieces(char)[1:]]
        cursor += width
    assert cursor == len(ph_ids)
    assert record["token_ids"][0] == ids[0] == mapper.cls_id and record["token_ids"][-1] == ids[-1] == mapper.sep_id
    assert PH_LABELS[record["label_ids"][0]] == PH_LABELS[record["label_ids"][-1]] == labels[0] == labels[-1] == "O"


def test_sentencepiece_marker_lookup_is_only_marker_entries(tmp_path):
    """On ernie_tiny's path a character has an id iff "\u2581" + character is in the vocabulary
    (the fixture's chars_with_marker_entry), and is [UNK] otherwise, even when the bare character
    is there (国, 。, ９, ...). The plain lookup of the same vocabulary finds the bare entries."""
    golden = GOLDEN["ernie_tiny_path"]
    vocab = golden["vocab"]
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = PRETRAINED["ernie_tiny"].tokenizer_cls()(str(vocab_file))
    marker, plain = TokenizerCharMapper(tokenizer, lookup="sentencepiece_marker"), TokenizerCharMapper(tokenizer)
    marked = golden["chars_with_marker_entry"]
    bare_only = [t for t in vocab if len(t) == 1 and t not in marked]
    assert {"国", "。", "９"} <= set(bare_only)
    for char in marked:
        assert marker.char_id(char) == vocab.index("\u2581" + char), char
    for char in bare_only:
        assert marker.char_id(char) == marker.unk_id, char
        assert plain.char_id(char) == vocab.index(char), char
    # Upper case and accents are normalised before the marker lookup, as PaddleHub's basic tokenizer does.
    assert marker.char_id("C") == marker.char_id("c") == vocab.index("\u2581c")
    assert marker.char_id("É") == vocab.index("\u2581e")

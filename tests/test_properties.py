"""Property-based tests and a fuzz pass (hypothesis) for the readers, the character <-> model
input alignment and the predictor, over arbitrary Unicode and arbitrary bytes (issue 7).

Each property is what the code's own docstrings promise, checked on inputs nobody wrote by hand:

- readers (``paddle_ner.data.readers``): every file either reads into a Corpus that holds every
  character of the file, in order, with valid BIO tags, or raises a DataError whose ``str()`` is
  ``PATH:LINE: ...`` (LINE a line of the file) or ``PATH: ...``; never another exception. A corpus
  that was read can be written back in its own format, and ``write_corpus`` either refuses data a
  format cannot hold (ValueError) or writes a file that reads back identical.
- alignment: exactly one model position per character, for every tokenizer and the BiGRU's
  character vocabulary; a window's input is the same slice of the whole sentence's input.
- predictor: one tag per character (also past the model's window), valid BIO (the models decode
  with the BIO constraints, ``model.constrained_decoding``, on by default), entities whose offsets
  slice the text to the entity's text, and tags that do not depend on the other texts of a call.

Example counts are sized so that this file adds seconds, not minutes, to ``make test``;
``python benchmarks/fuzz_readers.py --examples 20000`` runs the reader fuzz below (``mutate``,
``check_read``, ``check_rewrite``) on many more inputs.
"""
import logging
import os
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import quiet_logger
from paddle_ner.alignment import CharVocab, TokenizerCharMapper, is_space, plan_windows, stitch
from paddle_ner.config import ModelConfig
from paddle_ner.data.readers import ERNIE_HEADER, FORMATS, Sentence, detect_format, read_corpus, write_corpus
from paddle_ner.errors import DataError
from paddle_ner.predictor import DynamicEngine, Predictor
from paddle_ner.tags import SCHEMES, from_bio, to_bio

REPO = Path(__file__).resolve().parents[1]
SEP = "\x02"


def examples(n: int) -> settings:
    """``n`` examples per run, no per-example deadline (the first predictor call warms Paddle up).
    Failing examples are kept in .hypothesis/ and replayed first on the next run."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------------
# Strategies: arbitrary Unicode, with the characters that trouble tokenizers and readers drawn
# often (a uniform draw over 1.1M code points would almost never produce a ZWJ or a BOM).

TROUBLE = [
    # controls; \x1c-\x1f and \x85 are whitespace to str.isspace, \x0b and \x0c too
    "\x00", "\x01", "\x02", "\x07", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f", "\x85",
    # whitespace, line and paragraph separators, zero-width space (not whitespace to Python)
    "\t", "\n", "\r", " ", "\u00a0", "\u3000", "\u2028", "\u2029", "\u200b",
    # lone combining marks (acute, enclosing circle, Thai vowel sign)
    "\u0301", "\u20dd", "\u0e31",
    # format characters and variation selectors: ZWJ, ZWNJ, VS16, VS1, VS17, BOM/ZWNBSP, soft hyphen
    "\u200d", "\u200c", "\ufe0f", "\ufe00", "\U000e0100", "\ufeff", "\u00ad", "\u2066",
    # emoji: plain, ZWJ family, flag, skin tone, heart + VS16
    "\U0001f600", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1e8\U0001f1f3", "\U0001f44d\U0001f3fd",
    "\u2764\ufe0f",
    # astral CJK (extension B) and a BMP ideograph pair
    "\U00020000", "\U0002a6d6", "\U00020bb7", "北京",
    # mixed scripts, case/compatibility oddities, full-width forms
    "Zürich", "İstanbul", "ß", "ǅ", "ﬁ", "مرحبا", "नमस्ते", "ＡＢＣ１２３", "％", "Ω",
    # replacement char, private use, the last code point, a noncharacter
    "\ufffd", "\ue000", "\U0010ffff", "\uffff",
]
UNICODE = st.characters(exclude_categories=("Cs",))  # every code point UTF-8 can encode
TEXT = st.lists(st.one_of(st.sampled_from(TROUBLE), st.text(UNICODE, max_size=6)), max_size=10).map("".join)


def _long(piece: str) -> str:
    """``piece`` repeated to 620+ code points: far past a 32-position window."""
    return piece * -(-620 // len(piece))


LONG_TEXT = st.tuples(st.sampled_from(TROUBLE), TEXT).map(lambda t: _long(t[0] + t[1]))
# A batch of texts for one predictor call, always with one text longer than the window.
BATCH = st.tuples(st.lists(TEXT, max_size=5), LONG_TEXT, st.integers(0, 5)).map(
    lambda t: t[0][:t[2]] + [t[1]] + t[0][t[2]:])

# Corpus tokens: non-whitespace characters (any category but surrogates, controls and
# separators), plus multi-code-point tokens the readers keep whole.
TOKEN_CHAR = st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")).filter(lambda c: not c.isspace())
CLUSTERS = ["\U0001f468\u200d\U0001f469\u200d\U0001f467", "\ufffd\ufffd", "e\u0301", "\u2764\ufe0f", "\ufeff",
            "\U0001f1e8\U0001f1f3", "\U00020000", "北", "Ａ", "\u200d"]
TOKEN = st.one_of(TOKEN_CHAR, st.sampled_from(CLUSTERS))
TYPES = ["PER", "LOC", "GPE.NAM", "A-B", "人名"]  # a type may contain '-' (split at the first one)


@st.composite
def sentences(draw, token=TOKEN):
    """A Sentence with valid BIO tags, built from chunks (so independently of paddle_ner.tags)."""
    chunks = draw(st.lists(st.tuples(st.sampled_from([None] + TYPES), st.integers(1, 4)), min_size=1, max_size=6))
    tags = []
    for typ, n in chunks:
        tags += ["O"] * n if typ is None else ["B-" + typ] + ["I-" + typ] * (n - 1)
    chars = draw(st.lists(token, min_size=len(tags), max_size=len(tags)))
    return Sentence(chars, tags)


CORPORA = st.lists(sentences(), min_size=1, max_size=6)

# File text: free-form lines, or lines shaped like one format's (conll or TSV), every piece of
# which may be wrong. Shaped files parse often, so the write-back checks get exercised too.
TAG_TYPE = st.lists(st.one_of(st.sampled_from(TROUBLE), UNICODE), min_size=1, max_size=3).map("".join)
TAGISH = st.one_of(
    st.sampled_from(["O", "O", "B-PER", "I-PER", "E-PER", "S-LOC", "M-LOC", "B-GPE.NAM", "I-X", "B-人名", "",
                     "B-", "b-PER", "PER", "B-X Y", "O ", f"O{SEP}B-X", "I-A-B", "label"]),
    # any type: split_tag refuses only a type with whitespace
    st.tuples(st.sampled_from("BIMES"), TAG_TYPE).map("-".join),
    st.text(UNICODE, max_size=4))
PLAIN = ["text_a", "a", "张", f"a{SEP}b"]
TOKENISH = st.one_of(st.sampled_from(TROUBLE + PLAIN), st.text(UNICODE, max_size=3),
                     st.lists(st.sampled_from(TROUBLE + PLAIN), min_size=2, max_size=3).map("".join))
CONLL_LINE = st.one_of(st.just(""), st.tuples(TOKENISH, TAGISH).map("\t".join))
SPACE_LINE = st.one_of(st.just(""), st.tuples(TOKENISH, TAGISH).map(" ".join))
# a TSV sentence: tokens and tags joined by \x02, a TAB between
TSV_LINE = st.lists(st.tuples(TOKENISH, TAGISH), min_size=1, max_size=4).map(
    lambda pairs: SEP.join(c for c, _ in pairs) + "\t" + SEP.join(t for _, t in pairs))
FREE_LINE = st.one_of(
    st.just(""),
    st.tuples(TOKENISH, st.sampled_from(["\t", " ", SEP, "\t\t", ""]), TAGISH).map("".join),
    TSV_LINE,
    TEXT)
FILE_TEXT = st.tuples(
    st.booleans(),
    st.one_of(*(st.lists(line, max_size=8) for line in (FREE_LINE, CONLL_LINE, SPACE_LINE, TSV_LINE))),
    st.booleans(),
).map(lambda t: (ERNIE_HEADER + "\n" if t[0] else "") + "\n".join(t[1]) + ("\n" if t[2] else ""))


# ---------------------------------------------------------------------------------------------
# Reader oracles, shared with benchmarks/fuzz_readers.py


def check_read(path, data: bytes, fmt=None, **kwargs):
    """Read ``path`` (which holds ``data``) with ``format=fmt``: the Corpus, or None after a DataError
    that names the file (and a line of it). AssertionError when the reader breaks its contract;
    any other exception passes through (the fuzz's finding)."""
    try:
        corpus = read_corpus(path, format=fmt, **kwargs)
    except DataError as err:
        message = str(err)
        assert err.path == str(path), message
        if err.line is None:
            assert message.startswith(f"{path}: "), message
        else:
            assert message.startswith(f"{path}:{err.line}: "), message
            assert 1 <= err.line <= data.count(b"\n") + 1, f"line {err.line} is not in the file: {message}"
        return None
    assert corpus.format == (fmt or detect_format(path)) and corpus.scheme in SCHEMES and len(corpus) > 0
    lines = data.decode("utf-8").split("\n")
    for s in corpus:
        assert s.chars and len(s.chars) == len(s.tags) and all(s.chars)
        assert to_bio(s.tags, "BIO", strict=True)[0] == s.tags  # valid BIO: orphans were repaired
    # Every character of the file is in the corpus, in order, at the line Sentence.line names.
    if corpus.format == "conll":
        first = next(line for line in lines if line)
        sep = "\t" if "\t" in first else " "  # decided once per file, from its first token line
        for s in corpus:
            assert [lines[s.line - 1 + k].partition(sep)[0] for k in range(len(s))] == s.chars
        assert sum(len(s) for s in corpus) == sum(1 for line in lines if line)
    else:
        body = lines[:-1] if lines[-1] == "" else lines
        header = corpus.format == "ernie_tsv"
        assert [s.line for s in corpus] == list(range(1 + header, len(body) + 1))
        for s in corpus:
            assert lines[s.line - 1].split("\t")[0].split(SEP) == s.chars
    return corpus


def check_rewrite(corpus, out):
    """``corpus`` (as read) writes back in its own format, and in every format and scheme either
    writes a file that reads back identical or is refused with ValueError (a format that cannot
    hold it). Never a file that read_corpus rejects or reads differently."""
    want = [(s.chars, s.tags) for s in corpus]
    for fmt in FORMATS:
        for scheme in sorted({"BIO", corpus.scheme}):
            try:
                write_corpus(corpus, out, format=fmt, scheme=scheme)
            except ValueError:
                if fmt == corpus.format:
                    raise  # it was read from this format, so the format holds it
                continue
            back = check_read(out, Path(out).read_bytes(), fmt)
            assert back is not None, f"write_corpus wrote a {fmt} file that read_corpus rejects"
            assert [(s.chars, s.tags) for s in back] == want, (fmt, scheme)


OPS = ("flip", "insert", "delete", "replace", "truncate", "duplicate")
INTERESTING_BYTES = [b"\t", b"\n", b"\n\n", b" ", b"\x02", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\x00", b"-",
                     b"B-", b"I-", b"E-", b"S-", b"M-", b"O", b"text_a\tlabel\n", b"\xe4", b"\xe4\xb8",
                     b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", "\u3000".encode(),
                     "\u2028".encode(), "\x85".encode(), "\ufeff".encode(), "\u200d".encode(),
                     "\U0001f600".encode(), "\U00020000".encode()]


def mutate(data: bytes, ops) -> bytes:
    """Apply ``ops``, each ``(op, position, payload)``, to ``data``; positions wrap around."""
    data = bytearray(data)
    for op, position, payload in ops:
        i = position % (len(data) + 1)
        if op == "flip" and data:
            data[min(i, len(data) - 1)] ^= payload[0] or 0x80
        elif op == "insert":
            data[i:i] = payload
        elif op == "delete":
            del data[i:i + len(payload) * 8]
        elif op == "replace":
            data[i:i + len(payload)] = payload
        elif op == "truncate":
            del data[i:]
        elif op == "duplicate":  # repeat a stretch, e.g. a line or half of a character
            data[i:i] = data[i:i + len(payload) * 16]
    return bytes(data)


def _fuzz_bases():
    """Valid files to mutate: the sample corpus, and ERNIE / msra TSV and space-separated BMES
    conll made from its first sentences (written by hand, not by write_corpus)."""
    train = (REPO / "data" / "sample" / "train.txt").read_bytes()
    blocks = [b.split("\n") for b in train.decode("utf-8").split("\n\n")[:12]]
    pairs = [[line.split("\t") for line in block if line] for block in blocks]
    tsv = "".join(SEP.join(c for c, _ in s) + "\t" + SEP.join(t for _, t in s) + "\n" for s in pairs if s)
    space = "".join("".join(f"{c} {t}\n" for c, t in zip([c for c, _ in s], from_bio([t for _, t in s], "BMES")))
                    + "\n" for s in pairs if s)
    return {"sample_train": train, "ernie_tsv": (ERNIE_HEADER + "\n" + tsv).encode(), "msra_tsv": tsv.encode(),
            "conll_space_bmes": space.encode()}


BASES = _fuzz_bases()
MUTATIONS = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 20),
                               st.one_of(st.sampled_from(INTERESTING_BYTES), st.binary(min_size=1, max_size=4))),
                     min_size=1, max_size=6)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("properties")


@pytest.fixture(scope="module", autouse=True)
def quiet_repairs():
    """Thousands of reads, many with repairs; their warning lines are not what is tested here."""
    with quiet_logger("paddle_ner.data.readers"):
        yield


# ---------------------------------------------------------------------------------------------
# Readers


@examples(150)
@given(corpus=CORPORA, fmt=st.sampled_from(FORMATS + ("conll_space",)), scheme=st.sampled_from(SCHEMES))
def test_written_corpus_reads_back_identical(workdir, corpus, fmt, scheme):
    """write_corpus in each format and scheme -> read_corpus: the same characters and BIO tags,
    no character dropped, lines where they were written. ``conll_space`` is the Resume /
    zjy-ucas layout (``token<SPACE>tag``), which write_corpus does not produce: written here."""
    path = workdir / "round_trip"
    # U+FEFF as the file's first character would read as a byte-order mark: write_corpus puts a
    # blank line first in conll, and refuses in msra_tsv, which cannot hold it (no blank lines).
    bom_first = corpus[0].chars[0].startswith("\ufeff")
    if fmt == "conll_space":
        if bom_first:
            return
        path.write_text("".join("".join(f"{c} {t}\n" for c, t in zip(s.chars, from_bio(s.tags, scheme))) + "\n"
                                for s in corpus), encoding="utf-8")
    elif fmt == "msra_tsv" and bom_first:
        with pytest.raises(ValueError, match="byte-order mark"):
            write_corpus(corpus, path, format=fmt, scheme=scheme)
        return
    else:
        write_corpus(corpus, path, format=fmt, scheme=scheme)
    real_fmt = "conll" if fmt == "conll_space" else fmt
    back = read_corpus(path, format=real_fmt)
    assert [s.chars for s in back] == [s.chars for s in corpus]
    assert [s.tags for s in back] == [s.tags for s in corpus]
    assert back.repairs == {"empty_tag": 0, "orphan_continuation": 0}
    if real_fmt == "conll":
        first = 2 if fmt == "conll" and bom_first else 1
        starts = np.cumsum([first] + [len(s) + 1 for s in corpus])[:-1].tolist()
    else:
        starts = list(range(1 + (fmt == "ernie_tsv"), len(corpus) + 1 + (fmt == "ernie_tsv")))
    assert [s.line for s in back] == starts
    # The scheme read back is the one written, as far as the tags can show it: BMES without
    # an M- (no entity of 3+) reads as BIOES, and all-O data as BIO (tags.detect_scheme).
    lengths = [end - start for s in corpus for _, start, end in s.spans()]
    expected = scheme
    if not lengths:
        expected = "BIO"
    elif scheme == "BMES" and max(lengths) < 3:
        expected = "BIOES"
    assert back.scheme == expected
    # Detection finds the format, except where the file cannot show it: msra_tsv of one-token
    # sentences has no \x02 and is a valid conll file too (the docstring's rule picks conll).
    ambiguous = fmt == "msra_tsv" and all(len(s) == 1 for s in corpus)
    assert detect_format(path) == ("conll" if ambiguous else real_fmt)


@examples(600)
@given(text=FILE_TEXT)
def test_any_text_reads_or_raises_a_located_data_error(workdir, text):
    """Arbitrary Unicode in a file, read with every format option and with detection: a Corpus
    holding every character (check_read), or a DataError naming the file and line. A corpus
    that reads also writes back (check_rewrite)."""
    path = workdir / "text.txt"
    data = text.encode("utf-8")
    path.write_bytes(data)
    for fmt in (None,) + FORMATS:
        corpus = check_read(path, data, fmt)
        if corpus is not None:
            check_rewrite(corpus, workdir / "rewritten")


@examples(150)
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(workdir, data):
    path = workdir / "bytes.bin"
    path.write_bytes(data)
    for fmt in (None,) + FORMATS:
        check_read(path, data, fmt)


@examples(400)
@given(base=st.sampled_from(sorted(BASES)), ops=MUTATIONS, strict=st.booleans())
def test_fuzz_mutated_files(workdir, base, ops, strict):
    """Byte flips, insertions, deletions and truncations of valid files (invalid UTF-8, a BOM,
    CRs, a broken header or column, a half character...): every failure is a located DataError."""
    data = mutate(BASES[base], ops)
    path = workdir / "mutated.txt"
    path.write_bytes(data)
    for fmt in (None,) + FORMATS:
        corpus = check_read(path, data, fmt, strict=strict)
        if corpus is not None:
            check_rewrite(corpus, workdir / "rewritten")


def test_fuzz_bases_are_valid():
    """The fuzz starts from valid files (otherwise it would only ever test the first error)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in BASES.items():
            path = Path(tmp, name)
            path.write_bytes(data)
            corpus = check_read(path, data, strict=True)
            assert corpus is not None and len(corpus) >= 10, name
            assert corpus.format == {"ernie_tsv": "ernie_tsv", "msra_tsv": "msra_tsv"}.get(name, "conll")


# Regression tests for the reader bugs found while writing these properties (with the minimal
# example hypothesis shrank each to), fixed in paddle_ner/data/readers.py.

def test_unreadable_path_is_a_data_error_also_when_detecting(tmp_path):
    """detect_format let OSErrors other than 'no such file' / 'is a directory' escape (a symlink
    loop, a name too long, no permission), so only a forced --format got the clean message.
    (Found reading detect_format for check_read's contract, not by a generated file.)"""
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    long_name = tmp_path / ("x" * 300)
    for path in (loop, long_name):
        for fmt in (None, "conll"):
            with pytest.raises(DataError) as err:
                read_corpus(path, format=fmt)
            assert str(err.value).startswith(f"{path}: cannot read: "), str(err.value)


def test_tsv_token_with_whitespace_at_an_end_writes_back(tmp_path):
    """'0\\x0c\\tO' read as msra_tsv is the token '0\\x0c' (between \\x02 and TAB its ends are
    unambiguous); write_corpus refused to write it back in msra_tsv, though only conll (whose
    reader refuses such a token) cannot hold it."""
    path = tmp_path / "m.tsv"
    path.write_text("0\x0c\tO", encoding="utf-8")
    corpus = read_corpus(path, format="msra_tsv")
    assert corpus.sentences[0].chars == ["0\x0c"]
    for fmt in ("msra_tsv", "ernie_tsv"):
        write_corpus(corpus, tmp_path / fmt, format=fmt)
        assert read_corpus(tmp_path / fmt, format=fmt).sentences[0].chars == ["0\x0c"]
    with pytest.raises(ValueError, match="cannot be written in the conll format"):
        write_corpus(corpus, tmp_path / "c", format="conll")


def test_writer_refuses_tags_the_format_cannot_hold(tmp_path):
    """'\\x00\\tB-\\x02' read as conll has the tag 'B-\\x02' (a type may be anything without
    whitespace); write_corpus wrote it into a TSV line, where \\x02 splits it into two tags and the
    file no longer reads. A type with whitespace was likewise written where no reader takes it."""
    path = tmp_path / "c.txt"
    path.write_text("\x00\tB-\x02", encoding="utf-8")
    corpus = read_corpus(path, format="conll")
    assert corpus.sentences[0].tags == ["B-\x02"]
    for fmt in ("msra_tsv", "ernie_tsv"):
        with pytest.raises(ValueError, match="cannot be written"):
            write_corpus(corpus, tmp_path / fmt, format=fmt)
    with pytest.raises(ValueError, match="malformed tag"):
        write_corpus([Sentence(["a"], ["B-X Y"])], tmp_path / "w", format="conll")


def test_leading_bom_character_is_written_only_where_it_reads_back(tmp_path):
    """[Sentence(['\\ufeff'], ['O'])] in conll: U+FEFF first in the file was written as the bytes
    EF BB BF, which read_corpus refuses as a byte-order mark. conll now starts such a file with a
    blank line, which is also how '\\n\\ufeff\\tO' (read fine as conll) writes back; msra_tsv,
    which has no blank lines, refuses it; after the ERNIE header it was always fine."""
    corpus = [Sentence(["\ufeff"], ["O"])]
    write_corpus(corpus, tmp_path / "c", format="conll")
    assert (tmp_path / "c").read_bytes() == "\n\ufeff\tO\n\n".encode()
    assert read_corpus(tmp_path / "c").sentences[0].chars == ["\ufeff"]
    with pytest.raises(ValueError, match="byte-order mark"):
        write_corpus(corpus, tmp_path / "m", format="msra_tsv")
    write_corpus(corpus, tmp_path / "e", format="ernie_tsv")
    assert read_corpus(tmp_path / "e").sentences[0].chars == ["\ufeff"]


# ---------------------------------------------------------------------------------------------
# Alignment


# The --model keys of paddle_ner.models.PRETRAINED, spelled out so that importing this module
# (benchmarks/fuzz_readers.py does) does not import Paddle; the fixture checks they still match.
PRETRAINED_KEYS = ["bert", "ernie", "ernie_tiny", "roberta"]


@pytest.fixture(scope="module", params=PRETRAINED_KEYS)
def char_mapper(request, standin):
    from paddle_ner.models import PRETRAINED
    from paddle_ner.models.checkpoints import load_tokenizer

    assert sorted(PRETRAINED) == PRETRAINED_KEYS
    return TokenizerCharMapper(load_tokenizer(request.param, str(standin(request.param))))


@examples(60)
@given(text=TEXT, cut=st.tuples(st.integers(0, 60), st.integers(0, 60)))
def test_tokenizer_mapper_one_position_per_character(char_mapper, text, cut):
    """``[CLS] c_1 .. c_n [SEP]`` whatever the characters: one in-vocabulary id per character,
    never a special token; the tokenizer's own first piece where it keeps the character, the
    space placeholder for whitespace and controls it drops, [UNK] for anything else it drops
    (combining marks, ZWJ, variation selectors...). A window's ids are the whole's, sliced."""
    m = char_mapper
    chars = list(text)
    ids = m.encode(chars)
    assert ids.shape == (len(chars) + 2,) and ids.dtype == np.int64
    assert (ids[0], ids[-1]) == (m.cls_id, m.sep_id)
    special = {m.cls_id, m.sep_id, m.pad_id, int(m.tokenizer.mask_token_id)}
    vocab_size = len(m.tokenizer.vocab)
    for char, ident in zip(chars, ids[1:-1].tolist()):
        assert 0 <= ident < vocab_size and ident not in special, repr(char)
        pieces = m.tokenizer.tokenize(char)
        if pieces:
            assert ident == m.tokenizer.convert_tokens_to_ids(pieces[0]), repr(char)
        elif is_space(char) or unicodedata.category(char) == "Cc":
            assert ident == m.space_id, repr(char)
        else:
            assert ident == m.unk_id, repr(char)
    start, end = sorted(min(c, len(chars)) for c in cut)
    window = m.encode(chars, start, end)
    assert window[1:-1].tolist() == ids[1 + start:1 + end].tolist()
    assert (window[0], window[-1]) == (m.cls_id, m.sep_id)


@examples(60)
@given(train=st.lists(TEXT, max_size=4), text=TEXT, bigrams=st.booleans(),
       cut=st.tuples(st.integers(0, 60), st.integers(0, 60)))
def test_char_vocab_one_position_per_character(workdir, train, text, bigrams, cut):
    """The BiGRU's vocabulary: one id (and one bigram id) per character of any text, whitespace
    on [SPACE], no training character or pair on [UNK], windows sliced from the whole (a window's
    last bigram sees the real successor), the same table whatever the sentence order, and the
    same ids after save/load."""
    vocab = CharVocab.build([list(t) for t in train], bigrams=bigrams)
    assert vocab.tokens == CharVocab.build([list(t) for t in reversed(train)], bigrams=bigrams).tokens
    chars = list(text)
    ids = vocab.encode(chars)
    assert ids.shape == (len(chars),) + vocab.input_shape and ids.dtype == np.int64
    char_ids = ids[:, 0] if bigrams else ids
    assert ((0 <= char_ids) & (char_ids < len(vocab))).all()
    if bigrams:
        assert ((0 <= ids[:, 1]) & (ids[:, 1] < len(vocab.bigrams))).all()
    for char, ident in zip(chars, char_ids.tolist()):
        if is_space(char):
            assert ident == vocab.space_id, repr(char)
    start, end = sorted(min(c, len(chars)) for c in cut)
    np.testing.assert_array_equal(vocab.encode(chars, start, end), ids[start:end])
    for sentence in train:  # with min_freq 1, nothing seen in training is unknown
        assert vocab.unk_id not in vocab.encode(list(sentence)).ravel().tolist()
    directory = workdir / "vocab"
    directory.mkdir(exist_ok=True)
    vocab.save(directory)
    np.testing.assert_array_equal(CharVocab.load(directory).encode(chars), ids)


@examples(200)
@given(length=st.integers(0, 2000), size=st.integers(1, 600), data=st.data())
def test_windows_partition_and_keep_context(length, size, data):
    """plan_windows: windows of at most ``size`` whose kept ranges partition the sentence, each
    kept character with at least ``overlap // 2`` characters of context on each side inside its
    window (except at the sentence's own ends); stitch puts every output back in place."""
    overlap = data.draw(st.integers(0, size - 1), label="overlap")
    windows = plan_windows(length, size, overlap)
    assert [i for w in windows for i in range(w.keep_start, w.keep_end)] == list(range(length))
    for w in windows:
        assert 0 <= w.start <= w.keep_start <= w.keep_end <= w.end <= length and w.end - w.start <= size
        if w.keep_end > w.keep_start:
            assert w.keep_start - w.start >= overlap // 2 or w.start == 0
            assert w.end - w.keep_end >= overlap // 2 or w.end == length
    assert stitch(windows, [list(range(w.start, w.end)) for w in windows]) == list(range(length))


# ---------------------------------------------------------------------------------------------
# Predictor

LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER", "B-GPE.NAM", "I-GPE.NAM"]
TRAIN_CHARS = [list("张三在北京大学读书。"), list("ERNIE 2024 ＭＳＲＡ\U0001f600 مرحبا नमस्ते")]


@pytest.fixture(scope="module", params=["bigru_crf", "bert"])
def predictor(request, standin):
    """A random-weight model with a 32-position window (30 characters for BERT, 32 for the
    BiGRU, which gets bigrams too), so 620+ character texts go through ~25 stitched windows.
    Random weights decode to B-, I- and O tags of several types, entities of every length, which
    is what the invariants need; the tags themselves mean nothing."""
    import paddle

    from paddle_ner.models import build_model

    paddle.seed(7)
    if request.param == "bert":
        cfg = ModelConfig(name="bert", pretrained=str(standin("bert")), max_seq_len=32, window_overlap=8)
    else:
        cfg = ModelConfig(name="bigru_crf", emb_dim=16, hidden_size=16, num_layers=1, bigram_dim=8,
                          max_seq_len=32, window_overlap=8)
    assert cfg.constrained_decoding  # the default, and what makes the BIO property a promise
    tagger, mapper = build_model(cfg, LABELS, train_chars=TRAIN_CHARS)
    tagger.eval()
    logger = logging.getLogger("paddle_ner.batching")  # "n of m sentences were split" per call
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield Predictor(DynamicEngine(tagger), mapper, LABELS, cfg.max_seq_len, cfg.window_overlap, batch_size=8)
    logger.setLevel(level)


def check_record(text, record):
    """The predictor's promises for one text."""
    assert record["text"] == text
    tags = record["tags"]
    assert len(tags) == len(text)  # exactly one tag per character, nothing truncated
    assert set(tags) <= set(LABELS)
    assert to_bio(tags, "BIO", strict=True)[0] == tags  # valid BIO, across window stitches too
    covered = []
    for e in record["entities"]:
        start, end, kind = e["start"], e["end"], e["type"]
        assert 0 <= start < end <= len(text)
        assert text[start:end] == e["text"]
        assert tags[start:end] == ["B-" + kind] + ["I-" + kind] * (end - start - 1)
        assert end == len(text) or tags[end] != "I-" + kind  # the whole chunk, not a prefix
        covered.extend(range(start, end))
    assert covered == [i for i, t in enumerate(tags) if t != "O"]  # in order, disjoint, every non-O tag


@examples(50)
@given(texts=BATCH)
def test_predictor_tags_every_character_of_any_text(predictor, texts):
    """Any Unicode (controls, combining marks, ZWJ sequences, astral CJK, 620+ characters...):
    one record per text with the promises of check_record."""
    records = predictor(texts)
    assert len(records) == len(texts)
    for text, record in zip(texts, records):
        check_record(text, record)


@examples(15)
@given(texts=BATCH)
def test_predictor_tags_do_not_depend_on_the_rest_of_the_call(predictor, texts):
    """Padding, length-sorting and batching are invisible: a text alone gets the tags it gets
    among others (the BiGRU reads sequence lengths, BERT masks padding)."""
    together = predictor.tag(texts)
    assert together == [predictor.tag([text])[0] for text in texts]


def test_predictor_edge_cases(predictor):
    assert predictor([]) == []
    records = predictor(["", " ", "\u200d", "\x00"])
    assert records[0] == {"text": "", "tags": [], "entities": []}
    for text, record in zip(["", " ", "\u200d", "\x00"], records):
        check_record(text, record)
    with pytest.raises(TypeError, match="list of texts"):
        predictor("张三")


def test_predictor_takes_any_iterable_of_texts(predictor):
    """A generator used to be consumed by tagging and then zipped again, empty: the call
    returned [] without a word. Minimal example: (t for t in ["张三"])."""
    texts = ["张三在北京。", _long("北京\u200d")]
    assert predictor(t for t in texts) == predictor(texts)
    assert len(predictor(iter(texts))) == 2

"""paddle_ner.data.readers: formats, detection, repairs, validation messages, round trips, real files."""
import hashlib
import logging

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from paddle_ner.data.readers import (FORMATS, Corpus, Sentence, _parse_conll, _parse_conll_lines, detect_format,
                                     read_corpus, write_corpus)
from paddle_ner.errors import DataError
from paddle_ner.tags import SCHEMES

SEP = "\x02"


def write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def conll(*sentences):
    """conll text from sentences given as [(char, tag), ...]."""
    return "".join("".join(f"{c}\t{t}\n" for c, t in s) + "\n" for s in sentences)


def error_of(path, **kwargs):
    with pytest.raises(DataError) as err:
        read_corpus(path, **kwargs)
    return err.value


def assert_error(path, line, fragment, **kwargs):
    """read_corpus fails with exactly 'PATH:LINE: ...' (or 'PATH: ...') mentioning fragment."""
    err = error_of(path, **kwargs)
    prefix = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(err).startswith(prefix), str(err)
    assert err.line == line and err.path == str(path)
    assert fragment in err.message, err.message


# --- reading the formats --------------------------------------------------------------------------

def test_conll_tab(tmp_path):
    text = "\n\n" + conll([("张", "B-PER"), ("三", "I-PER"), ("去", "O")], [("京", "B-LOC")]) + "\n\n" + conll(
        [("好", "O")])
    path = write(tmp_path, text)
    corpus = read_corpus(path)
    assert (corpus.format, corpus.scheme, corpus.path) == ("conll", "BIO", str(path))
    assert [s.chars for s in corpus] == [["张", "三", "去"], ["京"], ["好"]]
    assert [s.tags for s in corpus] == [["B-PER", "I-PER", "O"], ["B-LOC"], ["O"]]
    assert [s.line for s in corpus] == [3, 7, 11]  # lines 1-2 blank; 6, 8-10 blank
    assert corpus.repairs == {"empty_tag": 0, "orphan_continuation": 0}
    assert corpus.num_chars == 5 and len(corpus) == 3
    assert corpus.entity_counts() == {"LOC": 1, "PER": 1} and corpus.types() == ["LOC", "PER"]
    assert corpus.sentences[0].text == "张三去" and corpus.sentences[0].spans() == [("PER", 0, 2)]


def test_conll_without_final_newline(tmp_path):
    corpus = read_corpus(write(tmp_path, "a\tO\nb\tB-X\n\nc\tO"))
    assert [s.chars for s in corpus] == [["a", "b"], ["c"]] and corpus.sentences[1].line == 4


def test_conll_space_bmes(tmp_path):
    path = write(tmp_path, "高 B-NAME\n勇 E-NAME\n： O\n\n中 B-ORG\n国 M-ORG\n银 M-ORG\n行 E-ORG\n王 S-NAME\n\n")
    corpus = read_corpus(path)
    assert (corpus.format, corpus.scheme) == ("conll", "BMES")
    assert corpus.sentences[1].tags == ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "B-NAME"]
    assert corpus.sentences[1].line == 5


def test_ernie_and_msra_tsv(tmp_path):
    body = f"张{SEP}三{SEP}好\tB-PER{SEP}I-PER{SEP}O\n北{SEP}京\tB-LOC{SEP}I-LOC\n"
    ernie = read_corpus(write(tmp_path, "text_a\tlabel\n" + body, "e.tsv"))
    msra = read_corpus(write(tmp_path, body, "m.tsv"))
    assert (ernie.format, msra.format) == ("ernie_tsv", "msra_tsv")
    for corpus, first in ((ernie, 2), (msra, 1)):
        assert [s.chars for s in corpus] == [["张", "三", "好"], ["北", "京"]]
        assert [s.tags for s in corpus] == [["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC"]]
        assert [s.line for s in corpus] == [first, first + 1]


def test_detect_format(tmp_path):
    assert detect_format(write(tmp_path, "a\tO\n\n", "a")) == "conll"
    assert detect_format(write(tmp_path, "\n\na O\n\n", "b")) == "conll"
    assert detect_format(write(tmp_path, "text_a\tlabel\na\tO\n", "c")) == "ernie_tsv"
    assert detect_format(write(tmp_path, f"a{SEP}b\tO{SEP}O\n", "d")) == "msra_tsv"
    # A header-only ERNIE file is still ERNIE; single-character TSV lines further down are found.
    assert detect_format(write(tmp_path, "text_a\tlabel\n", "e")) == "ernie_tsv"
    assert detect_format(write(tmp_path, f"a\tO\nb{SEP}c\tO{SEP}O\n", "f")) == "msra_tsv"


def test_forced_format_and_scheme(tmp_path):
    path = write(tmp_path, "a\tB-X\nb\tE-X\n\n")
    assert read_corpus(path, scheme="BMES").scheme == "BMES"
    assert_error(path, 2, "outside the BIO scheme", scheme="BIO")
    with pytest.raises(ValueError, match="unknown format"):
        read_corpus(path, format="json")
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        read_corpus(path, scheme="IOB")


def test_ernie_header_mismatch_when_forced(tmp_path):
    ernie = write(tmp_path, "text_a\tlabel\na\tO\n", "e.tsv")
    plain = write(tmp_path, "a\tO\n", "p.tsv")
    assert_error(ernie, 1, "read this file as --format ernie_tsv", format="msra_tsv")
    assert_error(plain, 1, "expected the ERNIE header", format="ernie_tsv")
    # Forcing conll on a TSV line: the \x02-joined field is one token, the tag field is invalid.
    assert_error(write(tmp_path, f"a{SEP}b\tO{SEP}O\n", "m.tsv"), 1, "malformed tag", format="conll")


# --- tokens ---------------------------------------------------------------------------------------

def test_tokens_kept_whole(tmp_path):
    """Weibo's two-code-point U+FFFD U+FFFD is one token; a whitespace token is kept after a TAB."""
    corpus = read_corpus(write(tmp_path, "\ufffd\ufffd\tO\n\u3000\tO\n \tO\n好\tO\n\n"))
    assert corpus.sentences[0].chars == ["\ufffd\ufffd", "\u3000", " ", "好"]
    assert corpus.num_chars == 4


def test_fast_and_line_parsers_agree(tmp_path):
    texts = [
        "a\tO\nb\tB-X\n\nc\tI-X\n",
        "\n\n\na\tO\n\n\n\nb\tO\n\n",
        "a\tO",
        "\ufffd\ufffd\tO\nxy\tB-X\n\n",
        "a O\nb B-X\n\n\nc O\n",
        "0\t\n1\tO\n\n",
    ]
    for text in texts:
        sep = "\t" if "\t" in text else " "
        assert _parse_conll("p", text, None) == _parse_conll_lines("p", text, sep, None), text


def test_token_fix_errors_name_the_line(tmp_path):
    def fix(token):
        if not token.isalpha():
            raise ValueError(f"bad token {token!r}")
        return token.upper()

    corpus = read_corpus(write(tmp_path, "a\tO\nb\tO\n\n"), token_fix=fix)
    assert corpus.sentences[0].chars == ["A", "B"]
    assert_error(write(tmp_path, "a\tO\n\nb\tO\n1\tO\n", "f2"), 4, "bad token '1'", token_fix=fix)
    assert_error(write(tmp_path, f"a{SEP}1\tO{SEP}O\n", "f3"), 1, "bad token '1'", token_fix=fix)


# --- repairs --------------------------------------------------------------------------------------

def test_empty_tag_repaired_and_counted(tmp_path, caplog):
    path = write(tmp_path, conll([("一", "O"), ("0", ""), ("年", "O")], [("0", "")]))
    with caplog.at_level(logging.WARNING, logger="paddle_ner.data.readers"):
        corpus = read_corpus(path)
    assert corpus.sentences[0].chars == ["一", "0", "年"]  # no character dropped
    assert corpus.sentences[0].tags == ["O", "O", "O"] and corpus.sentences[1].tags == ["O"]
    assert corpus.repairs == {"empty_tag": 2, "orphan_continuation": 0}
    assert "2 empty tag(s) read as O" in caplog.text
    assert_error(path, 2, "empty tag", strict=True)


def test_empty_tag_in_tsv(tmp_path):
    path = write(tmp_path, f"a{SEP}0{SEP}b\tO{SEP}{SEP}O\n", "e.tsv")
    assert read_corpus(path).repairs["empty_tag"] == 1
    assert_error(path, 1, "tag 2: empty tag", strict=True)


def test_orphan_repaired_counted_and_strict(tmp_path, caplog):
    path = write(tmp_path, conll([("a", "O"), ("b", "B-X")], [("c", "O"), ("d", "I-X"), ("e", "I-X"), ("f", "I-Y")]))
    with caplog.at_level(logging.WARNING, logger="paddle_ner.data.readers"):
        corpus = read_corpus(path)
    assert corpus.sentences[1].tags == ["O", "B-X", "I-X", "B-Y"]
    assert corpus.repairs == {"empty_tag": 0, "orphan_continuation": 2}
    assert "2 orphan" in caplog.text
    assert_error(path, 5, "orphan tag 'I-X' after 'O'", strict=True)


def test_strict_accepts_clean_data(tmp_path):
    corpus = read_corpus(write(tmp_path, conll([("a", "B-X"), ("b", "I-X")])), strict=True)
    assert corpus.repairs == {"empty_tag": 0, "orphan_continuation": 0}


# --- malformed input: every case names PATH:LINE --------------------------------------------------

@pytest.mark.parametrize("text, line, fragment", [
    ("a\tO\nb\tO\tX\n\n", 2, "expected 2 TAB-separated columns (token, tag), got 3"),
    ("a\tO\n\nb\n", 3, "expected 2 TAB-separated columns (token, tag), got 1"),
    ("a\tO\n\tO\n", 2, "empty token"),
    ("a\tO\nb \tO\n", 2, "leading or trailing whitespace"),
    ("a\tO\n \n", 2, "only whitespace"),
    ("a\tO\nb\tPER\n", 2, "malformed tag 'PER'"),
    ("a\tO\nb\tB-PER\nc\tb-PER\n", 3, "malformed tag 'b-PER'"),
    ("a\tO\nb\tB-PER \n", 2, "malformed tag 'B-PER '"),
    ("a\tB-X\nb\tI-X\n\nc\tB-X\nd\tM-X\n", 5, "mixes schemes"),
    # space-separated files
    ("a O\n  O\n", 2, "line starts with a space"),
    ("a O\nb  O\n", 2, "expected 2 space-separated columns"),
    ("a O\nb\n", 2, "expected 2 space-separated columns (token, tag), got 1"),
    ("a O\nb\tO\n", 2, "got 1: 'b\\tO' (this file uses spaces: its first token line has no TAB)"),
    ("a O\nb\tc O\n", 2, "contains a TAB"),
])
def test_conll_malformed(tmp_path, text, line, fragment):
    assert_error(write(tmp_path, text), line, fragment)


@pytest.mark.parametrize("text, line, fragment", [
    (f"text_a\tlabel\na{SEP}b\tO{SEP}O\na{SEP}b{SEP}c\tO{SEP}O\n", 3, "text has 3 characters but label has 2 tags"),
    (f"text_a\tlabel\na{SEP}b\tO{SEP}O\tO\n", 2, "expected 2 TAB-separated columns (text, label), got 3"),
    (f"text_a\tlabel\na{SEP}b\n", 2, "expected 2 TAB-separated columns (text, label), got 1"),
    (f"text_a\tlabel\na{SEP}{SEP}b\tO{SEP}O{SEP}O\n", 2, "character 2 is empty"),
    ("text_a\tlabel\n\tO\n", 2, "empty sentence"),
    (f"text_a\tlabel\na\tO\n\nb\tO\n", 3, "empty line"),
    (f"text_a\tlabel\na{SEP}b\tO{SEP}X\n", 2, "tag 2: malformed tag 'X'"),
    (f"a{SEP}b\tO{SEP}O\nc{SEP}d\tO{SEP}E-X\n", 2, "tag 2: tag 'E-X' is outside the BIO scheme"),
])
def test_tsv_malformed(tmp_path, text, line, fragment):
    kwargs = {"scheme": "BIO"} if "E-X" in text else {}
    assert_error(write(tmp_path, text, "d.tsv"), line, fragment, **kwargs)


def test_encoding_problems_name_the_line(tmp_path):
    good = "a\tO\nb\tO\n\n".encode()
    assert_error(write(tmp_path, b"\xef\xbb\xbf" + good), 1, "byte-order mark")
    assert_error(write(tmp_path, good + "c\tO\n".encode("gb18030") + "中\tO\n".encode("gb18030")), 5,
                 "not valid UTF-8: byte 0xd6")
    assert_error(write(tmp_path, b"\xff\xfea\x00"), 1, "not valid UTF-8")
    assert_error(write(tmp_path, b"a\tO\nb\tO\r\n\r\n"), 2, "CR character (CRLF")
    assert_error(write(tmp_path, "text_a\tlabel\r\na\tO\r\n".encode(), "c.tsv"), 1, "CRLF")


def test_missing_empty_and_directory(tmp_path):
    assert_error(tmp_path / "nope.txt", None, "no such file")
    assert_error(tmp_path, None, "is a directory")
    assert_error(write(tmp_path, ""), None, "no sentences")
    assert_error(write(tmp_path, "\n\n\n"), None, "no sentences")
    assert_error(write(tmp_path, "text_a\tlabel\n", "h.tsv"), None, "no sentences")


# --- writing and round trips ----------------------------------------------------------------------

ROUND_TRIP = [
    Sentence(list("张三在北京大学读书"), ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O"]),
    Sentence(list("王去上海"), ["B-PER", "O", "B-LOC", "I-LOC"]),
    Sentence(["\ufffd\ufffd", "好", "\u3000", "A"], ["O", "O", "O", "B-X.NAM"]),
    Sentence(["。"], ["O"]),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_round_trip(tmp_path, fmt, scheme):
    path = tmp_path / f"rt.{fmt}"
    write_corpus(ROUND_TRIP, path, format=fmt, scheme=scheme)
    corpus = read_corpus(path)
    assert (corpus.format, corpus.scheme) == (fmt, scheme)
    assert [s.chars for s in corpus] == [s.chars for s in ROUND_TRIP]
    assert [s.tags for s in corpus] == [s.tags for s in ROUND_TRIP]
    assert corpus.repairs == {"empty_tag": 0, "orphan_continuation": 0}
    again = tmp_path / "again"
    write_corpus(corpus, again, format=fmt, scheme=corpus.scheme)
    assert again.read_bytes() == path.read_bytes()


def test_written_bytes(tmp_path):
    sentences = [Sentence(["中", "国"], ["B-LOC", "I-LOC"]), Sentence(["好"], ["O"])]
    write_corpus(sentences, tmp_path / "a", "conll", "BIOES")
    assert (tmp_path / "a").read_bytes() == "中\tB-LOC\n国\tE-LOC\n\n好\tO\n\n".encode()
    write_corpus(sentences, tmp_path / "b", "ernie_tsv")
    assert (tmp_path / "b").read_bytes() == f"text_a\tlabel\n中{SEP}国\tB-LOC{SEP}I-LOC\n好\tO\n".encode()
    write_corpus(sentences, tmp_path / "c", "msra_tsv", "BMES")
    assert (tmp_path / "c").read_bytes() == f"中{SEP}国\tB-LOC{SEP}E-LOC\n好\tO\n".encode()


@pytest.mark.parametrize("fmt, chars, tags", [
    ("conll", ["a\tb"], ["O"]),
    ("conll", ["a\nb"], ["O"]),
    ("conll", [""], ["O"]),
    ("ernie_tsv", [f"a{SEP}"], ["O"]),
    ("msra_tsv", ["a", "b"], ["O"]),
    ("conll", [], []),
])
def test_write_rejects_what_the_format_cannot_hold(tmp_path, fmt, chars, tags):
    with pytest.raises(ValueError):
        write_corpus([Sentence(chars, tags)], tmp_path / "x", format=fmt)


def test_stats(tmp_path):
    sentences = [Sentence(["a"] * n, ["O"] * n) for n in range(1, 201)]
    sentences[0].tags = ["B-X"]
    write_corpus(sentences, tmp_path / "s")
    stats = read_corpus(tmp_path / "s").stats()
    assert stats["sentences"] == 200 and stats["chars"] == 200 * 201 // 2
    # nearest rank: the 198th of 200 sorted lengths (ceil(0.99 * 200) = 198)
    assert stats["lengths"] == {"max": 200, "mean": 100.5, "p99": 198}
    assert stats["entities"] == {"X": 1} and stats["entities_total"] == 1


# --- real corpora (../shared/data), each file read once per module --------------------------------

@pytest.fixture(scope="module")
def corpus_cache():
    return {}


@pytest.fixture
def real(shared_data, corpus_cache):
    def get(relative):
        if relative not in corpus_cache:
            corpus_cache[relative] = read_corpus(shared_data / relative)
        return corpus_cache[relative]
    return get


def raw_conll_tags(path):
    """Tag sequences of a conll file, read independently of the package (reference)."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line:
            current.append(line.split("\t")[1])
        elif current:
            sentences.append(current)
            current = []
    return sentences


def test_sighan_train(real):
    corpus = real("msra_ner/sighan2006/train.txt")
    assert (corpus.format, corpus.scheme) == ("conll", "BIO")
    assert len(corpus) == 45000 and corpus.num_chars == 2171573
    assert corpus.entity_counts() == {"LOC": 36860, "ORG": 20584, "PER": 17615}
    assert corpus.repairs == {"empty_tag": 57, "orphan_continuation": 0}
    assert max(len(s) for s in corpus) == 746


def test_sighan_test(real):
    corpus = real("msra_ner/sighan2006/test.txt")
    assert len(corpus) == 3442 and corpus.num_chars == 172601
    assert corpus.entity_counts() == {"LOC": 2886, "ORG": 1331, "PER": 1973}
    assert corpus.repairs == {"empty_tag": 0, "orphan_continuation": 0}


@pytest.mark.parametrize("name, sentences, chars, entities", [
    ("dev", 2318, 109870, {"LOC": 1951, "ORG": 984, "PER": 884}),
    ("test", 4636, 219197, {"LOC": 3658, "ORG": 2185, "PER": 1864}),
])
def test_ernie_split(real, name, sentences, chars, entities):
    corpus = real(f"msra_ner/ernie/{name}.tsv")
    assert corpus.format == "ernie_tsv"
    assert len(corpus) == sentences and corpus.num_chars == chars
    assert corpus.entity_counts() == entities
    assert corpus.sentences[0].line == 2  # line 1 is the header


@pytest.mark.parametrize("name, sentences, chars, b_tags, lenient, orphans, ufffd", [
    ("train", 1350, 73778, 1885, 1895, 10, 12),
    ("dev", 270, 14509, 389, 389, 0, 16),
    ("test", 270, 14842, 414, 418, 4, 16),
])
def test_weibo(real, shared_data, name, sentences, chars, b_tags, lenient, orphans, ufffd):
    corpus = real(f"weibo_ner/{name}.txt")
    assert len(corpus) == sentences and corpus.num_chars == chars
    assert sum(corpus.entity_counts().values()) == lenient
    assert corpus.repairs == {"empty_tag": 0, "orphan_continuation": orphans}
    assert sum(t.startswith("B-") for tags in raw_conll_tags(shared_data / f"weibo_ner/{name}.txt") for t in tags) \
        == b_tags
    assert sum(c == "\ufffd\ufffd" for s in corpus for c in s.chars) == ufffd
    assert {t.split(".")[0] for t in corpus.types()} <= {"PER", "LOC", "GPE", "ORG"}


@pytest.mark.parametrize("name, sentences, chars, total", [
    ("train", 3821, 124099, 13440),
    ("dev", 463, 13890, 1497),
    ("test", 477, 15100, 1630),
])
def test_resume_bmes_to_bio_keeps_spans(real, shared_data, name, sentences, chars, total):
    corpus = real(f"resume_ner/{name}.txt")
    assert (corpus.scheme, len(corpus), corpus.num_chars) == ("BMES", sentences, chars)
    source = raw_conll_tags(shared_data / f"resume_ner/{name}.txt")
    # Reference: seqeval's lenient chunks of the source BMES tags (M- read as I-), sentence by sentence.
    for tags, sentence in zip(source, corpus):
        mapped = ["I" + t[1:] if t.startswith("M-") else t for t in tags]
        assert sorted(sentence.spans()) == sorted((typ, a, b + 1) for typ, a, b in get_entities(mapped))
    assert sum(corpus.entity_counts().values()) == total
    if name == "train":
        assert corpus.entity_counts()["ORG"] == 4613
        assert corpus.repairs["orphan_continuation"] == 2  # 13438 B-/S- tags + 2 orphan chunks


def test_sighan_test_writes_paddlenlp_tsv_byte_for_byte(real, tmp_path):
    """PaddleNLP's msra_ner test.tsv is SIGHAN test written as msra_tsv (md5 from its loader)."""
    write_corpus(real("msra_ner/sighan2006/test.txt"), tmp_path / "test.tsv", format="msra_tsv")
    assert hashlib.md5((tmp_path / "test.tsv").read_bytes()).hexdigest() == "40b26ae09b63af78ea3a91ac8b8ae303"


def test_corpus_is_plain_data():
    corpus = Corpus("p", "conll", "BIO", [Sentence(["a"], ["O"], 1)], {"empty_tag": 0})
    assert corpus.entity_counts() == {} and corpus.stats()["repairs"] == {"empty_tag": 0}

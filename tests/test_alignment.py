"""One input position per character, for every model, and exact window stitching."""
import unicodedata

import numpy as np
import pytest

from paddle_ner.alignment import CharVocab, TokenizerCharMapper, plan_windows, stitch, window_tags
from paddle_ner.models import PRETRAINED
from paddle_ner.models.checkpoints import load_tokenizer

MIXED = [
    "张三在北京大学读书。",
    "2024年5月，ERNIE-tiny在ＭＳＲＡ上得了９０分！",
    "Hello  World\tTAB\u3000全角空格\u00a0nbsp",
    "表情😀🇨🇳和罕见字𠀀、控制符\x00\x07、替换符\ufffd、组合音标e\u0301。",
    "Ｆｕｌｌ－ｗｉｄｔｈ　ＡＢＣ１２３，İstanbul ǅ ﬁ",
    " ",
    "",
]


@pytest.fixture(scope="module", params=sorted(PRETRAINED))
def mapper(request, standin):
    return TokenizerCharMapper(load_tokenizer(request.param, str(standin(request.param))))


@pytest.mark.parametrize("text", MIXED)
def test_one_position_per_character(mapper, text):
    ids = mapper.encode(list(text))
    assert ids.shape == (len(text) + 2,)
    assert ids[0] == mapper.cls_id and ids[-1] == mapper.sep_id


@pytest.mark.parametrize("text", MIXED)
def test_ids_follow_the_tokenizers_own_normalisation(mapper, text):
    tok = mapper.tokenizer
    for char, ident in zip(text, mapper.encode(list(text))[1:-1]):
        pieces = tok.tokenize(char)
        if pieces:
            assert ident == tok.convert_tokens_to_ids(pieces[0]), char
        elif char.isspace() or unicodedata.category(char) in ("Zs", "Cc"):
            assert ident == mapper.space_id, repr(char)
        else:
            assert ident == mapper.unk_id, repr(char)


def test_matches_the_tokenizer_on_plain_chinese(mapper):
    # On text the tokenizer splits one token per character, ours must equal its input_ids.
    text = "海钓比赛地点在厦门与金门之间的海域。"
    expected = mapper.tokenizer(text)["input_ids"]
    assert len(expected) == len(text) + 2
    assert mapper.encode(list(text)).tolist() == expected


def test_space_placeholder_is_unused1_where_the_vocab_has_it(mapper):
    assert mapper.tokenizer.convert_ids_to_tokens(mapper.space_id) == "[unused1]"
    assert mapper.encode([" "])[1] == mapper.encode(["\u3000"])[1] == mapper.space_id


def test_char_vocab_one_id_per_character(tmp_path):
    vocab = CharVocab.build([list("北京北京上海"), list("ABC")])
    assert vocab.tokens[:5] == ["[PAD]", "[UNK]", "[SPACE]", "京", "北"]  # most frequent first, ties by code point
    for text in MIXED:
        assert vocab.encode(list(text)).shape == (len(text),)
    assert vocab.encode(list("Ａｂ c")).tolist() == [vocab.index["a"], vocab.index["b"], vocab.space_id,
                                                    vocab.index["c"]]
    assert vocab.encode(["😀"]).tolist() == [vocab.unk_id]
    vocab.save(tmp_path)
    assert CharVocab.load(tmp_path).tokens == vocab.tokens


@pytest.mark.parametrize("size,overlap", [(1, 0), (2, 1), (5, 0), (5, 2), (8, 3), (126, 32), (510, 64)])
def test_windows_partition_every_sentence(size, overlap):
    rng = np.random.RandomState(size * 100 + overlap)
    for length in list(range(0, 3 * size + 3)) + list(rng.randint(1, 3000, size=20)):
        windows = plan_windows(int(length), size, overlap)
        kept = [i for w in windows for i in range(w.keep_start, w.keep_end)]
        assert kept == list(range(length))
        for w in windows:
            assert 0 <= w.start <= w.keep_start <= w.keep_end <= w.end <= length
            assert w.end - w.start <= size
        # Each window's model outputs, one per window character, stitch back exactly.
        outputs = [list(range(w.start, w.end)) for w in windows]
        assert stitch(windows, outputs) == list(range(length))


def test_stitched_characters_keep_context_on_both_sides():
    size, overlap, length = 10, 4, 57
    for w in plan_windows(length, size, overlap):
        for i in range(w.keep_start, w.keep_end):
            assert i - w.start >= overlap // 2 or w.start == 0
            assert w.end - 1 - i >= overlap // 2 - 1 or w.end == length


def test_window_rejects_bad_sizes():
    with pytest.raises(ValueError, match="overlap"):
        plan_windows(10, 4, 4)
    with pytest.raises(ValueError, match="size"):
        plan_windows(10, 0, 0)
    with pytest.raises(ValueError, match="needs 4 outputs"):
        stitch(plan_windows(4, 4, 0), [[1, 2]])


def test_training_window_never_starts_inside_an_entity():
    tags = ["O", "B-PER", "I-PER", "I-PER", "O"]
    assert window_tags(tags, 2, 5) == ["B-PER", "I-PER", "O"]
    assert window_tags(tags, 0, 3) == ["O", "B-PER", "I-PER"]


def test_char_vocab_bigrams_see_the_real_successor_across_windows(tmp_path):
    sentence = list("北京欢迎你，北京")
    vocab = CharVocab.build([sentence], bigrams=True)
    whole = vocab.encode(sentence)
    assert whole.shape == (len(sentence), 2)
    assert vocab.bigrams[whole[0, 1]] == "北\t京" and vocab.bigrams[whole[-1, 1]] == "京\t</s>"
    assert whole[0, 1] == whole[6, 1]  # the same pair gets the same id
    # A window [2, 5) ends at "你"; its last bigram is still "你，", not "你</s>".
    np.testing.assert_array_equal(vocab.encode(sentence, 2, 5), whole[2:5])
    assert vocab.encode(list("京都")).tolist()[0][1] == vocab.unk_id  # unseen pair
    vocab.save(tmp_path)
    again = CharVocab.load(tmp_path)
    assert again.bigrams == vocab.bigrams and again.input_shape == (2,)


def test_min_bigram_frequency_drops_rare_pairs():
    vocab = CharVocab.build([list("ab"), list("ab"), list("cd")], bigrams=True, min_bigram_freq=2)
    assert vocab.bigrams[3:] == ["a\tb", "b\t</s>"]


# --- char_lookup: "plain" and "sentencepiece_marker" (PaddleHub 1.x's ernie_tiny reader) ------------------

MARKER_VOCAB = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[unused1]", "\u2581北", "\u2581京", "\u2581a",
                "\u2581e", "\u2581ᄒ", "ᅡ", "ᆫ", "北", "京", "大", "a", "b", "##b", "\u2581中国"]


@pytest.fixture
def marker_tokenizer(tmp_path):
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(MARKER_VOCAB) + "\n", encoding="utf-8")
    return PRETRAINED["ernie_tiny"].tokenizer_cls()(str(vocab_file))


def test_unknown_lookup_is_refused(marker_tokenizer):
    with pytest.raises(ValueError, match="sentencepiece_marker"):
        TokenizerCharMapper(marker_tokenizer, lookup="sentencepiece")
    assert TokenizerCharMapper(marker_tokenizer).lookup == "plain"


def test_sentencepiece_marker_looks_up_only_marker_entries(marker_tokenizer):
    marker = TokenizerCharMapper(marker_tokenizer, lookup="sentencepiece_marker")
    plain = TokenizerCharMapper(marker_tokenizer)  # same tokenizer: the caches must not mix
    index = {t: i for i, t in enumerate(MARKER_VOCAB)}
    text = "北京大学ABé中 \u3000\x07한"
    got = marker.encode(list(text))[1:-1].tolist()
    assert got == [index["\u2581北"], index["\u2581京"],
                   marker.unk_id,  # 大: bare entry only -> [UNK]
                   marker.unk_id,  # 学: nothing
                   index["\u2581a"],  # A: lower-cased first
                   marker.unk_id,  # B -> b: "b" and "##b" exist, "\u2581b" does not
                   index["\u2581e"],  # é: accent stripped
                   marker.unk_id,  # 中: "\u2581中国" is no entry for 中 alone
                   marker.space_id, marker.space_id, marker.space_id,  # whitespace, control: placeholder, kept
                   index["\u2581ᄒ"]]  # 한 -> ᄒ ᅡ ᆫ: first piece marked, the others bare
    assert marker.space_id == index["[unused1]"]
    assert marker.pieces("한") == ["\u2581ᄒ", "ᅡ", "ᆫ"] and marker.pieces(" ") == []
    assert plain.encode(list("北大B"))[1:-1].tolist() == [index["北"], index["大"], index["b"]]
    assert marker.encode(list("北大B"))[1:-1].tolist() == [index["\u2581北"], marker.unk_id, marker.unk_id]


@pytest.mark.parametrize("text", MIXED)
def test_sentencepiece_marker_keeps_one_position_per_character(mapper, text):
    # Over the stand-in vocabularies (no "\u2581" entries) every character is [UNK] or a placeholder.
    marker = TokenizerCharMapper(mapper.tokenizer, lookup="sentencepiece_marker")
    ids = marker.encode(list(text))
    assert ids.shape == (len(text) + 2,)
    assert set(ids[1:-1].tolist()) <= {marker.unk_id, marker.space_id}


def test_lookup_survives_save_and_load(tmp_path, marker_tokenizer):
    """The mapper saves only its tokenizer; the lookup comes back from the saved model config."""
    from paddle_ner.config import ModelConfig
    from paddle_ner.models import load_mapper, save_metadata

    mapper = TokenizerCharMapper(marker_tokenizer, lookup="sentencepiece_marker")
    cfg = ModelConfig(name="ernie_tiny", char_lookup="sentencepiece_marker")
    save_metadata(tmp_path / "model", mapper, cfg, ["O", "B-LOC", "I-LOC"])
    loaded, loaded_cfg, _ = load_mapper(tmp_path / "model")
    assert loaded_cfg.char_lookup == loaded.lookup == "sentencepiece_marker"
    text = list("北京大学A한")
    assert loaded.encode(text).tolist() == mapper.encode(text).tolist()
    assert loaded.encode(text).tolist() != TokenizerCharMapper(marker_tokenizer).encode(text).tolist()

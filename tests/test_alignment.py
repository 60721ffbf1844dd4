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

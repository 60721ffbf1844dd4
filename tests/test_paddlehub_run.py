"""The differential proof: whole fine-tuning runs of PaddleHub 1.5.4 replayed through OUR Trainer
with the paper recipe (configs/paper/paddlehub.yaml) and the same tiny encoder, initial weights
and data. The runs were recorded by tools/paddlehub_golden/gen_train_run.py running PaddleHub's
real SequenceLabelTask(add_crf=True) + AdamWeightDecayStrategy:

* tests/golden/train_run.json: 15 steps at lr 5e-2, dev every 4 steps (with the parameters
  after every step, for debugging a mismatch);
* tests/golden/train_run_long.json (``--long``): 306 steps over 6 epochs at lr 5e-3, dev every
  50 steps, with sentences longer than 126 characters in train and dev.

What must agree: the loss of every step (within 1e-4 relative, the issue's bound), the learning
rate of every step, the batch order, the dev metrics at every evaluation (batch-averaged,
PaddleHub's convention), which evaluations replaced the best model, the final weights, the best
model's weights and its test metrics. The run settings (lr, epochs, batch size, eval interval,
warmup, weight decay, max_seq_len, shuffle seed) come from each fixture's recorded ``config``;
everything else from the paper recipe. Nothing of PaddleHub is imported here. ``-s`` prints the
largest differences.
"""
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import paddle
import pytest

from conftest import REPO
from paddle_ner.alignment import TokenizerCharMapper, Window
from paddle_ner.batching import Example, shuffled_batches
from paddle_ner.config import load_config
from paddle_ner.data import Corpus, Sentence
from paddle_ner.models import Tagger

FIXTURES = {"short": "train_run.json", "long": "train_run_long.json"}
REL_LOSS = 1e-4  # the bound for the per-step loss


def load_run(name: str) -> SimpleNamespace:
    data = json.loads((REPO / "tests" / "golden" / name).read_text(encoding="utf-8"))
    cfg = data["config"]
    run_cfg, strategy = cfg["RunConfig"], cfg["AdamWeightDecayStrategy"]
    # The fixture's run (its `config`), in our config fields; everything else comes from the paper recipe.
    overrides = [f"train.lr={strategy['learning_rate']!r}", f"train.epochs={run_cfg['num_epoch']}",
                 f"train.batch_size={run_cfg['batch_size']}", f"train.eval_every={run_cfg['eval_interval']}",
                 f"train.warmup_proportion={strategy['warmup_proportion']!r}",
                 f"train.weight_decay={strategy['weight_decay']!r}", f"train.log_every={run_cfg['log_interval']}",
                 f"model.max_seq_len={cfg['max_seq_len']}"]
    # the reader's shuffle seed, as the fixture states its batch-order rule: "np.random.seed(2020); ..."
    seed = int(re.match(r"np\.random\.seed\((\d+)\)", data["batch_order"]["numpy_replay"]).group(1))
    return SimpleNamespace(name=name, data=data, overrides=overrides, seed=seed, batch_size=run_cfg["batch_size"])


@pytest.fixture(scope="module", params=list(FIXTURES), ids=list(FIXTURES))
def run(request) -> SimpleNamespace:
    return load_run(FIXTURES[request.param])


class EmbeddingEncoder(paddle.nn.Layer):
    """The fixtures' encoder: a word embedding of [CLS] c_1..c_n [SEP], no dropout."""

    num_special = 2

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.embedding = paddle.nn.Embedding(*table.shape)
        self.embedding.weight.set_value(table.astype("float32"))
        self.hidden_size = table.shape[1]

    def forward(self, input_ids, lengths):
        return self.embedding(input_ids)  # shape: [B, T + 2, H]


def params(run, which: str) -> dict:
    """PaddleHub's parameters: "initial", "final_after_last_step" or "best_model"."""
    value = run.data["params"][which]
    if value == "same as final_after_last_step":
        value = run.data["params"]["final_after_last_step"]
    return {name: np.asarray(p, dtype="float32") for name, p in value.items()}


def corpus(run, split: str) -> Corpus:
    sentences = [Sentence(list(s["text"]), s["tags"].split()) for s in run.data["data"][split]]
    return Corpus(path=f"{run.name}:{split}", format="ernie_tsv", scheme="BIO", sentences=sentences)


def build(run, tmp_path: Path):
    """(tagger with the fixture's initial weights, mapper over its vocabulary, labels, config)."""
    from paddlenlp.transformers import BertTokenizer

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(run.data["data"]["vocab"]) + "\n", encoding="utf-8")
    mapper = TokenizerCharMapper(BertTokenizer(str(vocab), do_lower_case=True))
    labels = run.data["data"]["label_list"]
    init = params(run, "initial")
    cfg = load_config(REPO / "configs" / "paper" / "paddlehub.yaml", run.overrides)
    tagger = Tagger(EmbeddingEncoder(init["word_embedding"]), labels, dropout=cfg.model.dropout,
                    crf_lr=cfg.model.crf_lr, constrained=cfg.model.constrained_decoding,
                    fc_init_range=cfg.model.fc_init_range, fc_l2=cfg.model.fc_l2, crf_init=cfg.model.crf_init,
                    crf_specials=cfg.model.crf_specials)
    set_weights(tagger, init)
    return tagger, mapper, labels, cfg


def set_weights(tagger: Tagger, p: dict) -> None:
    tagger.encoder.embedding.weight.set_value(p["word_embedding"])  # row = token id in both
    tagger.fc.weight.set_value(p["fc_0.w_0"])  # [16, 7]: x @ W in both
    tagger.fc.bias.set_value(p["fc_0.b_0"])
    crfw = p["crfw"]  # row 0 start, row 1 end, rows 2.. [from, to]
    tagger.crf.start.set_value(crfw[0])
    tagger.crf.end.set_value(crfw[1])
    tagger.crf.transitions.set_value(crfw[2:])


def as_paddlehub(weights: dict) -> dict:
    """Our Tagger's state (name -> array) under PaddleHub's parameter names and layouts."""
    return {"word_embedding": weights["encoder.embedding.weight"], "fc_0.w_0": weights["fc.weight"],
            "fc_0.b_0": weights["fc.bias"],
            "crfw": np.concatenate([weights["crf.start"][None], weights["crf.end"][None], weights["crf.transitions"]])}


def train_examples(run):
    """The reader's own token ids (tests/test_golden_reader.py pins our mapper to them), with
    the labels of the characters ([CLS]/[SEP] are the Tagger's business)."""
    out = []
    for i, (ids, label_ids) in enumerate(run.data["data"]["reader_output"]["train"]):
        n = len(ids) - 2
        out.append(Example(np.asarray(ids, dtype="int64"), np.asarray(label_ids[1:-1], dtype="int64"), i,
                           Window(0, n, 0, n)))
    return out


def dev_evals(run) -> list:
    """PaddleHub's dev evaluations, one per training step (when the last step is a multiple of
    eval_interval, PaddleHub evaluates that step twice, in the loop and at the end; we once)."""
    out = {}
    for e in run.data["evals"]:
        if e["phase"] == "dev":
            out.setdefault(e["after_train_step"], e)
    return [out[k] for k in sorted(out)]


def test_batch_order_is_paddlehubs(run):
    passes = [p["batches"] for p in run.data["batch_order"]["passes"] if p["phase"] == "train"]
    assert len(passes) == run.data["config"]["RunConfig"]["num_epoch"]
    for epoch, batches in enumerate(passes):
        assert shuffled_batches(len(run.data["data"]["train"]), run.batch_size, seed=run.seed, epoch=epoch) == batches


@pytest.fixture(scope="module")
def replay(run, tmp_path_factory):
    from paddle_ner.trainer import Trainer

    class Replay(Trainer):
        """Keeps the best model in memory: the fixture's encoder is no PaddleNLP model that
        save_model could write (selection itself is the Trainer's own)."""

        def _save_best(self):
            self.best_weights = {k: v.numpy().copy() for k, v in self.tagger.state_dict().items()}

    tmp = tmp_path_factory.mktemp("replay")
    paddle.seed(0)
    tagger, mapper, labels, cfg = build(run, tmp)
    trainer = Replay(tagger, mapper, labels, cfg, tmp / "run", train_examples(run), corpus(run, "dev"), seed=run.seed)
    state = trainer.fit()
    return trainer, state


def test_every_steps_loss_matches_paddlehub(run, replay):
    _, state = replay
    ours = [h["loss"] for h in state.history if "loss" in h]
    theirs = [s["loss"] for s in run.data["steps"]]
    assert len(ours) == len(theirs) == run.data["config"]["steps_run"]
    rel = [abs(a - b) / abs(b) for a, b in zip(ours, theirs)]
    absolute = [abs(a - b) for a, b in zip(ours, theirs)]
    print(f"\n{run.name}: max relative loss difference {max(rel):.3g} at step {1 + int(np.argmax(rel))} "
          f"(loss {theirs[int(np.argmax(rel))]:.6g}); max absolute {max(absolute):.3g} at step "
          f"{1 + int(np.argmax(absolute))}, over {len(theirs)} steps")
    assert max(rel) <= REL_LOSS


def test_every_steps_learning_rate_matches_paddlehub(run, replay):
    trainer, _ = replay
    factor = trainer.scheduler.lr_lambda if hasattr(trainer.scheduler, "lr_lambda") else None
    ours = [trainer.cfg.train.lr * factor(k) for k in range(len(run.data["steps"]))] if factor else None
    assert ours is not None
    np.testing.assert_allclose(ours, [s["lr"] for s in run.data["steps"]], rtol=1e-6, atol=1e-9)


def test_dev_evaluations_and_model_selection_match_paddlehub(run, replay):
    _, state = replay
    ours = [h for h in state.history if "dev_f1" in h]
    theirs = dev_evals(run)
    assert [h["step"] for h in ours] == [e["after_train_step"] for e in theirs]
    worst = 0.0
    for mine, expected in zip(ours, theirs):
        print(f"\n{run.name} dev after step {mine['step']}: P/R/F1 ours "
              + "/".join(f"{mine[f'dev_{k}_batch_averaged']:.6f}" for k in ("precision", "recall", "f1"))
              + ", PaddleHub " + "/".join(f"{expected['scores'][k]:.6f}" for k in ("precision", "recall", "f1")), end="")
        for key in ("precision", "recall", "f1"):
            worst = max(worst, abs(mine[f"dev_{key}_batch_averaged"] - expected["scores"][key]))
            assert mine[f"dev_{key}_batch_averaged"] == pytest.approx(expected["scores"][key], abs=1e-6), (
                mine["step"], key)
    print(f"\n{run.name}: max dev metric difference {worst:.3g}")
    # which evaluations replaced the best model (strictly higher batch-averaged F1; a tie keeps the earlier)
    best, improved = -1.0, []
    for mine in ours:
        if mine["dev_f1_batch_averaged"] > best:
            best = mine["dev_f1_batch_averaged"]
            improved.append(mine["step"])
    assert improved == [e["after_train_step"] for e in theirs if e["became_best"]]
    assert state.best_step == run.data["best"]["after_train_step"]


def _max_abs(ours: dict, theirs: dict) -> dict:
    return {n: float(np.abs(ours[n] - theirs[n]).max()) for n in theirs}


# The final and best-model weights of the 306-step run once missed by 2.6e-5 in one embedding
# element: our log-space CRF's gradient was less precise in float32 than Paddle 1.8's
# linear_chain_crf (logsumexp's backward saw values of size |log Z|). CRF._log_partition now
# re-centres alpha at every step, and these tests hold with the tolerance unchanged.


def test_final_weights_match_paddlehub(run, replay):
    trainer, _ = replay
    ours = as_paddlehub({k: v.numpy() for k, v in trainer.tagger.state_dict().items()})
    final = params(run, "final_after_last_step")
    print(f"\n{run.name}: final weights max abs difference {_max_abs(ours, final)}")
    for name in final:
        np.testing.assert_allclose(ours[name], final[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_best_model_weights_match_paddlehub(run, replay):
    """The weights the Trainer kept as the best model: PaddleHub's best_model, reloaded for test."""
    trainer, _ = replay
    ours = as_paddlehub(trainer.best_weights)
    best = params(run, "best_model")
    print(f"\n{run.name}: best-model (step {run.data['best']['after_train_step']}) weights max abs difference "
          f"{_max_abs(ours, best)}")
    for name in best:
        np.testing.assert_allclose(ours[name], best[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_best_models_test_scores_match_paddlehub(run, replay, tmp_path):
    """PaddleHub's last evaluation: the test split with the best model reloaded."""
    from paddle_ner.scoring import evaluate

    trainer, _ = replay
    tagger, mapper, labels, cfg = build(run, tmp_path)
    tagger.set_state_dict({k: paddle.to_tensor(v) for k, v in trainer.best_weights.items()})
    result = evaluate(tagger, mapper, labels, corpus(run, "test"), cfg)["batch_averaged"]
    (expected,) = [e for e in run.data["evals"] if e["phase"] == "test"]
    print(f"\n{run.name}: test P/R/F1 ours " + "/".join(f"{result[k]:.6f}" for k in ("precision", "recall", "f1"))
          + ", PaddleHub " + "/".join(f"{expected['scores'][k]:.6f}" for k in ("precision", "recall", "f1")))
    for key in ("precision", "recall", "f1"):
        assert result[key] == pytest.approx(expected["scores"][key], abs=1e-6), key

# Python 3.8, run INSIDE the PaddleHub 1.5.4 side environment (see setup_env.sh).
"""Record tests/golden/metrics.json: the precision / recall / F1 that PaddleHub 1.5.4's
SequenceLabelTask(add_crf=True) reports on a dev set: fluid.layers.chunk_eval (IOB, 3 chunk types)
per batch, then SequenceLabelTask._calculate_metrics averages P, R and F1 over the batches, each
batch weighted by run_state.run_examples (the configured batch size with use_pyreader=True, 1 with
the data feeder), so a short last batch weighs as much as a full one.

Two independent routes, asserted equal:
  A. "direct": for each batch, a fluid program with chunk_eval exactly as SequenceLabelTask._add_metrics
     builds it, fed the predicted and gold label-id sequences (LoD); the fetched [P, R, F1, loss]
     go into base_task.RunState objects and through the real SequenceLabelTask._calculate_metrics.
  B. "end_to_end": a real SequenceLabelTask(add_crf=True).eval(phase="dev") over a local
     BaseNLPDataset read by SequenceLabelReader, with an "identity encoder": each character's
     embedding is 10 x one-hot(its predicted tag), the task's FC is set to the identity (bias 0)
     and crfw to 0 (eval_start_event hook), so crf_decoding returns exactly the intended
     predictions; run with use_pyreader True (the demo's setting) and False.

Usage: /tmp/ph15/bin/python tools/paddlehub_golden/gen_metrics.py
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SHIM = common.paddle18_clone_shim()

import numpy as np  # noqa: E402
import paddle.fluid as fluid  # noqa: E402
import paddlehub as hub  # noqa: E402
from paddlehub.finetune.task.base_task import RunState  # noqa: E402
from paddlehub.finetune.task import SequenceLabelTask  # noqa: E402
from paddlehub.reader.nlp_reader import SequenceLabelReader  # noqa: E402

SEED = 99
BATCH = 8
MAX_SEQ_LEN = 32
LABELS = common.LABELS
L2I = {l: i for i, l in enumerate(LABELS)}
K = len(LABELS)
# One character per predicted tag: the text of a dev sentence spells out its predictions.
TAG_CHARS = u"甲乙丙丁戊己庚"
VOCAB = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"] + list(TAG_CHARS)

EDGE = [  # (gold, predicted, what it pins)
    ("B-PER I-PER O", "I-PER I-PER O", "prediction starts with I-: chunk_eval (IOB) opens a chunk on I- after O/start"),
    ("O B-LOC I-LOC", "O B-LOC I-ORG", "type switch inside a chunk: I-ORG after B-LOC opens a new ORG chunk"),
    ("B-ORG B-ORG", "B-ORG I-ORG", "two adjacent chunks in gold, merged in prediction"),
    ("B-PER I-PER I-PER O B-LOC", "B-PER I-PER O O B-LOC", "boundary too short: not correct"),
    ("O O O O", "O I-LOC O O", "lone I- in prediction is a chunk"),
    ("I-PER I-PER O", "B-PER I-PER O", "gold itself starts with I-: same span, so correct"),
    ("B-PER O B-PER", "B-PER I-PER B-PER", "first chunk too long"),
    ("B-LOC I-LOC I-LOC I-LOC", "B-LOC I-LOC I-LOC I-LOC", "entity touching [SEP]"),
]


def random_gold(rng, n):
    tags = ["O"] * n
    i = 0
    while i < n:
        if rng.rand() < 0.25:
            kind = ["PER", "ORG", "LOC"][rng.randint(3)]
            span = rng.randint(1, 4)
            for j in range(i, min(n, i + span)):
                tags[j] = ("B-" if j == i else "I-") + kind
            i += span + 1
        else:
            i += 1
    return tags


def perturb(rng, gold):
    pred = list(gold)
    for i, t in enumerate(gold):
        r = rng.rand()
        if t != "O" and r < 0.15:
            pred[i] = "O"
        elif t != "O" and r < 0.25:
            pred[i] = t[:2] + ["PER", "ORG", "LOC"][rng.randint(3)]
        elif t == "O" and r < 0.05:
            pred[i] = ["B-", "I-"][rng.randint(2)] + ["PER", "ORG", "LOC"][rng.randint(3)]
    return pred


def build_sentences():
    rng = np.random.RandomState(SEED)
    sents = []
    for gold, pred, note in EDGE:
        sents.append({"gold": gold.split(), "pred": pred.split(), "note": note})
    while len(sents) < 16:
        g = random_gold(rng, rng.randint(5, 21))
        sents.append({"gold": g, "pred": perturb(rng, g), "note": "random"})
    while len(sents) < 24:  # batch 2: every prediction O -> no inferred chunk in the batch
        g = random_gold(rng, rng.randint(5, 21))
        sents.append({"gold": g, "pred": ["O"] * len(g), "note": "batch without predicted chunks"})
    while len(sents) < 32:  # batch 3: gold all O, a few spurious predictions
        n = rng.randint(5, 21)
        g = ["O"] * n
        p = list(g)
        if len(sents) % 2 == 0:
            p[rng.randint(n)] = "B-LOC"
        sents.append({"gold": g, "pred": p, "note": "batch without gold chunks"})
    while len(sents) < 37:  # short last batch of 5
        g = random_gold(rng, rng.randint(5, 21))
        sents.append({"gold": g, "pred": perturb(rng, g), "note": "random, short last batch"})
    # one sentence longer than MAX_SEQ_LEN-2 so that truncation shows up in the counts
    g = random_gold(rng, 40)
    g[29:33] = ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]
    sents[-1] = {"gold": g, "pred": perturb(rng, g), "note": "40 chars, cut to 30 (max_seq_len 32): the ORG at 29-32 is cut"}
    return sents


def chunk_eval_program():
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        pred = fluid.layers.data(name="pred", shape=[1], dtype="int64", lod_level=1)
        label = fluid.layers.data(name="label", shape=[1], dtype="int64", lod_level=1)
        outs = fluid.layers.chunk_eval(input=pred, label=label, chunk_scheme="IOB",
                                       num_chunk_types=int(np.ceil((K - 1) / 2.0)))
    return main, outs


def direct(batches, run_examples_of):
    main, outs = chunk_eval_program()
    exe = fluid.Executor(fluid.CPUPlace())
    per_batch, states = [], []
    for b in batches:
        lens = [len(s) for s in b["gold_ids"]]
        feed = {"pred": fluid.create_lod_tensor(np.array([i for s in b["pred_ids"] for i in s], "int64").reshape(-1, 1), [lens], fluid.CPUPlace()),
                "label": fluid.create_lod_tensor(np.array([i for s in b["gold_ids"] for i in s], "int64").reshape(-1, 1), [lens], fluid.CPUPlace())}
        p, r, f, ni, nl, nc = [np.array(x) for x in exe.run(main, feed=feed, fetch_list=list(outs))]
        per_batch.append({"precision": common.f32(p[0]), "recall": common.f32(r[0]), "f1": common.f32(f[0]),
                          "num_infer_chunks": int(ni[0]), "num_label_chunks": int(nl[0]), "num_correct_chunks": int(nc[0])})
        st = RunState(4)
        st.run_step = 1
        st.run_results = [p, r, f, np.array([0.0], "float32")]  # loss slot unused for P/R/F1
        st.run_examples = run_examples_of(len(lens))
        states.append(st)

    class Fake(object):  # the attributes _calculate_metrics reads when add_crf=True
        add_crf = True
        metrics_choices = ["f1", "precision", "recall"]

    scores, _, _ = SequenceLabelTask._calculate_metrics(Fake(), states)
    return per_batch, {k: float(v) for k, v in scores.items()}


def end_to_end(sents, use_pyreader):
    work = tempfile.mkdtemp(prefix="ph15-metrics-")
    rows = [([TAG_CHARS[L2I[t]] for t in s["pred"]], s["gold"]) for s in sents]
    common.write_tsv(os.path.join(work, "train.tsv"), rows[:1])
    common.write_tsv(os.path.join(work, "dev.tsv"), rows)
    common.write_vocab(os.path.join(work, "vocab.txt"), VOCAB)
    dataset = common.LocalNER(work)
    reader = SequenceLabelReader(vocab_path=os.path.join(work, "vocab.txt"), dataset=dataset,
                                 max_seq_len=MAX_SEQ_LEN, random_seed=SEED)
    table = np.zeros((len(VOCAB), K), "float32")
    for i, tok in enumerate(VOCAB):
        table[i, L2I[LABELS[TAG_CHARS.index(tok)]] if tok in TAG_CHARS else L2I["O"]] = 10.0
    main, startup = fluid.Program(), fluid.Program()
    main.random_seed = startup.random_seed = SEED
    with fluid.program_guard(main, startup):
        input_ids = fluid.layers.data(name="input_ids", shape=[MAX_SEQ_LEN, 1], dtype="int64")
        position_ids = fluid.layers.data(name="position_ids", shape=[MAX_SEQ_LEN, 1], dtype="int64")
        segment_ids = fluid.layers.data(name="segment_ids", shape=[MAX_SEQ_LEN, 1], dtype="int64")
        input_mask = fluid.layers.data(name="input_mask", shape=[MAX_SEQ_LEN, 1], dtype="float32")
        feature = fluid.layers.embedding(
            input=input_ids, size=[len(VOCAB), K],
            param_attr=fluid.ParamAttr(name="identity_embedding",
                                       initializer=fluid.initializer.NumpyArrayInitializer(table)))
        feature = common.zero_side_inputs(feature, position_ids, segment_ids, input_mask, MAX_SEQ_LEN)
    ckpt = os.path.join(work, "ckpt")
    config = hub.RunConfig(use_cuda=False, use_pyreader=use_pyreader, use_data_parallel=True,
                           num_epoch=1, batch_size=BATCH, checkpoint_dir=ckpt,
                           enable_memory_optim=False, strategy=hub.AdamWeightDecayStrategy())
    task = SequenceLabelTask(feature=feature, max_seq_len=MAX_SEQ_LEN, num_classes=K,
                             feed_list=[input_ids.name, position_ids.name, segment_ids.name, input_mask.name],
                             data_reader=reader, startup_program=startup, config=config, add_crf=True)
    captured = {}

    def set_identity_head(t):
        scope = fluid.global_scope()
        names = [p.name for p in t.main_program.global_block().all_parameters()]
        fc_w = [n for n in names if n.startswith("fc_") and n.endswith(".w_0")]
        fc_b = [n for n in names if n.startswith("fc_") and n.endswith(".b_0")]
        assert len(fc_w) == 1 and len(fc_b) == 1 and "crfw" in names, names
        scope.find_var(fc_w[0]).get_tensor().set(np.eye(K, dtype="float32"), t.place)
        scope.find_var(fc_b[0]).get_tensor().set(np.zeros(K, "float32"), t.place)
        scope.find_var("crfw").get_tensor().set(np.zeros((K + 2, K), "float32"), t.place)
        captured["params"] = names

    def capture(t, run_states):
        captured["run_states"] = [
            {"precision": common.f32(np.mean(s.run_results[0])), "recall": common.f32(np.mean(s.run_results[1])),
             "f1": common.f32(np.mean(s.run_results[2])), "loss": common.f32(np.mean(s.run_results[3])),
             "run_examples": int(s.run_examples)} for s in run_states]
        scores, avg_loss, _ = t._calculate_metrics(run_states)
        captured["scores"] = {k: float(v) for k, v in scores.items()}
        captured["avg_loss"] = float(avg_loss)

    task.add_hook("eval_start_event", name="identity_head", func=set_identity_head)
    task.add_hook("eval_end_event", name="capture", func=capture)
    task.eval(phase="dev")
    shutil.rmtree(work, ignore_errors=True)
    return captured


def main():
    sents = build_sentences()
    # What chunk_eval sees per sentence: [CLS] + first MAX_SEQ_LEN-2 tags + [SEP], O at both ends
    # (nlp_reader.py truncation and no_entity_id); predictions at [CLS]/[SEP] are O here.
    cut = MAX_SEQ_LEN - 2
    batches = []
    for start in range(0, len(sents), BATCH):
        chunk = sents[start:start + BATCH]
        batches.append({
            "sentence_indices": list(range(start, start + len(chunk))),
            "gold_ids": [[L2I["O"]] + [L2I[t] for t in s["gold"][:cut]] + [L2I["O"]] for s in chunk],
            "pred_ids": [[L2I["O"]] + [L2I[t] for t in s["pred"][:cut]] + [L2I["O"]] for s in chunk],
        })
    per_batch_py, scores_py = direct(batches, lambda n: BATCH)  # use_pyreader=True: batch_size*device_count
    per_batch_df, scores_df = direct(batches, lambda n: 1)  # data feeder: len(batch) == 1
    assert per_batch_py == per_batch_df
    e2e = {flag: end_to_end(sents, flag) for flag in (True, False)}
    for flag, cap in e2e.items():
        got = [(b["precision"], b["recall"], b["f1"]) for b in cap["run_states"]]
        want = [(b["precision"], b["recall"], b["f1"]) for b in per_batch_py]
        assert got == want, (flag, got, want)
        assert cap["scores"] == (scores_py if flag else scores_df), (flag, cap["scores"], scores_py)
    assert scores_py == scores_df

    # Other aggregations, for comparison only (NOT what PaddleHub 1.5.4 computes):
    ni = sum(b["num_infer_chunks"] for b in per_batch_py)
    nl = sum(b["num_label_chunks"] for b in per_batch_py)
    nc = sum(b["num_correct_chunks"] for b in per_batch_py)
    p = nc / ni if ni else 0.0
    r = nc / nl if nl else 0.0
    micro = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if nc else 0.0,
             "num_infer_chunks": ni, "num_label_chunks": nl, "num_correct_chunks": nc}
    sizes = [len(b["gold_ids"]) for b in batches]
    weighted = {k: float(np.sum([b[k] * n for b, n in zip(per_batch_py, sizes)]) / np.sum(sizes))
                for k in ("precision", "recall", "f1")}

    out = {"fixture": "metrics", "description": __doc__.strip().split("\n\n")[0]}
    out["provenance"] = common.provenance(__file__, {
        "chunk_eval_per_batch": common.cite("finetune/task/sequence_task.py", "num_correct_chunks) = fluid.layers.chunk_eval("),
        "num_chunk_types": common.cite("finetune/task/sequence_task.py", "num_chunk_types=int(np.ceil((self.num_classes - 1) / 2.0)))"),
        "average_over_batches": common.cite("finetune/task/sequence_task.py", "precision_sum += np.mean("),
        "divide_by_run_examples": common.cite("finetune/task/sequence_task.py", "precision = precision_sum / run_examples"),
        "run_examples_pyreader": common.cite("finetune/task/base_task.py", "num_batch_examples = self.config.batch_size * self.device_count"),
        "run_examples_datafeeder": common.cite("finetune/task/base_task.py", "num_batch_examples = len(batch)"),
        "reader_yields_one_item_per_batch": common.cite("reader/nlp_reader.py", "yield [batch_data]"),
        "first_metric_selects_best_model": common.cite("finetune/task/base_task.py", "# The first metric will be chose to eval"),
        "fluid_chunk_eval": common.cite("layers/nn.py", "def chunk_eval(input,", package="paddle/fluid"),
    }, extra={"compat_shim_for_end_to_end": SHIM})
    out["settings"] = {"label_list": LABELS, "chunk_scheme": "IOB", "num_chunk_types": 3,
                       "label_id_rule": "id = 2*type + (0 for B-, 1 for I-), O = 6; types: 0 PER, 1 ORG, 2 LOC",
                       "batch_size": BATCH, "max_seq_len": MAX_SEQ_LEN,
                       "metrics_choices": ["f1", "precision", "recall"]}
    out["sentences"] = [{"gold": s["gold"], "pred": s["pred"], "note": s["note"]} for s in sents]
    out["batches"] = [dict(b, chunk_eval=pb) for b, pb in zip(batches, per_batch_py)]
    out["paddlehub_scores"] = scores_py
    out["paddlehub_scores_rule"] = ("P = sum_b P_b * w_b / sum_b w_b (same for R and F1), w_b = run_examples = "
                                    "batch_size with use_pyreader=True, 1 with the data feeder: equal weights either "
                                    "way; F1 is the mean of per-batch F1s, not 2PR/(P+R)")
    out["chunk_eval_rules"] = ("per batch, over every position of the unpadded sequences incl. [CLS]/[SEP]: "
                               "P = correct/infer (0 if infer == 0), R = correct/label (0 if label == 0), "
                               "F1 = 2PR/(P+R) (0 if correct == 0); float32")
    out["end_to_end"] = {
        "use_pyreader_True": {"run_states": e2e[True]["run_states"], "scores": e2e[True]["scores"],
                              "avg_loss": e2e[True]["avg_loss"]},
        "use_pyreader_False": {"run_states": e2e[False]["run_states"], "scores": e2e[False]["scores"],
                               "avg_loss": e2e[False]["avg_loss"]},
        "task_parameters": e2e[True]["params"],
        "note": "avg_loss = sum of per-batch mean CRF losses / sum of run_examples (base of the logged eval loss)",
    }
    out["for_comparison_not_paddlehub_1_5"] = {
        "corpus_micro": micro,
        "weighted_by_real_batch_size (PaddleHub 1.8.0 style)": weighted,
        "harmonic_mean_of_paddlehub_P_R": (2 * scores_py["precision"] * scores_py["recall"] /
                                           (scores_py["precision"] + scores_py["recall"])),
    }
    common.write_json("metrics.json", out)


if __name__ == "__main__":
    main()

# Python 3.8, run INSIDE the PaddleHub 1.5.4 side environment (see setup_env.sh).
"""Record tests/golden/train_run.json: a complete, small, deterministic PaddleHub 1.5.4 fine-tuning
run of SequenceLabelTask(add_crf=True) + AdamWeightDecayStrategy, driven by the real
task.finetune_and_eval() loop, the real SequenceLabelReader over a local BaseNLPDataset, and the
demo's RunConfig (use_pyreader and use_data_parallel left at their defaults, True, as the v1.5.4
sequence_labeling demo ran), so that a Paddle 2.6/3.x re-implementation can replay it step by step.

The encoder is a word embedding (the data's characters + 5 specials, x 16, no dropout); the
reader's position/segment ids and input mask are used through constant-zero, non-trainable
embeddings and a mask product, which changes no number (common.zero_side_inputs). PaddleHub then
adds its FC (7) and crfw [9, 7].

Recorded through PaddleHub's own event hooks (finetune_start, run_step, log_interval, eval_end,
finetune_end), which run inside its loop without changing it:
  * every parameter at the start (as PaddleHub's startup program made them, program seed fixed),
    after the last training step, and of the best model that PaddleHub reloads for the test set;
  * the example indices of every fed batch, in order (reader shuffles with np.random, seeded);
  * per training step: loss (batch mean of CRF NLL), learning rate fetched from the program,
    chunk_eval P/R/F1 of the batch, and the loss PaddleHub logs;
  * every evaluation (eval_interval 4, the final dev eval, the test eval of the best model):
    per-batch P/R/F1, PaddleHub's batch-averaged P/R/F1, and whether it became the best model.

Two profiles (PROFILES below), the same code path:
  * default: tests/golden/train_run.json, 70 train sentences, 3 epochs, 15 steps, lr 5e-2,
    eval_interval 4, with the parameters after every step;
  * --long: tests/golden/train_run_long.json, 810 train sentences (three longer than 126
    characters), 100 dev (one longer than 126), 40 test, all shorter on average than the short
    run's (to stay under 400 KB), 6 epochs of 51 batches (the last of 10) = 306 steps, lr 5e-3,
    eval_interval 50. To stay small it records per step only the loss, lr and
    example indices (not the parameters, batch chunk_eval or logged loss); parameters at the start,
    at the end and of the best model.

Usage: /tmp/ph15/bin/python tools/paddlehub_golden/gen_train_run.py [--long]
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SHIM = common.paddle18_clone_shim()

import numpy as np  # noqa: E402
import paddle.fluid as fluid  # noqa: E402
import paddlehub as hub  # noqa: E402
from paddlehub.finetune.task import SequenceLabelTask  # noqa: E402
from paddlehub.reader.nlp_reader import SequenceLabelReader  # noqa: E402

SEED = 2020
MAX_SEQ_LEN = 128
DIM = 16
BATCH = 16
WARMUP = 0.1
WD = 0.01

PROFILES = {
    "short": {
        "out": "train_run.json", "fixture": "train_run", "work": "/tmp/ph15-train-run", "max_bytes": 200 * 1024,
        "n_train": 70, "n_dev": 20, "n_test": 20, "epochs": 3, "eval_interval": 4,
        "lr": 5e-2,  # 5e-3 left dev F1 at 0 through all 15 steps (no model selection to test)
        # index in the split -> length of a sentence with an ORG straddling the 126-character cut
        "long_sentences": {"train": {37: 140}, "dev": {}},
        "sentence_lengths": (8, 31),  # numpy randint(low, high): the target length, reached or just passed
        "per_step_params": True,
    },
    "long": {
        "out": "train_run_long.json", "fixture": "train_run_long", "work": "/tmp/ph15-train-run-long",
        "max_bytes": 400 * 1024,
        "n_train": 810, "n_dev": 100, "n_test": 40, "epochs": 6, "eval_interval": 50,
        # 5e-3 (the suggestion): dev F1 (batch-averaged) 0.185 -> 0.879 -> 0.975 -> 0.984 after
        # steps 50, 100, 150, 200 (each becomes the best model), then exact ties at 250, 300 and 306
        # (the strict > keeps step 200, whose weights differ from the final ones).
        "lr": 5e-3,
        "long_sentences": {"train": {100: 128, 333: 140, 555: 200}, "dev": {42: 150}},
        "sentence_lengths": (6, 21),  # shorter than the short run's, to keep the file under 400 KB
        "per_step_params": False,
    },
}

SURNAMES = u"王李张刘陈杨"
GIVEN = u"伟芳明华强丽"
LOCS = [u"北京", u"上海", u"广州", u"深圳", u"南京", u"长江", u"黄河", u"西安"]
ORGS = [u"新华社", u"人民银行", u"北京大学", u"外交部", u"联合国", u"人民日报"]
FILLER = [u"在", u"的", u"了", u"和", u"说", u"今天", u"访问", u"出席", u"会议", u"经济", u"发展",
          u"工作", u"参观", u"报道", u"记者", u"国家", u"主席", u"昨天", u"举行", u"。", u"，"]
OOV = u"龘靐"  # characters kept out of the vocabulary: they become [UNK]


def make_sentence(rng, long_len=None, lengths=(8, 31)):
    chars, tags = [], []

    def add(text, kind=None):
        for i, c in enumerate(text):
            chars.append(c)
            tags.append("O" if kind is None else ("B-" if i == 0 else "I-") + kind)

    target = long_len or rng.randint(*lengths)
    while len(chars) < target:
        r = rng.rand()
        if r < 0.12:
            add(SURNAMES[rng.randint(len(SURNAMES))] + u"".join(GIVEN[rng.randint(len(GIVEN))] for _ in range(rng.randint(1, 3))), "PER")
        elif r < 0.22:
            add(LOCS[rng.randint(len(LOCS))], "LOC")
        elif r < 0.30:
            add(ORGS[rng.randint(len(ORGS))], "ORG")
        elif r < 0.31:
            add(OOV[rng.randint(len(OOV))] + SURNAMES[rng.randint(len(SURNAMES))], "PER")
        else:
            add(FILLER[rng.randint(len(FILLER))])
    if long_len:  # an ORG straddling the 126-character cut
        del chars[long_len:], tags[long_len:]
        chars[124:128] = list(u"人民银行")
        tags[124:128] = ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]
    return chars, tags


def make_split(rng, n, long_at, lengths):
    """n sentences; the ones in long_at (index -> length) are made after the others and inserted."""
    rows = [make_sentence(rng, lengths=lengths) for _ in range(n - len(long_at))]
    for index in sorted(long_at):
        rows.insert(index, make_sentence(rng, long_len=long_at[index]))
    return rows


def make_data(prof):
    rng = np.random.RandomState(SEED)
    lengths = prof["sentence_lengths"]
    train = make_split(rng, prof["n_train"], prof["long_sentences"]["train"], lengths)
    dev = make_split(rng, prof["n_dev"], prof["long_sentences"]["dev"], lengths)
    test = make_split(rng, prof["n_test"], {}, lengths)
    chars = sorted(set(c for part in (train, dev, test) for s, _ in part for c in s) - set(OOV))
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"] + chars
    return train, dev, test, vocab


def param_values(names):
    scope = fluid.global_scope()
    return {n: np.array(scope.find_var(n).get_tensor()).copy() for n in names}


def _scalar(x):
    return not isinstance(x, (dict, list, tuple))


def dumps_rows(obj, indent=0):
    """common.dumps, except that a dict whose values are all scalars or lists of scalars (a step, a
    sentence, a batch's scores) goes on one line. Same JSON, fewer bytes: used for --long only."""
    if isinstance(obj, dict) and obj and all(_scalar(v) or (isinstance(v, (list, tuple)) and all(map(_scalar, v)))
                                             for v in obj.values()):
        return json.dumps(obj, ensure_ascii=False, allow_nan=False)
    pad, pad1 = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict) and obj:
        items = [pad1 + json.dumps(str(k), ensure_ascii=False) + ": " + dumps_rows(v, indent + 1)
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)) and not all(map(_scalar, obj)):
        return "[\n" + ",\n".join(pad1 + dumps_rows(x, indent + 1) for x in obj) + "\n" + pad + "]"
    return common.dumps(obj, indent)


def write_json(name, obj, max_bytes, one_line_rows=False):
    """common.write_json (the same bytes unless one_line_rows) with a per-profile size limit."""
    path = os.path.join(common.GOLDEN, name)
    text = (dumps_rows(obj) if one_line_rows else common.dumps(obj)) + "\n"
    assert json.loads(text) == json.loads(json.dumps(obj, ensure_ascii=False)), "compact writer changed data"
    os.makedirs(common.GOLDEN, exist_ok=True)
    with io.open(path, "w", encoding="utf-8") as f:
        f.write(text)
    size = os.path.getsize(path)
    print("wrote %s (%d bytes)" % (os.path.relpath(path, common.REPO), size))
    assert size < max_bytes, "fixture too large"
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="record tests/golden/train_run_long.json")
    args = parser.parse_args()
    prof = PROFILES["long" if args.long else "short"]
    N_TRAIN, N_DEV, N_TEST = prof["n_train"], prof["n_dev"], prof["n_test"]
    EPOCHS, LR, EVAL_INTERVAL, WORK = prof["epochs"], prof["lr"], prof["eval_interval"], prof["work"]

    train, dev, test, vocab = make_data(prof)
    shutil.rmtree(WORK, ignore_errors=True)  # a leftover checkpoint would make PaddleHub RESUME from it
    os.makedirs(WORK)
    for name, rows in (("train.tsv", train), ("dev.tsv", dev), ("test.tsv", test)):
        common.write_tsv(os.path.join(WORK, name), rows)
    common.write_vocab(os.path.join(WORK, "vocab.txt"), vocab)
    dataset = common.LocalNER(WORK, test="test.tsv")
    reader = SequenceLabelReader(vocab_path=os.path.join(WORK, "vocab.txt"), dataset=dataset,
                                 max_seq_len=MAX_SEQ_LEN, random_seed=SEED)

    # ---- record every example the reader turns into a record, per data_generator pass ----
    # With use_pyreader the reader runs in a producer thread that converts ahead of the training
    # loop, so a train example may be converted after a dev/test pass has started. Each example is
    # therefore filed under its own phase's pass count (phase passes never overlap), and
    # pass_starts maps those to the global order in which the passes began. (A single global
    # counter read in convert() misfiled such examples in about 1 run in 6.)
    fed = []  # (phase, pass number within that phase, guid)
    passes = {"n": 0}  # passes started so far, all phases
    phase_passes = {}  # phase -> passes of that phase started so far
    pass_starts = []  # (global pass number, phase, pass number within the phase)
    orig_convert = reader._convert_example_to_record
    orig_generator = reader.data_generator

    records = {}  # (phase, guid) -> (token_ids, label_ids) as the reader produced them

    def convert(example, max_seq_length, tokenizer, phase=None):
        fed.append((phase, phase_passes[phase], example.guid))
        record = orig_convert(example, max_seq_length, tokenizer, phase)
        records.setdefault((phase, example.guid), (list(record.token_ids), list(record.label_id)))
        return record

    def data_generator(batch_size=1, phase="train", shuffle=True, data=None):
        inner = orig_generator(batch_size=batch_size, phase=phase, shuffle=shuffle, data=data)

        def wrapper():
            passes["n"] += 1
            phase_passes[phase] = phase_passes.get(phase, 0) + 1
            pass_starts.append((passes["n"], phase, phase_passes[phase]))
            for item in inner():
                yield item
        return wrapper

    reader._convert_example_to_record = convert
    reader.data_generator = data_generator

    main_prog, startup = fluid.Program(), fluid.Program()
    main_prog.random_seed = startup.random_seed = SEED
    with fluid.program_guard(main_prog, startup):
        input_ids = fluid.layers.data(name="input_ids", shape=[MAX_SEQ_LEN, 1], dtype="int64")
        position_ids = fluid.layers.data(name="position_ids", shape=[MAX_SEQ_LEN, 1], dtype="int64")
        segment_ids = fluid.layers.data(name="segment_ids", shape=[MAX_SEQ_LEN, 1], dtype="int64")
        input_mask = fluid.layers.data(name="input_mask", shape=[MAX_SEQ_LEN, 1], dtype="float32")
        emb = fluid.layers.embedding(input=input_ids, size=[len(vocab), DIM],
                                     param_attr=fluid.ParamAttr(name="word_embedding"))
        feature = common.zero_side_inputs(emb, position_ids, segment_ids, input_mask, MAX_SEQ_LEN)

    strategy = hub.AdamWeightDecayStrategy(learning_rate=LR, warmup_proportion=WARMUP, weight_decay=WD)
    config = hub.RunConfig(use_cuda=False, num_epoch=EPOCHS, batch_size=BATCH,
                           checkpoint_dir=os.path.join(WORK, "ckpt"), enable_memory_optim=False,
                           log_interval=1, eval_interval=EVAL_INTERVAL, strategy=strategy)
    task = SequenceLabelTask(feature=feature, max_seq_len=MAX_SEQ_LEN, num_classes=len(common.LABELS),
                             feed_list=[input_ids.name, position_ids.name, segment_ids.name, input_mask.name],
                             data_reader=reader, startup_program=startup, config=config, add_crf=True)
    # clone_program does not copy random_seed; the FC and crfw initializers are created in the
    # task's cloned startup program, so seed that one too (PaddleHub's demo ran unseeded).
    task._base_startup_program.random_seed = SEED

    rec = {"steps": [], "logged": [], "evals": [], "params_after_step": {}}

    def trainable_names(t):
        return sorted(p.name for p in t.main_program.global_block().all_parameters() if p.trainable)

    def on_start(t):
        names = trainable_names(t)
        rec["names"] = names
        rec["initial"] = param_values(names)
        rec["lr_var"] = t.scheduled_lr.name
        rec["max_train_steps"] = int(t.max_train_steps)
        rec["param_info"] = [{"name": p.name, "shape": list(p.shape),
                              "regularizer": str(p.regularizer) if p.regularizer else None,
                              "l2_coeff": getattr(p.regularizer, "_regularization_coeff", None),
                              "decoupled_weight_decay": not strategy.exclude_from_weight_decay(p.name),
                              "learning_rate_multiplier": p.optimize_attr.get("learning_rate", 1.0)}
                             for p in t.main_program.global_block().all_parameters() if p.trainable]
        rec["init_ops"] = [[op.type, op.output_arg_names[0],
                            {k: op.attr(k) for k in ("min", "max", "mean", "std", "seed", "value") if op.has_attr(k)}]
                           for op in t._base_startup_program.global_block().ops
                           if op.output_arg_names and op.output_arg_names[0] in names]

    def on_step(t, run_state):
        if not t.is_train_phase:  # run_step_event also fires for every dev/test batch
            return
        scope = fluid.global_scope()
        step = int(t.current_step)
        res = run_state.run_results
        rec["steps"].append({
            "step": step,
            "epoch": int(t.current_epoch),
            "lr": common.f32(np.array(scope.find_var(rec["lr_var"]).get_tensor()).reshape(-1)[0]),
            "lr_decay_counter": int(np.array(scope.find_var("@LR_DECAY_COUNTER@").get_tensor()).reshape(-1)[0]),
            "loss": common.f32(np.mean(res[3])),
            "batch_chunk_eval": [common.f32(np.mean(res[0])), common.f32(np.mean(res[1])), common.f32(np.mean(res[2]))],
            "run_examples": int(run_state.run_examples),
        })
        rec["params_after_step"][step] = param_values(rec["names"])

    def on_log(t, run_states):
        scores, avg_loss, _ = t._calculate_metrics(run_states)
        rec["logged"].append({"step": int(t.current_step), "logged_loss": float(avg_loss),
                              "logged_scores": {k: float(v) for k, v in scores.items()}})

    def on_eval_end(t, run_states):
        scores, avg_loss, _ = t._calculate_metrics(run_states)
        phase = t.phase
        rec["evals"].append({
            "phase": phase,
            "after_train_step": int(t._envs["train"].current_step),
            "data_pass": passes["n"],
            "per_batch": [{"precision": common.f32(np.mean(s.run_results[0])), "recall": common.f32(np.mean(s.run_results[1])),
                           "f1": common.f32(np.mean(s.run_results[2])), "loss": common.f32(np.mean(s.run_results[3])),
                           "run_examples": int(s.run_examples)} for s in run_states],
            "scores": {k: float(v) for k, v in scores.items()},
            "avg_loss": float(avg_loss),
            "best_score_after": float(t.best_score),
        })

    def on_end(t, run_states):
        rec["params_at_finetune_end"] = param_values(rec["names"])

    task.add_hook("finetune_start_event", name="rec_start", func=on_start)
    task.add_hook("run_step_event", name="rec_step", func=on_step)
    task.add_hook("log_interval_event", name="rec_log", func=on_log)
    task.add_hook("eval_end_event", name="rec_eval", func=on_eval_end)
    task.add_hook("finetune_end_event", name="rec_end", func=on_end)

    task.finetune_and_eval()

    # ---- assemble -----------------------------------------------------------------------------
    names = rec["names"]
    last_step = max(rec["params_after_step"])
    final = rec["params_after_step"][last_step]
    # which training step's parameters the best model holds
    best_model = rec["params_at_finetune_end"]
    best_from_step = [s for s, p in sorted(rec["params_after_step"].items())
                      if all(np.array_equal(p[n], best_model[n]) for n in names)]
    prev = -999.0
    for e in rec["evals"]:
        e["became_best"] = e["phase"] == "dev" and e["best_score_after"] > prev
        if e["phase"] == "dev":
            prev = e["best_score_after"]
    best_eval = [e for e in rec["evals"] if e["became_best"]][-1]

    # dataset.train_examples is shuffled IN PLACE by the reader; map guids through the file order
    file_index = {ph: {g: g - 1 for g in range(1, 1 + n)} for ph, n in (("train", N_TRAIN), ("dev", N_DEV), ("test", N_TEST))}
    passes_out = []
    for pass_no, phase, k in pass_starts:
        items = [(ph, g) for ph, kk, g in fed if ph == phase and kk == k]
        if not items:
            continue
        idx = [file_index["dev" if phase == "dev" else phase][g] for _, g in items]
        passes_out.append({"pass": pass_no, "phase": phase,
                           "batches": [idx[i:i + BATCH] for i in range(0, len(idx), BATCH)]})
    train_batches = [b for p in passes_out if p["phase"] == "train" for b in p["batches"]]
    assert len(train_batches) == len(rec["steps"]), (len(train_batches), len(rec["steps"]))
    for st, b in zip(rec["steps"], train_batches):
        st["example_indices"] = b

    # Can the order be replayed with numpy alone? (np.random.seed(SEED) in BaseReader.__init__, then
    # np.random.shuffle of the SAME list object at the start of every training pass.)
    np.random.seed(SEED)
    order = list(range(N_TRAIN))
    replay = []
    for _ in range(EPOCHS):
        np.random.shuffle(order)
        replay.append(list(order))
    recorded = [[i for b in p["batches"] for i in b] for p in passes_out if p["phase"] == "train"]

    batches_per_epoch = -(-N_TRAIN // BATCH)
    long_train = prof["long_sentences"]["train"]
    if args.long:
        description = (
            "Record tests/golden/train_run_long.json: a longer (%d-step) deterministic PaddleHub 1.5.4 fine-tuning run "
            "of SequenceLabelTask(add_crf=True) + AdamWeightDecayStrategy, recorded by the same code as train_run.json "
            "(tools/paddlehub_golden/gen_train_run.py --long): the real task.finetune_and_eval() loop, the real "
            "SequenceLabelReader over a local BaseNLPDataset and the demo's RunConfig, so that a Paddle 2.6/3.x "
            "re-implementation can replay it step by step. To stay small it keeps per step only the loss, lr and "
            "example indices; parameters at the start, at the end and of the best model." % len(rec["steps"]))
    else:
        description = __doc__.strip().split("\n\n")[0]
    out = {"fixture": prof["fixture"], "description": description}
    out["provenance"] = common.provenance(__file__, {
        "task": "paddlehub.finetune.task.SequenceLabelTask(add_crf=True) (" + common.cite("finetune/task/sequence_task.py", "class SequenceLabelTask") + ")",
        "head_fc": common.cite("finetune/task/sequence_task.py", "self.emission = fluid.layers.fc("),
        "crfw": common.cite("finetune/task/sequence_task.py", "fluid.layers.create_parameter("),
        "loop": common.cite("finetune/task/base_task.py", "def finetune(self, do_eval=False):"),
        "epochs_loop": common.cite("finetune/task/base_task.py", "while self.current_epoch <= self.config.num_epoch:"),
        "epoch_starts_at_1": common.cite("finetune/checkpoint.py", "current_epoch = 1"),
        "eval_interval": common.cite("finetune/task/base_task.py", "if do_eval and self.current_step % self.config.eval_interval == 0:", nth=2),
        "best_model_rule": common.cite("finetune/task/base_task.py", 'if self.phase in ["dev", "val"] and main_value > self.best_score:'),
        "final_dev_eval_and_test_with_best": common.cite("finetune/task/base_task.py", 'self.eval(phase="test", load_best_model=True)'),
        "shuffle": common.cite("reader/nlp_reader.py", "np.random.shuffle(examples)"),
        "reader_seed": common.cite("reader/base_reader.py", "np.random.seed(random_seed)"),
        "strategy": common.cite("finetune/strategy.py", "class AdamWeightDecayStrategy"),
        "max_train_steps": common.cite("finetune/strategy.py", "max_train_steps = config.num_epoch * num_train_examples"),
        "logged_loss": common.cite("finetune/task/sequence_task.py", "avg_loss = loss_sum / run_examples"),
    }, extra={"compat_shim": SHIM,
              "seeding": "reader random_seed=%d (np.random.seed), program random_seed=%d on the user's main/startup "
                         "programs and on task._base_startup_program (PaddleHub's clone_program drops random_seed)" % (SEED, SEED)})
    out["config"] = {
        "RunConfig": {"use_cuda": False, "num_epoch": EPOCHS, "batch_size": BATCH, "log_interval": 1,
                      "eval_interval": EVAL_INTERVAL, "enable_memory_optim": False,
                      "use_pyreader": config.use_pyreader, "use_data_parallel": config.use_data_parallel,
                      "CPU_NUM": os.environ["CPU_NUM"], "checkpoint_dir": "fresh directory under /tmp"},
        "AdamWeightDecayStrategy": {"learning_rate": LR, "warmup_proportion": WARMUP, "weight_decay": WD,
                                    "lr_scheduler": "linear_decay", "clip": "GlobalNorm 1.0", "optimizer": "adam"},
        "max_seq_len": MAX_SEQ_LEN,
        "max_train_steps": rec["max_train_steps"],
        "max_train_steps_rule": "num_epoch * num_train_examples // batch_size // dev_count = %d * %d // %d // 1"
                                % (EPOCHS, N_TRAIN, BATCH),
        "warmup_steps": int(rec["max_train_steps"] * WARMUP),
        "steps_run": len(rec["steps"]),
        "note": "PaddleHub runs ceil(%d/%d) = %d batches per epoch (last one of %d), %d steps, but schedules the lr "
                "over max_train_steps = %d: steps >= %d have lr 0 (polynomial_decay clamps the step)."
                % (N_TRAIN, BATCH, batches_per_epoch, N_TRAIN - (batches_per_epoch - 1) * BATCH, len(rec["steps"]),
                   rec["max_train_steps"], rec["max_train_steps"]),
    }
    if args.long:
        out["config"]["note"] += (" Here 'steps' counts from 0 (lr_decay_counter, not recorded per step in this file): "
                                  "the 1-based steps[k].step = k + 1 has lr(k), so steps %d..%d have lr 0, and so "
                                  "does step 1." % (rec["max_train_steps"] + 1, len(rec["steps"])))
        out["config"]["seed"] = SEED
        out["config"]["seed_note"] = ("np.random.seed(seed) in BaseReader.__init__ (the train shuffle), program "
                                      "random_seed = seed (the initialisers), numpy RandomState(seed) for the data")
    out["model"] = {
        "encoder": "feature[b, t] = word_embedding[input_ids[b, t]] (the zero position/segment tables and the "
                   "input_mask product change nothing at real tokens; padding is removed by sequence_unpad)",
        "head": "emission = feature_unpadded @ fc_0.w_0 + fc_0.b_0 ([sum seq_len, 7]); linear_chain_crf with crfw; "
                "loss = mean over the batch of per-sequence NLL; prediction = crf_decoding (see crf.json for layout)",
        "params": rec["param_info"],
        "init_ops": rec["init_ops"],
        "dropout": "none",
    }
    if args.long:
        data_note = ("indices below are 0-based positions in these lists (= file order; PaddleHub's guid is index + 1 "
                     "because of the header line). Longer than 126 characters (truncated by the reader, an ORG "
                     "straddling the cut): " + "; ".join(
                         "%s sentence %d (%d characters)" % (split, i, n)
                         for split in ("train", "dev") for i, n in sorted(prof["long_sentences"][split].items())) + ".")
    else:
        data_note = ("indices below are 0-based positions in these lists (= file order; PaddleHub's guid is index + 1 "
                     "because of the header line). The train sentence at index %d has %d characters."
                     % next(iter(long_train.items())))
    out["data"] = {
        "label_list": common.LABELS,
        "vocab": vocab,
        "oov_chars": OOV,
        "train": [{"text": u"".join(c), "tags": " ".join(t)} for c, t in train],
        "dev": [{"text": u"".join(c), "tags": " ".join(t)} for c, t in dev],
        "test": [{"text": u"".join(c), "tags": " ".join(t)} for c, t in test],
        "reader_output": {ph: [[records[(ph, g)][0], records[(ph, g)][1]] for g in range(1, 1 + n)]
                          for ph, n in (("train", N_TRAIN), ("dev", N_DEV), ("test", N_TEST))},
        "reader_output_note": "per sentence [token_ids, label_ids] exactly as SequenceLabelReader made them "
                              "([CLS] ... [SEP], truncated to 128, labels of [CLS]/[SEP] = O = 6), unpadded",
        "note": data_note,
    }
    out["batch_order"] = {
        "passes": passes_out,
        "rule": "each training pass calls np.random.shuffle on the dataset's own example list, which stays "
                "shuffled: pass k permutes the order left by pass k-1. dev/test are never shuffled.",
        "numpy_replay": "np.random.seed(%d); order = list(range(%d)); repeat %d times: np.random.shuffle(order)" % (SEED, N_TRAIN, EPOCHS),
        "numpy_replay_matches": replay == recorded,
    }
    head = [n for n in names if n != "word_embedding"]
    if prof["per_step_params"]:
        for st in rec["steps"]:
            after = rec["params_after_step"][st["step"]]
            st["head_params_after"] = {n: common.f32(after[n]) for n in head}
            st["embedding_after_sum_and_l2"] = [float(np.sum(after["word_embedding"].astype(np.float64))),
                                                float(np.sqrt(np.sum(np.square(after["word_embedding"].astype(np.float64)))))]
        out["steps"] = rec["steps"]
        out["logged"] = rec["logged"]
        out["logged_note"] = ("PaddleHub's training log (log_interval 1) prints loss = batch loss / run_examples, and "
                              "run_examples = batch_size * device_count with use_pyreader, so the logged loss is the batch "
                              "mean NLL / 16 (also for the short batch); its P/R/F1 are the batch's chunk_eval values")
    else:
        out["steps"] = [{k: st[k] for k in ("step", "epoch", "lr", "loss", "example_indices")} for st in rec["steps"]]
        out["steps_note"] = ("per training step (1-based) only: epoch (PaddleHub's, from 1), the lr the step used "
                             "(its program variable, read after the step ran), loss = batch mean of the per-sequence "
                             "CRF NLL, and the example indices of the batch in feed order. PaddleHub logged loss / 16 "
                             "every step (log_interval 1).")
    out["evals"] = rec["evals"]
    out["best"] = {
        "selected_eval_index": rec["evals"].index(best_eval),
        "after_train_step": best_eval["after_train_step"],
        "f1": best_eval["scores"]["f1"],
        "best_model_params_equal_params_after_steps": best_from_step,
        "rule": "after each dev evaluation, if batch-averaged F1 > best so far (strictly), save as best_model; "
                "finetune ends with one more dev evaluation, then scores the test set with best_model reloaded",
    }
    if args.long:
        out["best"]["selection_changes"] = [e["after_train_step"] for e in rec["evals"] if e["became_best"]]
    out["params"] = {
        "initial": {n: common.f32(v) for n, v in rec["initial"].items()},
        "final_after_last_step": {n: common.f32(v) for n, v in final.items()},
        "best_model": {n: common.f32(v) for n, v in best_model.items()},
        "sha256_float32_le": {k: {n: hashlib.sha256(np.ascontiguousarray(v[n], "<f4").tobytes()).hexdigest()
                                  for n in names}
                              for k, v in (("initial", rec["initial"]), ("final_after_last_step", final), ("best_model", best_model))},
    }
    if best_from_step == [last_step]:
        del out["params"]["best_model"]
        out["params"]["best_model"] = "same as final_after_last_step"
    write_json(prof["out"], out, prof["max_bytes"], one_line_rows=args.long)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()

"""End to end through the command-line entry points: train, resume, evaluate, predict, export."""
import json

import numpy as np
import paddle
import pytest

from paddle_ner import evaluate as evaluate_cli
from paddle_ner import export as export_cli
from paddle_ner import predict as predict_cli
from paddle_ner import train as train_cli
from paddle_ner.data import read_corpus, write_corpus
from paddle_ner.predictor import Predictor
from paddle_ner.trainer import Trainer

SMALL_BIGRU = ["--set", "model.emb_dim=32", "--set", "model.hidden_size=32"]


@pytest.fixture(scope="module")
def eight(tmp_path_factory, sample_dir_module):
    path = tmp_path_factory.mktemp("eight") / "eight.txt"
    write_corpus(read_corpus(sample_dir_module / "train.txt").sentences[:8], path)
    return path


@pytest.fixture(scope="module")
def sample_dir_module():
    from conftest import SAMPLE_DIR

    return SAMPLE_DIR


def on_files(path):
    return ["--train", str(path), "--dev", str(path), "--test", str(path)]


def test_bigru_overfits_eight_sentences(eight, tmp_path):
    out = tmp_path / "run"
    code = train_cli.main(["--model", "bigru_crf", *on_files(eight), "--output", str(out), *SMALL_BIGRU,
                           "--set", "train.epochs=40", "--set", "train.batch_size=8", "--set", "train.lr=0.01"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["micro"]["f1"] == 1.0
    assert metrics["test"]["batch_averaged"]["f1"] == pytest.approx(1.0)
    for name in ("config.yaml", "run.json", "labels.json", "train.log", "curves.png", "model/model.json",
                 "model/model.pdparams", "model/char_vocab.json"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["argv"][:2] == ["--model", "bigru_crf"]
    installed = installed_paddle()
    assert installed, "no Paddle distribution found by importlib.metadata"
    assert {dist: run["versions"].get(dist) for dist in installed} == installed, run["versions"]


def installed_paddle():
    """{distribution: version} of the Paddle distributions installed here: ``paddlepaddle`` on
    the cpu profile, ``paddlepaddle-gpu`` on the gpu profile and AI Studio."""
    from importlib import metadata

    found = {}
    for dist in ("paddlepaddle", "paddlepaddle-gpu"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found


def test_transformer_overfits_eight_sentences(eight, tmp_path, standin):
    out = tmp_path / "run"
    code = train_cli.main(["--model", "bert", "--set", f"model.pretrained={standin('bert')}", *on_files(eight),
                           "--output", str(out), "--set", "train.epochs=40", "--set", "train.batch_size=8",
                           "--set", "train.lr=2e-3", "--set", "train.warmup_proportion=0", "--set", "model.crf_lr=10",
                           "--set", "train.eval_every=0"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["micro"]["f1"] == 1.0
    assert (out / "model" / "encoder" / "vocab.txt").is_file()


def test_resume_continues_exactly_where_it_stopped(eight, tmp_path, monkeypatch):
    args = ["--model", "bigru_crf", *on_files(eight), *SMALL_BIGRU, "--set", "train.epochs=3",
            "--set", "train.batch_size=3", "--set", "model.dropout=0.3", "--set", "train.eval_every=2",
            "--set", "train.schedule=linear", "--set", "train.warmup_proportion=0.2", "--seed", "7"]
    assert train_cli.main(args + ["--output", str(tmp_path / "whole")]) == 0

    stop_at = 4  # mid-epoch (3 batches per epoch), between two dev evaluations
    monkeypatch.setattr(Trainer, "_should_stop", lambda self: self.state.global_step >= stop_at)
    assert train_cli.main(args + ["--output", str(tmp_path / "cut")]) == 130
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())
    assert (state["global_step"], state["epoch"], state["batch_in_epoch"]) == (4, 1, 1)
    monkeypatch.undo()
    paddle.seed(12345)  # the resumed run must restore the RNG itself, not inherit this one
    assert train_cli.main(["--output", str(tmp_path / "cut"), "--resume"]) == 0

    whole = paddle.load(str(tmp_path / "whole" / "checkpoint" / "model.pdparams"))
    cut = paddle.load(str(tmp_path / "cut" / "checkpoint" / "model.pdparams"))
    assert whole.keys() == cut.keys()
    for key in whole:
        np.testing.assert_array_equal(whole[key].numpy(), cut[key].numpy(), err_msg=key)
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert a["test"]["micro"] == b["test"]["micro"] and a["best_step"] == b["best_step"]


def test_a_corpus_without_entities_trains_evaluates_and_predicts(eight, tmp_path, capsys):
    """Labels ``["O"]`` only: a one-tag CRF, which Paddle's Viterbi op cannot decode. Training,
    dev selection, metrics, evaluate, predict and the exported graph all work, and report zero
    entities as zeros, with no division-by-zero warning."""
    import warnings

    from paddle_ner.data import Sentence

    path = tmp_path / "plain.txt"
    write_corpus([Sentence(s.chars, ["O"] * len(s.chars)) for s in read_corpus(eight).sentences], path)
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert train_cli.main(["--model", "bigru_crf", *on_files(path), "--output", str(out), "--set",
                               "model.emb_dim=16", "--set", "model.hidden_size=16", "--max-steps", "4",
                               "--set", "train.batch_size=4", "--set", "train.eval_every=2"]) == 0
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    assert "the data has no entities (labels: O only)" in (out / "train.log").read_text()
    assert json.loads((out / "labels.json").read_text())["labels"] == ["O"]
    metrics = json.loads((out / "metrics.json").read_text())
    zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 0, "n_gold": 0, "per_type": {}}
    for split in ("dev", "test"):
        assert metrics[split]["micro"] == zero
        assert metrics[split]["batch_averaged"]["f1"] == 0.0
    assert metrics["steps"] == 4

    capsys.readouterr()
    assert evaluate_cli.main([str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["micro"] == zero
    records = Predictor.from_run(out)(TEXTS)
    assert_valid_output(records)
    assert all(set(r["tags"]) <= {"O"} and r["entities"] == [] for r in records)
    assert predict_cli.main([str(out), "--text", TEXTS[0]]) == 0
    assert json.loads(capsys.readouterr().out) == records[0]
    assert export_cli.main([str(out)]) == 0
    assert Predictor.from_run(out, engine="inference")(TEXTS) == records


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "run"
    assert train_cli.main(["--model", "bigru_crf", "--dataset", "sample", "--output", str(out), *SMALL_BIGRU,
                           "--set", "train.epochs=8", "--set", "train.batch_size=16", "--set", "train.lr=0.005",
                           "--set", "model.max_seq_len=24", "--set", "model.window_overlap=8"]) == 0
    return out


TEXTS = ["张伟在北京大学读书。", "", "   ", "李明2024年去了上海😀，见到Alice和ＭＳＲＡ的王芳。",
         "中国人民银行" * 12 + "在北京召开会议，周文博出席。" * 3, "\t", "ABC 123"]


def assert_valid_output(records):
    assert [r["text"] for r in records] == TEXTS
    for record in records:
        text, tags = record["text"], record["tags"]
        assert len(tags) == len(text)
        for i, tag in enumerate(tags):
            assert tag == "O" or tag[:2] in ("B-", "I-")
            if tag.startswith("I-"):
                assert i > 0 and tags[i - 1][2:] == tag[2:], tags
        for entity in record["entities"]:
            assert text[entity["start"]:entity["end"]] == entity["text"]
            assert tags[entity["start"]] == "B-" + entity["type"]


def test_predict_gives_one_tag_per_character(sample_run, capsys):
    records = Predictor.from_run(sample_run)(TEXTS)
    assert_valid_output(records)
    assert len(TEXTS[4]) > 22  # longer than the 24-position window
    assert any(r["entities"] for r in records)
    input_file = sample_run.parent / "texts.txt"
    input_file.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert predict_cli.main([str(sample_run), "--input", str(input_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == records


def test_export_matches_the_dynamic_model(sample_run, tmp_path):
    assert export_cli.main([str(sample_run), "--out", str(tmp_path / "export")]) == 0
    dynamic = Predictor.from_run(sample_run)(TEXTS)
    static = Predictor.from_run(tmp_path / "export", engine="inference")(TEXTS)
    assert static == dynamic
    assert_valid_output(static)


def test_exported_bigram_model_matches_the_dynamic_model(eight, tmp_path):
    out = tmp_path / "run"
    assert train_cli.main(["--model", "bigru_crf", *on_files(eight), "--output", str(out), *SMALL_BIGRU,
                           "--set", "model.bigram_dim=8", "--max-steps", "3", "--set", "model.max_seq_len=12",
                           "--set", "model.window_overlap=4"]) == 0
    assert export_cli.main([str(out)]) == 0
    dynamic = Predictor.from_run(out)(TEXTS)
    assert Predictor.from_run(out, engine="inference")(TEXTS) == dynamic
    assert_valid_output(dynamic)


def test_exported_transformer_matches_the_dynamic_model(eight, tmp_path, standin):
    out = tmp_path / "run"
    assert train_cli.main(["--model", "ernie", "--set", f"model.pretrained={standin('ernie')}", *on_files(eight),
                           "--output", str(out), "--max-steps", "2", "--set", "model.max_seq_len=20",
                           "--set", "model.window_overlap=6"]) == 0
    assert export_cli.main([str(out)]) == 0
    dynamic = Predictor.from_run(out)(TEXTS)
    assert Predictor.from_run(out, engine="inference")(TEXTS) == dynamic
    assert_valid_output(dynamic)


def test_evaluate_reproduces_metrics_json(sample_run, capsys):
    saved = json.loads((sample_run / "metrics.json").read_text())
    for split in ("dev", "test"):
        assert evaluate_cli.main([str(sample_run), "--split", split, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["micro"] == saved[split]["micro"]
        assert result["batch_averaged"] == saved[split]["batch_averaged"]


@pytest.mark.parametrize("argv,message", [
    (["predict", "/no/such/run", "--text", "x"], "/no/such/run: no such run directory"),
    (["evaluate", "/no/such/run"], "/no/such/run: no such run directory"),
    (["export", "/no/such/run"], "/no/such/run: no such run directory"),
    (["train", "--model", "bigru_crf", "--dataset", "sample", "--set", "train.nope=1"], "unknown config key train.nope"),
    (["train", "--model", "bigru_crf", "--dataset", "sample", "--set", "train.epochs=two"],
     "config key train.epochs: expected int, got str 'two'"),
    (["train", "--model", "bigru_crf", "--set", "lr"], "expected section.key=value"),
    (["train", "--resume", "--output", "/no/such/run"], "/no/such/run: no run to resume (no run.json)"),
])
def test_cli_errors_are_one_clear_line(argv, message, capsys, tmp_path):
    module = {"predict": predict_cli, "evaluate": evaluate_cli, "export": export_cli, "train": train_cli}[argv[0]]
    with pytest.raises(SystemExit) as exit_info:
        module.main(argv[1:] + (["--output", str(tmp_path / "x")] if argv[0] == "train" and "--output" not in argv else []))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_an_existing_run_is_not_overwritten(eight, tmp_path, capsys):
    args = ["--model", "bigru_crf", *on_files(eight), "--output", str(tmp_path / "run"), *SMALL_BIGRU,
            "--max-steps", "1"]
    assert train_cli.main(args) == 0
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main(args)
    assert exit_info.value.code == 2
    assert "already holds a run" in capsys.readouterr().err


def test_data_parallel_training_under_paddle_launch_on_cpu(tmp_path):
    """Two CPU ranks through paddle.distributed.launch (gloo): each trains on its half of the
    batches, gradients are all-reduced by DataParallel, only rank 0 writes the run."""
    import subprocess
    import sys

    from conftest import REPO

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
           str(tmp_path / "log"), str(REPO / "paddle_ner" / "train.py"), "--model", "bigru_crf", "--dataset", "sample",
           "--output", str(out), "--device", "cpu", "--max-steps", "6", *SMALL_BIGRU, "--set", "train.batch_size=16"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, (tmp_path / "log" / "workerlog.0").read_text()[-3000:]
    run = json.loads((out / "run.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert run["world_size"] == 2
    from paddle_ner.mkl_dispatch import in_force

    assert run["mkl_dispatch"] == in_force()  # the ranks ran with MKL's dispatch as this process has it
    assert metrics["steps"] == 6
    # 400 sentences / 16 = 25 batches, 12 per rank: epochs counted per rank.
    assert metrics["epochs"] == pytest.approx(6 / 12, abs=1e-3)
    assert "train.log" in {p.name for p in out.iterdir()}


@pytest.mark.parametrize("model", ["bigru_crf", "bert"])
def test_dev_through_the_inference_engine_equals_dygraph_and_leaves_training_alone(model, eight, tmp_path,
                                                                                    standin):
    """train.eval_engine=inference (the CPU default) scores dev exactly as the dygraph model
    does, and saving the static graph does not turn the tagger itself static: the two runs'
    dev curves and final weights are identical."""
    extra = SMALL_BIGRU + ["--set", "train.lr=0.01"] if model == "bigru_crf" else \
        ["--set", f"model.pretrained={standin('bert')}", "--set", "train.lr=2e-3", "--set", "model.crf_lr=10",
         "--set", "train.warmup_proportion=0"]
    runs = {}
    for engine in ("dynamic", "inference"):
        out = tmp_path / engine
        assert train_cli.main(["--model", model, *on_files(eight), "--output", str(out), *extra, "--device", "cpu",
                               "--set", "train.epochs=12", "--set", "train.batch_size=4",
                               "--set", "train.eval_every=3", "--set", "train.eval_at_epoch_end=false", "--set", f"train.eval_engine={engine}"]) == 0
        runs[engine] = out
    history = {e: json.loads((out / "metrics.json").read_text())["history"] for e, out in runs.items()}
    dev = {e: [(h["step"], h["dev_f1"], h["dev_f1_batch_averaged"]) for h in hist if "dev_f1" in h]
           for e, hist in history.items()}
    assert len(dev["inference"]) == 8 and dev["inference"] == dev["dynamic"]
    assert any(f1 > 0 for _, f1, _ in dev["inference"])  # the model learned something to agree on
    weights = {e: paddle.load(str(out / "model" / "model.pdparams")) for e, out in runs.items()}
    for name, value in weights["dynamic"].items():
        np.testing.assert_array_equal(value.numpy(), weights["inference"][name].numpy(), err_msg=name)

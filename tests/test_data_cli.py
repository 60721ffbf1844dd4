"""python -m paddle_ner.data stats: output, JSON keys, and exit status 2 with PATH:LINE: on bad data."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paddle_ner.data.__main__ import main
from paddle_ner.data.readers import read_corpus

REPO = Path(__file__).resolve().parents[1]


def run_json(capsys, *args):
    assert main(["stats", *map(str, args), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object on one line
    return json.loads(out)


def test_stats_json_on_sample(capsys, sample_dir):
    path = sample_dir / "train.txt"
    stats = run_json(capsys, path)
    corpus = read_corpus(path)
    assert {"sentences", "chars", "entities", "entities_total", "lengths", "repairs", "format", "scheme"} <= set(stats)
    assert stats["sentences"] == len(corpus) == 400
    assert stats["chars"] == corpus.num_chars
    assert stats["entities"] == corpus.entity_counts() and set(stats["entities"]) == {"LOC", "ORG", "PER"}
    lengths = sorted(len(s) for s in corpus)
    assert stats["lengths"]["max"] == lengths[-1]
    assert stats["lengths"]["mean"] == round(sum(lengths) / len(lengths), 2)
    assert stats["lengths"]["p99"] == lengths[395]  # nearest rank: ceil(0.99 * 400) = 396th
    assert (stats["format"], stats["scheme"]) == ("conll", "BIO")


def test_stats_human_output(capsys, tmp_path):
    path = tmp_path / "o.txt"
    path.write_text("a\tO\nb\tI-PER\n\nc\t\n\n", encoding="utf-8")
    assert main(["stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sentences  2" in out and "chars      3" in out
    assert "entities   1" in out and "  PER    1" in out
    assert "length     max 2, mean 1.50, p99 2" in out
    assert "format     conll, scheme BIO" in out
    assert "1 empty tag(s) read as O" in out and "1 orphan I-/M-/E- tag(s) read as B-" in out


def test_stats_forced_format_and_scheme(capsys, tmp_path):
    path = tmp_path / "r.bmes"
    path.write_text("高 B-NAME\n勇 E-NAME\n\n", encoding="utf-8")
    assert run_json(capsys, path, "--scheme", "BMES")["scheme"] == "BMES"
    assert run_json(capsys, path)["scheme"] == "BIOES"  # B/E only: detected as BIOES, same spans
    with pytest.raises(SystemExit) as exit_:
        main(["stats", str(path), "--format", "ernie_tsv"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(f"{path}:1: expected the ERNIE header")


def test_bad_data_exits_2_with_path_line(capsys, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a\tO\nb\tO\n\nc\tO\tX\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["stats", str(path)])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == f"{path}:4: expected 2 TAB-separated columns (token, tag), got 3: 'c\\tO\\tX'\n"
    assert captured.out == ""


def test_strict_refuses_repairs(capsys, tmp_path):
    path = tmp_path / "o.txt"
    path.write_text("a\tO\nb\tI-PER\n\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["stats", str(path), "--strict"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(f"{path}:2: orphan tag 'I-PER' after 'O'")


def test_bad_flags_exit_2(capsys):
    for argv in (["stats"], ["stats", "x", "--format", "xml"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2


def test_subprocess_exit_status_and_stderr(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a\tO\nb\tO\r\n\r\n")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "paddle_ner.data", "stats", str(path)], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{path}:2: CR character (CRLF")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_sighan_train_counts(capsys, shared_data):
    """The issue's acceptance check: stats on SIGHAN train prints the official counts."""
    stats = run_json(capsys, shared_data / "msra_ner" / "sighan2006" / "train.txt")
    assert stats["sentences"] == 45000 and stats["chars"] == 2171573
    assert stats["entities"] == {"LOC": 36860, "ORG": 20584, "PER": 17615}
    assert stats["repairs"] == {"empty_tag": 57, "orphan_continuation": 0}
    assert stats["lengths"]["max"] == 746

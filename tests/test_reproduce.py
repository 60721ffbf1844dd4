"""make reproduce: preflight, skipping finished runs, and the aggregated table."""
import json

import pytest

from paddle_ner import reproduce


def test_no_gpu_fails_before_any_training_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main(["--models", "bigru_crf", "bert", "--dataset", "sample", "--runs", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("no GPU for bert")
    assert not any(tmp_path.iterdir())


def test_missing_weights_fail_before_any_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--models", "bigru_crf", "ernie", "--dataset", "sample", "--device", "cpu",
                        "--pretrained-dir", str(tmp_path / "none"), "--runs", str(tmp_path / "runs")])
    assert "no directory" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_missing_data_fails_before_any_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--models", "bigru_crf", "--dataset", "msra_sighan", "--data-dir", str(tmp_path),
                        "--runs", str(tmp_path / "runs")])
    assert "no train file for dataset 'msra_sighan'" in capsys.readouterr().err


def test_runs_skips_finished_and_aggregates_seeds(tmp_path, capsys):
    args = ["--models", "bigru_crf", "--dataset", "sample", "--seeds", "1", "2", "--device", "cpu",
            "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results"), "--max-steps", "3",
            "--set", "model.emb_dim=16", "--set", "model.hidden_size=16"]
    assert reproduce.main(args) == 0
    assert reproduce.main(args) == 0
    assert capsys.readouterr().out.count("is finished, skipping") == 2
    table = json.loads((tmp_path / "results" / "table1.json").read_text())
    row = table["systems"]["bigru_crf"]
    f1s = [100 * json.loads((tmp_path / "runs" / "sample" / f"bigru_crf-seed{s}" / "metrics.json").read_text())
           ["test"]["micro"]["f1"] for s in (1, 2)]
    assert row["micro"]["f1"]["mean"] == pytest.approx(sum(f1s) / 2)
    assert row["micro"]["f1"]["n"] == 2
    assert row["delta_f1"]["micro"] == pytest.approx(row["micro"]["f1"]["mean"] - 90.32)
    assert row["paper"] == {"precision": 92.54, "recall": 88.20, "f1": 90.32}
    md = (tmp_path / "results" / "table1.md").read_text()
    assert "| Baseline | 92.54 / 88.20 / 90.32 |" in md
    assert (tmp_path / "results" / "table1.png").stat().st_size > 0


def test_a_run_that_fails_on_a_users_error_exits_2_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main(["--models", "bigru_crf", "--dataset", "sample", "--device", "cpu", "--runs", str(tmp_path),
                        "--set", "model.no_such_key=1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("bigru_crf seed 1 stopped (exit 2)")

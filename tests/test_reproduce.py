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
    [row] = table["rows"]
    assert (row["model"], row["recipe"]) == ("bigru_crf", "paper")  # make reproduce's default recipe
    f1s = [100 * json.loads((tmp_path / "runs" / "sample" / "paper" / f"bigru_crf-seed{s}" / "metrics.json")
                            .read_text())["test"]["micro"]["f1"] for s in (1, 2)]
    assert row["micro"]["f1"]["mean"] == pytest.approx(sum(f1s) / 2)
    assert row["micro"]["f1"]["n"] == 2
    assert row["delta_f1"]["micro"] == pytest.approx(row["micro"]["f1"]["mean"] - 90.32)
    assert row["paper"] == {"precision": 92.54, "recall": 88.20, "f1": 90.32, "convention": "micro"}
    assert row["delta_f1_paper_convention"] == row["delta_f1"]["micro"]  # the paper scored its baseline so
    md = (tmp_path / "results" / "table1.md").read_text()
    assert "| Baseline | paper | 92.54 / 88.20 / 90.32 (micro) |" in md
    assert (tmp_path / "results" / "table1.png").stat().st_size > 0


def test_a_run_that_fails_on_a_users_error_exits_2_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main(["--models", "bigru_crf", "--dataset", "sample", "--device", "cpu", "--runs", str(tmp_path),
                        "--set", "model.no_such_key=1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("bigru_crf (paper recipe) seed 1 stopped (exit 2)")


def test_both_recipes_side_by_side(tmp_path, standin):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "bert").symlink_to(standin("bert"))
    args = ["--models", "bert", "--recipes", "paper", "ours", "--dataset", "sample", "--device", "cpu",
            "--pretrained-dir", str(tmp_path / "ckpt"), "--runs", str(tmp_path / "runs"),
            "--results", str(tmp_path / "results"), "--max-steps", "2"]
    assert reproduce.main(args) == 0
    table = json.loads((tmp_path / "results" / "table1.json").read_text())
    assert [(r["model"], r["recipe"]) for r in table["rows"]] == [("bert", "paper"), ("bert", "ours")]
    paper, ours = table["rows"]
    assert paper["truncation"]["characters"] == 126 and "truncation" not in ours
    for recipe in ("paper", "ours"):
        run = json.loads((tmp_path / "runs" / "sample" / recipe / "bert-seed1" / "run.json").read_text())
        assert run["recipe"] == recipe
    md = (tmp_path / "results" / "table1.md").read_text()
    assert "| BERT-base | paper | 92.68 / 94.18 / 93.30 (batch-averaged) |" in md
    assert "| BERT-base | ours | 92.68 / 94.18 / 93.30 (batch-averaged) |" in md

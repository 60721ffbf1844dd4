"""benchmarks/baseline_study.py: every run listed with its dev F1, test scored only for the selected
configs and only once per run, group means over seeds."""
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_env
from paddle_ner import train as train_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def run(args):
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "baseline_study.py"), *args], cwd=REPO,
                          env=make_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    runs = tmp_path_factory.mktemp("study")
    for name, seed in (("small-seed1", 1), ("small-seed2", 2), ("wide-seed1", 1)):
        hidden = "16" if name.startswith("small") else "32"
        code = train_cli.main(["--model", "bigru_crf", "--train", str(SAMPLE / "train.txt"), "--dev",
                               str(SAMPLE / "dev.txt"), "--seed", str(seed), "--device", "cpu", "--output",
                               str(runs / name), "--max-steps", "4", "--set", "train.batch_size=16",
                               "--set", f"model.hidden_size={hidden}", "--set", "model.bigram_dim=0",
                               "--set", "train.eval_every=2"])
        assert code == 0
    return runs


def test_only_selected_configs_get_test_and_only_once(study, tmp_path):
    out = tmp_path / "out"
    done = run(["--runs", str(study), "--out", str(out), "--test", str(SAMPLE / "test.txt"), "--score", "small"])
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "baselines.json").read_text(encoding="utf-8"))
    by_run = {e["run"]: e for e in report["runs"]}
    assert set(by_run) == {"small-seed1", "small-seed2", "wide-seed1"}  # every run tried is listed
    assert by_run["wide-seed1"]["test"] is None and not (study / "wide-seed1" / "test_score.json").exists()
    for name in ("small-seed1", "small-seed2"):
        saved = json.loads((study / name / "test_score.json").read_text(encoding="utf-8"))
        assert by_run[name]["test"]["micro"] == saved["micro"]
        # the score is evaluate's own on that file
        direct = subprocess.run([sys.executable, "-m", "paddle_ner.evaluate", str(study / name), "--file",
                                 str(SAMPLE / "test.txt"), "--json"], cwd=REPO, env=make_env(),
                                capture_output=True, text=True, timeout=600)
        assert json.loads(direct.stdout)["micro"]["f1"] == saved["micro"]["f1"]
    group = report["groups"]["small"]
    values = [100 * by_run[n]["test"]["micro"]["f1"] for n in ("small-seed1", "small-seed2")]
    assert group["test_micro_f1"]["mean"] == pytest.approx(statistics.mean(values))
    assert group["test_micro_f1"]["std"] == pytest.approx(statistics.stdev(values))
    dev = [100 * by_run[n]["dev"]["micro"]["f1"] for n in ("small-seed1", "small-seed2")]
    assert group["dev_micro_f1"]["mean"] == pytest.approx(statistics.mean(dev))
    assert by_run["small-seed1"]["data"]["train"]["sha256"]
    assert (out / "learning_curves.png").stat().st_size > 1000
    table = (out / "baselines.md").read_text(encoding="utf-8")
    assert "| wide-seed1 |" in table and "not scored" in table

    # a second call reuses the first scoring; another test file is refused
    mtime = (study / "small-seed1" / "test_score.json").stat().st_mtime_ns
    assert run(["--runs", str(study), "--out", str(out), "--test", str(SAMPLE / "test.txt"),
                "--score", "small"]).returncode == 0
    assert (study / "small-seed1" / "test_score.json").stat().st_mtime_ns == mtime
    refused = run(["--runs", str(study), "--out", str(out), "--test", str(SAMPLE / "dev.txt"), "--score", "small"])
    assert refused.returncode != 0 and "another file" in refused.stderr


def test_an_unknown_group_is_refused(study, tmp_path):
    done = run(["--runs", str(study), "--out", str(tmp_path), "--test", str(SAMPLE / "test.txt"), "--score", "nope"])
    assert done.returncode != 0 and "nope" in done.stderr


def test_a_stopped_run_is_listed_from_its_checkpoint_and_never_scored(tmp_path):
    """A run stopped before its last step (no metrics.json) is still a run tried: listed with the
    dev evaluations its checkpoint holds, marked stopped, and refused if its group is scored."""
    runs = tmp_path / "runs"
    code = train_cli.main(["--model", "bigru_crf", "--train", str(SAMPLE / "train.txt"), "--dev",
                           str(SAMPLE / "dev.txt"), "--seed", "1", "--device", "cpu", "--output",
                           str(runs / "long-seed1"), "--set", "train.epochs=2", "--set", "train.batch_size=64",
                           "--set", "model.hidden_size=16", "--set", "model.bigram_dim=0"])
    assert code == 0
    run_dir = runs / "long-seed1"
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    per_epoch = metrics["steps"] // 2
    # as SIGTERM one step into epoch 2 leaves it: checkpoint state, no metrics.json
    (run_dir / "metrics.json").unlink()
    state_path = run_dir / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state.update(epoch=1, batch_in_epoch=1, global_step=per_epoch + 1, finished=False,
                 history=[h for h in state["history"] if h["step"] <= per_epoch])
    state_path.write_text(json.dumps(state), encoding="utf-8")
    first = [h for h in state["history"] if "dev_f1" in h]

    done = run(["--runs", str(runs), "--out", str(tmp_path / "out")])
    assert done.returncode == 0, done.stderr
    entry = json.loads((tmp_path / "out" / "baselines.json").read_text(encoding="utf-8"))["runs"][0]
    assert entry["stopped"] == {"at_step": per_epoch + 1, "of_steps": metrics["steps"], "epochs_done": 1}
    assert entry["dev"]["micro"]["f1"] == max(h["dev_f1"] for h in first)
    assert entry["test"] is None
    assert "| long-seed1 | stopped after 1 of 2 |" in (tmp_path / "out" / "baselines.md").read_text(encoding="utf-8")
    refused = run(["--runs", str(runs), "--out", str(tmp_path / "out2"), "--test", str(SAMPLE / "test.txt"),
                   "--score", "long"])
    assert refused.returncode != 0 and "has not finished" in refused.stderr


def test_draws_are_seeded_subsets_in_pool_order_with_their_provenance(tmp_path):
    pool = tmp_path / "pool.tsv"
    lines = [f"{'字' * (i % 7 + 1)}{i}\t" for i in range(50)]
    lines = ["\x02".join(text.split("\t")[0]) + "\t" + "\x02".join("O" * len(text.split("\t")[0])) for text in lines]
    pool.write_text("text_a\tlabel\n" + "\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "subsets"

    def draw(*seeds):
        return subprocess.run([sys.executable, str(REPO / "benchmarks" / "draw_subsets.py"), "--pool", str(pool),
                               "--size", "20", "--seeds", *map(str, seeds), "--out", str(out)], cwd=REPO,
                              env=make_env(), capture_output=True, text=True, timeout=120)

    assert draw(1, 2).returncode == 0
    first = (out / "subset-seed1.tsv").read_bytes()
    drawn = (out / "subset-seed1.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
    assert len(drawn) == 20 and drawn == [line for line in lines if line in set(drawn)]  # pool order
    provenance = json.loads((out / "subset-seed1.provenance.json").read_text())
    assert provenance["seed"] == 1 and provenance["file"]["sentences"] == 20
    assert [lines[n - 2] for n in provenance["pool_lines"]] == drawn
    pair = json.loads((out / "overlap.json").read_text())["pairs"][0]
    second = (out / "subset-seed2.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
    assert pair["shared_sentences"] == len(set(drawn) & set(second))
    assert draw(1).returncode == 0 and (out / "subset-seed1.tsv").read_bytes() == first  # same seed, same bytes
    assert draw(3).returncode == 0 and (out / "subset-seed3.tsv").read_bytes() != first

"""Collect a baseline study (several configs x seeds, selected on dev) into committed results.

Every run directory under ``--runs`` is listed with its dev F1, so anyone can see that
selection used dev alone. Run names are ``<config>-seed<N>``; runs of one config form a
group, reported as mean and sample standard deviation over its seeds.

Test is scored only for the runs named by ``--score`` (the selected configs), and at most once
per run: the first scoring is written to ``RUN/test_score.json`` (command, time, the file's
SHA-256) and every later call reuses it. A run whose training already scored a test split
(``metrics.json``) keeps that score.

    python benchmarks/baseline_study.py --runs runs/i13 --out results/msra_ernie_proxy \\
        --test ../shared/data/msra_ner/ernie/test.tsv --score a b-e10 c-e10 full-e10

Writes ``OUT/baselines.json`` (every run: command, commit, data checksums, dev history, test
where scored; every scored group: mean +- std), ``OUT/baselines.md`` and
``OUT/learning_curves.png`` (dev micro F1 by epoch, one line per run).
"""
import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paddle_ner.integrity import sha256  # noqa: E402

RUN_NAME = re.compile(r"^(?P<group>.+)-seed(?P<seed>\d+)$")
METRICS = ("precision", "recall", "f1")


def group_of(run_name: str) -> str:
    match = RUN_NAME.match(run_name)
    return match.group("group") if match else run_name


def score_test_once(run: Path, test_file: Path) -> dict:
    """The run's best model on ``test_file``, scored by ``python -m paddle_ner.evaluate``; cached."""
    record = run / "test_score.json"
    if record.is_file():
        saved = json.loads(record.read_text(encoding="utf-8"))
        if saved["sha256"] != sha256(test_file):
            raise SystemExit(f"{record} scored another file ({saved['path']}); refusing to score a second test set")
        return saved
    cmd = [sys.executable, "-m", "paddle_ner.evaluate", str(run), "--file", str(test_file), "--json"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    saved = {"command": "python " + " ".join(cmd[1:]), "scored_at": datetime.datetime.now().isoformat(timespec="seconds"),
             "path": str(test_file), "sha256": sha256(test_file),
             "micro": result["micro"], "batch_averaged": result["batch_averaged"]}
    record.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return saved


def summarise(run: Path, test_file: Optional[Path], scored: bool) -> dict:
    info = json.loads((run / "run.json").read_text(encoding="utf-8"))
    metrics_path = run / "metrics.json"
    stopped = not metrics_path.is_file()
    if stopped:  # stopped before the end: listed from its last checkpoint, never scored
        if scored:
            raise SystemExit(f"{run}: no metrics.json (the run has not finished); it cannot be scored")
        metrics = stopped_metrics(run, info)
    else:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    steps_per_epoch = metrics["steps"] / metrics["epochs"]
    dev_curve = [{"epoch": round(h["step"] / steps_per_epoch, 3), "step": h["step"], "micro_f1": h["dev_f1"]}
                 for h in metrics["history"] if "dev_f1" in h]
    best = max(dev_curve, key=lambda point: point["micro_f1"])
    entry = {
        "run": run.name, "command": info["command"], "git_commit": info["git_commit"],
        "versions": info["versions"], "device_name": info["device_name"],
        "data": {split: {k: v for k, v in e.items() if k in ("path", "sha256", "sentences", "chars", "carved_from")}
                 for split, e in info["data"]["splits"].items()},
        "dev_split": info["data"]["dev"],
        "config": (run / "config.yaml").read_text(encoding="utf-8"),
        "train_seconds": metrics["train_seconds"], "epochs": metrics["epochs"], "best_step": metrics["best_step"],
        "best_epoch": best["epoch"],
        "dev": {k: metrics["dev"][k] for k in ("micro", "batch_averaged")},
        "dev_curve": dev_curve,
        "test": None,
    }
    if stopped:
        entry["stopped"] = metrics["stopped"]
    if metrics.get("test"):
        entry["test"] = {"scored_by": "the training run, once, with its best dev model",
                         "path": info["data"]["splits"]["test"]["path"],
                         "sha256": info["data"]["splits"]["test"]["sha256"],
                         **{k: metrics["test"][k] for k in ("micro", "batch_averaged")}}
    elif scored:
        if test_file is None:
            raise SystemExit(f"{run.name} has no test split: pass --test FILE")
        entry["test"] = score_test_once(run, test_file)
    return entry


def stopped_metrics(run: Path, info: dict) -> dict:
    """metrics.json's fields for a run stopped before its last step, from the checkpoint it saved
    (``checkpoint/state.json``): planned steps and epochs, history, the best dev evaluation."""
    state_path = run / "checkpoint" / "state.json"
    if not state_path.is_file():
        raise SystemExit(f"{run}: neither metrics.json nor checkpoint/state.json; nothing to list")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    evaluations = [h for h in state["history"] if "dev_f1" in h]
    if not evaluations:
        raise SystemExit(f"{run}: stopped before its first dev evaluation; nothing to list")
    best = max(evaluations, key=lambda h: h["dev_f1"])
    epochs = read_config_epochs(run)
    if state["epoch"] < 1:
        raise SystemExit(f"{run}: stopped inside its first epoch; nothing to list")
    steps_per_epoch = (state["global_step"] - state["batch_in_epoch"]) // state["epoch"]

    def split(suffix):
        return {k: best[f"dev_{k}{suffix}"] for k in METRICS}

    return {"steps": steps_per_epoch * epochs, "epochs": epochs, "history": state["history"],
            "train_seconds": state["train_seconds"], "best_step": best["step"],
            "dev": {"micro": split(""), "batch_averaged": split("_batch_averaged")},
            "stopped": {"at_step": state["global_step"], "of_steps": steps_per_epoch * epochs,
                        "epochs_done": state["epoch"]}}


def read_config_epochs(run: Path) -> int:
    import yaml

    return int(yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))["train"]["epochs"])


def brief(metric: dict) -> dict:
    return {k: metric[k] for k in METRICS}


def group_stats(entries: List[dict]) -> dict:
    out = {"runs": [e["run"] for e in entries], "seeds": len(entries),
           "train_minutes_mean": statistics.mean(e["train_seconds"] for e in entries) / 60}
    for split in ("dev", "test"):
        for convention in ("micro", "batch_averaged"):
            if any(e[split] is None for e in entries):
                continue
            for k in METRICS:
                values = [100 * e[split][convention][k] for e in entries]
                out[f"{split}_{convention}_{k}"] = {
                    "mean": statistics.mean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else None, "values": values}
    return out


def pm(stat: Optional[dict]) -> str:
    if stat is None:
        return "-"
    return f"{stat['mean']:.2f}" + (f" ± {stat['std']:.2f}" if stat["std"] is not None else "")


def markdown(entries: List[dict], groups: Dict[str, dict]) -> str:
    lines = ["| group | seeds | dev micro F1 | test micro P | test micro R | test micro F1 | test batch-averaged F1 "
             "| minutes per run |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, g in groups.items():
        lines.append(f"| {name} | {g['seeds']} | {pm(g.get('dev_micro_f1'))} | {pm(g.get('test_micro_precision'))} "
                     f"| {pm(g.get('test_micro_recall'))} | {pm(g.get('test_micro_f1'))} "
                     f"| {pm(g.get('test_batch_averaged_f1'))} | {g['train_minutes_mean']:.0f} |")
    lines += ["", "Every run tried (selection used the dev column only):", "",
              "| run | epochs | best dev micro F1 (epoch) | dev F1 by epoch | test micro F1 | minutes | command |",
              "|---|---:|---:|---|---:|---:|---|"]
    for e in entries:
        curve = " ".join(f"{100 * p['micro_f1']:.1f}" for p in e["dev_curve"]
                         if abs(p["epoch"] - round(p["epoch"])) < 1e-6)
        test = f"{100 * e['test']['micro']['f1']:.2f}" if e["test"] else "not scored"
        epochs = f"{e['epochs']:g}" if "stopped" not in e else f"stopped after {e['stopped']['epochs_done']} of {e['epochs']:g}"
        lines.append(f"| {e['run']} | {epochs} | {100 * e['dev']['micro']['f1']:.2f} ({e['best_epoch']:g}) "
                     f"| {curve} | {test} | {e['train_seconds'] / 60:.0f} | `{e['command']}` |")
    return "\n".join(lines) + "\n"


def plot(entries: List[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colours: Dict[str, str] = {}
    for e in entries:
        group = group_of(e["run"])
        first = group not in colours
        colour = colours.setdefault(group, f"C{len(colours) % 10}")
        ax.plot([p["epoch"] for p in e["dev_curve"]], [100 * p["micro_f1"] for p in e["dev_curve"]], marker=".",
                color=colour, alpha=0.8, label=group if first else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("dev micro F1 (%)")
    ax.set_title(title)
    lows = [100 * p["micro_f1"] for e in entries for p in e["dev_curve"] if p["epoch"] >= 1]
    if lows:
        ax.set_ylim(max(0, min(lows) - 1), min(100, max(lows) + 0.5))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=Path, required=True, help="directory of run directories named <config>-seed<N>")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--test", type=Path, help="test file for the --score groups (runs without a test split)")
    p.add_argument("--score", nargs="*", default=[], help="groups (configs) selected on dev whose runs get test")
    p.add_argument("--title", default="dev micro F1 by epoch")
    args = p.parse_args(argv)

    runs = sorted(r for r in args.runs.iterdir() if (r / "run.json").is_file())
    entries = []
    for run in runs:
        entries.append(summarise(run, args.test, group_of(run.name) in args.score))
    groups = {}
    for name in args.score:
        members = [e for e in entries if group_of(e["run"]) == name]
        if not members:
            raise SystemExit(f"--score {name}: no run named {name}-seed<N> under {args.runs}")
        groups[name] = group_stats(members)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"what": "baseline study: every run, selected on dev; test scored once per run of a selected config",
              "tool_command": "python benchmarks/baseline_study.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "groups": groups, "runs": entries}
    (args.out / "baselines.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "baselines.md").write_text(markdown(entries, groups), encoding="utf-8")
    plot(entries, args.out / "learning_curves.png", args.title)
    print(markdown(entries, groups))
    print(f"wrote {args.out}/baselines.json, baselines.md, learning_curves.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

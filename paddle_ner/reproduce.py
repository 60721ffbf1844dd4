"""``make reproduce``: the paper's Table I, end to end, next to the paper's numbers.

Trains each system (``--models``, default all five) for each recipe (``--recipes``: ``paper``,
the default, is PaddleHub 1.x as the paper ran it; ``ours`` is this project's) and each seed,
one run directory each under ``--runs``, then writes ``table1.md``, ``table1.json`` and
``table1.png`` into ``--results`` (default ``results/<dataset>``). Finished runs (with
``metrics.json``) are skipped and interrupted ones resumed, so the command can simply be run
again.

Before any training it checks, and stops with one message, that the GPU, every checkpoint
and the data are available: nothing fails an hour in.

    python -m paddle_ner.reproduce --models bert ernie --seeds 1 2 3 --recipes paper ours
    python -m paddle_ner.reproduce --models bigru_crf --dataset msra_sighan --data-dir DIR --device cpu
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from paddle_ner.compat import quiet_imports
from paddle_ner.config import RECIPES
from paddle_ner.errors import EXIT_USAGE, RunError, UsageError, exit_on_error
from paddle_ner.models.registry import BASELINE, MODEL_KEYS

# Table I of the paper: precision, recall, F1 in %, and the convention each row was computed
# in: the pretrained rows by PaddleHub 1.x's batch averaging (F1 below 2PR/(P+R)); the
# baseline at corpus level (its F1 is exactly 2PR/(P+R), FACTS §5).
PAPER = {
    "bigru_crf": ("Baseline", 92.54, 88.20, 90.32, "micro"),
    "bert": ("BERT-base", 92.68, 94.18, 93.30, "batch_averaged"),
    "ernie": ("ERNIE", 92.92, 94.07, 93.37, "batch_averaged"),
    "ernie_tiny": ("ERNIE-tiny", 83.89, 89.88, 86.52, "batch_averaged"),
    "roberta": ("RoBERTa", 93.64, 94.93, 94.17, "batch_averaged"),
}
CONVENTIONS = ("micro", "batch_averaged")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m paddle_ner.reproduce", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(PAPER), choices=MODEL_KEYS)
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--recipes", nargs="+", default=["paper"], choices=sorted(RECIPES),
                   help="paper (default): PaddleHub 1.x exactly, configs/paper/; ours: configs/<model>.yaml")
    p.add_argument("--dataset", default="msra", help="msra (the paper's split, default) or msra_sighan")
    p.add_argument("--data-dir", help="directory with the dataset's files, instead of downloading them")
    p.add_argument("--runs", type=Path, default=Path("runs/reproduce"), help="where run directories go")
    p.add_argument("--results", type=Path, help="where the table and chart go (default results/<dataset>)")
    p.add_argument("--device", choices=["cpu", "gpu"],
                   help="default: the GPU when there is one. The pretrained systems refuse to start without "
                        "one unless --device cpu is given (days of CPU time at full size)")
    p.add_argument("--pretrained-dir", type=Path,
                   help="directory with one sub-directory per model key holding its checkpoint files")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="config override passed to every run (changes the paper's settings)")
    p.add_argument("--max-steps", type=int, help="passed to every run (tiny checks only)")
    p.add_argument("--max-train-samples", type=int, help="passed to every run (tiny checks only)")
    return p


def run_dir(args, model: str, seed: int, recipe: str) -> Path:
    return args.runs / args.dataset / recipe / f"{model}-seed{seed}"


def preflight(args) -> None:
    """Fail now, with one message, if a run would fail later for want of GPU, weights or data."""
    import paddle

    pretrained = [m for m in args.models if m != BASELINE]
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if args.device is None:
        if pretrained and not has_gpu:
            raise UsageError(f"no GPU for {', '.join(pretrained)}: this Paddle has no CUDA or sees no device. The "
                             f"paper used one V100; install the gpu profile (make install PROFILE=gpu) on a GPU "
                             f"machine. MODELS=bigru_crf runs on CPU; DEVICE=cpu forces the others onto the CPU.")
        args.device = "gpu" if has_gpu else "cpu"
    elif args.device == "gpu" and not has_gpu:
        raise UsageError("--device gpu: this Paddle has no CUDA or sees no device (make install PROFILE=gpu)")
    from paddle_ner.data import load_splits
    from paddle_ner.models.checkpoints import PretrainedLoadError, load_pretrained_model, load_tokenizer

    load_splits(args.dataset, data_dir=args.data_dir)  # downloads, verifies; raises DataError
    for model in pretrained:
        source = checkpoint_source(args, model)
        try:
            load_tokenizer(model, source)
            load_pretrained_model(model, source)
        except PretrainedLoadError as err:  # the advice of this command, not train's --set
            raise err.advise("download the checkpoints on a machine that can (python -m paddle_ner.models.download "
                             "DIR), copy DIR here and run make reproduce PRETRAINED_DIR=DIR (--pretrained-dir DIR)")


def checkpoint_source(args, model: str) -> Optional[str]:
    if args.pretrained_dir is None:
        return None
    path = args.pretrained_dir / model
    if not path.is_dir():
        raise UsageError(f"--pretrained-dir {args.pretrained_dir}: no directory {path} for {model}")
    return str(path)


def train_command(args, model: str, seed: int, recipe: str) -> List[str]:
    out = run_dir(args, model, seed, recipe)
    if (out / "run.json").is_file():  # started before; --resume continues it (from step 0 if it never
        # reached a checkpoint, from checkpoint.old if it was killed while swapping one in)
        return [sys.executable, "-m", "paddle_ner.train", "--output", str(out), "--resume", "--device", args.device]
    cmd = [sys.executable, "-m", "paddle_ner.train", "--model", model, "--recipe", recipe, "--dataset", args.dataset,
           "--seed", str(seed), "--output", str(out), "--device", args.device]
    if args.data_dir:
        cmd += ["--data-dir", str(args.data_dir)]
    source = checkpoint_source(args, model) if model != BASELINE else None
    if source:
        cmd += ["--set", f"model.pretrained={source}"]
    for item in args.set:
        cmd += ["--set", item]
    if args.max_steps is not None:
        cmd += ["--max-steps", str(args.max_steps)]
    if args.max_train_samples is not None:
        cmd += ["--max-train-samples", str(args.max_train_samples)]
    return cmd


def runs(args):
    """(model, recipe, seed) of every run, in training order."""
    return [(m, r, s) for m in args.models for r in args.recipes for s in args.seeds]


def run_all(args) -> None:
    for model, recipe, seed in runs(args):
        out = run_dir(args, model, seed, recipe)
        if (out / "metrics.json").is_file():
            print(f"reproduce: {out} is finished, skipping")
            continue
        cmd = train_command(args, model, seed, recipe)
        print(f"reproduce: {' '.join(cmd[1:])}", flush=True)
        started = time.time()
        code = subprocess.run(cmd).returncode
        if code != 0:  # the run printed its own one-line error; keep the contract's exit status
            failed = f"{model} ({recipe} recipe) seed {seed} stopped (exit {code}); see above and {out / 'train.log'}"
            if code == EXIT_USAGE:
                raise UsageError(failed)
            raise RunError(f"{failed}. Run the same command again to resume.")
        print(f"reproduce: {model} ({recipe} recipe) seed {seed} done in {time.time() - started:.0f} s", flush=True)


def _mean_std(values: Sequence[float]) -> Dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}


def collect(args) -> dict:
    """Aggregate the finished runs' test metrics (percent) per system, recipe and convention."""
    rows = []
    for model in args.models:
        for recipe in args.recipes:
            dirs = [run_dir(args, model, s, recipe) for s in args.seeds]
            dirs = [d for d in dirs if (d / "metrics.json").is_file()]
            if dirs:
                rows.append(_row(model, recipe, [json.loads((d / "metrics.json").read_text()) for d in dirs], dirs))
    return {"dataset": args.dataset, "seeds": args.seeds, "recipes": args.recipes, "rows": rows,
            "note": "test split. micro = corpus-level entity P/R/F1 (seqeval) of every character, long sentences "
                    "through windows; batch_averaged = PaddleHub 1.x's per-batch chunk_eval averaged over batches, "
                    "over the sequences as the recipe trains on them (the paper recipe: truncated to 126 "
                    "characters, [CLS]/[SEP] included, equal batch weights). The paper's pretrained rows are "
                    "batch-averaged, its baseline corpus-level: delta_f1_paper_convention compares like with like."}


def _row(model: str, recipe: str, metrics: List[dict], dirs: List[Path]) -> dict:
    name, p, r, f, convention = PAPER[model]
    row = {"model": model, "name": name, "recipe": recipe, "seeds": len(metrics),
           "paper": {"precision": p, "recall": r, "f1": f, "convention": convention},
           "train_seconds": _mean_std([m["train_seconds"] for m in metrics]),
           "device": sorted({m["device"] for m in metrics})}
    for c in CONVENTIONS:
        row[c] = {k: _mean_std([100 * m["test"][c][k] for m in metrics]) for k in ("precision", "recall", "f1")}
    row["delta_f1"] = {c: row[c]["f1"]["mean"] - f for c in CONVENTIONS}
    row["delta_f1_paper_convention"] = row["delta_f1"][convention]
    truncation = metrics[0]["test"].get("truncation")
    if truncation:
        row["truncation"] = truncation
    row["runs"] = [str(d) for d in dirs]
    row["device_name"] = json.loads((dirs[0] / "run.json").read_text()).get("device_name")
    return row


def _cell(stat: dict) -> str:
    return f"{stat['mean']:.2f}" + (f" ± {stat['std']:.2f}" if stat["n"] > 1 else "")


def table_markdown(table: dict) -> str:
    lines = [f"Test set of `{table['dataset']}`, seeds {', '.join(map(str, table['seeds']))} (mean ± std where "
             f"more than one). The paper's pretrained rows are batch-averaged (PaddleHub 1.x), its baseline "
             f"corpus-level; **Δ F1** compares ours with the paper in the paper's convention for that row.", "",
             "| system | recipe | paper P / R / F1 | ours batch-avg P / R / F1 | ours micro P / R / F1 | **Δ F1** "
             "| train time | device |",
             "|---|---|---|---|---|---:|---:|---|"]
    for row in table["rows"]:
        paper, b, m = row["paper"], row["batch_averaged"], row["micro"]
        lines.append(
            f"| {row['name']} | {row['recipe']} | {paper['precision']:.2f} / {paper['recall']:.2f} / {paper['f1']:.2f} "
            f"({paper['convention'].replace('_', '-')}) "
            f"| {_cell(b['precision'])} / {_cell(b['recall'])} / {_cell(b['f1'])} "
            f"| {_cell(m['precision'])} / {_cell(m['recall'])} / {_cell(m['f1'])} "
            f"| **{row['delta_f1_paper_convention']:+.2f}** "
            f"| {row['train_seconds']['mean'] / 60:.1f} min | {row['device_name']} |")
    hidden = [r for r in table["rows"] if r.get("truncation")]
    if hidden:
        t = hidden[0]["truncation"]
        lines += ["", f"Truncation: the batch-averaged score of a recipe that truncates sees only the first "
                      f"{t['characters']} characters of each sentence; {t['gold_entities_beyond']} of the "
                      f"{t['gold_entities']} gold test entities lie beyond them. The micro score tags and scores "
                      f"every character."]
    return "\n".join(lines) + "\n"


def plot_table(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = table["rows"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 4))
    bars = [("paper", [r["paper"]["f1"] for r in rows], None),
            ("ours, batch-averaged", [r["batch_averaged"]["f1"]["mean"] for r in rows],
             [r["batch_averaged"]["f1"]["std"] for r in rows]),
            ("ours, micro", [r["micro"]["f1"]["mean"] for r in rows], [r["micro"]["f1"]["std"] for r in rows])]
    for i, (label, values, errors) in enumerate(bars):
        ax.bar(x + (i - 1) * 0.27, values, 0.27, yerr=errors, label=label, capsize=3)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r['name']}\n({r['recipe']})" for r in rows])
    ax.set_ylabel(f"test F1 (%), {table['dataset']}")
    low = min(min(v for _, values, _ in bars for v in values) - 5, 80)
    ax.set_ylim(max(0, low), 100)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_results(args) -> dict:
    table = collect(args)
    if not table["rows"]:
        raise UsageError(f"no finished runs under {args.runs / args.dataset}")
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "table1.json").write_text(json.dumps(table, indent=2, ensure_ascii=False), encoding="utf-8")
    (args.results / "table1.md").write_text(table_markdown(table), encoding="utf-8")
    plot_table(table, args.results / "table1.png")
    return table


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)
    args.results = args.results or Path("results") / args.dataset
    preflight(args)
    run_all(args)
    table = write_results(args)
    print(table_markdown(table))
    print(f"wrote {args.results / 'table1.md'}, table1.json, table1.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pipeline checks for the four pretrained architectures on real MSRA, without their weights.

This machine cannot download the Baidu checkpoints, so each architecture is a shrunk
random-weight stand-in (PaddleNLP's config for the checkpoint: 2 layers, hidden 64, the real
vocabulary size, with the corpus's characters in its vocabulary), saved and loaded through
``from_pretrained`` like a real checkpoint. Each is trained for a bounded number of steps on a
subset of SIGHAN-MSRA train through the real data path (reader, carved dev, windows, CRF),
and the script records whether the training loss falls and dev F1 rises above zero.

These are checks that the pipeline learns, not results: a random-init 2-layer encoder says
nothing about what the pretrained one scores.

    python benchmarks/pipeline_check.py --data-dir ../shared/data/msra_ner/sighan2006
"""
import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from paddle_ner.data import read_corpus
from paddle_ner.models.standin import write_standin
from paddle_ner.provenance import report_header, write_report

MODELS = ("bert", "ernie", "ernie_tiny", "roberta")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="directory with SIGHAN-MSRA train.txt and test.txt")
    p.add_argument("--work", type=Path, default=Path("runs/pipeline_check"))
    p.add_argument("--out", type=Path, default=Path("results/pipeline_check_msra_sighan.json"))
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--train-samples", type=int, default=3000)
    p.add_argument("--steps", type=int, default=600, help="at most this many steps (2 epochs if fewer)")
    args = p.parse_args()

    train = read_corpus(Path(args.data_dir) / "train.txt")
    chars = [c for c, _ in Counter(c for s in train.sentences for c in s.chars).most_common()]
    settings = ["--max-train-samples", str(args.train_samples), "--max-steps", str(args.steps),
                "--set", "train.lr=1e-3", "--set", "model.crf_lr=100", "--set", "train.eval_every=150",
                "--set", "train.warmup_proportion=0.05", "--set", "train.eval_batch_size=128"]
    report = {**report_header("python benchmarks/pipeline_check.py " + " ".join(sys.argv[1:])),
              "what": "pipeline checks with shrunk random-weight encoders; not results", "settings": settings,
              "models": {}}
    for key in args.models:
        standin = write_standin(key, args.work / "standins" / key, chars=chars)
        out = args.work / key
        cmd = [sys.executable, "-m", "paddle_ner.train", "--model", key, "--dataset", "msra_sighan", "--data-dir",
               args.data_dir, "--device", "cpu", "--output", str(out), "--set", f"model.pretrained={standin}", *settings]
        started = time.time()
        subprocess.run(cmd, check=True)
        history = json.loads((out / "checkpoint" / "state.json").read_text())["history"]
        metrics = json.loads((out / "metrics.json").read_text())
        losses = [h["loss"] for h in history if "loss" in h]
        dev = [(h["step"], round(100 * h["dev_f1"], 2)) for h in history if "dev_f1" in h]
        report["models"][key] = {
            "command": " ".join(cmd[1:]),
            "steps": metrics["steps"], "epochs": metrics["epochs"],
            "loss_first_window": losses[0], "loss_last_window": losses[-1], "loss_fell": losses[-1] < losses[0],
            "dev_f1_by_step": dev, "dev_f1_above_zero": dev[-1][1] > 0,
            "test_f1_micro": round(100 * metrics["test"]["micro"]["f1"], 2),
            "seconds": round(time.time() - started),
        }
        print(json.dumps({key: report["models"][key]}, indent=1), flush=True)
    write_report(args.out, report)


if __name__ == "__main__":
    main()

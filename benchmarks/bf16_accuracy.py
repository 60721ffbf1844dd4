"""What bf16 inference costs in accuracy on trained models, and what it gains in speed.

For each trained run, its export (written by ``python -m paddle_ner.export`` if missing) is run
through ``paddle.inference`` twice on the same file, fp32 and bf16 (oneDNN's bfloat16 pass,
``--precision bf16``), with the same batch size. Reported: tag agreement (share of characters
whose tag is the same), sentences tagged identically, corpus micro F1 of each against the gold
tags and its change, characters/s of each (speed is only comparable within one run, on an
otherwise idle machine), and the processor.

    python benchmarks/bf16_accuracy.py runs/i13/b-e10-seed1 --file ../shared/data/msra_ner/ernie/test.tsv

The rule this informs (issue 15): bf16 becomes the default only where the F1 change is at most
0.1 point and agreement at least 99.5%.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from paddle_ner.data import read_corpus
from paddle_ner.errors import UsageError
from paddle_ner.integrity import sha256
from paddle_ner.metrics import entity_prf
from paddle_ner.predictor import Predictor
from paddle_ner.provenance import has_bf16, report_header, write_report


def measure(run: Path, gold, batch_size: int) -> dict:
    if not (run / "export" / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "paddle_ner.export", str(run)], check=True)
    texts = [s.text for s in gold.sentences]
    out, tags, predictors = {}, {}, {}
    for precision in ("fp32", "bf16"):
        predictors[precision] = Predictor.from_run(run / "export", engine="inference", batch_size=batch_size,
                                                   precision=precision)
        tags[precision] = predictors[precision].tag(texts)  # a whole pass first: oneDNN JITs and plans per shape
    for precision in ("fp32", "bf16"):
        started = time.perf_counter()
        again = predictors[precision].tag(texts)
        seconds = time.perf_counter() - started
        assert again == tags[precision], f"{precision}: a second pass tagged differently"
        micro = entity_prf([s.tags for s in gold.sentences], tags[precision])
        out[precision] = {"micro_f1": micro["f1"], "precision": micro["precision"], "recall": micro["recall"],
                          "chars_per_s": gold.num_chars / seconds}
    same_chars = sum(a == b for x, y in zip(tags["fp32"], tags["bf16"]) for a, b in zip(x, y))
    out["tag_agreement"] = same_chars / gold.num_chars
    out["sentences_identical"] = sum(x == y for x, y in zip(tags["fp32"], tags["bf16"])) / len(gold)
    out["f1_change_points"] = 100 * (out["bf16"]["micro_f1"] - out["fp32"]["micro_f1"])
    out["speedup"] = out["bf16"]["chars_per_s"] / out["fp32"]["chars_per_s"]
    out["meets_default_rule"] = abs(out["f1_change_points"]) <= 0.1 and out["tag_agreement"] >= 0.995
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="trained run directories")
    p.add_argument("--file", type=Path, required=True, help="gold file to tag and score")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", type=Path, default=Path("results/bf16_accuracy.json"))
    args = p.parse_args(argv)
    if not has_bf16():
        print("this CPU reports neither amx_bf16 nor avx512_bf16: nothing to measure", file=sys.stderr)
        return 2
    gold = read_corpus(args.file)
    report = {**report_header("python benchmarks/bf16_accuracy.py " + " ".join(argv or sys.argv[1:])),
              "file": {"path": str(args.file), "sha256": sha256(args.file), "sentences": len(gold),
                       "chars": gold.num_chars}, "batch_size": args.batch_size, "runs": {}}
    for run in args.runs:
        info = json.loads((run / "run.json").read_text(encoding="utf-8"))
        try:
            row = measure(run, gold, args.batch_size)
        except UsageError as err:  # e.g. a Paddle build without oneDNN bf16 kernels
            print(err, file=sys.stderr)
            return 2
        row["run_command"] = info["command"]
        report["runs"][str(run)] = row
        print(f"{run}: F1 fp32 {100 * row['fp32']['micro_f1']:.2f} bf16 {100 * row['bf16']['micro_f1']:.2f} "
              f"(change {row['f1_change_points']:+.2f}), tag agreement {100 * row['tag_agreement']:.3f}%, "
              f"sentences identical {100 * row['sentences_identical']:.2f}%, chars/s fp32 "
              f"{row['fp32']['chars_per_s']:.0f} bf16 {row['bf16']['chars_per_s']:.0f} ({row['speedup']:.2f}x)")
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m paddle_ner.evaluate RUN_DIR --split dev|test``: re-score a trained model.

Reloads ``RUN_DIR/model`` and the run's data (its saved command line, or ``--data-dir`` /
``--file``), evaluates one split in both metric conventions and prints the report. On the
run's own data it reproduces the numbers in ``RUN_DIR/metrics.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import UsageError, exit_on_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--data-dir", help="read the run's dataset from this directory instead")
    parser.add_argument("--file", help="score this file instead of the run's split")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)

    from paddle_ner.predictor import find_model_dir
    from paddle_ner.runs import read_run

    model_dir = find_model_dir(args.run_dir)
    cfg, saved_argv, _ = read_run(args.run_dir)
    corpus = load_split(args, cfg, saved_argv)

    from paddle_ner.compat import use_cpu_cores
    from paddle_ner.metrics import format_report
    from paddle_ner.models import load_model
    from paddle_ner.models.registry import cpu_single_thread
    from paddle_ner.scoring import evaluate

    use_cpu_cores(cpu_single_thread(cfg.model.name))
    tagger, mapper, _, labels = load_model(model_dir)
    result = evaluate(tagger, mapper, labels, corpus, cfg)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.file or args.split}: {len(corpus)} sentences")
        print(format_report(result["micro"], result["batch_averaged"]))
    return 0


def load_split(args, cfg, saved_argv: List[str]):
    from paddle_ner.data import read_corpus
    from paddle_ner.runs import data_arguments, load_run_data

    if args.file:
        return read_corpus(args.file, format=cfg.data.format, scheme=cfg.data.scheme, strict=cfg.data.strict)
    run_args = data_arguments(saved_argv)
    if args.data_dir:
        run_args.data_dir = args.data_dir
    splits = load_run_data(run_args, cfg, splits=(args.split,))
    corpus = getattr(splits, args.split)
    if corpus is None:
        raise UsageError(f"the run's data has no {args.split} split; pass --file")
    return corpus


if __name__ == "__main__":
    sys.exit(main())

"""``python -m paddle_ner.evaluate RUN_DIR --split dev|test``: re-score a trained model.

Reloads ``RUN_DIR/model`` and the run's data (its saved command line, or ``--data-dir`` /
``--file``), evaluates one split in both metric conventions and prints the report. On the
run's own data it reproduces the numbers in ``RUN_DIR/metrics.json``.

``--engine inference`` scores the run's export (``RUN_DIR/export``, ``python -m
paddle_ner.export``) through ``paddle.inference`` instead, as it will be served: with
``--precision auto`` (the default there) in oneDNN's bf16 on a CPU with amx_bf16 or avx512_bf16
for the transformer encoders, as ``predict`` does; ``--precision fp32`` opts out. The report
names the engine and precision. Where the recipe truncates sentences (the paper recipe), the
batch-averaged view decodes ``[CLS]``/``[SEP]``, which the export does not return, so only the
corpus micro scores are given for an export.
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
    parser.add_argument("--engine", choices=["dynamic", "inference"], default="dynamic",
                        help="dynamic (default): the saved model, fp32; inference: the run's export through "
                             "paddle.inference")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="auto",
                        help="--engine inference on CPU: auto (default: bf16 for the transformer encoders on a CPU "
                             "with amx_bf16 or avx512_bf16, else fp32), fp32, or bf16")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)

    from paddle_ner.predictor import find_model_dir
    from paddle_ner.runs import read_run

    if args.precision == "bf16" and args.engine != "inference":
        raise UsageError(f"--precision {args.precision} applies to --engine inference only")
    model_dir = find_model_dir(args.run_dir, exported=args.engine == "inference")
    cfg, saved_argv, _ = read_run(args.run_dir)
    corpus = load_split(args, cfg, saved_argv)

    from paddle_ner.compat import use_cpu_cores
    from paddle_ner.metrics import format_report
    from paddle_ner.models import load_model
    from paddle_ner.models.registry import cpu_single_thread
    from paddle_ner.scoring import evaluate

    use_cpu_cores(cpu_single_thread(cfg.model.name))
    if args.engine == "inference":
        from paddle_ner.integrity import verify
        from paddle_ner.models import load_mapper
        from paddle_ner.predictor import InferenceEngine

        verify(model_dir, "export")
        mapper, _, labels = load_mapper(model_dir)
        engine = InferenceEngine(model_dir, precision=args.precision)
        result = evaluate(None, mapper, labels, corpus, cfg, engine=engine)
        precision = engine.precision  # after the first batch: a build without bf16 kernels fell back to fp32
    else:
        tagger, mapper, _, labels = load_model(model_dir)
        result = evaluate(tagger, mapper, labels, corpus, cfg)
        precision = "fp32"
    result["engine"] = {"name": args.engine, "precision": precision}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.file or args.split}: {len(corpus)} sentences, {args.engine} engine, {precision}")
        print(format_report(result["micro"], result["batch_averaged"]))
        if result["batch_averaged"] is None:
            print(result["batch_averaged_note"])
    return 0


def load_split(args, cfg, saved_argv: List[str]):
    from paddle_ner.data import read_corpus
    from paddle_ner.runs import data_arguments, load_run_data

    if args.file:
        return read_corpus(args.file, format=cfg.data.format, scheme=cfg.data.scheme, strict=cfg.data.strict,
                           overlaps=cfg.data.overlaps)
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

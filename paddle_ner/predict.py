"""``python -m paddle_ner.predict RUN_DIR (--text TEXT | --input FILE)``: tag raw text.

Prints one JSON object per input line::

    {"text": ..., "tags": [one per character], "entities": [{"type", "start", "end", "text"}]}

``start``/``end`` are character offsets into the line (``end`` exclusive), so
``text[start:end] == entity["text"]``. Empty lines give empty tags; lines longer than the
model's window are tagged through overlapping windows. ``--engine inference`` runs the
static graph written by ``python -m paddle_ner.export`` through ``paddle.inference``.
``--format html`` writes a standalone page instead, with the entities highlighted as the
server's page shows them (``paddle_ner/serve/render.py``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import DataError, UsageError, exit_on_error


def read_lines(path: str) -> List[str]:
    """Lines of a UTF-8 text file (``-`` = stdin), without their line endings."""
    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except UnicodeDecodeError as err:
        raise DataError(path, None, f"not UTF-8 ({err.reason} at byte {err.start})") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a training run, a saved model, or an export directory")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one text to tag")
    source.add_argument("--input", help="a UTF-8 file with one text per line (- for stdin)")
    parser.add_argument("--engine", choices=["dynamic", "inference"], default="dynamic")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="auto",
                        help="--engine inference on CPU: auto (default: oneDNN's bfloat16 pass for the "
                             "transformer encoders on a CPU with amx_bf16 or avx512_bf16, else fp32), fp32, or "
                             "bf16 (needs such a CPU)")
    parser.add_argument("--batch-size", type=int,
                        help="texts per model call (default: the fastest measured for the model: 16 for the "
                             "encoders and 64 for the BiGRU on CPU, 64 on GPU)")
    parser.add_argument("--format", choices=["jsonl", "html"], default="jsonl",
                        help="jsonl (default): one JSON object per text; html: a standalone page showing the "
                             "entities (python -m paddle_ner.predict RUN --input FILE --format html > out.html)")
    return parser


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)

    from paddle_ner.predictor import Predictor, write_jsonl

    texts = [args.text] if args.text is not None else read_lines(args.input)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    if args.precision == "bf16" and args.engine != "inference":
        raise UsageError(f"--precision {args.precision} applies to --engine inference only")
    predictor = Predictor.from_run(args.run_dir, engine=args.engine, batch_size=args.batch_size,
                                   precision=args.precision)
    results = predictor(texts)
    if args.format == "html":
        from paddle_ner.serve.render import render_page

        sys.stdout.write(render_page(results, predictor.labels, subtitle=f"{args.run_dir}, {args.engine} engine"))
    else:
        write_jsonl(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

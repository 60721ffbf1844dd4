"""``python -m paddle_ner.predict RUN_DIR (--text TEXT | --input FILE [--output FILE])``: tag raw text.

Prints (or writes to ``--output``) one JSON object per input line::

    {"text": ..., "tags": [one per character], "entities": [{"type", "start", "end", "text"}]}

``start``/``end`` are character offsets into the line (``end`` exclusive), so
``text[start:end] == entity["text"]``. Empty lines give empty tags; lines longer than the
model's window are tagged through overlapping windows. A line that is not UTF-8 gives
``{"line": N, "error": ...}`` (``--strict`` stops instead).

The input is streamed in chunks (``paddle_ner.streaming``): memory does not grow with the file,
records are written as each chunk is done, and with ``--output`` a killed job continues with
``--resume``. The engine is the fastest measured for the model (``--engine auto``: the export
through paddle.inference for the transformer encoders on CPU, made once into ``RUN_DIR/export``;
dygraph for the BiGRU). ``--format html`` writes a standalone page instead, with the entities
highlighted as the server's page shows them (``paddle_ner/serve/render.py``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import DataError, UsageError, exit_on_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a training run, a saved model, or an export directory")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one text to tag")
    source.add_argument("--input", help="a UTF-8 file with one text per line (- for stdin)")
    parser.add_argument("--output", help="write the records to this file instead of stdout (needed by --resume)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted --output job after its last complete chunk (the input's "
                             "consumed part must be unchanged)")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first line that is not UTF-8 (exit 2) instead of writing an error record")
    parser.add_argument("--progress", action="store_true",
                        help="show the progress bar on stderr even when it is not a terminal")
    parser.add_argument("--workers", type=int, default=1,
                        help="--input: tag in this many processes, each with its share of the CPU cores; the "
                             "output is the same, in input order (default 1)")
    parser.add_argument("--engine", choices=["auto", "dynamic", "inference"], default="auto",
                        help="auto (default): the fastest measured for the model and device (paddle.inference "
                             "for the transformer encoders on CPU, exporting the run once into RUN_DIR/export; "
                             "dygraph for the BiGRU); dynamic or inference force one")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="auto",
                        help="the inference engine on CPU: auto (default: oneDNN's bfloat16 pass for the "
                             "transformer encoders on a CPU with amx_bf16 or avx512_bf16, else fp32), fp32, or "
                             "bf16 (needs such a CPU)")
    parser.add_argument("--batch-size", type=int,
                        help="texts per model call (default: the fastest measured for the model: 16 for the "
                             "encoders and 64 for the BiGRU on CPU, 64 on GPU)")
    parser.add_argument("--format", choices=["jsonl", "html"], default="jsonl",
                        help="jsonl (default): one JSON object per text; html: a standalone page showing the "
                             "entities (python -m paddle_ner.predict RUN --input FILE --format html > out.html; "
                             "reads the whole input)")
    return parser


def check_args(args) -> None:
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be at least 1")
    if args.workers > 1 and (args.input is None or args.format != "jsonl"):
        raise UsageError("--workers applies to --input with the jsonl format")
    if args.resume and (not args.output or args.input in (None, "-")):
        raise UsageError("--resume needs --input FILE and --output FILE (the job to continue)")
    if args.format == "html" and (args.output or args.resume):
        raise UsageError("--format html writes one page to stdout; --output and --resume are for jsonl")
    if args.input not in (None, "-") and not Path(args.input).is_file():
        raise DataError(args.input, None, "no such file")


def tag_stream(tag_chunks, args) -> None:
    """Tag ``args.input`` chunk by chunk into ``args.output`` (or stdout); see paddle_ner.streaming.
    ``tag_chunks(chunks)`` yields ``(chunk, records of its UTF-8 lines)`` in input order."""
    from tqdm.auto import tqdm

    from paddle_ner.streaming import Progress, read_chunks, sync

    path = "<stdin>" if args.input == "-" else args.input
    progress = Progress(Path(args.output), path) if args.output else None
    if progress is not None and not args.resume and progress.exists():
        raise UsageError(f"{args.output} holds an interrupted job ({progress.path.name}); continue it with --resume, "
                         f"or delete both files to start again")
    with contextlib.ExitStack() as stack:
        source = sys.stdin.buffer if args.input == "-" else stack.enter_context(open(args.input, "rb"))
        start = progress.resume(source) if args.resume else {"lines": 0, "input_bytes": 0, "digest": None}
        out = (stack.enter_context(open(args.output, "a" if args.resume else "w", encoding="utf-8"))
               if args.output else sys.stdout)
        size = None if args.input == "-" else Path(args.input).stat().st_size
        bar = stack.enter_context(tqdm(total=size, initial=start["input_bytes"], unit="B", unit_scale=True,
                                       desc="predict", file=sys.stderr, dynamic_ncols=True,
                                       disable=not (args.progress or sys.stderr.isatty())))
        done, chars = start["lines"], 0
        chunks = read_chunks(source, path, args.strict, start["lines"] + 1, start["input_bytes"], start["digest"])
        for chunk, records in tag_chunks(chunks):
            good = [line for line in chunk.lines if line.text is not None]
            tagged = iter(records)
            for line in chunk.lines:
                record = next(tagged) if line.text is not None else {"line": line.number, "error": line.error}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            sync(out)
            done += len(chunk.lines)
            chars += sum(len(line.text) for line in good)
            if progress is not None:
                progress.save(chunk, done)
            bar.set_postfix(lines=done, chars_per_s=f"{chars / max(bar.format_dict['elapsed'], 1e-9):.0f}",
                            refresh=False)
            bar.update(chunk.end_offset - bar.n)
    if progress is not None:
        progress.finish()


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)
    check_args(args)
    from paddle_ner.predictor import Predictor, resolve_engine, write_jsonl

    engine, model_dir = resolve_engine(args.run_dir, args.engine)
    if args.precision == "bf16" and engine != "inference":
        raise UsageError(f"--precision {args.precision} applies to the inference engine only (this model is "
                         f"tagged by the dynamic engine; add --engine inference)")
    if args.workers > 1:
        from paddle_ner.workers import WorkerPool

        with WorkerPool(args.workers, model_dir, engine, args.batch_size, precision=args.precision) as pool:
            tag_stream(pool.tag, args)
        return 0
    predictor = Predictor.load(model_dir, engine, args.batch_size, precision=args.precision)
    if args.format == "html":
        from paddle_ner.serve.render import render_page

        if args.text is not None:
            texts = [args.text]
        else:
            with (open(args.input, encoding="utf-8", errors="replace") if args.input != "-" else sys.stdin) as f:
                texts = f.read().split("\n")
            texts = texts[:-1] if texts and texts[-1] == "" else texts
        results = predictor(texts)
        sys.stdout.write(render_page(results, predictor.labels,
                                     subtitle=f"{args.run_dir}, {predictor.engine.name} engine"))
    elif args.text is not None:
        write_jsonl(predictor([args.text]), sys.stdout)
    else:
        tag_stream(lambda chunks: ((chunk, predictor([line.text for line in chunk.lines if line.text is not None]))
                                   for chunk in chunks), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

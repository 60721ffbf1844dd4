"""``python -m paddle_ner.export RUN_DIR [--out DIR]``: a static-graph inference model.

Writes ``DIR/inference/model.*`` (``paddle.jit.save``: encoder + FC + CRF decoding, inputs
``input_ids`` [B, L] and ``lengths`` [B], outputs scores [B] and paths [B, T]) beside the label
vocabulary and tokenizer files, so ``DIR`` is all a deployment needs (``paddle_ner.exporting``).
Predict with ``python -m paddle_ner.predict DIR``. ``predict`` and ``serve`` export a run into
``RUN_DIR/export`` by themselves where paddle.inference is the faster engine; this command is
for another ``--out`` or an export made ahead of time.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import exit_on_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a training run directory (or a saved model directory)")
    parser.add_argument("--out", type=Path, help="where to write the inference model (default RUN_DIR/export)")
    return parser


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)
    from paddle_ner.exporting import export_model
    from paddle_ner.predictor import find_model_dir

    model_dir = find_model_dir(args.run_dir)
    out = export_model(model_dir, args.out or args.run_dir / "export")
    print(f"exported {model_dir} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m paddle_ner.export RUN_DIR [--out DIR]``: a static-graph inference model.

Writes ``DIR/inference/model.*`` (``paddle.jit.save``: encoder + FC + CRF decoding, inputs
``input_ids`` [B, L] and ``lengths`` [B], outputs scores [B] and paths [B, T]) beside the label
vocabulary and tokenizer files, so ``DIR`` is all a deployment needs. Predict with
``python -m paddle_ner.predict DIR --engine inference``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import UsageError, exit_on_error


def export_model(model_dir: Path, out: Path) -> Path:
    """Export the saved model in ``model_dir`` into ``out``; returns ``out``."""
    import paddle

    from paddle_ner.compat import to_static
    from paddle_ner.integrity import write_dir, write_manifest
    from paddle_ner.models import BASELINE, load_model, save_metadata

    if out.exists() and any(out.iterdir()) and not (out / "inference").is_dir():
        raise UsageError(f"{out}: exists and is not an export directory; pick a new or empty --out "
                         f"(an export replaces the whole directory)")
    tagger, mapper, cfg, labels = load_model(model_dir)
    spec = [paddle.static.InputSpec([None, None] + list(mapper.input_shape), "int64", "input_ids"),
            paddle.static.InputSpec([None], "int64", "lengths")]

    def write(tmp: Path) -> None:  # whole and sealed, or not at all (integrity.write_dir)
        save_metadata(tmp, mapper, cfg, labels)
        if cfg.name != BASELINE:
            tagger.encoder.model.config.save_pretrained(str(tmp / "encoder"))
        paddle.jit.save(to_static(tagger, spec), str(tmp / "inference" / "model"))
        write_manifest(tmp, "export", model=cfg.name, labels=list(labels))

    write_dir(out, write)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a training run directory (or a saved model directory)")
    parser.add_argument("--out", type=Path, help="where to write the inference model (default RUN_DIR/export)")
    return parser


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)
    from paddle_ner.predictor import find_model_dir

    model_dir = find_model_dir(args.run_dir)
    out = export_model(model_dir, args.out or args.run_dir / "export")
    print(f"exported {model_dir} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Download the paper's four checkpoints into one folder per model key, for offline machines.

    python -m paddle_ner.models.download DIR [--models bert ernie ernie_tiny roberta]

Run it where Baidu's servers are reachable, copy DIR to the machine that trains, then
``make reproduce PRETRAINED_DIR=DIR`` (or ``python -m paddle_ner.train --model ernie --set
model.pretrained=DIR/ernie``). Each folder holds the weights, config and vocabulary exactly as
``save_pretrained`` writes them, and is loaded back (with the strict key check) before the
command reports success.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import exit_on_error
from paddle_ner.models.checkpoints import load_pretrained_model, load_tokenizer
from paddle_ner.models.registry import PRETRAINED


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m paddle_ner.models.download", description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="folder to fill: OUT/<model key>/ per checkpoint")
    p.add_argument("--models", nargs="+", default=list(PRETRAINED), choices=sorted(PRETRAINED))
    return p


def download(key: str, out: Path) -> Path:
    """Fetch ``--model key``'s checkpoint and tokenizer into ``out/key`` and load them back."""
    target = out / key
    target.mkdir(parents=True, exist_ok=True)
    load_tokenizer(key).save_pretrained(str(target))
    load_pretrained_model(key).save_pretrained(str(target))
    load_tokenizer(key, str(target))
    load_pretrained_model(key, str(target))
    return target


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)
    for i, key in enumerate(args.models, 1):
        print(f"[{i}/{len(args.models)}] {key}: {PRETRAINED[key].checkpoint}", flush=True)
        print(f"  saved to {download(key, args.out)}", flush=True)
    print(f"done; on the training machine: make reproduce PRETRAINED_DIR={args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

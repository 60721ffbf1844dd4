"""Run directories and the data flags they were trained with, shared by the CLIs.

``train`` defines its data flags through :func:`add_data_arguments` and loads its splits with
:func:`load_run_data`; ``evaluate`` re-reads a finished run (:func:`read_run`) and loads its
data from the saved command line the same way, without importing another entry point.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Sequence, Tuple

from paddle_ner.errors import UsageError


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose a run's data (``train``'s; ``evaluate`` re-parses them)."""
    from paddle_ner.data import DATASETS

    parser.add_argument("--dataset", choices=sorted(DATASETS),
                        help="named dataset (default: the config's data.dataset, msra)")
    parser.add_argument("--data-dir", help="directory holding the dataset's files, instead of downloading them")
    parser.add_argument("--train", help="custom training file (replaces the named dataset)")
    parser.add_argument("--dev", help="custom dev file")
    parser.add_argument("--test", help="custom test file")
    parser.add_argument("--cache-dir", help="download cache (default $PADDLE_NER_CACHE or ~/.cache/paddle_ner)")


def data_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The data flags of a saved command line (other flags are ignored)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_data_arguments(parser)
    return parser.parse_known_args(list(argv))[0]


def load_run_data(args: argparse.Namespace, cfg, splits: Sequence[str] = ("train", "dev", "test")):
    """The splits named by ``args`` (data flags) and ``cfg.data``."""
    from paddle_ner.data import load_splits

    return load_splits(cfg.data.dataset, data_dir=args.data_dir, train=args.train, dev=args.dev, test=args.test,
                       cache_dir=args.cache_dir, strict=cfg.data.strict, splits=splits, format=cfg.data.format,
                       scheme=cfg.data.scheme)


def read_run(run_dir: Path) -> Tuple[object, List[str], dict]:
    """(resolved config, saved command line, run.json) of a training run directory; one line
    naming the file when one is missing or corrupt."""
    import yaml

    from paddle_ner.config import from_dict
    from paddle_ner.integrity import read_json

    run_json, config_yaml = run_dir / "run.json", run_dir / "config.yaml"
    if not run_json.is_file() or not config_yaml.is_file():
        raise UsageError(f"{run_dir}: not a training run directory (needs run.json and config.yaml)")
    try:
        cfg = from_dict(yaml.safe_load(config_yaml.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError, TypeError, AttributeError) as err:
        raise UsageError(f"{config_yaml}: corrupt ({type(err).__name__}); it is the run's resolved config, "
                         f"rewrite it or retrain") from None
    run = read_json(run_json)
    saved_argv = run.get("argv")
    if not isinstance(saved_argv, list):
        raise UsageError(f"{run_json}: corrupt, has no saved command line")
    return cfg, saved_argv, run

"""Run directories and the data flags they were trained with, shared by the CLIs.

``train`` defines its data flags through :func:`add_data_arguments` and loads its splits with
:func:`load_run_data`; ``evaluate`` re-reads a finished run (:func:`read_run`) and loads its
data from the saved command line the same way, without importing another entry point.

The rest is ``train``'s work on its run directory, checked in this order so that a run that
cannot finish fails before reading data or training: :func:`open_run_dir` (not over another
run, writable), :func:`resume_point` (the checkpoint ``--resume`` continues from),
:func:`check_labels` (a resumed run's labels), :func:`write_run_files` and :func:`record_init`
(what the run was started with), :func:`check_free_space`. Paddle is not imported here:
``train --help`` and ``evaluate`` load this module.
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import shutil
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import yaml

from paddle_ner import denormals
from paddle_ner.config import dump, from_dict
from paddle_ner.data import DATASETS, load_splits
from paddle_ner.errors import UsageError
from paddle_ner.integrity import read_json, recover, verify, write_text
from paddle_ner.mkl_dispatch import changed_since, in_force
from paddle_ner.provenance import device_name, git_commit, package_versions

logger = logging.getLogger("paddle_ner")  # train's own logger: these lines are part of its log


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose a run's data (``train``'s; ``evaluate`` re-parses them)."""
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
    return load_splits(cfg.data.dataset, data_dir=args.data_dir, train=args.train, dev=args.dev, test=args.test,
                       cache_dir=args.cache_dir, strict=cfg.data.strict, splits=splits, format=cfg.data.format,
                       scheme=cfg.data.scheme, overlaps=cfg.data.overlaps)


def read_run(run_dir: Path) -> Tuple[object, List[str], dict]:
    """(resolved config, saved command line, run.json) of a training run directory; one line
    naming the file when one is missing or corrupt."""
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


# ---------------------------------------------------------------------- a training run's directory

def default_run_dir(args: argparse.Namespace, cfg) -> Path:
    """``runs/<model>-<dataset, or custom with --train>-seed<seed>``, where no ``--output`` is given."""
    return Path("runs") / f"{cfg.model.name}-{args.train and 'custom' or cfg.data.dataset}-seed{args.seed}"


def open_run_dir(run_dir: Path, resume: bool, rank: int) -> None:
    """Refuse to start a new run where one already is; on rank 0, create ``run_dir`` and prove a
    file can be written there. Both before any data is read."""
    if not resume and ((run_dir / "checkpoint").exists() or (run_dir / "checkpoint.old").exists()):
        raise UsageError(f"{run_dir} already holds a run; continue it with --resume --output {run_dir}, "
                         f"or pick another --output")
    if rank == 0:
        check_writable(run_dir)


def check_writable(run_dir: Path) -> None:
    """Create ``run_dir`` and prove a file can be written there, before any data is read."""
    probe = run_dir / ".write-test"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"{run_dir}: cannot write the run directory ({err.strerror or err}); pick another "
                         f"--output") from None


def resume_point(run_dir: Path, rank: int, world_size: int) -> Tuple[Optional[Path], Optional[dict]]:
    """(checkpoint directory, its verified manifest) that ``--resume`` continues ``run_dir`` from;
    (None, None) when the run stopped before its first checkpoint, and starts again from step 0.
    Rank 0 first finishes a directory swap that a kill interrupted (the other ranks wait for it);
    a damaged checkpoint is refused here, before any data is read. Warns when MKL's dispatch
    changed since the run started, as the resumed steps then differ from an uninterrupted run."""
    if rank == 0:
        recover(run_dir / "model")
        recover(run_dir / "checkpoint")
    if world_size > 1:
        import paddle.distributed as dist  # here, not at the top: only a multi-process run needs Paddle

        dist.barrier()
    checkpoint = run_dir / "checkpoint" if (run_dir / "checkpoint").is_dir() else None
    changed = changed_since(read_json(run_dir / "run.json").get("mkl_dispatch"))
    if changed and rank == 0:
        logger.warning("%s", changed)
    if checkpoint is None:
        logger.warning("%s has no complete checkpoint (the run stopped before its first one); starting it "
                       "again from step 0", run_dir)
        return None, None
    return checkpoint, verify(checkpoint, "checkpoint")


def check_labels(run_dir: Path, labels: Sequence[str]) -> None:
    """Refuse to resume a run whose data now gives other ``labels`` than it was trained with: its
    CRF would decode them as the old ones."""
    path = run_dir / "labels.json"
    if path.is_file() and read_json(path).get("labels") != list(labels):
        raise UsageError(f"{path}: the run was trained with other labels than its data now gives "
                         f"({' '.join(labels)}); the data changed, start a new run")


def write_run_files(run_dir: Path, args, argv: List[str], cfg, labels, data_info: dict, device: str,
                    world_size: int) -> None:
    """``config.yaml`` (the resolved config), ``labels.json`` and ``run.json``: the command line
    ``--resume`` re-parses, and the versions, device, seed and data the run was started with."""
    write_text(run_dir / "config.yaml", dump(cfg))
    labels.save(run_dir / "labels.json")
    run = {
        "argv": argv,
        "command": "python -m paddle_ner.train " + " ".join(shlex.quote(a) for a in argv),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "device": device,
        "device_name": device_name(device),
        "world_size": world_size,
        "flush_denormals": device == "cpu" and denormals.supported() and denormals.wanted(),
        "mkl_dispatch": in_force(),
        "seed": args.seed,
        "recipe": args.recipe if args.config is None else f"custom ({args.config})",
        "data": data_info,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_text(run_dir / "run.json", json.dumps(run, indent=2, ensure_ascii=False, default=str))


def record_init(run_dir: Path, record: dict) -> None:
    """Add where the initial weights came from (``model.init_from``: files, SHA-256, coverage)
    to ``run.json``, which is written before the model is built."""
    run = read_json(run_dir / "run.json")
    run["init_from"] = record
    write_text(run_dir / "run.json", json.dumps(run, indent=2, ensure_ascii=False, default=str))


def check_free_space(run_dir: Path, num_params: int) -> None:
    """Refuse to start when the disk cannot hold what the run will write: at the moment a new
    checkpoint (weights + two Adam moments) is swapped in, the old one still exists, and the best
    model sits beside them: about 7 float32 copies of the weights, plus 10 %."""
    need = int(7 * 4 * num_params * 1.1) + (50 << 20)
    free = shutil.disk_usage(run_dir).free
    if free < need:
        raise UsageError(f"{run_dir}: {free / 2**30:.2f} GiB free, but checkpoints and the best model of this "
                         f"model need about {need / 2**30:.2f} GiB; free some space or pick another --output")

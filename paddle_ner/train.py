"""``python -m paddle_ner.train --model ernie``: train one of the paper's systems.

Reads ``configs/<model>.yaml`` (the paper's settings), applies ``--set section.key=value``,
loads the dataset (default ``msra``, the paper's split), trains with dev evaluation and keeps
the best model by dev F1, then reports dev and test once with that model, in both metric
conventions. Everything lands in the run directory (``--output``):

    config.yaml  run.json  labels.json  train.log  metrics.json  curves.png
    model/        the best model: all that prediction and export need
    checkpoint/   the latest resumable state (--resume)
    vdl/          VisualDL scalars, when visualdl is installed

Runs unchanged under ``python -m paddle.distributed.launch``: data-parallel over the devices,
each rank training on its own share of the length-bucketed batches; only rank 0 writes.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import UsageError, exit_on_error
from paddle_ner.integrity import read_json, write_text
from paddle_ner.runs import (add_data_arguments, check_free_space, check_labels, default_run_dir, load_run_data,
                             open_run_dir, record_init, resume_point, write_run_files)

logger = logging.getLogger("paddle_ner")

DEFAULT_MODEL = "ernie"


def build_parser() -> argparse.ArgumentParser:
    from paddle_ner.config import RECIPES
    from paddle_ner.models.registry import MODEL_KEYS

    p = argparse.ArgumentParser(prog="python -m paddle_ner.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODEL_KEYS, help=f"system to train (default: the config's, else {DEFAULT_MODEL})")
    add_data_arguments(p)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="ours",
                   help="ours (default: configs/<model>.yaml) or paper (configs/paper/<model>.yaml: PaddleHub "
                        "1.x exactly, as the paper ran it)")
    p.add_argument("--config", type=Path, help="YAML config (default: the recipe's configs/[paper/]<model>.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=3e-5 (repeatable)")
    p.add_argument("--output", type=Path, help="run directory (default runs/<model>-<dataset>-seed<seed>)")
    p.add_argument("--seed", type=int, default=1, help="seed of initialisation, dropout and batch order (default 1)")
    p.add_argument("--device", choices=["cpu", "gpu"], help="default: gpu when Paddle has CUDA and sees a GPU")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (quick runs)")
    p.add_argument("--max-train-samples", type=int, help="train on the first N training sentences only")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --output with its saved command line")
    return p


def setup_logging(run_dir: Optional[Path], rank: int) -> None:
    """INFO to the console (through tqdm, so progress bars stay intact) and to train.log."""
    from tqdm.auto import tqdm

    class TqdmHandler(logging.Handler):
        def emit(self, record):
            tqdm.write(self.format(record), file=sys.stderr)

    root = logging.getLogger("paddle_ner")
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.propagate = False
    if rank != 0:
        root.addHandler(logging.NullHandler())
        return
    console = TqdmHandler()
    console.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(console)
    if run_dir is not None:
        file_handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(file_handler)


def pick_device(requested: Optional[str]) -> str:
    import paddle

    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if requested == "gpu" and not has_gpu:
        raise UsageError("--device gpu: this Paddle build has no CUDA or sees no GPU "
                         "(install the gpu profile: make install PROFILE=gpu)")
    return requested or ("gpu" if has_gpu else "cpu")


def resolve_args(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parse ``argv``; with ``--resume``, the run's saved command line (plus --device)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.resume:
        return args
    if args.output is None:
        raise UsageError("--resume needs --output RUN_DIR, the run to continue")
    run_json = args.output / "run.json"
    if not run_json.is_file():
        raise UsageError(f"{args.output}: no run to resume (no run.json)")
    try:
        saved = parser.parse_args(read_json(run_json)["argv"])
    except (KeyError, TypeError, SystemExit):
        raise UsageError(f"{run_json}: corrupt, has no valid saved command line") from None
    defaults = vars(parser.parse_args([]))
    given = [k for k, v in vars(args).items() if v != defaults[k] and k not in ("output", "resume", "device")]
    if given:
        raise UsageError(f"--resume reuses the run's saved command line; drop {', '.join('--' + k for k in given)}")
    saved.resume, saved.output, saved.device = True, args.output, args.device or saved.device
    return saved


def load_run_config(args):
    from paddle_ner.config import load_config, model_config_path
    from paddle_ner.models.registry import check_model_key

    model = args.model
    path = args.config
    if path is None:
        path = model_config_path(model or DEFAULT_MODEL, args.recipe)
    cfg = load_config(path, args.set)
    if model is not None:
        cfg.model.name = model
    elif args.config is None:
        cfg.model.name = DEFAULT_MODEL
    check_model_key(cfg.model.name)
    if args.dataset:
        cfg.data.dataset = args.dataset
    return cfg


def visualdl_writer(run_dir: Path):
    try:
        from visualdl import LogWriter
    except ImportError:
        return None
    return LogWriter(logdir=str(run_dir / "vdl"))


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = resolve_args(argv)
    device, rank, world_size = set_up_device(args.device)
    cfg = load_run_config(args)
    set_up_model(cfg, device, world_size)
    run_dir = args.output or default_run_dir(args, cfg)
    open_run_dir(run_dir, args.resume, rank)
    setup_logging(run_dir if rank == 0 else None, rank)
    resume_from, manifest = resume_point(run_dir, rank, world_size) if args.resume else (None, None)

    splits, labels = load_data(args, cfg)
    if args.resume:
        check_labels(run_dir, labels.labels)
    elif rank == 0:
        write_run_files(run_dir, args, argv, cfg, labels, splits.info, device, world_size)
    trainer = build_trainer(args, cfg, run_dir, splits, labels.labels, device, rank, world_size)
    if resume_from is not None:
        trainer.load_checkpoint(resume_from, manifest)
        logger.info("resumed at step %d (epoch %d, batch %d)", trainer.state.global_step, trainer.state.epoch,
                    trainer.state.batch_in_epoch)
    logger.info("model %s (%s parameters), %d training windows, %d steps (%d per epoch), batch padding %.1f%%, "
                "device %s", cfg.model.name, f"{sum(int(p.size) for p in trainer.tagger.parameters()):,}",
                len(trainer.examples), trainer.total_steps, trainer.steps_per_epoch, 100 * trainer.padding_waste(),
                device)
    try:
        state = trainer.fit()
    finally:
        if trainer.writer is not None:
            trainer.writer.close()
    if not state.finished:
        return 130
    if rank == 0:
        report(trainer, args, splits)
    return 0


def set_up_device(requested: Optional[str]) -> Tuple[str, int, int]:
    """(device, rank, world size): Paddle on ``requested`` (see :func:`pick_device`), in the
    data-parallel group when ``paddle.distributed.launch`` started several processes."""
    import paddle
    import paddle.distributed as dist

    device = pick_device(requested)
    paddle.set_device(device)
    world_size = dist.get_world_size()
    if world_size > 1:
        dist.init_parallel_env()
    return device, dist.get_rank(), world_size


def set_up_model(cfg, device: str, world_size: int) -> None:
    """Refuse a model LAC cannot fill (``model.init_from``) before any data is read, and give
    the model its CPU math threads (``compat.use_cpu_cores``)."""
    if cfg.model.init_from is not None:
        from paddle_ner.models.lac import check_init_from

        check_init_from(cfg.model)
    if device == "cpu":
        from paddle_ner.compat import use_cpu_cores
        from paddle_ner.models.registry import cpu_single_thread

        use_cpu_cores(cpu_single_thread(cfg.model.name), world_size)


def load_data(args, cfg):
    """(splits, LabelVocab of all of them), the training split cut to ``--max-train-samples``."""
    from paddle_ner.data import LabelVocab

    splits = load_run_data(args, cfg)
    if args.max_train_samples is not None:
        splits.train.sentences = splits.train.sentences[:args.max_train_samples]
    labels = LabelVocab.from_corpora(*[c for _, c in splits.corpora()])
    logger.info("data: train %d / dev %d / test %s sentences; labels %s", len(splits.train), len(splits.dev),
                len(splits.test) if splits.test is not None else "none", " ".join(labels.labels))
    return splits, labels


def build_trainer(args, cfg, run_dir: Path, splits, labels: Sequence[str], device: str, rank: int,
                  world_size: int):
    """The model (seeded by ``--seed``), its training windows and the Trainer. Rank 0 records
    where initial weights came from in ``run.json`` and checks the disk can hold the checkpoints."""
    import paddle

    from paddle_ner.batching import make_examples
    from paddle_ner.models import build_model
    from paddle_ner.trainer import Trainer

    sentences = splits.train.sentences
    paddle.seed(args.seed)
    tagger, mapper = build_model(cfg.model, labels, train_chars=[s.chars for s in sentences])
    init_record = getattr(tagger.encoder, "init_record", None)
    if init_record is not None:
        logger.info("init_from %s: %s from %s %s; %d of %d vocabulary characters found", init_record["source"],
                    " + ".join(init_record["loaded"]), init_record["package"], init_record["version"],
                    init_record["coverage"]["found"], init_record["coverage"]["characters"])
        if rank == 0 and not args.resume:
            record_init(run_dir, init_record)
    index = {label: i for i, label in enumerate(labels)}
    examples = make_examples([s.chars for s in sentences], mapper, cfg.model.max_seq_len, cfg.model.window_overlap,
                             tags=[s.tags for s in sentences], label_index=index, what="training sentences",
                             truncate=cfg.model.long_sentences == "truncate")
    writer = visualdl_writer(run_dir) if rank == 0 else None
    trainer = Trainer(tagger, mapper, labels, cfg, run_dir, examples, splits.dev, seed=args.seed,
                      max_steps=args.max_steps, device=device, rank=rank, world_size=world_size, writer=writer)
    if rank == 0:
        check_free_space(run_dir, sum(int(p.size) for p in tagger.parameters()))
    return trainer


def report(trainer, args, splits) -> None:
    """Score the best model (``RUN_DIR/model``) on dev and test, and write ``metrics.json``
    and ``curves.png``."""
    from paddle_ner.metrics import format_report
    from paddle_ner.models import load_model
    from paddle_ner.scoring import evaluate
    from paddle_ner.trainer import plot_curves

    cfg, state, run_dir = trainer.cfg, trainer.state, trainer.run_dir
    best, best_mapper, _, _ = load_model(run_dir / "model")
    results = {"model": cfg.model.name, "dataset": cfg.data.dataset if args.train is None else "custom",
               "seed": args.seed, "best_step": state.best_step, "steps": state.global_step,
               "epochs": round(state.global_step / trainer.steps_per_epoch, 3),
               "train_seconds": round(state.train_seconds, 1), "device": trainer.device}
    for split in ("dev", "test"):
        corpus = getattr(splits, split)
        if corpus is None:
            results[split] = None
            continue
        results[split] = evaluate(best, best_mapper, trainer.labels, corpus, cfg)
        logger.info("\n%s (best model, step %d)\n%s", split, state.best_step,
                    format_report(results[split]["micro"], results[split]["batch_averaged"]))
    results["history"] = state.history
    write_text(run_dir / "metrics.json", json.dumps(results, indent=2))
    plot_curves(state.history, run_dir / "curves.png")
    logger.info("wrote %s", run_dir)


if __name__ == "__main__":
    raise SystemExit(main())

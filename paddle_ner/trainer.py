"""The training loop: optimiser and schedule, dev evaluation, best model by dev F1, exact resume.

One step = one batch (``train.batching``: length-bucketed, or PaddleHub's shuffled order):
forward through ``Tagger.forward(ids, lengths, labels)`` (the loss), backward, clip, optimiser
and scheduler step (paddle_ner/optim.py). The loss is read back from the device only every
``train.log_every`` steps, for the progress bar. Dev is evaluated every ``train.eval_every``
steps, after the last one, and at each epoch end when ``train.eval_at_epoch_end``; the best
model by ``train.select_by`` (strictly better) is written to ``RUN_DIR/model`` and a resumable
checkpoint to ``RUN_DIR/checkpoint``, each whole or not at all (checkpointing.py).

A loss that turns NaN/inf stops the run (RunError) before anything is evaluated or saved with
the broken weights, so the last checkpoint and best model stay the last good ones. The check
costs no extra device sync: the per-step losses of a logging window are summed lazily, and
the sum is read at each log and before each evaluation. Weights can also diverge to huge but
finite values while the loss (computed before the update) is still finite; their NaN/inf
emissions are caught by the dev evaluation, which reads the decoder's scores anyway
(``NonFiniteScores``), and stop the run the same way before anything is saved.
"""
from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, List, NoReturn, Optional, Sequence

import paddle
from tqdm.auto import tqdm

from paddle_ner import checkpointing
from paddle_ner.batching import Example, bucket_batches, collate, padding_waste, shard, shuffled_batches
from paddle_ner.checkpointing import TrainState
from paddle_ner.config import Config
from paddle_ner.crf import SCORE_LIMIT
from paddle_ner.errors import NonFiniteScores, RunError
from paddle_ner.optim import build_optimizer
from paddle_ner.scoring import evaluate_in_training

logger = logging.getLogger(__name__)

# train.select_by -> (convention, metric) of the dev result that selects the best model.
SELECT_BY = {"micro_f1": ("micro", "f1"), "batch_averaged_f1": ("batch_averaged", "f1")}


class Trainer:
    """Trains ``tagger`` on ``train_examples`` (windows of ``mapper``'s ids), selecting on ``dev``
    (a Corpus) by ``train.select_by`` and writing into ``run_dir``. ``seed`` fixes batch order and
    dropout; ``max_steps`` caps ``train.epochs``; ``writer``: a VisualDL LogWriter, or None.

    Only rank 0 writes files; every rank evaluates dev (identical results) so that all ranks
    agree on the best step without a collective.
    """

    def __init__(self, tagger, mapper, labels: Sequence[str], cfg: Config, run_dir: Path,
                 train_examples: Sequence[Example], dev, seed: int, max_steps: Optional[int] = None,
                 device: str = "cpu", rank: int = 0, world_size: int = 1, writer=None):
        self.tagger, self.mapper, self.labels, self.cfg = tagger, mapper, list(labels), cfg
        self.run_dir, self.examples, self.dev, self.seed = Path(run_dir), list(train_examples), dev, seed
        self.rank, self.world_size, self.device, self.writer = rank, world_size, device, writer
        self.model = paddle.DataParallel(tagger) if world_size > 1 else tagger
        self.sizes = [len(e.ids) for e in self.examples]
        steps_per_epoch = len(self._batches(0))
        self.total_steps = cfg.train.epochs * steps_per_epoch
        if max_steps is not None:
            self.total_steps = min(self.total_steps, max_steps)
        if self.total_steps < 1:
            raise ValueError(f"nothing to train: {len(self.examples)} examples make {steps_per_epoch} batches per "
                             f"rank for {world_size} rank(s)")
        self.steps_per_epoch = steps_per_epoch
        self.optimizer, self.scheduler = build_optimizer(tagger, cfg, self.schedule_steps())
        self.amp = cfg.train.amp and device == "gpu"
        self.scaler = paddle.amp.GradScaler(init_loss_scaling=2.0 ** 15) if self.amp else None
        self.divergence = DivergenceCheck(tagger, self.run_dir, cfg, self.amp)
        self.state = TrainState()
        self._stop_signal: Optional[int] = None
        if self.labels == ["O"]:
            # Trains and predicts fine (a one-tag CRF), but usually means misread data.
            logger.warning("the data has no entities (labels: O only): the model will tag every character O and "
                           "entity P/R/F1 will be 0; if the files do have entities, check --format and "
                           "--set data.scheme=...")

    def schedule_steps(self) -> int:
        """The steps the learning-rate schedule spans (``train.schedule_steps``)."""
        train = self.cfg.train
        if train.schedule_steps == "examples":  # PaddleHub's max_train_steps (per rank)
            return max(1, train.epochs * len(self.examples) // (train.batch_size * self.world_size))
        return self.total_steps

    def _batches(self, epoch: int) -> List[List[int]]:
        """This rank's batches of ``epoch`` (example indices), a function of (seed, epoch)."""
        train = self.cfg.train
        if train.batching == "shuffle":
            batches = shuffled_batches(len(self.sizes), train.batch_size, seed=self.seed, epoch=epoch)
        else:
            batches = bucket_batches(self.sizes, train.batch_size, shuffle=True, seed=self.seed, epoch=epoch,
                                     pool=train.bucket_pool)
        return shard(batches, self.rank, self.world_size)

    def padding_waste(self) -> float:
        return padding_waste(self._batches(0), self.sizes)

    # ------------------------------------------------------------------ saving (rank 0 only)

    def save_checkpoint(self) -> None:
        if self.rank == 0:
            checkpointing.save_checkpoint(self.run_dir, self.tagger, self.optimizer, self.scaler, self.state,
                                          self.cfg.model.name, self.labels)

    def load_checkpoint(self, directory: Path, manifest: Optional[dict] = None) -> None:
        """Continue from the checkpoint in ``directory`` (see ``checkpointing.load_checkpoint``)."""
        self.state = checkpointing.load_checkpoint(directory, self.tagger, self.optimizer, self.scaler,
                                                   self.cfg.model.name, self.labels, manifest)

    def _save_best(self) -> None:
        if self.rank == 0:
            checkpointing.save_best(self.run_dir, self.tagger, self.mapper, self.cfg.model, self.labels,
                                    self.state.global_step)

    # ------------------------------------------------------------------ evaluation

    def evaluate_dev(self) -> float:
        step = self.state.global_step
        self.tagger.eval()
        try:
            result = evaluate_in_training(self.tagger, self.mapper, self.labels, self.dev, self.cfg, self.device,
                                          self.world_size)
        except NonFiniteScores:
            self.divergence.scores_not_finite(step)
        self.tagger.train()
        convention, metric = SELECT_BY[self.cfg.train.select_by]
        f1 = result[convention][metric]
        self.state.history.append(dev_record(step, result))
        improved = f1 > self.state.best_f1  # strictly: a tie keeps the earlier model, as PaddleHub did
        if improved:
            self.state.best_f1, self.state.best_step = f1, step
            self._save_best()
        logger.info("step %d: dev P/R/F1 %.2f/%.2f/%.2f (batch-averaged F1 %.2f)%s", step,
                    100 * result["micro"]["precision"], 100 * result["micro"]["recall"], 100 * result["micro"]["f1"],
                    100 * result["batch_averaged"]["f1"],
                    f", best so far by {self.cfg.train.select_by}: saved" if improved else "")
        self._scalar("dev/f1", f1, step)
        return f1

    def _scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag=tag, value=value, step=step)

    # ------------------------------------------------------------------ the loop

    def _should_stop(self) -> bool:
        """True once SIGINT/SIGTERM arrived: the loop then checkpoints and returns."""
        return self._stop_signal is not None

    def _on_signal(self, signum, frame):
        if self._stop_signal is not None:  # second Ctrl-C: give up at once
            raise KeyboardInterrupt
        self._stop_signal = signum
        logger.warning("signal %d: finishing this step, then saving a checkpoint (Ctrl-C again to abort)", signum)

    def _step(self, ids, lengths, labels):
        """One optimiser step on ids [B, L] (or [B, L, C]), lengths [B], labels [B, T]; returns the
        batch's loss (0-d, still on the device)."""
        # Dropout draws from a generator reseeded from (seed, step, rank) before every step, so
        # a resumed run draws exactly what the uninterrupted one did. Saving the generator state
        # instead does not work on Paddle 2.6, whose GeneratorState pickles only the seed.
        paddle.seed((self.seed * 1_000_003 + self.state.global_step * 1_009 + self.rank) % (2 ** 31))
        if self.amp:
            with paddle.amp.auto_cast(level="O1"):
                loss = self.model(ids, lengths, labels)
            scaled = self.scaler.scale(loss)
            scaled.backward()
            self.scaler.minimize(self.optimizer, scaled)
        else:
            loss = self.model(ids, lengths, labels)
            loss.backward()
            self.optimizer.step()
        self.optimizer.clear_grad()
        self.scheduler.step()
        return loss.detach()

    def fit(self) -> TrainState:
        """Train until ``total_steps``; returns the final state (``finished`` False when stopped
        by a signal, after writing a checkpoint to resume from)."""
        with stop_signals(self._on_signal):
            bar = tqdm(total=self.total_steps, initial=self.state.global_step, disable=self.rank != 0,
                       dynamic_ncols=True, unit="step", desc="train")
            self.tagger.train()
            started = time.time() - self.state.train_seconds
            window = LogWindow()
            try:
                while self.state.global_step < self.total_steps and not self._should_stop():
                    self._run_epoch(bar, window, started)
                self.state.train_seconds = time.time() - started
                self.state.finished = self.state.global_step >= self.total_steps
                if not self.state.finished:
                    self._save_on_stop(window)
            finally:
                bar.close()
        return self.state

    def _run_epoch(self, bar, window: LogWindow, started: float) -> None:
        """Train epoch ``state.epoch`` from batch ``state.batch_in_epoch`` on, logging, evaluating
        and checkpointing on schedule; returns at its end, after the last step, or on a stop signal.
        ``window``: the losses and tokens since the last log, which may span epochs; ``started``:
        the wall-clock time training would have started at, had it never been interrupted."""
        cfg = self.cfg.train
        batches = self._batches(self.state.epoch)
        for b in range(self.state.batch_in_epoch, len(batches)):
            ids, lengths, labels = collate([self.examples[i] for i in batches[b]], self.mapper.pad_id)
            loss = self._step(paddle.to_tensor(ids), paddle.to_tensor(lengths), paddle.to_tensor(labels))
            self.state.global_step += 1
            self.state.batch_in_epoch = b + 1
            window.add(loss, int(lengths.sum()))
            step = self.state.global_step
            bar.update(1)
            end_of_epoch = b + 1 == len(batches)
            last = step == self.total_steps
            log_now = step % cfg.log_every == 0 or last
            evaluate_now = ((cfg.eval_every and step % cfg.eval_every == 0)
                            or (end_of_epoch and cfg.eval_at_epoch_end) or last)
            if log_now or evaluate_now:
                # the one device sync per window; also the NaN/inf check, before any save
                mean_loss = self.divergence.finite_mean(window.losses, step)
            if log_now:
                self._log(bar, step, mean_loss, window)
            if end_of_epoch:
                self.state.epoch += 1
                self.state.batch_in_epoch = 0
            if evaluate_now:
                self.divergence.check_weights(step)
                self.state.train_seconds = time.time() - started
                self.evaluate_dev()
                self.save_checkpoint()
            if last or self._should_stop():
                return

    def _log(self, bar, step: int, mean_loss: float, window: LogWindow) -> None:
        """Report the window's mean loss, learning rate and tokens/s, then start a new window."""
        lr = self.optimizer.get_lr()
        rate = window.tokens / max(1e-9, time.time() - window.start)
        bar.set_postfix(loss=f"{mean_loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{rate:.0f}")
        self.state.history.append({"step": step, "loss": mean_loss, "lr": lr, "tokens_per_s": rate})
        self._scalar("train/loss", mean_loss, step)
        self._scalar("train/lr", lr, step)
        window.reset()

    def _save_on_stop(self, window: LogWindow) -> None:
        """Checkpoint a run stopped by a signal, once its weights are known to be finite."""
        if window.losses:  # never checkpoint weights a NaN step produced
            self.divergence.finite_mean(window.losses, self.state.global_step)
        self.divergence.check_weights(self.state.global_step)
        self.save_checkpoint()
        logger.warning("stopped at step %d of %d; checkpoint saved to %s, continue with --resume",
                       self.state.global_step, self.total_steps, self.run_dir / "checkpoint")


def dev_record(step: int, result: dict) -> dict:
    """The history entry of a dev evaluation (``scoring.evaluate``'s ``result``) at ``step``."""
    return {"step": step, "dev_f1": result["micro"]["f1"], "dev_precision": result["micro"]["precision"],
            "dev_recall": result["micro"]["recall"], "dev_f1_batch_averaged": result["batch_averaged"]["f1"],
            "dev_precision_batch_averaged": result["batch_averaged"]["precision"],
            "dev_recall_batch_averaged": result["batch_averaged"]["recall"]}


@contextlib.contextmanager
def stop_signals(handler: Callable) -> Iterator[None]:
    """Route SIGINT and SIGTERM to ``handler`` inside the block, then restore the previous
    handlers. Outside the main thread (e.g. a notebook worker) signals cannot be caught, and
    the block runs without."""
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class LogWindow:
    """The steps since the last log: their losses (0-d tensors, still on the device) and tokens."""

    losses: List = field(default_factory=list)
    tokens: int = 0
    start: float = field(default_factory=time.time)

    def add(self, loss, tokens: int) -> None:
        self.losses.append(loss)
        self.tokens += tokens

    def reset(self) -> None:
        self.losses, self.tokens, self.start = [], 0, time.time()


# ---------------------------------------------------------------------- divergence

class DivergenceCheck:
    """The NaN/inf checks of a run. Each failed one raises RunError naming the step and what
    diverged, says which checkpoint is kept, and hints at the settings to change.
    ``tagger``: the model whose weights are checked; ``run_dir``: where its checkpoint is."""

    def __init__(self, tagger, run_dir: Path, cfg: Config, amp: bool):
        self.tagger, self.run_dir, self.cfg, self.amp = tagger, run_dir, cfg, amp

    def finite_mean(self, losses: List, step: int) -> float:
        """Mean of a window's per-step losses (0-d tensors, the last of them ``step``'s),
        read in one device sync; RunError naming the first step whose loss was NaN or inf.
        Nothing has been saved from those steps, so the last checkpoint is good."""
        mean = float(paddle.add_n(losses)) / len(losses) if len(losses) > 1 else float(losses[0])
        if not math.isfinite(mean):
            values = [float(v) for v in losses]
            bad = next(i for i, v in enumerate(values) if not math.isfinite(v))
            self._stop(f"step {step - len(losses) + bad + 1}: training loss is {values[bad]}")
        return mean

    def check_weights(self, step: int) -> None:
        """RunError if any weight is NaN/inf. A step can overflow the weights while its own loss
        (computed before the update) was still finite; this catches it before a save."""
        flags = paddle.stack([paddle.isfinite(p).all() for p in self.tagger.parameters()])
        if not bool(flags.all()):
            bad = [n for (n, _), ok in zip(self.tagger.named_parameters(), flags.numpy()) if not ok]
            self._stop(f"step {step}: weights {', '.join(bad[:3])} became NaN/inf")

    def scores_not_finite(self, step: int) -> NoReturn:
        """RunError for a dev evaluation that met NaN, inf or out-of-range decoder scores."""
        self._stop(f"step {step}: the model's scores on dev are NaN, inf or beyond {SCORE_LIMIT:g} "
                   f"(largest |weight| {self.largest_weight():.3g}): training diverged")

    def largest_weight(self) -> float:
        """max |w| over all weights (NaN if one is NaN); read only when reporting a divergence."""
        return float(paddle.stack([paddle.abs(p).max().astype("float32") for p in self.tagger.parameters()]).max())

    def _stop(self, what: str) -> NoReturn:
        kept = self.run_dir / "checkpoint"
        kept_msg = (f"the last good checkpoint ({kept}, step {checkpointing.saved_step(self.run_dir)}) is kept"
                    if kept.exists() else "no checkpoint was written yet")
        hint = "lower train.lr (now %g)" % self.cfg.train.lr
        if self.cfg.train.max_grad_norm <= 0:
            hint += ", clip gradients (--set train.max_grad_norm=1.0)"
        if self.amp:
            hint += " or disable mixed precision (--set train.amp=false)"
        raise RunError(f"{what}; stopped, {kept_msg}. Try {hint}, and train again")


def plot_curves(history: Sequence[dict], path: Path) -> None:
    """PNG of training loss and dev F1 against step."""
    import matplotlib  # here, not at the top: the Agg backend must be chosen before pyplot loads, for plots only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss = [(h["step"], h["loss"]) for h in history if "loss" in h]
    dev = [(h["step"], 100 * h["dev_f1"]) for h in history if "dev_f1" in h]
    fig, ax_loss = plt.subplots(figsize=(7, 4))
    if loss:
        ax_loss.plot(*zip(*loss), color="tab:blue", label="train loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("train loss (mean NLL per sentence)", color="tab:blue")
    ax_f1 = ax_loss.twinx()
    if dev:
        ax_f1.plot(*zip(*dev), "o-", color="tab:red", label="dev F1")
    ax_f1.set_ylabel("dev entity F1 (%)", color="tab:red")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


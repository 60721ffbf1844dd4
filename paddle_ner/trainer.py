"""The training loop: optimiser and schedule, dev evaluation, best model by dev F1, exact resume.

One step = one batch (``train.batching``: length-bucketed, or PaddleHub's shuffled order):
forward through ``Tagger.forward(ids, lengths, labels)`` (the loss), backward, clip, optimiser
and scheduler step (paddle_ner/optim.py). The loss is read back from the device only every
``train.log_every`` steps, for the progress bar. Dev is evaluated every ``train.eval_every``
steps, after the last one, and at each epoch end when ``train.eval_at_epoch_end``; the best
model by ``train.select_by`` (strictly better) is written to ``RUN_DIR/model`` and a resumable
checkpoint to ``RUN_DIR/checkpoint``, each into a temporary
directory that is sealed with a manifest and then replaces the old one (integrity.py), so a
crash never leaves half a model and a half-written checkpoint is never resumed from.

A loss that turns NaN/inf stops the run (RunError) before anything is evaluated or saved with
the broken weights, so the last checkpoint and best model stay the last good ones. The check
costs no extra device sync: the per-step losses of a logging window are summed lazily, and
the sum is read at each log and before each evaluation. Weights can also diverge to huge but
finite values while the loss (computed before the update) is still finite; their NaN/inf
emissions are caught by the dev evaluation, which reads the decoder's scores anyway
(``NonFiniteScores``), and stop the run the same way before anything is saved.
"""
from __future__ import annotations

import json
import logging
import math
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import paddle

from paddle_ner.batching import Example, bucket_batches, collate, padding_waste, shard, shuffled_batches
from paddle_ner.config import Config
from paddle_ner.crf import SCORE_LIMIT
from paddle_ner.errors import NonFiniteScores, RunError, UsageError
from paddle_ner.integrity import read_json, recover, verify, write_dir, write_manifest
from paddle_ner.models import save_model
from paddle_ner.optim import build_optimizer
from paddle_ner.scoring import evaluate

logger = logging.getLogger(__name__)

@dataclass
class TrainState:
    """Everything besides weights and optimiser moments that ``--resume`` restores."""

    epoch: int = 0  # current epoch (0-based)
    batch_in_epoch: int = 0  # batches of the current epoch already trained
    global_step: int = 0
    best_f1: float = -1.0
    best_step: int = 0
    history: List[dict] = field(default_factory=list)  # {"step", "loss", "lr"} and {"step", "dev_f1", ...}
    train_seconds: float = 0.0
    finished: bool = False


# train.select_by -> (convention, metric) of the dev result that selects the best model.
SELECT_BY = {"micro_f1": ("micro", "f1"), "batch_averaged_f1": ("batch_averaged", "f1")}


class Trainer:
    """Trains ``tagger`` on ``train_examples``, selecting on ``dev`` (a Corpus).

    Only rank 0 writes files; every rank evaluates dev (identical results) so that all ranks
    agree on the best step without a collective.
    """

    def __init__(self, tagger, mapper, labels: Sequence[str], cfg: Config, run_dir: Path,
                 train_examples: Sequence[Example], dev, seed: int, max_steps: Optional[int] = None,
                 device: str = "cpu", rank: int = 0, world_size: int = 1, writer=None):
        self.tagger = tagger
        self.mapper = mapper
        self.labels = list(labels)
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.examples = list(train_examples)
        self.dev = dev
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.device = device
        from paddle_ner.compat import cpu_threads
        from paddle_ner.models.registry import cpu_single_thread

        self.eval_threads = cpu_threads(cpu_single_thread(cfg.model.name), world_size)  # dev via paddle.inference
        self.writer = writer
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

    # ------------------------------------------------------------------ batches

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

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self) -> None:
        if self.rank != 0:
            return

        def write(tmp: Path) -> None:
            paddle.save(self.tagger.state_dict(), str(tmp / "model.pdparams"))
            paddle.save(self._rename_optimizer_state(self.optimizer.state_dict(), to_structured=True),
                        str(tmp / "optimizer.pdopt"))
            if self.scaler is not None:
                paddle.save(self.scaler.state_dict(), str(tmp / "scaler.pdparams"))
            (tmp / "state.json").write_text(json.dumps(asdict(self.state), indent=1), encoding="utf-8")
            write_manifest(tmp, "checkpoint", model=self.cfg.model.name, labels=self.labels,
                           step=self.state.global_step)

        self._write_dir("checkpoint", write)

    def _write_dir(self, name: str, write: Callable[[Path], None]) -> None:
        """Write ``RUN_DIR/name`` via ``RUN_DIR/name.tmp``. A failed write (disk full, I/O error)
        removes the temporary directory and stops the run; the previous ``name`` is untouched."""
        final = self.run_dir / name
        try:
            write_dir(final, write)
        except OSError as err:
            kept = f"the previous {final} is intact" if final.exists() else f"there is no earlier {name}"
            raise RunError(f"step {self.state.global_step}: could not write {final}: "
                           f"{err.strerror or err}; {kept}. Free space or fix permissions, then continue with "
                           f"--resume --output {self.run_dir}") from None

    def load_checkpoint(self, directory: Path, manifest: Optional[dict] = None) -> None:
        """Restore weights, optimiser moments and loop state from a sealed checkpoint; refuses a
        missing, incomplete or corrupt one, or one of another model or label set. ``manifest``:
        the result of an earlier ``verify`` of ``directory``, to skip hashing it twice."""
        from paddle_ner.models import load_file, load_state

        if recover(directory) is None:
            raise UsageError(f"{directory}: no checkpoint")
        if manifest is None:
            manifest = verify(directory, "checkpoint")
        if manifest.get("model") != self.cfg.model.name or manifest.get("labels") != self.labels:
            raise UsageError(f"{directory}: checkpoint of model {manifest.get('model')} with labels "
                             f"{manifest.get('labels')}, but this run builds {self.cfg.model.name} with labels "
                             f"{self.labels}; refusing to resume from it")
        load_state(self.tagger, directory / "model.pdparams")
        saved = load_file(directory / "optimizer.pdopt")
        self.optimizer.set_state_dict(self._rename_optimizer_state(saved, to_structured=False))
        if self.scaler is not None and (directory / "scaler.pdparams").is_file():
            self.scaler.load_state_dict(load_file(directory / "scaler.pdparams"))
        try:
            self.state = TrainState(**read_json(directory / "state.json"))
        except TypeError as err:
            raise UsageError(f"{directory / 'state.json'}: not a paddle-ner training state ({err})") from None

    def _rename_optimizer_state(self, state: dict, to_structured: bool) -> dict:
        """Optimizer state is keyed by Paddle's internal parameter names (``linear_3.w_0``), which
        depend on how many layers the process built before; checkpoints use the structured
        names (``fc.weight``) so a resumed run, in whatever process, finds its moments."""
        pairs = [(p.name, n) for n, p in self.tagger.named_parameters()]
        mapping = dict(pairs) if to_structured else {n: internal for internal, n in pairs}
        prefixes = sorted(mapping, key=len, reverse=True)  # longest first: "fc.weight" before "fc"
        renamed = {}
        for key, value in state.items():
            for old in prefixes:
                if key.startswith(old + "_"):
                    key = mapping[old] + key[len(old):]
                    break
            renamed[key] = value
        return renamed

    def _save_best(self) -> None:
        if self.rank != 0:
            return
        self._write_dir("model", lambda tmp: save_model(tmp, self.tagger, self.mapper, self.cfg.model, self.labels))

    # ------------------------------------------------------------------ evaluation

    def _eval_on_inference_engine(self) -> bool:
        choice = self.cfg.train.eval_engine
        return choice == "inference" or (choice == "auto" and self.device == "cpu")

    def _dev_result(self) -> dict:
        """Dev tagged by the engine ``train.eval_engine`` picks (the tagger is in eval mode)."""
        if not self._eval_on_inference_engine():
            return evaluate(self.tagger, self.mapper, self.labels, self.dev, self.cfg)
        import tempfile

        from paddle_ner.predictor import InferenceEngine

        spec = [paddle.static.InputSpec([None, None] + list(self.mapper.input_shape), "int64", "input_ids"),
                paddle.static.InputSpec([None], "int64", "lengths")]
        with tempfile.TemporaryDirectory(prefix="paddle-ner-dev-") as tmp:
            # jit.save converts a copy of forward: the tagger itself stays a dygraph layer
            paddle.jit.save(self.tagger, str(Path(tmp) / "inference" / "model"), input_spec=spec)
            engine = InferenceEngine(Path(tmp), threads=self.eval_threads, device=self.device)
        try:
            return evaluate(self.tagger, self.mapper, self.labels, self.dev, self.cfg, engine=engine)
        finally:
            del engine
            if self.device == "cpu":  # a paddle.inference run leaves this thread at one math thread
                from paddle_ner.compat import use_cpu_cores
                from paddle_ner.models.registry import cpu_single_thread

                use_cpu_cores(cpu_single_thread(self.cfg.model.name), self.world_size)

    def evaluate_dev(self) -> float:
        step = self.state.global_step
        self.tagger.eval()
        try:
            result = self._dev_result()
        except NonFiniteScores:
            self._diverged(f"step {step}: the model's scores on dev are NaN, inf or beyond {SCORE_LIMIT:g} "
                           f"(largest |weight| {self._largest_weight():.3g}): training diverged")
        self.tagger.train()
        convention, metric = SELECT_BY[self.cfg.train.select_by]
        f1 = result[convention][metric]
        self.state.history.append({"step": step, "dev_f1": result["micro"]["f1"],
                                   "dev_precision": result["micro"]["precision"],
                                   "dev_recall": result["micro"]["recall"],
                                   "dev_f1_batch_averaged": result["batch_averaged"]["f1"],
                                   "dev_precision_batch_averaged": result["batch_averaged"]["precision"],
                                   "dev_recall_batch_averaged": result["batch_averaged"]["recall"]})
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

    def _finite_mean(self, losses: List) -> float:
        """Mean of the window's per-step losses; RunError naming the first step whose loss was
        NaN or inf. Nothing has been saved from those steps, so the last checkpoint is good."""
        mean = float(paddle.add_n(losses)) / len(losses) if len(losses) > 1 else float(losses[0])
        if not math.isfinite(mean):
            values = [float(v) for v in losses]
            bad = next(i for i, v in enumerate(values) if not math.isfinite(v))
            self._diverged(f"step {self.state.global_step - len(losses) + bad + 1}: training loss is {values[bad]}")
        return mean

    def _check_weights(self) -> None:
        """RunError if any weight is NaN/inf. A step can overflow the weights while its own loss
        (computed before the update) was still finite; this catches it before a save."""
        flags = paddle.stack([paddle.isfinite(p).all() for p in self.tagger.parameters()])
        if not bool(flags.all()):
            bad = [n for (n, _), ok in zip(self.tagger.named_parameters(), flags.numpy()) if not ok]
            self._diverged(f"step {self.state.global_step}: weights {', '.join(bad[:3])} became NaN/inf")

    def _largest_weight(self) -> float:
        """max |w| over all weights (NaN if one is NaN); read only when reporting a divergence."""
        return float(paddle.stack([paddle.abs(p).max().astype("float32") for p in self.tagger.parameters()]).max())

    def _diverged(self, what: str) -> None:
        kept = self.run_dir / "checkpoint"
        kept_msg = (f"the last good checkpoint ({kept}, step {self._saved_step()}) is kept"
                    if kept.exists() else "no checkpoint was written yet")
        hint = "lower train.lr (now %g)" % self.cfg.train.lr
        if self.cfg.train.max_grad_norm <= 0:
            hint += ", clip gradients (--set train.max_grad_norm=1.0)"
        if self.amp:
            hint += " or disable mixed precision (--set train.amp=false)"
        raise RunError(f"{what}; stopped, {kept_msg}. Try {hint}, and train again")

    def _saved_step(self) -> Optional[int]:
        try:
            return int(json.loads((self.run_dir / "checkpoint" / "state.json").read_text())["global_step"])
        except (OSError, ValueError, KeyError):
            return None

    def fit(self) -> TrainState:
        """Train until ``total_steps``; returns the final state (``finished`` False when stopped
        by a signal, after writing a checkpoint to resume from)."""
        from tqdm.auto import tqdm

        cfg = self.cfg.train
        handlers = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                handlers[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread (e.g. inside a notebook worker)
                pass
        bar = tqdm(total=self.total_steps, initial=self.state.global_step, disable=self.rank != 0,
                   dynamic_ncols=True, unit="step", desc="train")
        self.tagger.train()
        started = time.time() - self.state.train_seconds
        window_losses, window_tokens, window_start = [], 0, time.time()
        try:
            while self.state.global_step < self.total_steps and not self._should_stop():
                batches = self._batches(self.state.epoch)
                for b in range(self.state.batch_in_epoch, len(batches)):
                    ids, lengths, labels = collate([self.examples[i] for i in batches[b]], self.mapper.pad_id)
                    loss = self._step(paddle.to_tensor(ids), paddle.to_tensor(lengths), paddle.to_tensor(labels))
                    self.state.global_step += 1
                    self.state.batch_in_epoch = b + 1
                    window_losses.append(loss)
                    window_tokens += int(lengths.sum())
                    step = self.state.global_step
                    bar.update(1)
                    end_of_epoch = b + 1 == len(batches)
                    last = step == self.total_steps
                    evaluate_now = ((cfg.eval_every and step % cfg.eval_every == 0)
                                    or (end_of_epoch and cfg.eval_at_epoch_end) or last)
                    if step % cfg.log_every == 0 or last or evaluate_now:
                        # the one device sync per window; also the NaN/inf check, before any save
                        mean_loss = self._finite_mean(window_losses)
                    if step % cfg.log_every == 0 or last:
                        lr = self.optimizer.get_lr()
                        rate = window_tokens / max(1e-9, time.time() - window_start)
                        bar.set_postfix(loss=f"{mean_loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{rate:.0f}")
                        self.state.history.append({"step": step, "loss": mean_loss, "lr": lr, "tokens_per_s": rate})
                        self._scalar("train/loss", mean_loss, step)
                        self._scalar("train/lr", lr, step)
                        window_losses, window_tokens, window_start = [], 0, time.time()
                    if end_of_epoch:
                        self.state.epoch += 1
                        self.state.batch_in_epoch = 0
                    if evaluate_now:
                        self._check_weights()
                        self.state.train_seconds = time.time() - started
                        self.evaluate_dev()
                        self.save_checkpoint()
                    if last or self._should_stop():
                        break
                else:
                    continue
                break
            self.state.train_seconds = time.time() - started
            self.state.finished = self.state.global_step >= self.total_steps
            if not self.state.finished:
                if window_losses:
                    self._finite_mean(window_losses)  # never checkpoint weights a NaN step produced
                self._check_weights()
                self.save_checkpoint()
                logger.warning("stopped at step %d of %d; checkpoint saved to %s, continue with --resume",
                               self.state.global_step, self.total_steps, self.run_dir / "checkpoint")
        finally:
            bar.close()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return self.state


def plot_curves(history: Sequence[dict], path: Path) -> None:
    """PNG of training loss and dev F1 against step."""
    import matplotlib

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


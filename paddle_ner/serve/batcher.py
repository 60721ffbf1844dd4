"""Dynamic batching: concurrent requests share one model call, each gets back its own texts.

Requests wait in a queue. The batching task takes the oldest and gathers more until the batch
holds ``max_batch`` texts or the oldest has waited ``max_wait`` seconds, then hands the
texts to the model on its own thread (never on the event loop) and slices the results back
by request, in order. While a batch runs, the next one gathers, so a busy server runs back to
back batches without waiting at all; an idle one answers a lone request after ``max_wait``.

A request is never split: one with more texts than ``max_batch`` runs as a batch of its own.
``max_batch=1, max_wait=0`` is batch-size-1 serving (one request per model call).

The model sees each text exactly as it would alone (``Predictor`` tags every text
independently of the others in its call), so batching changes latency, never results. If a
batch fails, each of its requests is retried alone, so a request that breaks the model fails
alone too.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import time
from typing import Callable, Deque, List, Optional, Sequence

logger = logging.getLogger(__name__)


class _Pending:
    __slots__ = ("texts", "future", "arrived")

    def __init__(self, texts: List[str], future: asyncio.Future, arrived: float):
        self.texts = texts
        self.future = future
        self.arrived = arrived


class Batcher:
    """``await batcher.submit(texts)`` -> ``model(texts)``, run in batches.

    ``model`` takes a list of texts and returns one result per text, in order; it is called on
    ``thread``, a single-worker executor (one is made when not given), so it needs no locking:
    Paddle predictors are not thread-safe. Pass the executor that loaded the model, so that every
    Paddle call, thread settings included, happens on one thread.
    """

    def __init__(self, model: Callable[[List[str]], list], max_batch: int = 32, max_wait: float = 0.005,
                 thread: Optional[concurrent.futures.ThreadPoolExecutor] = None):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if max_wait < 0:
            raise ValueError(f"max_wait must be >= 0 seconds, got {max_wait}")
        self.model = model
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: Deque[_Pending] = collections.deque()
        self._queued_texts = 0
        self._wakeup: Optional[asyncio.Event] = None
        self._task: Optional[asyncio.Task] = None
        self._closing = False
        self._thread = thread or model_thread()
        # counters for /healthz and the load benchmark
        self.batches = 0
        self.texts = 0
        self.model_seconds = 0.0  # time spent in model calls: how busy the model is

    @property
    def queued(self) -> int:
        """Texts waiting for a batch."""
        return self._queued_texts

    async def start(self) -> None:
        """Start batching (on the running event loop)."""
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Finish every queued request, then stop the task and the worker thread."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
        self._thread.shutdown(wait=True)

    async def submit(self, texts: Sequence[str]) -> list:
        """One result per text of ``texts``, in order."""
        texts = list(texts)
        if not texts:
            return []
        if self._task is None or self._closing:
            raise RuntimeError("the batcher is not running")
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(texts, future, time.monotonic()))
        self._queued_texts += len(texts)
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            # Gather until the batch is full or the oldest request has waited max_wait.
            deadline = self._queue[0].arrived + self.max_wait
            while self._queued_texts < self.max_batch and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), left)
                except asyncio.TimeoutError:
                    break
            batch = self._take()
            if batch:
                await self._process(loop, batch)

    def _take(self) -> List[_Pending]:
        """Whole requests from the head of the queue, up to max_batch texts (at least one
        request); requests whose client went away (cancelled futures) are dropped."""
        batch: List[_Pending] = []
        size = 0
        while self._queue:
            head = self._queue[0]
            if head.future.done():  # cancelled: the client disconnected
                self._queue.popleft()
                self._queued_texts -= len(head.texts)
                continue
            if batch and size + len(head.texts) > self.max_batch:
                break
            self._queue.popleft()
            self._queued_texts -= len(head.texts)
            batch.append(head)
            size += len(head.texts)
        return batch

    def _timed(self, texts: List[str]) -> list:
        start = time.perf_counter()
        try:
            return self.model(texts)
        finally:
            self.model_seconds += time.perf_counter() - start

    async def _process(self, loop, batch: List[_Pending]) -> None:
        texts = [text for pending in batch for text in pending.texts]
        try:
            results = await loop.run_in_executor(self._thread, self._timed, texts)
            if len(results) != len(texts):
                raise RuntimeError(f"the model returned {len(results)} results for {len(texts)} texts")
        except Exception as err:  # noqa: BLE001 - handed to the requests, never lost
            if len(batch) == 1:
                _settle(batch[0].future, error=err)
                return
            logger.warning("a batch of %d requests failed (%s: %s); retrying each alone", len(batch),
                           type(err).__name__, err)
            for pending in batch:
                await self._process(loop, [pending])
            return
        self.batches += 1
        self.texts += len(texts)
        start = 0
        for pending in batch:
            _settle(pending.future, result=results[start:start + len(pending.texts)])
            start += len(pending.texts)


def model_thread() -> concurrent.futures.ThreadPoolExecutor:
    """The single worker thread that loads and runs a model."""
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="paddle-ner-model")


def _settle(future: asyncio.Future, result=None, error: Optional[BaseException] = None) -> None:
    if future.done():  # the request was cancelled while its batch ran
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

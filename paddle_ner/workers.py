"""``predict --workers N``: chunks tagged by N processes of one machine, records in input order.

Each worker process loads the model once (``Predictor.load``) with its share of the CPU math
threads (cores // N) and tags whole chunks. The parent reads the chunks, keeps at most 2 N of
them in flight (so memory stays bounded by the chunk size, not the file), and hands back each
chunk's records in input order, so the output is the same as with one process.

Workers are spawned, not forked: Paddle's and OpenMP's threads do not survive a fork. A spawned
process imports ``paddle_ner`` afresh, so it gets MKL's dispatch fix and flushes denormals as the
parent does.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple

from paddle_ner.streaming import Chunk

# The model of a worker process: set once by _start, in that process only.
_predictor = None


def _start(model_dir: str, engine: str, batch_size: Optional[int], device: str, precision: str,
           threads: int) -> None:
    global _predictor
    from paddle_ner.compat import quiet_imports
    from paddle_ner.predictor import Predictor

    quiet_imports()
    _predictor = Predictor.load(Path(model_dir), engine, batch_size, device, precision, threads)


def _tag(texts: List[str]) -> List[dict]:
    return _predictor(texts)


class WorkerPool:
    """``workers`` processes tagging with the resolved ``(engine, model_dir)``."""

    def __init__(self, workers: int, model_dir: Path, engine: str, batch_size: Optional[int] = None,
                 device: str = "cpu", precision: str = "fp32"):
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")
        self.window = 2 * workers
        self.pool = context.Pool(workers, initializer=_start,
                                 initargs=(str(model_dir), engine, batch_size, device, precision, threads))

    def tag(self, chunks: Iterable[Chunk]) -> Iterator[Tuple[Chunk, List[dict]]]:
        """(chunk, records of its UTF-8 lines) for each chunk, in input order."""
        pending: deque = deque()
        for chunk in chunks:
            texts = [line.text for line in chunk.lines if line.text is not None]
            pending.append((chunk, self.pool.apply_async(_tag, (texts,))))
            if len(pending) >= self.window:
                done, result = pending.popleft()
                yield done, result.get()
        while pending:
            done, result = pending.popleft()
            yield done, result.get()

    def close(self) -> None:
        self.pool.close()
        self.pool.join()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.pool.terminate()

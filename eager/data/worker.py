"""Worker processes for `DataLoader(num_workers > 0)`: the loop each worker runs, and
`get_worker_info()` for datasets that need to know which worker they are in."""
from __future__ import annotations

import queue
import random
import traceback
from dataclasses import dataclass

import numpy as np

_INFO = None  # set once inside each worker process


@dataclass(frozen=True)
class WorkerInfo:
    """Which worker this is: `id` in [0, num_workers), its `seed`, and its copy of the dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its WorkerInfo; in the main process, None."""
    return _INFO


class WorkerError:
    """An exception raised in a worker, carried to the main process as text."""

    def __init__(self, worker_id: int, exc: BaseException) -> None:
        self.text = f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}.\n" \
                    f"Original Traceback (most recent call last):\n{''.join(traceback.format_exc())}"

    def reraise(self):
        """Raise it in this process as a RuntimeError carrying the worker's traceback."""
        raise RuntimeError(self.text)


RESTART = -1  # a task number telling a worker to start its IterableDataset stream again


class Exhausted:
    """Sent by a worker whose IterableDataset has no more batches."""


def _seed_everything(seed: int) -> None:
    from ..random import manual_seed

    manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def worker_loop(dataset, fetch, index_queue, result_queue, worker_id: int, num_workers: int, seed: int,
                worker_init_fn) -> None:
    """Receive (batch number, indices) and send back (batch number, batch), until None arrives.
    For an IterableDataset the indices are None and the worker takes its next batch."""
    global _INFO  # this process's identity, read by get_worker_info()
    _INFO = WorkerInfo(worker_id, num_workers, seed, dataset)
    _seed_everything(seed)
    stream = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as exc:  # reported with the first batch request
        init_error = WorkerError(worker_id, exc)
    else:
        init_error = None
    while True:
        try:
            task = index_queue.get(timeout=5.0)
        except queue.Empty:
            continue
        if task is None:
            break
        number, indices = task
        if number == RESTART:
            stream = None
            continue
        if init_error is not None:
            result_queue.put((number, init_error))
            continue
        try:
            if indices is None:
                if stream is None:
                    stream = fetch(None)
                batch = next(stream, Exhausted)
                result_queue.put((number, Exhausted() if batch is Exhausted else batch))
            else:
                result_queue.put((number, fetch(indices)))
        except Exception as exc:
            result_queue.put((number, WorkerError(worker_id, exc)))

"""`DataLoader`: batches from a dataset, in the main process or in worker processes with
prefetching (PyTorch's semantics; no pinned memory: NumPy arrays need none)."""
from __future__ import annotations

import itertools
import multiprocessing
import queue
import time
from collections.abc import Callable, Iterator

from ..random import Generator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, draw_seed
from .worker import RESTART, Exhausted, WorkerError, worker_loop


class _Fetcher:
    """Turns a batch of indices into a batch (map-style), or yields batches (iterable)."""

    def __init__(self, dataset, collate_fn: Callable, batch_size: int | None, drop_last: bool) -> None:
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __call__(self, indices):
        if isinstance(self.dataset, IterableDataset):
            return self._stream()
        if self.batch_size is None:
            return self.collate_fn(self.dataset[indices])
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if getitems is not None else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    def _stream(self) -> Iterator:
        samples = iter(self.dataset)
        if self.batch_size is None:
            yield from (self.collate_fn(s) for s in samples)
            return
        while True:
            batch = list(itertools.islice(samples, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)


class DataLoader:
    """Iterate a dataset in batches: `batch_size`, `shuffle` (seeded by `generator` or by
    `eager.manual_seed`), `sampler`/`batch_sampler`, `drop_last`, `collate_fn`, and
    `num_workers` worker processes that keep `prefetch_factor` batches each in flight (kept
    alive between epochs with `persistent_workers`)."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | None = None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.persistent_workers = persistent_workers
        self._workers: _MultiProcessIter | None = None
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.pin_memory = pin_memory  # accepted for PyTorch code; host arrays need no pinning here
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler/batch_sampler option")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if auto_collation else default_convert)

    def _fetcher(self) -> _Fetcher:
        return _Fetcher(self.dataset, self.collate_fn, self.batch_size, self.drop_last)

    def _index_stream(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self) -> Iterator:
        indices = None if self._iterable else iter(self._index_stream())  # draws this epoch's order
        # drawn every epoch in every mode, so that shuffles do not depend on the worker settings
        base_seed = draw_seed(self.generator)
        if self.num_workers == 0:
            fetch = self._fetcher()
            return fetch(None) if self._iterable else (fetch(batch) for batch in indices)
        if self._workers is not None and not self._workers.closed:
            self._workers.new_epoch(indices)
            return self._workers
        workers = _MultiProcessIter(self, indices, base_seed)
        if self.persistent_workers:
            self._workers = workers
        return workers

    def __len__(self) -> int:
        if not self._iterable:
            return len(self._index_stream())
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _context(loader: DataLoader):
    ctx = loader.multiprocessing_context
    if ctx is None:  # fork shares the dataset without pickling it (lambdas, big arrays)
        ctx = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(ctx) if isinstance(ctx, str) else ctx


class _MultiProcessIter:
    """One epoch over worker processes: hands out batch numbers round-robin, keeps
    `prefetch_factor * num_workers` in flight, and yields results in order."""

    def __init__(self, loader: DataLoader, indices, base_seed: int) -> None:
        self.closed = False
        self.workers: list = []
        ctx = _context(loader)
        n = loader.num_workers
        self.persistent = loader.persistent_workers
        self.prefetch = loader.prefetch_factor * n
        self.timeout = loader.timeout
        self.result_queue = ctx.Queue()
        self.index_queues = [ctx.Queue() for _ in range(n)]
        fetch = loader._fetcher()
        for i in range(n):
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(loader.dataset, fetch, self.index_queues[i], self.result_queue, i, n,
                                  base_seed + i, loader.worker_init_fn))
            w.start()
            self.workers.append(w)
        self.sent = self.received = 0
        self.worker_of: dict[int, int] = {}
        self.cache: dict[int, object] = {}
        self._start_epoch(indices)

    def _start_epoch(self, indices) -> None:
        self.indices = indices
        self.active = list(range(len(self.workers)))
        self.next_worker = itertools.cycle(range(len(self.workers)))
        for _ in range(self.prefetch):
            self._send()

    def new_epoch(self, indices) -> None:
        """Another pass with the same (persistent) workers; iterable datasets restart their streams."""
        while self.received < self.sent:  # an epoch left early: drop what is still in flight
            if self.received not in self.cache:
                number, data = self._get()
                self.cache[number] = data
                continue
            self.cache.pop(self.received)
            self.worker_of.pop(self.received)
            self.received += 1
        if indices is None:
            for q in self.index_queues:
                q.put((RESTART, None))
        self._start_epoch(indices)

    def _send(self) -> None:
        if self.indices is not None:
            indices = next(self.indices, None)
            if indices is None:
                return
            worker = self.sent % len(self.workers)
        else:
            if not self.active:
                return
            worker = next(w for w in self.next_worker if w in self.active)
            indices = None
        self.index_queues[worker].put((self.sent, indices))
        self.worker_of[self.sent] = worker
        self.sent += 1

    def __iter__(self) -> "_MultiProcessIter":
        return self

    def __next__(self):
        while True:
            if self.received >= self.sent:
                if not self.persistent:
                    self._shutdown()
                raise StopIteration
            if self.received not in self.cache:
                number, data = self._get()
                self.cache[number] = data
                continue
            data = self.cache.pop(self.received)
            worker = self.worker_of.pop(self.received)
            self.received += 1
            if isinstance(data, Exhausted):
                if worker in self.active:
                    self.active.remove(worker)
                self._send()
                continue
            if isinstance(data, WorkerError):
                self._shutdown()
                data.reraise()
            self._send()
            return data

    def _get(self):
        start = time.monotonic()
        while True:
            try:
                return self.result_queue.get(timeout=1.0)
            except queue.Empty:
                dead = [w.pid for w in self.workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                                       "unexpectedly") from None
                if self.timeout and time.monotonic() - start > self.timeout:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None

    def _shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        for q in self.index_queues:
            q.put(None)
        for w in self.workers:
            w.join(timeout=2.0)
            if w.is_alive():
                w.terminate()
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        if hasattr(self, "index_queues"):
            self._shutdown()

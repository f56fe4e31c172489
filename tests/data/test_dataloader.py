"""Datasets and the DataLoader: batching, collation, seeded shuffling, workers."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import eager
from eager.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    default_collate,
    get_worker_info,
    random_split,
)


def _dataset(n=10):
    return TensorDataset(eager.arange(n * 2).reshape(n, 2).float(), eager.arange(n))


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class FailsAt(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError("sample 5 is broken")
        return i


def test_batches_in_order_with_a_short_last_batch():
    batches = list(DataLoader(_dataset(), batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == eager.float32
    assert len(DataLoader(_dataset(), batch_size=4)) == 3


def test_drop_last_drops_the_short_batch():
    loader = DataLoader(_dataset(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b[1]) for b in loader] == [4, 4]


def test_shuffle_is_a_permutation_reproducible_with_a_seed():
    def epoch(seed):
        g = eager.Generator().manual_seed(seed)
        return [i for _, y in DataLoader(_dataset(), batch_size=3, shuffle=True, generator=g) for i in y.tolist()]

    assert sorted(epoch(0)) == list(range(10))
    assert epoch(0) == epoch(0) and epoch(0) != epoch(1)


def test_shuffle_follows_manual_seed_and_differs_between_epochs():
    loader = DataLoader(_dataset(), batch_size=10, shuffle=True)
    eager.manual_seed(5)
    first, second = [next(iter(loader))[1].tolist() for _ in range(2)]
    eager.manual_seed(5)
    assert next(iter(loader))[1].tolist() == first and first != second


def test_default_collate_of_dicts_numbers_strings_and_namedtuples():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["y"].dtype == eager.int64 and batch["y"].tolist() == [0, 1, 4]
    assert batch["name"] == ["s0", "s1", "s2"]
    Point = namedtuple("Point", "a b")
    out = default_collate([Point(1.0, 2), Point(3.0, 4)])
    assert isinstance(out, Point) and out.a.dtype == eager.float64 and out.b.tolist() == [2, 4]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([eager.zeros(2), eager.zeros(3)])


def test_custom_collate_fn_and_no_batching():
    loader = DataLoader(_dataset(4), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2]
    singles = list(DataLoader(Squares(), batch_size=None))
    assert len(singles) == 7 and singles[2]["x"].shape == (2,)


def test_iterable_dataset_batches_the_stream():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(5), shuffle=True)


def test_random_split_and_subset():
    a, b = random_split(_dataset(), [0.7, 0.3], generator=eager.Generator().manual_seed(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted([int(a[i][1]) for i in range(7)] + [int(b[i][1]) for i in range(3)]) == list(range(10))
    assert Subset(_dataset(), [3, 1])[1][1].tolist() == 1
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(_dataset(), [3, 3])


def test_argument_conflicts_are_rejected():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(_dataset(), sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified in multiprocessing"):
        DataLoader(_dataset(), prefetch_factor=2)


def test_workers_give_the_same_batches_in_the_same_order():
    single = [b[1].tolist() for b in DataLoader(_dataset(23), batch_size=3)]
    multi = [b[1].tolist() for b in DataLoader(_dataset(23), batch_size=3, num_workers=2, prefetch_factor=3)]
    assert multi == single
    g1, g2 = eager.Generator().manual_seed(4), eager.Generator().manual_seed(4)
    shuffled = [b[1].tolist() for b in DataLoader(_dataset(23), batch_size=3, shuffle=True, generator=g1,
                                                  num_workers=2)]
    assert shuffled == [b[1].tolist() for b in DataLoader(_dataset(23), batch_size=3, shuffle=True, generator=g2)]


def test_workers_with_an_iterable_dataset_and_errors():
    got = sorted(i for b in DataLoader(Stream(9), batch_size=2, num_workers=2) for i in b.tolist())
    assert got == list(range(9))
    with pytest.raises(RuntimeError, match="KeyError.*sample 5 is broken"):
        list(DataLoader(FailsAt(), batch_size=2, num_workers=2))


def test_persistent_workers_serve_every_epoch_like_a_single_process():
    def epochs(**kwargs):
        loader = DataLoader(_dataset(11), batch_size=3, shuffle=True, generator=eager.Generator().manual_seed(2),
                            **kwargs)
        out = [[b[1].tolist() for b in loader] for _ in range(2)]
        partial = next(iter(loader))[1].tolist()  # an epoch left after one batch
        out.append([b[1].tolist() for b in loader])
        return out, partial, loader

    single, single_partial, _ = epochs()
    multi, multi_partial, loader = epochs(num_workers=2, persistent_workers=True)
    assert multi == single and multi_partial == single_partial
    pids = [w.pid for w in loader._workers.workers]
    list(loader)
    assert [w.pid for w in loader._workers.workers] == pids
    streams = DataLoader(Stream(5), batch_size=2, num_workers=2, persistent_workers=True)
    assert [sorted(i for b in streams for i in b.tolist()) for _ in range(2)] == [list(range(5))] * 2


class RandomPerWorker(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return {"worker": info.id, "seed": info.seed, "draw": float(eager.rand(1))}


def test_each_worker_is_seeded_differently_and_reproducibly():
    def run():
        loader = DataLoader(RandomPerWorker(), batch_size=1, num_workers=2,
                            generator=eager.Generator().manual_seed(9))
        return [(int(b["worker"]), int(b["seed"]), float(b["draw"])) for b in loader]

    first = run()
    assert [w for w, _, _ in first] == [0, 1, 0, 1]
    assert first[0][1] + 1 == first[1][1] and first[0][2] != first[1][2]
    assert run() == first


_INIT_MARK = {"value": None}


class ReadsInitMark(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return _INIT_MARK["value"]


def _mark_worker(worker_id):
    _INIT_MARK["value"] = 100 + worker_id


def _broken_init(worker_id):
    raise ValueError("init failed")


def test_worker_init_fn_runs_in_each_worker_and_its_errors_surface():
    batches = [b.tolist() for b in DataLoader(ReadsInitMark(), batch_size=1, num_workers=2,
                                              worker_init_fn=_mark_worker)]
    assert batches == [[100], [101]] and _INIT_MARK["value"] is None
    with pytest.raises(RuntimeError, match="ValueError.*init failed"):
        list(DataLoader(ReadsInitMark(), batch_size=1, num_workers=2, worker_init_fn=_broken_init))

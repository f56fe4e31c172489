"""The runtime's threaded split is deterministic: bit-identical outputs at 1, 2 and 3 threads.

esm_parallel_for hands out grain-sized chunks to whichever thread is free, so the chunk a thread
runs changes from run to run; each chunk writes its own columns (or rows) and no sum depends on
the split, so every thread count and every run must give the same bits. The models take each
threaded path: the convolution's generated-B product split by columns, a GEMM split by columns
(wide output) and by rows (narrow output), max_pool2d split by planes.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import eager
import export
import jitscript
from eager import nn
from export import native

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")


class ConvNet(nn.Module):
    """conv -> relu -> pool -> conv: products large enough to split."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 17, 3, padding=1)
        self.b = nn.Conv2d(17, 24, 3, padding=1)

    def forward(self, x):
        return self.b(nn.functional.max_pool2d(eager.relu(self.a(x)), 2))


class WideAndNarrow(nn.Module):
    """A wide linear (split by columns) then a narrow one (split by rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Linear(200, 301)
        self.narrow = nn.Linear(301, 19)

    def forward(self, x):
        return self.narrow(eager.relu(self.wide(x)))


@pytest.mark.parametrize("name, model, shape", [("conv", ConvNet, (33, 3, 17, 17)),
                                                 ("linear", WideAndNarrow, (301, 200))])
def test_outputs_are_bit_identical_on_every_thread_count(tmp_path, name, model, shape):
    eager.manual_seed(5)
    net = model().eval()
    x = eager.randn(*shape)
    path = tmp_path / f"{name}.esm"
    export.save(jitscript.optimize(jitscript.trace(net, (x,), dynamic_batch=True)), path)
    want = native.load(path, threads=1).run(x.numpy())[0]
    np.testing.assert_allclose(want, net(x).detach().numpy(), rtol=1e-4, atol=1e-4)
    for threads in (2, 3):
        session = native.load(path, threads=threads)
        for _ in range(5):  # chunks go to whichever thread is free: a different mix each run
            np.testing.assert_array_equal(session.run(x.numpy())[0], want, err_msg=f"{threads} threads")

"""benchmarks/runtime.py compares runtimes on PyTorch twins of our models: each twin, with our
weights copied in, must compute what the eager model computes (else the comparison is meaningless)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import eager  # noqa: E402
from benchmarks import runtime  # noqa: E402


@pytest.mark.parametrize("case", runtime.cases(), ids=lambda c: c.name)
def test_torch_twin_matches_the_eager_model(case):
    model = case.build()
    twin = runtime.torch_copy(case, model)
    x = np.random.default_rng(0).standard_normal((3, *case.shape)).astype(np.float32)
    expected = model(eager.tensor(x)).detach().numpy()
    with torch.no_grad():
        got = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

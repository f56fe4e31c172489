"""The interpreter on the GPU: a traced model moved with ScriptModule.to("cuda") matches cpu."""
import numpy as np
import pytest

import eager
import jitscript
from tests.models import get

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not eager.cuda.is_available(), reason="needs CuPy and a GPU")]


@pytest.mark.parametrize("name", ["mlp", "cnn", "gru_loop"])
def test_traced_model_runs_on_the_gpu(name):
    entry = get(name)
    sm = jitscript.optimize(jitscript.trace(entry.build(), entry.inputs(2), dynamic_batch=True))
    x = entry.inputs(3)
    want = sm(*x).detach().numpy()
    got = sm.to("cuda")(*(t.to("cuda") for t in x))
    assert got.is_cuda
    np.testing.assert_allclose(got.detach().cpu().numpy(), want, rtol=1e-4, atol=1e-4)

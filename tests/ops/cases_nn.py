"""Op test rows for the NN ops (eager.nn.functional): convolution, pooling, normalization,
softmax, losses, embedding, attention. References are the naive loops of `nn_reference.py`."""
from __future__ import annotations

import numpy as np

from . import nn_reference as R
from .case import Case


def F(m):
    return m.nn.functional


CASES: list[Case] = [
    # ---- convolution ----
    Case("conv2d", lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1),
         lambda x, w, b: R.conv2d(x, w, b, padding=((1, 1), (1, 1))), [(2, 3, 5, 4), (4, 3, 3, 3), (4,)],
         gradgrad=True),
    Case("conv2d", lambda m, x, w: F(m).conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
         lambda x, w: R.conv2d(x, w, stride=(2, 1), padding=((1, 1), (2, 2)), dilation=(1, 2), groups=2),
         [(2, 4, 6, 7), (6, 2, 3, 2)], id="strided-dilated-grouped", gradgrad=True),
    Case("conv2d", lambda m, x, w: F(m).conv2d(x, w, padding="same", dilation=(2, 1)),
         lambda x, w: R.conv2d(x, w, padding=((1, 1), (1, 2)), dilation=(2, 1)), [(1, 2, 5, 5), (3, 2, 2, 4)],
         id="same-even-kernel"),
    Case("conv2d", lambda m, x, w: F(m).conv2d(x, w, padding="valid"), lambda x, w: R.conv2d(x[None], w)[0],
         [(2, 4, 4), (3, 2, 2, 2)], id="unbatched-valid"),
    Case("conv2d", lambda m, x, w, b: F(m).conv1d(x, w, b, stride=2, padding=1, dilation=2),
         lambda x, w, b: R.conv2d(x[:, :, None], w[:, :, None], b, stride=(1, 2), padding=((0, 0), (1, 1)),
                                  dilation=(1, 2))[:, :, 0], [(2, 3, 9), (2, 3, 3), (2,)], id="conv1d"),
    Case("conv2d", lambda m, x, w: F(m).conv1d(x, w, padding="same", groups=3),
         lambda x, w: R.conv2d(x[:, :, None], w[:, :, None], padding=((0, 0), (1, 1)), groups=3)[:, :, 0],
         [(2, 3, 6), (6, 1, 3)], id="conv1d-same-depthwise"),
    Case("conv_transpose2d", lambda m, y, w, b: F(m).conv_transpose2d(y, w, b, stride=2, padding=1, output_padding=1),
         lambda y, w, b: R.conv_transpose2d(y, w, b, stride=(2, 2), padding=(1, 1), output_padding=(1, 1)),
         [(2, 3, 3, 4), (3, 2, 3, 3), (2,)], gradgrad=True),
    Case("conv_transpose2d",
         lambda m, y, w: F(m).conv_transpose2d(y, w, stride=(1, 3), padding=(0, 1), output_padding=(0, 2),
                                               groups=2, dilation=(2, 1)),
         lambda y, w: R.conv_transpose2d(y, w, stride=(1, 3), padding=(0, 1), output_padding=(0, 2), groups=2,
                                         dilation=(2, 1)), [(1, 4, 3, 3), (4, 3, 2, 3)], id="grouped-dilated"),
]


def _weight_grad(m, x, g):
    """conv2d_weight is reached through the gradient of conv2d with respect to its weight."""
    w = m.zeros((g.shape[1], x.shape[1], 3, 2), dtype=x.dtype, requires_grad=True)
    out = F(m).conv2d(x, w, stride=(2, 1), padding=1)
    return m.autograd.grad(out, w, g, create_graph=True)[0]


CASES.append(Case("conv2d_weight", _weight_grad,
                  lambda x, g: _weight_grad_reference(x, g), [(2, 3, 5, 4), (2, 4, 3, 5)], gradgrad=True))


def _weight_grad_reference(x, g):
    """sum over batch and positions of g * input patch, by loops."""
    out = np.zeros((g.shape[1], x.shape[1], 3, 2))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            patch = xp[:, :, 2 * i:2 * i + 3, j:j + 2]
            out += (g[:, :, i, j][:, :, None, None, None] * patch[:, None]).sum(0)
    return out

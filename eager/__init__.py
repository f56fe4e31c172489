"""eager: PyTorch-style tensors and autograd over NumPy (cpu) and CuPy (cuda).

`import eager as torch` runs ordinary PyTorch tutorial code: the names and semantics follow
PyTorch wherever they fit.
"""
from . import autograd, data, dtypes, nn, ops, optim, utils
from . import tensor_methods as _tensor_methods  # noqa: F401 - binds Tensor methods
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import cuda_is_available, device
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import DType as dtype
from .dtypes import bool_ as bool  # noqa: A001 - PyTorch's name
from .dtypes import float32, float64, int32, int64
from .errors import OpError
from .ops.conv import conv1d, conv2d, conv_transpose2d
from .ops.elementwise import (
    abs,
    add,
    cast,
    clamp,
    cos,
    div,
    eq,
    erf,
    exp,
    floor,
    ge,
    gelu,
    gt,
    isnan,
    le,
    leaky_relu,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    relu,
    rsqrt,
    sigmoid,
    sign,
    silu,
    sin,
    softplus,
    sqrt,
    sub,
    tanh,
    trunc,
    where,
)
from .ops.linalg import bmm, linear, matmul, mm
from .ops.nn import log_softmax, softmax
from .ops.normalization import group_norm, layer_norm
from .ops.pooling import max_pool2d
from .ops.reduction import mean, sum
from .ops.shape import expand, flatten, permute, reshape, t, transpose
from .random import Generator, manual_seed, rand, rand_like, randint, randn, randn_like, randperm
from .serialization import load, save
from .tensor import Tensor, is_tensor

float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
clip = clamp
divide = div
multiply = mul
subtract = sub
greater = gt
less = lt

__version__ = "0.1.0"


class _Cuda:
    """`eager.cuda.is_available()` as in PyTorch."""

    @staticmethod
    def is_available() -> bool:
        return cuda_is_available()


cuda = _Cuda()

# ---- tensor ops of issue 3 (ops-tensor) ------------------------------------------------------------
from .creation import as_tensor  # noqa: E402
from .ops.indexing import (  # noqa: E402
    gather,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    tril,
    triu,
)
from .ops.reduction import (  # noqa: E402
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    cumsum,
    equal,
    logsumexp,
    max,
    min,
    norm,
    prod,
    sort,
    std,
    topk,
    var,
)
from .ops.shape import (  # noqa: E402
    cat,
    chunk,
    clone,
    flip,
    movedim,
    narrow,
    repeat,
    roll,
    split,
    squeeze,
    stack,
    unbind,
    unflatten,
    unsqueeze,
)

concat = cat
moveaxis = movedim
swapaxes = transpose
swapdims = transpose
concatenate = cat


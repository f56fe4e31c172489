/* kernels.h - the list of every kernel (internal). Keep ESM_KERNELS sorted by op name:
 * registry.c builds the lookup table from it and the tests check the order. */
#ifndef ESM_KERNELS_H
#define ESM_KERNELS_H

#include "../kernel_api.h"

#define ESM_KERNELS(X)                                                                          \
    X(abs) X(add) X(cast) X(clamp) X(cos) X(div) X(eq) X(erf) X(exp) X(expand) X(floor) X(ge)  \
    X(gelu) X(gt) X(isnan) X(le) X(leaky_relu) X(linear) X(log) X(logical_and) X(logical_not)  \
    X(logical_or) X(logical_xor) X(lt) X(matmul) X(maximum) X(mean) X(minimum) X(mul) X(ne)    \
    X(neg) X(permute) X(pow) X(relu) X(reshape) X(rsqrt) X(sigmoid) X(sign) X(silu) X(sin)      \
    X(softplus) X(sqrt) X(sub) X(sum) X(tanh) X(trunc) X(where)

#define ESM_DECLARE_KERNEL(name) extern const esm_kernel esm_k_##name;
ESM_KERNELS(ESM_DECLARE_KERNEL)
#undef ESM_DECLARE_KERNEL

#endif

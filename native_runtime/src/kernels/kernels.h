/* kernels.h - the list of every kernel (internal). Keep ESM_KERNELS sorted by op name:
 * registry.c builds the lookup table from it and the tests check the order. */
#ifndef ESM_KERNELS_H
#define ESM_KERNELS_H

#include "../kernel_api.h"

#define ESM_KERNELS(X)                                                                          \
    X(abs) X(add) X(amax) X(amin) X(argmax) X(argmin) X(avg_pool2d) X(batch_norm) X(cast) X(cat) \
    X(clamp) X(clone) X(conv2d) X(conv_transpose2d) X(cos) X(cumsum) X(div) X(embedding) X(eq) \
    X(erf) X(exp) X(expand) X(flip) X(floor) X(gather) X(ge) X(gelu) X(getitem) X(gru) X(gt) X(index) \
    X(index_put) X(isnan) X(layer_norm) X(le) X(leaky_relu) X(linear) X(log) X(log_softmax) \
    X(logical_and) X(logical_not) X(logical_or) X(logical_xor) X(logsumexp) X(lstm) X(lt) X(matmul) \
    X(max_pool2d) X(maximum) X(mean) X(minimum) X(mul) X(ne) X(neg) X(one_hot) X(pad) X(permute) \
    X(pow) X(prod) X(relu) X(repeat) X(reshape) X(rsqrt) X(scatter) X(scatter_add) X(sigmoid) \
    X(sign) X(silu) X(sin) X(softmax) X(softplus) X(sqrt) X(squeeze) X(sub) X(sum) X(tanh) \
    X(trunc) X(unsqueeze) X(var) X(where)

#define ESM_DECLARE_KERNEL(name) extern const esm_kernel esm_k_##name;
ESM_KERNELS(ESM_DECLARE_KERNEL)
#undef ESM_DECLARE_KERNEL

#endif

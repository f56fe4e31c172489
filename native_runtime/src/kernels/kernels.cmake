# kernels.cmake - the kernel sources of libesm; the core's CMakeLists.txt includes this file
# and adds ${ESM_KERNEL_SOURCES} to the library.
set(ESM_KERNEL_DIR ${CMAKE_CURRENT_LIST_DIR})
set(ESM_KERNEL_SOURCES
    ${ESM_KERNEL_DIR}/util.c
    ${ESM_KERNEL_DIR}/iter.c
    ${ESM_KERNEL_DIR}/registry.c
    ${ESM_KERNEL_DIR}/gemm.c
    ${ESM_KERNEL_DIR}/binary.c
    ${ESM_KERNEL_DIR}/unary.c
    ${ESM_KERNEL_DIR}/where.c
    ${ESM_KERNEL_DIR}/cast.c
    ${ESM_KERNEL_DIR}/reduce.c
    ${ESM_KERNEL_DIR}/shape.c
    ${ESM_KERNEL_DIR}/matmul.c
)

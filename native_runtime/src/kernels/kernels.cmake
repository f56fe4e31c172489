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
    ${ESM_KERNEL_DIR}/conv.c
    ${ESM_KERNEL_DIR}/pool.c
    ${ESM_KERNEL_DIR}/norm.c
    ${ESM_KERNEL_DIR}/softmax.c
    ${ESM_KERNEL_DIR}/embedding.c
    ${ESM_KERNEL_DIR}/layout.c
    ${ESM_KERNEL_DIR}/gather.c
    ${ESM_KERNEL_DIR}/index.c
    ${ESM_KERNEL_DIR}/recurrent.c
)

# No code here reads floating-point exception flags; without -ftrapping-math GCC may turn the
# selects of the float32 math (vmath.h) into vector blends, so those loops vectorize. GCC
# builds the kernels at -O2 with the "cheap" vectorizer cost model: the same loops vectorize
# as at -O3 (restrict and contiguous fast paths), without -O3's unrolled copies, which keeps
# libesm.a under its size budget. The GEMM (intrinsics) keeps the build type's level.
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    set(ESM_KERNEL_OPTIONS -fno-trapping-math)
    set(ESM_KERNEL_SIZED ${ESM_KERNEL_SOURCES})
    list(REMOVE_ITEM ESM_KERNEL_SIZED ${ESM_KERNEL_DIR}/gemm.c)
    if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND NOT CMAKE_BUILD_TYPE MATCHES "Debug|MinSizeRel")
        set_source_files_properties(${ESM_KERNEL_DIR}/gemm.c PROPERTIES COMPILE_OPTIONS
                                    "${ESM_KERNEL_OPTIONS};-fno-asynchronous-unwind-tables")
    else()
        set_source_files_properties(${ESM_KERNEL_DIR}/gemm.c PROPERTIES COMPILE_OPTIONS "${ESM_KERNEL_OPTIONS}")
    endif()
    if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND NOT CMAKE_BUILD_TYPE MATCHES "Debug|MinSizeRel")
        # and no unwind tables: plain C kernels never unwind (ESM_SANITIZE builds keep frame pointers);
        # no second, narrower vector copy of each loop for its tail (vect-epilogues-nomask): the
        # last < 8 elements run scalar, and the math loops (vmath.h) are a third smaller
        list(APPEND ESM_KERNEL_OPTIONS -O2 -fvect-cost-model=cheap -fno-asynchronous-unwind-tables
             --param=vect-epilogues-nomask=0)
    endif()
    set_source_files_properties(${ESM_KERNEL_SIZED} PROPERTIES COMPILE_OPTIONS "${ESM_KERNEL_OPTIONS}")
endif()

# The kernels' own unit tests (hand-built nodes, hand-computed references); the core adds
# them to CTest with: if(BUILD_TESTING) esm_add_kernel_tests() endif()
function(esm_add_kernel_tests)
    add_executable(test_kernels ${ESM_KERNEL_DIR}/../../tests/test_kernels.c ${ESM_KERNEL_SOURCES})
    target_include_directories(test_kernels PRIVATE ${ESM_KERNEL_DIR}/../../include)
    target_link_libraries(test_kernels PRIVATE m)
    add_test(NAME kernels COMMAND test_kernels)
    add_executable(bench_gemm ${ESM_KERNEL_DIR}/../../bench/bench_gemm.c ${ESM_KERNEL_DIR}/gemm.c)
    target_include_directories(bench_gemm PRIVATE ${ESM_KERNEL_DIR}/../../include)
endfunction()

# Cross-compile for 64-bit ARM Linux with Debian's gcc-aarch64-linux-gnu; the tests run under
# qemu-user (apt-get install gcc-aarch64-linux-gnu qemu-user):
#   cmake -S native_runtime -B native_runtime/build-arm64 -DCMAKE_TOOLCHAIN_FILE=native_runtime/cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/aarch64-linux-gnu)

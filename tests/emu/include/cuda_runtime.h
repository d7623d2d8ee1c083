/* cuda_runtime.h of the CUDA emulator (tests/emu/emu.cc says what it is for and how it runs a kernel): the part of
 * the CUDA runtime and of CUDA C's device built-ins that lib/backends/cuda uses, declared for a host C++ compiler. A kernel
 * is an ordinary function; tests/emu/launch.sed turns each `kernel<<<grid, block, shared, stream>>>(args)` into
 * `emu_launch(emu::config(grid, block, shared, stream), "kernel", [](auto... a) { kernel(a...); }, args)`. */
#ifndef TINA_EMU_CUDA_RUNTIME_H
#define TINA_EMU_CUDA_RUNTIME_H

#include <math.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#include "cuda_bf16.h"

#define __global__
#define __device__
#define __align__(n) __attribute__((aligned(n)))
/* One block runs at a time, its threads taking turns (emu.cc): a function's static is the running block's. They lie
 * in one section, which the emulator fills with 0xff bytes before each block: what a block reads of shared memory
 * before writing it is NaN, not what the block before it left (as on a GPU, where it is undefined). */
#define __shared__ static __attribute__((section("emu_shared")))

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};

/* the running thread's, set by the emulator each time a thread resumes */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalState = 401,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
};
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
};
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int multiProcessorCount;
};

typedef struct EmuStream *cudaStream_t;
typedef struct EmuGraph *cudaGraph_t;
typedef struct EmuGraphExec *cudaGraphExec_t;

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device);
cudaError_t cudaRuntimeGetVersion(int *version);
cudaError_t cudaGetLastError(void);
const char *cudaGetErrorString(cudaError_t error);

cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T> cudaError_t cudaMalloc(T **p, size_t bytes) { return cudaMalloc((void **)p, bytes); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
template <class T> cudaError_t cudaMallocHost(T **p, size_t bytes) { return cudaMallocHost((void **)p, bytes); }
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemGetInfo(size_t *free, size_t *total);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t stream);

cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

/* ---- device built-ins ---- */

namespace emu {
void sync_block(void);
void sync_warp(unsigned mask);
}

/* A barrier is where other threads' writes to shared memory appear. Shared memory is a function's static here,
 * whose address need not escape it: without the compiler barriers (asm "memory" clobbers), the compiler may keep a
 * thread's loads and stores of it in registers across the call, as no other code could reach it. */
#define EMU_COMPILER_BARRIER() asm volatile("" ::: "memory")
inline void __syncthreads(void) {
    EMU_COMPILER_BARRIER();
    emu::sync_block();
    EMU_COMPILER_BARRIER();
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    EMU_COMPILER_BARRIER();
    emu::sync_warp(mask);
    EMU_COMPILER_BARRIER();
}

namespace emu {
/* Every lane of the running warp named in mask leaves `bytes` of value and waits for the others; value then becomes
 * what lane `source` left (its own where source is outside the warp). */
void exchange(unsigned mask, void *value, size_t bytes, int source);
int lane(void);
/* two 16 x 16 f32 tiles of the running warp's own (mma.h's products pass their fragments through them) */
float *warp_tiles(void);

struct Config {
    dim3 grid, block;
    size_t shared;
    cudaStream_t stream;
};
inline Config config(dim3 grid, dim3 block, size_t shared = 0, cudaStream_t stream = nullptr) {
    return {grid, block, shared, stream};
}
/* queues the grid on the stream (or its recording): each of its threads runs thread() */
void launch(const Config &config, const char *name, std::function<void()> thread);
} // namespace emu

/* the arguments are copied at the launch, as CUDA's */
template <class Kernel, class... Args>
void emu_launch(const emu::Config &config, const char *name, Kernel kernel, Args... args) {
    emu::launch(config, name, [=]() { kernel(args...); });
}

/* shuffles: barriers too (a warp's), CUDA's are */
template <class T> T __shfl_sync(unsigned mask, T value, int source, int width = 32) {
    (void)width;
    EMU_COMPILER_BARRIER();
    emu::exchange(mask, &value, sizeof value, source & 31);
    EMU_COMPILER_BARRIER();
    return value;
}
template <class T> T __shfl_xor_sync(unsigned mask, T value, int offset, int width = 32) {
    (void)width;
    EMU_COMPILER_BARRIER();
    emu::exchange(mask, &value, sizeof value, emu::lane() ^ offset);
    EMU_COMPILER_BARRIER();
    return value;
}
template <class T> T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
    (void)width;
    EMU_COMPILER_BARRIER();
    emu::exchange(mask, &value, sizeof value, emu::lane() - (int)delta); /* below lane 0: the lane's own */
    EMU_COMPILER_BARRIER();
    return value;
}

/* threads take turns only at barriers: an update is atomic as it stands */
template <class T> T atomicAdd(T *address, T value) {
    T old = *address;
    *address = old + value;
    return old;
}

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline int min(int a, int b) { return a < b ? a : b; }

#endif

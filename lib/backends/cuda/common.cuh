/* common: what the CUDA kernel files share: the block size, rounding to bf16 and block-wide reductions. */
#ifndef TINA_CUDA_COMMON_CUH
#define TINA_CUDA_COMMON_CUH

#include "backends/cuda/kernels.h"

static constexpr int THREADS = 256;

static inline unsigned blocks_for(size_t n) { return (unsigned)((n + THREADS - 1) / THREADS); }

static inline __device__ float round_bf16(float x) { return __bfloat162float(__float2bfloat16(x)); }

struct Sum {
    template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct Max {
    __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Min {
    __device__ int operator()(int a, int b) const { return a < b ? a : b; }
};

/* op over v of every lane of the warp, returned to every lane */
template <class T, class Op> static __device__ T warp_reduce(T v, Op op) {
    for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* op over v of every thread of the block (THREADS threads), returned to every thread; shared: THREADS / 32 values */
template <class T, class Op> static __device__ T block_reduce(T v, T *shared, Op op, T identity) {
    v = warp_reduce(v, op);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); /* shared may still be read by a previous call */
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    return warp_reduce(lane < THREADS / 32 ? shared[lane] : identity, op);
}

#endif

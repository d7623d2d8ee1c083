/* cuda_impl: what the CUDA backend's files share, private to lib/backends/cuda (C++ only): the backend's state and
 * its helpers (backend.cu), the list of operations, each defined in its op's file beside its kernels, the few
 * launchers more than one file uses, and the device-side basics of every kernel (block size, bf16 rounding, block
 * reductions).
 *
 * Activations are bf16 and every arithmetic step is f32, rounded to bf16 where transformers' bf16 model rounds, so
 * that the two agree to bf16's precision: RMSNorm rounds the normalised value before the weight multiplies it, RoPE
 * rounds cos and sin and each product, SwiGLU rounds silu(gate) before the product. Shapes as in backend.h.
 *
 * Operations return nothing: the first CUDA or cuBLAS failure is kept in `failure`, every later operation is
 * skipped, and the model asks `check` after each call, so a device error becomes the tool's error message, never a
 * crash. All run in call order on one stream; a call that hands data to the host waits for it. */
#ifndef TINA_CUDA_IMPL_CUH
#define TINA_CUDA_IMPL_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <type_traits>

extern "C" {
#include "backends/backend.h"
#include "backends/sampler.h"
}

typedef __nv_bfloat16 bf16;

/* ---- the operations --------------------------------------------------------------------------------------------- */

/* Every operation of the seam the backend implements, as cuda_<op> with the signature of TinaBackend's <op>, in the
 * file named: backend.cu (upload, download), elementwise.cu (weights_to_host, weights_add, embed, add, copy,
 * gather_rows), rmsnorm.cu, matmul.cu (matmul, matmuls and the backward), adapter.cu (lora, loras and the backward),
 * rotary.cu (rope), attention.cu (the cached attention), swiglu.cu, logprobs.cu (logits, logprobs), sample.cu,
 * attention_train.cu (self_attention and attention_backward), dropout.cu. backend.cu puts each in the table, timed
 * under TINA_CUDA_PROFILE (MAX_TIMED bounds the list). */
#define TINA_CUDA_OPS(X) X(upload) X(download) X(weights_to_host) X(weights_add) X(embed) X(rmsnorm) X(matmul) \
    X(matmuls) X(lora) X(loras) X(rope) X(attention) X(swiglu) X(copy) X(gather_rows) X(add) X(logits) X(sample) \
    X(logprobs) X(logprobs_backward) X(rmsnorm_backward) X(matmul_backward) X(lora_backward) X(rope_backward) \
    X(self_attention) X(attention_backward) X(swiglu_backward) X(dropout) X(dropout_backward)

#define TINA_CUDA_DECLARE(op) std::remove_pointer_t<decltype(TinaBackend::op)> cuda_##op;
TINA_CUDA_OPS(TINA_CUDA_DECLARE)
#undef TINA_CUDA_DECLARE

/* ---- the backend's state (backend.cu) --------------------------------------------------------------------------- */

static constexpr int MAX_TIMED = 32; /* operations the profile can time */

/* how the operations of the moment run: launched, recorded into a graph, or left to a recording's replay */
enum StepMode { PLAIN, RECORDING, REPLAYING };

struct Cuda {
    TinaBackend base;
    cudaStream_t stream;
    cublasHandle_t blas;
    char failure[512];           /* the first failure, "" while none */
    void *work;                  /* device scratch (f32 products, vocabulary chunks), grown on demand */
    size_t work_bytes;
    float *rope_cos, *rope_sin;  /* (rope_positions, rope_dim / 2) on the device, made by reserve */
    int rope_positions, rope_dim;
    double rope_theta;
    int *layout;                 /* device (3, capacity): positions, slots of the last batch; tokens or rows */
    int *layout_host;            /* host (4, capacity): what layout's first two rows hold now (to skip unchanged
                                  * uploads), then the next call's, built beside it */
    int layout_capacity, layout_tokens;
    double *lse;                 /* device (2, capacity) running max and sum of a log-softmax */
    float *picked;               /* device (2, capacity): target logits, then log-probs; the log-probs' gradients */
    int lse_capacity;
    TinaSampler *sampler;        /* the host's draws of the rows the device leaves to it (sample.cu says which) */
    float *sampler_row;          /* (V,) host: such a row's logits */
    int sampler_vocab;
    int multiprocessors;         /* the GPU's, for attention.cu's splits */
    /* recorded decode steps (graph_begin, "recorded steps" in backend.cu) */
    StepMode mode;
    struct {
        uint64_t key;
        cudaGraphExec_t step;
    } recordings[16];
    int n_recordings, next_eviction;
    uint64_t seen_key;           /* the last plain step's key, */
    int seen_times;              /* and how many steps in a row have had it: the RECORD_AT-th is recorded */
    cudaGraphExec_t replay;      /* the recording a REPLAYING step launches */
    bool recording_off;          /* TINA_CUDA_GRAPHS=0, profiling, or a recording that failed */
    bool recording_broken;       /* this recording needed what a recording cannot do (scratch to grow) */
    bool staged;                 /* this recorded step's layout is in staging already */
    int *staging;                /* pinned host (4, layout_capacity): positions, slots, tokens, rows of a recorded step,
                                  * read by its copies when the step runs */
    void *blas_workspace;        /* cuBLAS's, fixed, as a recording needs */
    bool profiling;              /* TINA_CUDA_PROFILE: the operations timed (backend.cu's "profile") */
    double profile_seconds[MAX_TIMED];
    long long profile_calls[MAX_TIMED];
};

static inline Cuda *cuda_of(TinaBackend *b) { return (Cuda *)b; }

static inline bool failed(const Cuda *c) { return c->failure[0] != '\0'; }

/* whether an operation launches its work: not after a failure, nor in a replayed step (whose recording does) */
static inline bool launching(const Cuda *c) { return !failed(c) && c->mode != REPLAYING; }

/* status kept as the failure (the first only) unless it is success, which it returns */
static inline bool ok(Cuda *c, cudaError_t status, const char *what) {
    if (status == cudaSuccess) return true;
    if (!failed(c)) snprintf(c->failure, sizeof c->failure, "CUDA: %s: %s", what, cudaGetErrorString(status));
    return false;
}

static inline bool blas_ok(Cuda *c, cublasStatus_t status, const char *what) {
    if (status == CUBLAS_STATUS_SUCCESS) return true;
    if (!failed(c)) snprintf(c->failure, sizeof c->failure, "cuBLAS: %s: %s", what, cublasGetStatusString(status));
    return false;
}

/* after a launch: its failure, if any, kept */
static inline void launched(Cuda *c, const char *what) { ok(c, cudaGetLastError(), what); }

/* device scratch of at least bytes; NULL after a failure, or when a recording would need it to grow (recordings
 * hold its address: growing it forgets them) */
void *scratch(Cuda *c, size_t bytes);

/* The per-token layout of a forward call, on the device: position of each token, and its sequence's cache slot. */
struct DeviceBatch {
    const int *positions; /* (T,) */
    const int *slot;      /* (T,) */
};

/* the device copy of a forward call's per-token layout, uploaded only when it changed (once per forward, not per
 * layer); a recorded step writes it into staging once, and its recording copies it from there */
DeviceBatch batch_on_device(Cuda *c, const TinaBatch *batch);

/* Where staging keeps a recorded step's ids */
enum { STAGED_TOKENS = 2, STAGED_ROWS = 3 };

/* n host ints into the third row of the layout (tokens, rows); in a recorded step through staging row `staged`
 * (ids of one kind: the step's copies read them when it runs); NULL after a failure */
const int *ints_on_device(Cuda *c, const int *host, int n, int staged);

/* ---- what more than one op file uses ----------------------------------------------------------------------------- */

/* The most rows of a call taken as a decode step's, whose launches of a few microseconds each outlast the work:
 * adapters run as two kernels of adapter.cu (a dot product per warp or thread, all the adapters of one input
 * together) instead of four launches each (input copy, two cuBLAS f32 products, sum), and products of one input
 * without biases as one (cuda_matmuls). */
static constexpr int FEW_ROWS = 64;

/* Up to ONE_INPUT_MOST products (or adapters) of one input: q, k, v; gate, up */
static constexpr int ONE_INPUT_MOST = 3;

/* elementwise.cu: out (n) bf16 = in (n) f32, and back */
void launch_f32_to_bf16(cudaStream_t s, bf16 *out, const float *in, size_t n);
void launch_bf16_to_f32(cudaStream_t s, float *out, const bf16 *in, size_t n);

/* matmul.cu: out (R, S) of type out_type = alpha x (R, K) @ y (S, K)^T, row-major, bf16 in, f32 sums (cuBLAS's
 * column-major gemm(T, N, S, R, K, y, x)) */
void product_xyt(Cuda *c, void *out, cudaDataType out_type, const void *x, const void *y, int R, int S, int K,
                 float alpha, const char *what);

/* matmul.cu: finishes a product p (T, N) f32 as a bf16 model's linear layer and residual add do: p plus its bias
 * (N) or NULL, rounded once (the bias rides in cuBLAS's epilogue there); then, when accumulate, out + that, rounded
 * again; else that */
void finish_product(Cuda *c, bf16 *out, const float *p, const bf16 *bias, int T, int N, bool accumulate);

/* logprobs.cu: logits (rows, V) f32 on the device = h (rows, C) @ head (V, C)^T rounded to bf16, as a bf16 model's
 * head gives them */
void rounded_logits(Cuda *c, float *logits, const void *h, const void *head, int rows, int C, int V);

/* attention.cu: the head sizes its kernels take (16, 32, 64, 96, 128) */
bool tina_cuda_attention_fits(int D);

/* attention.cu: out (T, Hq, D) = causal GQA attention of each sequence of the call over its own tokens, k and v (T,
 * Hkv, D) the call's (training's whole sequences, from position 0): the prefill's tiles on the tensor cores, without
 * a cache */
void launch_self_attention(cudaStream_t s, bf16 *out, const bf16 *q, const bf16 *k, const bf16 *v, DeviceBatch batch,
                           int T, int Hq, int Hkv, int D);

/* ---- device side ------------------------------------------------------------------------------------------------ */

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

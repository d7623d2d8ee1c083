/* backend: the CUDA backend's seam (backend.h): memory, loading, cuBLAS products, and the launches of the kernels
 * (kernels.h), all in call order on one stream. A call that hands data to the host waits for the stream.
 *
 * Operations return nothing: the first CUDA or cuBLAS failure is kept, every later operation is skipped, and the
 * model asks `check` after each call, so a device error becomes the tool's error message, never a crash. */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda.h"
#include "backends/cuda/kernels.h"
extern "C" {
#include "backends/rope.h"
}

static constexpr size_t BLAS_WORKSPACE = (size_t)32 << 20; /* cuBLAS's scratch, set once: a recording cannot
                                                             * allocate (Hopper's GEMMs ask for up to 32 MB) */
static constexpr int MAX_TIMED = 32; /* operations the profile can time (see "profile" below) */

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
    int multiprocessors;         /* the GPU's, for attention_splits */
    /* recorded decode steps (graph_begin, "recorded steps" below) */
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
    bool profiling;              /* TINA_CUDA_PROFILE: the operations timed (see "profile" below) */
    double profile_seconds[MAX_TIMED];
    long long profile_calls[MAX_TIMED];
};

static Cuda *cuda_of(TinaBackend *b) { return (Cuda *)b; }

static bool failed(const Cuda *c) { return c->failure[0] != '\0'; }

static bool ok(Cuda *c, cudaError_t status, const char *what) {
    if (status == cudaSuccess) return true;
    if (!failed(c)) snprintf(c->failure, sizeof c->failure, "CUDA: %s: %s", what, cudaGetErrorString(status));
    return false;
}

static bool blas_ok(Cuda *c, cublasStatus_t status, const char *what) {
    if (status == CUBLAS_STATUS_SUCCESS) return true;
    if (!failed(c)) snprintf(c->failure, sizeof c->failure, "cuBLAS: %s: %s", what, cublasGetStatusString(status));
    return false;
}

static void launched(Cuda *c, const char *what) { ok(c, cudaGetLastError(), what); }

static void forget_recordings(Cuda *c);

/* device scratch of at least bytes; NULL after a failure, or when a recording would need it to grow (recordings
 * hold its address: growing it forgets them) */
static void *scratch(Cuda *c, size_t bytes) {
    if (failed(c)) return NULL;
    if (bytes <= c->work_bytes) return c->work;
    if (c->mode == RECORDING) {
        c->recording_broken = true;
        return NULL;
    }
    forget_recordings(c);
    if (!ok(c, cudaStreamSynchronize(c->stream), "synchronize") || !ok(c, cudaFree(c->work), "free scratch"))
        return NULL;
    c->work = NULL;
    c->work_bytes = 0;
    size_t grown = bytes + bytes / 2;
    if (!ok(c, cudaMalloc(&c->work, grown), "allocate scratch")) return NULL;
    c->work_bytes = grown;
    return c->work;
}

/* ---- memory ----------------------------------------------------------------------------------------------------- */

static void *cuda_alloc(TinaBackend *b, size_t bytes) {
    Cuda *c = cuda_of(b);
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError(); /* out of memory is the caller's to report, not a sticky failure */
        return NULL;
    }
    if (!ok(c, cudaMemsetAsync(p, 0, bytes, c->stream), "zero an allocation") ||
        !ok(c, cudaStreamSynchronize(c->stream), "synchronize"))
        return NULL;
    return p;
}

static size_t cuda_free_memory(TinaBackend *b) {
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) cudaGetLastError();
    (void)b;
    return free;
}

static void cuda_release(TinaBackend *b, void *p) {
    Cuda *c = cuda_of(b);
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
    forget_recordings(c); /* a recording may point into p, and a later allocation may get its address */
    ok(c, cudaFree(p), "free");
}

static void cuda_upload(TinaBackend *b, void *dst, const void *src, size_t bytes) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream), "upload");
}

static void cuda_download(TinaBackend *b, void *dst, const void *src, size_t bytes) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream), "download");
    if (!failed(c)) ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

static TinaStatus cuda_check(TinaBackend *b, TinaError *err) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaGetLastError(), "a kernel");
    return failed(c) ? tina_error(err, TINA_ERR_RUNTIME, "%s", c->failure) : TINA_OK;
}

/* The device copy of a forward call's per-token layout, uploaded only when it changed (once per forward, not per
 * layer): positions and slots. A recorded step writes it into staging once, and its recording copies it from there. */
static DeviceBatch batch_on_device(Cuda *c, const TinaBatch *batch) {
    int T = batch->n_tokens;
    DeviceBatch d = {c->layout, c->layout + c->layout_capacity};
    if (failed(c) || T > c->layout_capacity) {
        if (!failed(c))
            snprintf(c->failure, sizeof c->failure, "a call of %d tokens exceeds the %d reserved", T,
                     c->layout_capacity);
        return d;
    }
    if (c->mode != PLAIN && c->staged) return d;
    int *host = c->mode != PLAIN ? c->staging : c->layout_host + 2 * (size_t)c->layout_capacity; /* this call's */
    for (int s = 0; s < batch->n_seqs; s++)
        for (int i = 0; i < batch->n_new[s]; i++) {
            int t = batch->first[s] + i;
            host[t] = batch->positions[t];
            host[T + t] = batch->slot[s];
        }
    bool unchanged = c->layout_tokens == T && memcmp(host, c->layout_host, 2 * (size_t)T * sizeof *host) == 0;
    bool upload = c->mode == RECORDING || (c->mode == PLAIN && !unchanged);
    if (c->mode != PLAIN) c->staged = true, c->layout_tokens = -1; /* the next plain call uploads again */
    if (upload) {
        ok(c, cudaMemcpyAsync(c->layout, host, (size_t)T * sizeof *host, cudaMemcpyHostToDevice, c->stream),
           "upload positions");
        ok(c, cudaMemcpyAsync(c->layout + c->layout_capacity, host + T, (size_t)T * sizeof *host,
                              cudaMemcpyHostToDevice, c->stream),
           "upload slots");
    }
    if (upload && c->mode == PLAIN) {
        memcpy(c->layout_host, host, 2 * (size_t)T * sizeof *host);
        c->layout_tokens = T;
    }
    return d;
}

/* Where staging keeps a recorded step's ids */
enum { STAGED_TOKENS = 2, STAGED_ROWS = 3 };

/* n host ints into the third row of the layout (tokens, rows); in a recorded step through staging row `staged`
 * (ids of one kind: the step's copies read them when it runs); NULL after a failure */
static const int *ints_on_device(Cuda *c, const int *host, int n, int staged) {
    if (failed(c)) return NULL;
    if (n > c->layout_capacity) {
        snprintf(c->failure, sizeof c->failure, "a call of %d rows exceeds the %d reserved", n, c->layout_capacity);
        return NULL;
    }
    int *d = c->layout + 2 * (size_t)c->layout_capacity;
    if (c->mode != PLAIN) host = (const int *)memcpy(c->staging + (size_t)staged * c->layout_capacity, host,
                                                     (size_t)n * sizeof *host);
    if (c->mode == REPLAYING) return d;
    if (!ok(c, cudaMemcpyAsync(d, host, (size_t)n * sizeof *host, cudaMemcpyHostToDevice, c->stream), "upload ids"))
        return NULL;
    return d;
}

/* whether an operation launches its work: not after a failure, nor in a replayed step (whose recording does) */
static bool launching(const Cuda *c) { return !failed(c) && c->mode != REPLAYING; }

/* The rope tables (rope.h, as the CPU backend's), and the per-token layout
 * and log-softmax state for calls of up to max_tokens tokens. */
static TinaStatus cuda_reserve(TinaBackend *b, int max_tokens, int max_len, int D, double theta, TinaError *err) {
    Cuda *c = cuda_of(b);
    if (!tina_cuda_attention_fits(D))
        return tina_error(err, TINA_ERR_INPUT, "head size %d: the CUDA attention takes 16, 32, 64, 96 or 128", D);
    if (max_tokens > c->layout_capacity) {
        int *layout = NULL, *staging = NULL, *host = (int *)malloc(4 * (size_t)max_tokens * sizeof *host);
        if (!host || cudaMalloc(&layout, 3 * (size_t)max_tokens * sizeof *layout) != cudaSuccess ||
            cudaMallocHost(&staging, 4 * (size_t)max_tokens * sizeof *staging) != cudaSuccess) {
            free(host);
            cudaFree(layout);
            cudaGetLastError();
            return tina_error(err, TINA_ERR_RUNTIME, "out of memory (a layout of %d tokens)", max_tokens);
        }
        cudaStreamSynchronize(c->stream);
        forget_recordings(c);
        cudaFree(c->layout);
        cudaFreeHost(c->staging);
        free(c->layout_host);
        c->layout = layout, c->layout_host = host, c->staging = staging;
        c->layout_capacity = max_tokens, c->layout_tokens = 0;
    }
    if (max_len <= c->rope_positions && D == c->rope_dim && theta == c->rope_theta) return cuda_check(b, err);
    size_t n = (size_t)max_len * (size_t)(D / 2);
    float *cs = (float *)malloc(2 * n * sizeof *cs), *sn = cs + n, *device = NULL;
    if (!cs || cudaMalloc(&device, 2 * n * sizeof *device) != cudaSuccess) {
        free(cs);
        cudaGetLastError();
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (rope tables of %d positions)", max_len);
    }
    tina_rope_tables(cs, sn, max_len, D, theta);
    ok(c, cudaMemcpyAsync(device, cs, 2 * n * sizeof *cs, cudaMemcpyHostToDevice, c->stream), "upload rope tables");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
    free(cs);
    forget_recordings(c);
    cudaFree(c->rope_cos);
    c->rope_cos = device, c->rope_sin = device + n;
    c->rope_positions = max_len, c->rope_dim = D, c->rope_theta = theta;
    return cuda_check(b, err);
}

/* bf16 files are copied as they are; f32 and f16 go through f32 on the device, rounded to nearest even */
static TinaStatus cuda_load(TinaBackend *b, void *dst, const TinaTensorInfo *src, TinaError *err) {
    Cuda *c = cuda_of(b);
    if (src->dtype == TINA_DTYPE_BF16) {
        ok(c, cudaMemcpyAsync(dst, src->data, src->nbytes, cudaMemcpyHostToDevice, c->stream), "upload a weight");
        ok(c, cudaStreamSynchronize(c->stream), "synchronize");
        return cuda_check(b, err);
    }
    float *host = (float *)malloc((size_t)src->numel * sizeof *host);
    if (!host) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (tensor %s)", src->name);
    TinaStatus status = tina_tensor_to_f32(src, host, err);
    float *device = status ? NULL : (float *)scratch(c, (size_t)src->numel * sizeof(float));
    if (device) {
        ok(c, cudaMemcpyAsync(device, host, (size_t)src->numel * sizeof *host, cudaMemcpyHostToDevice, c->stream),
           "upload a weight");
        launch_f32_to_bf16(c->stream, (bf16 *)dst, device, (size_t)src->numel);
        launched(c, "convert a weight");
        ok(c, cudaStreamSynchronize(c->stream), "synchronize");
    }
    free(host);
    return status ? status : cuda_check(b, err);
}

static void cuda_weights_to_host(TinaBackend *b, float *dst, const void *src, size_t n) {
    Cuda *c = cuda_of(b);
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    launch_bf16_to_f32(c->stream, device, (const bf16 *)src, n);
    launched(c, "convert weights");
    ok(c, cudaMemcpyAsync(dst, device, n * sizeof(float), cudaMemcpyDeviceToHost, c->stream), "download weights");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

static void cuda_weights_add(TinaBackend *b, void *dst, const float *delta, size_t n) {
    Cuda *c = cuda_of(b);
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    ok(c, cudaMemcpyAsync(device, delta, n * sizeof(float), cudaMemcpyHostToDevice, c->stream), "upload a delta");
    launch_add_f32(c->stream, (bf16 *)dst, device, n);
    launched(c, "add a delta");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* ---- forward ---------------------------------------------------------------------------------------------------- */

static void cuda_embed(TinaBackend *b, void *out, const void *table, const int32_t *tokens, int T, int C) {
    Cuda *c = cuda_of(b);
    const int *ids = ints_on_device(c, tokens, T, STAGED_TOKENS);
    if (!ids || !launching(c)) return;
    launch_embed(c->stream, (bf16 *)out, (const bf16 *)table, ids, T, C);
    launched(c, "embed");
}

static void cuda_rmsnorm(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps) {
    Cuda *c = cuda_of(b);
    if (!launching(c)) return;
    launch_rmsnorm(c->stream, (bf16 *)out, (const bf16 *)in, (const bf16 *)weight, T, C, eps);
    launched(c, "rmsnorm");
}

/* Row-major out (T, N) = in (T, K) @ w (N, K)^T is column-major out^T (N, T) = w^T' (N, K) @ in^T (K, T): cuBLAS
 * reads w as a (K, N) column-major matrix and transposes it. bf16 in and out, f32 accumulation. With a bias or into
 * the residual stream, the product goes through f32 so that it rounds where transformers rounds (finish_product). */
static void cuda_matmul(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                        bool accumulate) {
    Cuda *c = cuda_of(b);
    if (!launching(c)) return;
    float one = 1.0f, zero = 0.0f;
    if (!bias && !accumulate) {
        blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &one, w, CUDA_R_16BF, K, in, CUDA_R_16BF,
                                K, &zero, out, CUDA_R_16BF, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                "matmul");
        return;
    }
    float *p = (float *)scratch(c, (size_t)T * N * sizeof(float));
    if (!p) return;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &one, w, CUDA_R_16BF, K, in, CUDA_R_16BF, K,
                            &zero, p, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "matmul");
    launch_finish_product(c->stream, (bf16 *)out, p, (const bf16 *)bias, T, N, accumulate);
    launched(c, "finish a product");
}

/* The most rows of a call taken as a decode step's, whose launches of a few microseconds each outlast the work:
 * adapters run as launch_lora_small's two kernels (a dot product per warp or thread, all the adapters of one input
 * together) instead of four launches each (input copy, two cuBLAS f32 products, sum), and products of one input
 * without biases as one (cuda_matmuls). */
static constexpr int FEW_ROWS = 64;

/* products of one input: when their weights lie one after the other in memory (q, k and v's), as one product into
 * f32 that one kernel splits, biases and rounds: two launches, where each product alone takes one, and two with a
 * bias (through f32 as well). Taken when it saves launches, and without biases only for a decode step's few rows,
 * whose f32 round trip costs little. */
static void cuda_matmuls(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                         const void *const *bias, int T, int K, const int *N) {
    Cuda *c = cuda_of(b);
    int width = N[0], biases = bias[0] != NULL;
    bool adjacent = n <= ONE_INPUT_MOST;
    for (int i = 1; i < n && adjacent; i++) {
        adjacent = w[i] == (const bf16 *)w[i - 1] + (size_t)N[i - 1] * K;
        width += N[i], biases += bias[i] != NULL;
    }
    if (!adjacent || n + biases <= 2 || (!biases && T > FEW_ROWS)) {
        for (int i = 0; i < n; i++) cuda_matmul(b, out[i], in, w[i], bias[i], T, K, N[i], false);
        return;
    }
    if (!launching(c)) return;
    float *p = (float *)scratch(c, (size_t)T * width * sizeof(float)), one = 1.0f, zero = 0.0f;
    if (!p) return;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, width, T, K, &one, w[0], CUDA_R_16BF, K, in,
                            CUDA_R_16BF, K, &zero, p, CUDA_R_32F, width, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "matmuls");
    ProductGroup group = {n, {}, {}, {}};
    for (int i = 0; i < n; i++) group.out[i] = (bf16 *)out[i], group.bias[i] = (const bf16 *)bias[i], group.N[i] = N[i];
    launch_finish_products(c->stream, group, p, T, false);
    launched(c, "finish products");
}

static void cuda_add(TinaBackend *b, void *x, const void *y, size_t n) {
    Cuda *c = cuda_of(b);
    if (!launching(c)) return;
    launch_add(c->stream, (bf16 *)x, (const bf16 *)y, n);
    launched(c, "add");
}

/* PEFT keeps a bf16 model's adapter in f32 and computes it in f32 (the input cast up, the sum with the base
 * output in f32, then rounded): the same here. A decode step's few rows take launch_lora_small's two kernels for all
 * the adapters of the input; more rows one f32 copy of the input for all of them, cuBLAS's f32 products for each,
 * and one kernel that adds every output (and writes z) */
static void cuda_loras(TinaBackend *b, int n, void *const *out, const void *in, const float *const *a,
                       const float *const *bm, void *z, int T, int K, const int *N, int r, float scale,
                       void *const *residual) {
    Cuda *c = cuda_of(b);
    if (n > ONE_INPUT_MOST) {
        for (int i = 0; i < n; i += ONE_INPUT_MOST) {
            int part = n - i < ONE_INPUT_MOST ? n - i : ONE_INPUT_MOST;
            cuda_loras(b, part, out + i, in, a + i, bm + i, (bf16 *)z + (size_t)i * T * r, T, K, N + i, r, scale,
                       residual ? residual + i : NULL);
        }
        return;
    }
    if (!launching(c)) return;
    LoraGroup group = {n, {}, {}, {}, {}, {}};
    size_t in_n = (size_t)T * K, z_n = (size_t)n * T * r, y_n = 0;
    for (int i = 0; i < n; i++) {
        group.out[i] = (bf16 *)out[i], group.residual[i] = residual ? (bf16 *)residual[i] : NULL;
        group.a[i] = a[i], group.bm[i] = bm[i], group.N[i] = N[i];
        y_n += (size_t)T * N[i];
    }
    if (T <= FEW_ROWS) {
        float *z32 = (float *)scratch(c, z_n * sizeof(float));
        if (!z32) return;
        launch_lora_small(c->stream, group, (const bf16 *)in, (bf16 *)z, z32, T, K, r, scale);
        launched(c, "loras");
        return;
    }
    float *in32 = (float *)scratch(c, (in_n + z_n + y_n) * sizeof(float));
    if (!in32) return;
    float *z32 = in32 + in_n, *y32 = z32 + z_n, one = 1.0f, zero = 0.0f;
    launch_bf16_to_f32(c->stream, in32, (const bf16 *)in, in_n);
    launched(c, "lora input");
    for (int i = 0; i < n; i++) {
        blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, r, T, K, &one, a[i], K, in32, K, &zero, z32, r),
                "lora A");
        blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, N[i], T, r, &scale, bm[i], r, z32, r, &zero, y32,
                               N[i]),
                "lora B");
        z32 += (size_t)T * r, y32 += (size_t)T * N[i];
    }
    launch_lora_outs(c->stream, group, in32 + in_n + z_n, T, (bf16 *)z, in32 + in_n, r);
    launched(c, "lora outputs");
}

static void cuda_lora(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T, int K,
                      int N, int r, float scale) {
    cuda_loras(b, 1, &out, in, &a, &bm, z, T, K, &N, r, scale, NULL);
}

static void cuda_rope(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D, double theta) {
    Cuda *c = cuda_of(b);
    (void)theta; /* the tables were made for it by reserve */
    DeviceBatch d = batch_on_device(c, batch);
    if (!launching(c)) return;
    launch_rope(c->stream, (bf16 *)q, (bf16 *)k, c->rope_cos, c->rope_sin, d, batch->n_tokens, Hq, Hkv, D, false);
    launched(c, "rope");
}

static constexpr int PREFILL_TILES_FROM = 16;

static void cuda_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache,
                           void *v_cache, const TinaKVPages *pages, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    DeviceBatch d = batch_on_device(c, batch);
    if (!launching(c)) return;
    /* splits for the cache's length, not the keys of the moment: a decode step's are the same at every position
     * (as a recorded step needs), and each token's keys are spread over them, empty ranges costing a write */
    int T = batch->n_tokens, splits = attention_splits(T, Hq, Hkv, pages->per_slot * pages->page_len,
                                                       c->multiprocessors);
    /* a prefill (sequences of PREFILL_TILES_FROM tokens or more on average) in tiles on the tensor cores */
    bool tiles = T >= PREFILL_TILES_FROM * batch->n_seqs;
    if (tiles) splits = 1;
    float *partial = splits > 1 ? (float *)scratch(c, (size_t)T * Hq * splits * (D + 2) * sizeof(float)) : NULL;
    if (failed(c) || (splits > 1 && !partial)) return;
    launch_attention(c->stream, (bf16 *)out, (const bf16 *)q, (const bf16 *)k, (const bf16 *)v, (bf16 *)k_cache,
                     (bf16 *)v_cache, *pages, d, T, Hq, Hkv, D, splits, partial, tiles);
    launched(c, "attention");
}

static void cuda_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I) {
    Cuda *c = cuda_of(b);
    if (!launching(c)) return;
    launch_swiglu(c->stream, (bf16 *)out, (const bf16 *)gate, (const bf16 *)up, (size_t)T * I);
    launched(c, "swiglu");
}

static void cuda_copy(TinaBackend *b, void *dst, const void *src, size_t n) {
    Cuda *c = cuda_of(b);
    if (launching(c)) ok(c, cudaMemcpyAsync(dst, src, n * sizeof(bf16), cudaMemcpyDeviceToDevice, c->stream), "copy");
}

static void cuda_gather_rows(TinaBackend *b, void *out, const void *in, const int *rows, int n, int C) {
    Cuda *c = cuda_of(b);
    const int *ids = ints_on_device(c, rows, n, STAGED_ROWS);
    if (!ids || !launching(c)) return;
    launch_gather_rows(c->stream, (bf16 *)out, (const bf16 *)in, ids, n, C);
    launched(c, "gather rows");
}

/* out (rows, n) f32 = h (rows, C) @ head rows (n, C)^T, bf16 in, f32 accumulated */
static void head_product(Cuda *c, float *out, const void *h, const void *head, int rows, int C, int n) {
    float one = 1.0f, zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, C, &one, head, CUDA_R_16BF, C, h, CUDA_R_16BF,
                            C, &zero, out, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "head");
}

/* logits (rows, V) f32 on the device = h @ head^T rounded to bf16, as a bf16 model's head gives them */
static void rounded_logits(Cuda *c, float *logits, const void *h, const void *head, int rows, int C, int V) {
    head_product(c, logits, h, head, rows, C, V);
    launch_round_bf16(c->stream, logits, logits, (size_t)rows * V);
    launched(c, "round logits");
}

static void cuda_logits(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)rows * V;
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    rounded_logits(c, device, h, head, rows, C, V);
    ok(c, cudaMemcpyAsync(out, device, n * sizeof(float), cudaMemcpyDeviceToHost, c->stream), "download logits");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* a host sampler for rows of V logits; false (and the failure) when out of memory */
static bool host_sampler(Cuda *c, int V) {
    if (c->sampler && c->sampler_vocab == V) return true;
    tina_sampler_free(c->sampler);
    free(c->sampler_row);
    c->sampler = NULL;
    c->sampler_row = (float *)malloc((size_t)V * sizeof *c->sampler_row);
    TinaError err;
    if (!c->sampler_row || tina_sampler_new(V, &c->sampler, &err)) {
        snprintf(c->failure, sizeof c->failure, "out of memory (a sampler for %d tokens)", V);
        return false;
    }
    c->sampler_vocab = V;
    return true;
}

/* The logits rounded to bf16 as for cuda_logits, drawn from on the device; only the tokens and log-probs come back,
 * and the logits of a row the device leaves to the host. */
static void cuda_sample(TinaBackend *b, int32_t *tokens, double *logprobs, const void *h, const void *head, int rows,
                        int C, int V, const TinaSamplerParams *params, const double *u) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)rows * V, small = ((size_t)rows * (2 * sizeof(double) + sizeof(int32_t)) + 255) / 256 * 256;
    char *work = (char *)scratch(c, small + n * sizeof(float));
    if (!work) return;
    double *u_device = (double *)work, *logprobs_device = u_device + rows;
    int32_t *tokens_device = (int32_t *)(logprobs_device + rows);
    float *logits = (float *)(work + small);
    ok(c, cudaMemcpyAsync(u_device, u, (size_t)rows * sizeof *u, cudaMemcpyHostToDevice, c->stream), "upload uniforms");
    rounded_logits(c, logits, h, head, rows, C, V);
    launch_sample(c->stream, tokens_device, logprobs_device, logits, rows, V, *params, u_device);
    launched(c, "sample");
    ok(c, cudaMemcpyAsync(tokens, tokens_device, (size_t)rows * sizeof *tokens, cudaMemcpyDeviceToHost, c->stream),
       "download tokens");
    ok(c, cudaMemcpyAsync(logprobs, logprobs_device, (size_t)rows * sizeof *logprobs, cudaMemcpyDeviceToHost,
                          c->stream),
       "download log-probs");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
    for (int i = 0; i < rows && !failed(c); i++) {
        if (tokens[i] >= 0 || !host_sampler(c, V)) continue;
        if (ok(c, cudaMemcpy(c->sampler_row, logits + (size_t)i * V, (size_t)V * sizeof(float), cudaMemcpyDeviceToHost),
               "download logits"))
            tokens[i] = tina_sampler_draw(c->sampler, c->sampler_row, params, u[i], &logprobs[i]);
    }
}

/* the vocabulary in chunks of at most this many logits a call (rows x columns), 256 MB of f32 */
static const size_t CHUNK_LOGITS = (size_t)64 << 20;

/* the columns of a vocabulary chunk for T rows */
static int chunk_columns(int T, int V) {
    int columns = (int)(CHUNK_LOGITS / (size_t)T);
    return columns > V ? V : columns < 1 ? 1 : columns;
}

/* room for the per-row log-softmax state of T rows; false after a failure */
static bool rows_state(Cuda *c, int T) {
    if (failed(c)) return false;
    if (T <= c->lse_capacity) return true;
    cudaFree(c->lse);
    cudaFree(c->picked);
    c->lse = NULL, c->picked = NULL, c->lse_capacity = 0;
    if (!ok(c, cudaMalloc(&c->lse, 2 * (size_t)T * sizeof *c->lse), "allocate log-softmax state") ||
        !ok(c, cudaMalloc(&c->picked, 2 * (size_t)T * sizeof *c->picked), "allocate log-softmax state"))
        return false;
    c->lse_capacity = T;
    return true;
}

/* c->lse (max, then sum) over the whole vocabulary of h @ head^T, and c->picked the target logits, a chunk (T,
 * columns) f32 at a time in chunk */
static void log_sum_exp(Cuda *c, float *chunk, int columns, const void *h, const void *head, const int *ids, int T,
                        int C, int V) {
    for (int v0 = 0; v0 < V; v0 += columns) {
        int n = V - v0 < columns ? V - v0 : columns;
        head_product(c, chunk, h, (const bf16 *)head + (size_t)v0 * C, T, C, n);
        launch_log_sum_exp(c->stream, chunk, T, n, v0, ids, c->lse, c->lse + T, c->picked, v0 == 0);
        launched(c, "log-sum-exp");
    }
}

static void cuda_logprobs(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T,
                          int C, int V, double *lse) {
    Cuda *c = cuda_of(b);
    if (!rows_state(c, T)) return;
    int columns = chunk_columns(T, V);
    float *chunk = (float *)scratch(c, (size_t)T * columns * sizeof(float));
    const int *ids = ints_on_device(c, targets, T, STAGED_TOKENS);
    if (!chunk || !ids) return;
    log_sum_exp(c, chunk, columns, h, head, ids, T, C, V);
    launch_logprob(c->stream, c->picked, c->picked, c->lse, c->lse + T, T, lse);
    launched(c, "log-probs");
    ok(c, cudaMemcpyAsync(out, c->picked, (size_t)T * sizeof *out, cudaMemcpyDeviceToHost, c->stream),
       "download log-probs");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* ---- backward --------------------------------------------------------------------------------------------------- */

/* Per chunk, with the forward's log-sum-exp: d logits (bf16, as a bf16 model's autograd has them) and dh += d logits
 * @ head rows, summed in f32 over the chunks and rounded once. */
static void cuda_logprobs_backward(TinaBackend *b, void *dh, const void *h, const void *head, const int32_t *targets,
                                   const float *dlogp, int T, int C, int V, const double *lse) {
    Cuda *c = cuda_of(b);
    if (!rows_state(c, T)) return;
    int columns = chunk_columns(T, V);
    size_t logits = (size_t)T * columns;
    float *chunk = (float *)scratch(c, logits * (sizeof(float) + sizeof(bf16)) + (size_t)T * C * sizeof(float));
    const int *ids = ints_on_device(c, targets, T, STAGED_TOKENS);
    if (!chunk || !ids) return;
    float *dh32 = chunk + logits, *dlogp_device = c->picked + T;
    bf16 *grad = (bf16 *)(dh32 + (size_t)T * C);
    ok(c, cudaMemcpyAsync(dlogp_device, dlogp, (size_t)T * sizeof *dlogp, cudaMemcpyHostToDevice, c->stream),
       "upload log-prob gradients");
    float one = 1.0f, zero = 0.0f;
    for (int v0 = 0; v0 < V; v0 += columns) {
        int n = V - v0 < columns ? V - v0 : columns;
        const bf16 *rows = (const bf16 *)head + (size_t)v0 * C;
        head_product(c, chunk, h, rows, T, C, n);
        launch_logprob_grad(c->stream, grad, chunk, T, n, v0, ids, lse, dlogp_device);
        launched(c, "log-prob gradients");
        /* dh^T (C, T) += rows^T (C, n) @ grad^T (n, T), column-major */
        blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, C, T, n, &one, rows, CUDA_R_16BF, C, grad,
                                CUDA_R_16BF, n, v0 ? &one : &zero, dh32, CUDA_R_32F, C, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT),
                "head backward");
    }
    launch_f32_to_bf16(c->stream, (bf16 *)dh, dh32, (size_t)T * C);
    launched(c, "round dh");
}

static void cuda_rmsnorm_backward(TinaBackend *b, void *dx, const void *x, const void *weight, const void *dout, int T,
                                  int C, float eps, bool accumulate) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_rmsnorm_backward(c->stream, (bf16 *)dx, (const bf16 *)x, (const bf16 *)weight, (const bf16 *)dout, T, C,
                            eps, accumulate);
    launched(c, "rmsnorm backward");
}

/* din (T, K) = dout (T, N) @ w (N, K) is column-major din^T (K, T) = w^T (K, N) @ dout^T (N, T); added into din
 * through f32, rounded once, when accumulate */
static void cuda_matmul_backward(TinaBackend *b, void *din, const void *dout, const void *w, int T, int K, int N,
                                 bool accumulate) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    float one = 1.0f, zero = 0.0f;
    if (!accumulate) {
        blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, T, N, &one, w, CUDA_R_16BF, K, dout,
                                CUDA_R_16BF, N, &zero, din, CUDA_R_16BF, K, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                "matmul backward");
        return;
    }
    float *p = (float *)scratch(c, (size_t)T * K * sizeof(float));
    if (!p) return;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, T, N, &one, w, CUDA_R_16BF, K, dout, CUDA_R_16BF,
                            N, &zero, p, CUDA_R_32F, K, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "matmul backward");
    launch_finish_product(c->stream, (bf16 *)din, p, NULL, T, K, true);
    launched(c, "add a gradient");
}

/* In f32 as the forward: z = in @ a^T recomputed (the forward kept it rounded); db += scale dout^T z;
 * dz = scale dout @ bm; da += dz^T in; din (+)= dz @ a. Column-major, each row-major (R, S) matrix read as (S, R). */
static void cuda_lora_backward(TinaBackend *b, void *din, float *da, float *db, const void *in, const void *dout,
                               const float *a, const float *bm, const void *z, void *dscratch, int T, int K, int N,
                               int r, float scale, bool accumulate) {
    Cuda *c = cuda_of(b);
    (void)z, (void)dscratch; /* z again in f32, dz in f32 scratch */
    size_t in_n = (size_t)T * K, out_n = (size_t)T * N, z_n = (size_t)T * r;
    float *in32 = (float *)scratch(c, (2 * in_n + out_n + 2 * z_n) * sizeof(float));
    if (!in32) return;
    float *dout32 = in32 + in_n, *z32 = dout32 + out_n, *dz32 = z32 + z_n, *din32 = dz32 + z_n;
    launch_bf16_to_f32(c->stream, in32, (const bf16 *)in, in_n);
    launch_bf16_to_f32(c->stream, dout32, (const bf16 *)dout, out_n);
    launched(c, "lora backward inputs");
    float one = 1.0f, zero = 0.0f;
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, r, T, K, &one, a, K, in32, K, &zero, z32, r), "lora z");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, r, N, T, &scale, z32, r, dout32, N, &one, db, r),
            "lora dB");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, r, T, N, &scale, bm, r, dout32, N, &zero, dz32, r),
            "lora dz");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, K, r, T, &one, in32, K, dz32, r, &one, da, K), "lora dA");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, T, r, &one, a, K, dz32, r, &zero, din32, K),
            "lora din");
    launch_finish_product(c->stream, (bf16 *)din, din32, NULL, T, K, accumulate);
    launched(c, "lora din");
}

static void cuda_rope_backward(TinaBackend *b, void *dq, void *dk, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    DeviceBatch d = batch_on_device(c, batch);
    if (failed(c)) return;
    launch_rope(c->stream, (bf16 *)dq, (bf16 *)dk, c->rope_cos, c->rope_sin, d, batch->n_tokens, Hq, Hkv, D, true);
    launched(c, "rope backward");
}

/* Training attention's per-sequence buffers in scratch, for sequences of up to n tokens: head-major copies
 * (attention_train.cu) of q, dout, dq (Hq, n, D) and k, v, dk, dv (Hkv, n, D); one group's scores or dP (group x n,
 * n) f32 and probabilities or dS (group x n, n) bf16. */
typedef struct {
    bf16 *q, *dout, *dq, *k, *v, *dk, *dv, *p;
    float *scores;
} SequenceAttention;

static bool sequence_attention(Cuda *c, SequenceAttention *sa, const TinaBatch *batch, int Hq, int Hkv, int D) {
    int n = 0;
    for (int s = 0; s < batch->n_seqs; s++) n = batch->n_new[s] > n ? batch->n_new[s] : n;
    size_t q = (size_t)Hq * n * D, kv = (size_t)Hkv * n * D, square = (size_t)(Hq / Hkv) * n * n;
    char *at = (char *)scratch(c, square * sizeof(float) + (3 * q + 4 * kv + square) * sizeof(bf16));
    if (!at) return false;
    sa->scores = (float *)at;
    bf16 *next = (bf16 *)(sa->scores + square);
    bf16 **slots[] = {&sa->q, &sa->dout, &sa->dq, &sa->k, &sa->v, &sa->dk, &sa->dv, &sa->p};
    size_t sizes[] = {q, q, q, kv, kv, kv, kv, square};
    for (int i = 0; i < 8; i++) *slots[i] = next, next += sizes[i];
    return true;
}

/* Row-major (rows, columns) matrices are column-major (columns, rows) to cuBLAS: out (R, S) = x (R, D) @ y (S, D)^T
 * is gemm(T, N, S, R, D, y, x), and out (R, D) = x (R, S) @ y (S, D) is gemm(N, N, D, R, S, y, x). bf16 in, f32
 * sums, out of type out_type. */
static void product_xyt(Cuda *c, void *out, cudaDataType out_type, const bf16 *x, const bf16 *y, int R, int S, int D,
                        float alpha) {
    float zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, S, R, D, &alpha, y, CUDA_R_16BF, D, x, CUDA_R_16BF, D,
                            &zero, out, out_type, S, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "attention product");
}

static void product_xy(Cuda *c, bf16 *out, const bf16 *x, const bf16 *y, int R, int S, int D, float alpha) {
    float zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, D, R, S, &alpha, y, CUDA_R_16BF, D, x, CUDA_R_16BF, S,
                            &zero, out, CUDA_R_16BF, D, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "attention product");
}

/* out (S, D) = x (R, S)^T @ y (R, D): gemm(N, T, D, S, R, y, x) */
static void product_xty(Cuda *c, bf16 *out, const bf16 *x, const bf16 *y, int R, int S, int D, float alpha) {
    float zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, D, S, R, &alpha, y, CUDA_R_16BF, D, x, CUDA_R_16BF, S,
                            &zero, out, CUDA_R_16BF, D, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "attention product");
}

/* sa->p = the causal softmax of group g's scores: (group x n, n), query heads g x group .. of sequence rows n */
static void group_probabilities(Cuda *c, const SequenceAttention *sa, int g, int group, int n, int D) {
    const bf16 *q = sa->q + (size_t)g * group * n * D, *k = sa->k + (size_t)g * n * D;
    product_xyt(c, sa->scores, CUDA_R_32F, q, k, group * n, n, D, 1.0f / sqrtf((float)D));
    launch_causal_softmax(c->stream, sa->p, sa->scores, group * n, n);
    launched(c, "causal softmax");
}

/* flash attention in tiles (attention.cu), as a prefill's: the backward below recomputes the probabilities its own
 * way, as whole products */
static void cuda_self_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v,
                                const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    DeviceBatch d = batch_on_device(c, batch);
    if (!launching(c)) return;
    launch_self_attention(c->stream, (bf16 *)out, (const bf16 *)q, (const bf16 *)k, (const bf16 *)v, d,
                          batch->n_tokens, Hq, Hkv, D);
    launched(c, "self-attention");
}

/* Per sequence and kv head, P recomputed: dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(P dP)); dQ = scale dS K;
 * dK = scale dS^T Q (the group's query heads summed by the product itself). */
static void cuda_attention_backward(TinaBackend *b, void *dq, void *dk, void *dv, const void *q, const void *k,
                                    const void *v, const void *dout, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    SequenceAttention sa;
    if (failed(c) || !sequence_attention(c, &sa, batch, Hq, Hkv, D)) return;
    int group = Hq / Hkv;
    size_t q_row = (size_t)Hq * D, kv_row = (size_t)Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
    for (int s = 0; s < batch->n_seqs; s++) {
        int n = batch->n_new[s];
        size_t first = (size_t)batch->first[s];
        launch_to_heads(c->stream, sa.q, (const bf16 *)q + first * q_row, n, Hq, D);
        launch_to_heads(c->stream, sa.dout, (const bf16 *)dout + first * q_row, n, Hq, D);
        launch_to_heads(c->stream, sa.k, (const bf16 *)k + first * kv_row, n, Hkv, D);
        launch_to_heads(c->stream, sa.v, (const bf16 *)v + first * kv_row, n, Hkv, D);
        for (int g = 0; g < Hkv; g++) {
            size_t qg = (size_t)g * group * n * D, kg = (size_t)g * n * D;
            group_probabilities(c, &sa, g, group, n, D);
            product_xty(c, sa.dv + kg, sa.p, sa.dout + qg, group * n, n, D, 1.0f);
            product_xyt(c, sa.scores, CUDA_R_32F, sa.dout + qg, sa.v + kg, group * n, n, D, 1.0f);
            launch_softmax_backward(c->stream, sa.p, sa.scores, group * n, n);
            launched(c, "softmax backward");
            product_xy(c, sa.dq + qg, sa.p, sa.k + kg, group * n, n, D, scale);
            product_xty(c, sa.dk + kg, sa.p, sa.q + qg, group * n, n, D, scale);
        }
        launch_to_rows(c->stream, (bf16 *)dq + first * q_row, sa.dq, n, Hq, D);
        launch_to_rows(c->stream, (bf16 *)dk + first * kv_row, sa.dk, n, Hkv, D);
        launch_to_rows(c->stream, (bf16 *)dv + first * kv_row, sa.dv, n, Hkv, D);
        launched(c, "attention backward");
    }
}

static void cuda_swiglu_backward(TinaBackend *b, void *dgate, void *dup, const void *gate, const void *up,
                                 const void *dact, int T, int I) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_swiglu_backward(c->stream, (bf16 *)dgate, (bf16 *)dup, (const bf16 *)gate, (const bf16 *)up,
                           (const bf16 *)dact, (size_t)T * I);
    launched(c, "swiglu backward");
}

static void cuda_dropout(TinaBackend *b, void *out, const void *in, int T, int K, float p, uint64_t seed,
                         uint64_t stream) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_dropout(c->stream, (bf16 *)out, (const bf16 *)in, (size_t)T * K, p, seed, stream, false);
    launched(c, "dropout");
}

static void cuda_dropout_backward(TinaBackend *b, void *dst, const void *src, int T, int K, float p, uint64_t seed,
                                  uint64_t stream) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_dropout(c->stream, (bf16 *)dst, (const bf16 *)src, (size_t)T * K, p, seed, stream, true);
    launched(c, "dropout backward");
}

/* ---- recorded steps ----------------------------------------------------------------------------------------- */

/* A decode step is some 600 launches of small kernels and cuBLAS calls, which at a small batch take longer to issue
 * than to run. The first time a step's key comes RECORD_AT times in a row (a key that changes every step, as the
 * number of sequences at a large batch whose samples end, is not worth a recording), that step is recorded (stream
 * capture) into a CUDA graph and launched; from then on that key's steps replay it: the operations only copy their
 * step's tokens, positions, slots and rows into pinned staging, which the recording's copies read when it runs. A
 * recording holds the addresses of scratch, the layout, the rope tables and whatever the model gave the operations:
 * growing or freeing any memory forgets every recording. */

static constexpr int RECORD_AT = 3;

static void forget_recordings(Cuda *c) {
    for (int i = 0; i < c->n_recordings; i++) cudaGraphExecDestroy(c->recordings[i].step);
    c->n_recordings = c->next_eviction = 0;
    c->seen_key = 0, c->seen_times = 0;
}

static void cuda_graph_begin(TinaBackend *b, uint64_t key) {
    Cuda *c = cuda_of(b);
    c->mode = PLAIN;
    c->staged = false;
    if (c->recording_off || failed(c)) return;
    for (int i = 0; i < c->n_recordings; i++)
        if (c->recordings[i].key == key) {
            c->mode = REPLAYING;
            c->replay = c->recordings[i].step;
            return;
        }
    if (key != c->seen_key) c->seen_key = key, c->seen_times = 0;
    if (++c->seen_times < RECORD_AT) return;
    c->recording_broken = false;
    if (cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
        c->mode = RECORDING;
        return;
    }
    fprintf(stderr, "tina: CUDA graphs off: %s\n", cudaGetErrorString(cudaGetLastError()));
    c->recording_off = true;
}

static bool cuda_graph_end(TinaBackend *b) {
    Cuda *c = cuda_of(b);
    StepMode mode = c->mode;
    c->mode = PLAIN;
    if (mode == REPLAYING && !failed(c)) ok(c, cudaGraphLaunch(c->replay, c->stream), "replay a decode step");
    if (mode != RECORDING) return true;
    cudaGraph_t graph = NULL;
    cudaGraphExec_t step = NULL;
    cudaError_t status = cudaStreamEndCapture(c->stream, &graph);
    if (status == cudaSuccess && !c->recording_broken && !failed(c)) status = cudaGraphInstantiate(&step, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (status != cudaSuccess || c->recording_broken || failed(c)) {
        /* nothing ran: the caller issues the step again, plainly (a real error comes back there) */
        if (!c->recording_broken) {
            fprintf(stderr, "tina: CUDA graphs off: %s\n", failed(c) ? c->failure : cudaGetErrorString(status));
            c->recording_off = true;
        }
        if (step) cudaGraphExecDestroy(step);
        cudaGetLastError();
        c->failure[0] = '\0';
        return false;
    }
    const int capacity = (int)(sizeof c->recordings / sizeof *c->recordings);
    int at = c->n_recordings;
    if (at < capacity) {
        c->n_recordings++;
    } else { /* the oldest goes (freed when it is done, if it still runs) */
        at = c->next_eviction;
        c->next_eviction = (at + 1) % capacity;
        cudaGraphExecDestroy(c->recordings[at].step);
    }
    c->recordings[at] = {c->seen_key, step};
    ok(c, cudaGraphLaunch(step, c->stream), "run a recorded decode step");
    return true;
}

/* ---- profile ------------------------------------------------------------------------------------------------- */

/* With TINA_CUDA_PROFILE=1 in the environment every operation below waits for the stream before and after, and its
 * wall time is added up; the table at the end of the run says where the GPU's time went, op by op (the waits add a
 * few microseconds a call, and take away the overlap of host and device). */
#define TIMED_OPS(X) X(upload) X(download) X(weights_to_host) X(weights_add) X(embed) X(rmsnorm) X(matmul) \
    X(matmuls) X(lora) X(loras) X(rope) X(attention) X(swiglu) X(copy) X(gather_rows) X(add) X(logits) X(sample) \
    X(logprobs) X(logprobs_backward) X(rmsnorm_backward) X(matmul_backward) X(lora_backward) X(rope_backward) \
    X(self_attention) X(attention_backward) X(swiglu_backward) X(dropout) X(dropout_backward)

enum {
#define SLOT(op) SLOT_##op,
    TIMED_OPS(SLOT)
#undef SLOT
    SLOTS
};
static_assert(SLOTS <= MAX_TIMED, "more timed operations than the profile's table holds");

static const char *const SLOT_NAMES[] = {
#define NAME(op) #op,
    TIMED_OPS(NAME)
#undef NAME
};

template <int Slot, auto F> struct Timed;
template <int Slot, class... Args, void (*F)(TinaBackend *, Args...)> struct Timed<Slot, F> {
    static void call(TinaBackend *b, Args... args) {
        Cuda *c = cuda_of(b);
        cudaStreamSynchronize(c->stream);
        auto start = std::chrono::steady_clock::now();
        F(b, args...);
        cudaStreamSynchronize(c->stream);
        c->profile_seconds[Slot] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        c->profile_calls[Slot]++;
    }
};

static void print_profile(const Cuda *c) {
    int order[SLOTS];
    double total = 0;
    for (int i = 0; i < SLOTS; i++) order[i] = i, total += c->profile_seconds[i];
    std::sort(order, order + SLOTS, [c](int x, int y) { return c->profile_seconds[x] > c->profile_seconds[y]; });
    fprintf(stderr, "TINA_CUDA_PROFILE: %.3f s in the backend's operations\n%-20s %10s %12s %12s %7s\n", total,
            "operation", "calls", "seconds", "us a call", "share");
    for (int i = 0; i < SLOTS && c->profile_calls[order[i]]; i++) {
        int k = order[i];
        fprintf(stderr, "%-20s %10lld %12.4f %12.1f %6.1f%%\n", SLOT_NAMES[k], c->profile_calls[k],
                c->profile_seconds[k], 1e6 * c->profile_seconds[k] / (double)c->profile_calls[k],
                total > 0 ? 100 * c->profile_seconds[k] / total : 0.0);
    }
}

static void cuda_destroy(TinaBackend *b) {
    Cuda *c = cuda_of(b);
    cudaStreamSynchronize(c->stream);
    if (c->profiling) print_profile(c);
    forget_recordings(c);
    cudaFree(c->work);
    cudaFree(c->rope_cos);
    cudaFree(c->layout);
    cudaFree(c->lse);
    cudaFree(c->picked);
    free(c->layout_host);
    cudaFreeHost(c->staging);
    tina_sampler_free(c->sampler);
    free(c->sampler_row);
    cublasDestroy(c->blas);
    cudaFree(c->blas_workspace);
    cudaStreamDestroy(c->stream);
    free(c);
}

extern "C" TinaStatus tina_cuda_backend_new(int device, TinaBackend **backend, TinaError *err) {
    *backend = NULL;
    int devices = 0;
    cudaError_t status = cudaGetDeviceCount(&devices);
    if (status != cudaSuccess || devices == 0) {
        const char *why = status != cudaSuccess ? cudaGetErrorString(status) : "no device";
        cudaGetLastError();
        return tina_error(err, TINA_ERR_INPUT, "--device cuda: no usable GPU here (%s)", why);
    }
    if (device < 0 || device >= devices)
        return tina_error(err, TINA_ERR_INPUT, "GPU %d: there %s %d", device, devices == 1 ? "is" : "are", devices);
    Cuda *c = (Cuda *)calloc(1, sizeof *c);
    if (!c) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (CUDA backend)");
    if (!ok(c, cudaSetDevice(device), "select the device") ||
        !ok(c, cudaStreamCreate(&c->stream), "create a stream") ||
        !ok(c, cudaDeviceGetAttribute(&c->multiprocessors, cudaDevAttrMultiProcessorCount, device),
            "count the multiprocessors") ||
        !blas_ok(c, cublasCreate(&c->blas), "create a handle") ||
        !blas_ok(c, cublasSetStream(c->blas, c->stream), "set the stream") ||
        !ok(c, cudaMalloc(&c->blas_workspace, BLAS_WORKSPACE), "allocate cuBLAS's workspace") ||
        !blas_ok(c, cublasSetWorkspace(c->blas, c->blas_workspace, BLAS_WORKSPACE), "set cuBLAS's workspace")) {
        TinaStatus failure = tina_error(err, TINA_ERR_RUNTIME, "%s", c->failure);
        if (c->blas) cublasDestroy(c->blas);
        cudaFree(c->blas_workspace);
        if (c->stream) cudaStreamDestroy(c->stream);
        free(c);
        return failure;
    }
    TinaBackend *base = &c->base;
    base->name = "cuda";
    base->weight_bytes = sizeof(bf16);
    base->act_bytes = sizeof(bf16);
    base->host_memory = false;
    base->alloc = cuda_alloc;
    base->release = cuda_release;
    base->free_memory = cuda_free_memory;
    base->check = cuda_check;
    base->reserve = cuda_reserve;
    base->load = cuda_load;
    const char *profile = getenv("TINA_CUDA_PROFILE"), *graphs = getenv("TINA_CUDA_GRAPHS");
    c->profiling = profile && *profile && strcmp(profile, "0") != 0;
    c->recording_off = c->profiling || (graphs && strcmp(graphs, "0") == 0); /* profiling waits inside a step */
    base->graph_begin = cuda_graph_begin;
    base->graph_end = cuda_graph_end;
#define SET(op) base->op = c->profiling ? Timed<SLOT_##op, cuda_##op>::call : cuda_##op;
    TIMED_OPS(SET)
#undef SET
    base->destroy = cuda_destroy;
    *backend = base;
    return TINA_OK;
}

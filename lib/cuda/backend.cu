/* backend: the CUDA backend's seam (backend.h): memory, loading, cuBLAS products, and the launches of kernels.cu and
 * attention.cu, all in call order on one stream. A call that hands data to the host waits for the stream.
 *
 * Operations return nothing: the first CUDA or cuBLAS failure is kept, every later operation is skipped, and the
 * model asks `check` after each call, so a device error becomes the tool's error message, never a crash. */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cuda.h"
#include "kernels.h"
extern "C" {
#include "rope.h"
}

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
    float *picked;               /* device (capacity,) target logits, then log-probs */
    int lse_capacity;
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

/* device scratch of at least bytes; NULL after a failure */
static void *scratch(Cuda *c, size_t bytes) {
    if (failed(c)) return NULL;
    if (bytes <= c->work_bytes) return c->work;
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

static void cuda_release(TinaBackend *b, void *p) {
    Cuda *c = cuda_of(b);
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
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

static void *cuda_host_alloc(TinaBackend *b, size_t bytes) {
    (void)b;
    void *p = NULL;
    if (cudaMallocHost(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

static void cuda_host_release(TinaBackend *b, void *p) {
    Cuda *c = cuda_of(b);
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
    ok(c, cudaFreeHost(p), "free host memory");
}

static TinaStatus cuda_check(TinaBackend *b, TinaError *err) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaGetLastError(), "a kernel");
    return failed(c) ? tina_error(err, TINA_ERR_RUNTIME, "%s", c->failure) : TINA_OK;
}

/* The device copy of a forward call's per-token layout, uploaded only when it changed (once per forward, not per
 * layer): positions and slots. */
static DeviceBatch batch_on_device(Cuda *c, const TinaBatch *batch) {
    int T = batch->n_tokens;
    DeviceBatch d = {c->layout, c->layout + c->layout_capacity};
    if (failed(c) || T > c->layout_capacity) {
        if (!failed(c))
            snprintf(c->failure, sizeof c->failure, "a call of %d tokens exceeds the %d reserved", T,
                     c->layout_capacity);
        return d;
    }
    int *host = c->layout_host + 2 * (size_t)c->layout_capacity; /* this call's, beside the uploaded one */
    for (int s = 0; s < batch->n_seqs; s++)
        for (int i = 0; i < batch->n_new[s]; i++) {
            int t = batch->first[s] + i;
            host[t] = batch->positions[t];
            host[T + t] = batch->slot[s];
        }
    bool same = c->layout_tokens == T && memcmp(host, c->layout_host, 2 * (size_t)T * sizeof *host) == 0;
    if (!same) {
        ok(c, cudaMemcpyAsync(c->layout, host, (size_t)T * sizeof *host, cudaMemcpyHostToDevice, c->stream),
           "upload positions");
        ok(c, cudaMemcpyAsync(c->layout + c->layout_capacity, host + T, (size_t)T * sizeof *host,
                              cudaMemcpyHostToDevice, c->stream),
           "upload slots");
        memcpy(c->layout_host, host, 2 * (size_t)T * sizeof *host);
        c->layout_tokens = T;
    }
    return d;
}

/* n host ints into the third row of the layout (tokens, rows); NULL after a failure */
static const int *ints_on_device(Cuda *c, const int *host, int n) {
    if (failed(c)) return NULL;
    if (n > c->layout_capacity) {
        snprintf(c->failure, sizeof c->failure, "a call of %d rows exceeds the %d reserved", n, c->layout_capacity);
        return NULL;
    }
    int *d = c->layout + 2 * (size_t)c->layout_capacity;
    if (!ok(c, cudaMemcpyAsync(d, host, (size_t)n * sizeof *host, cudaMemcpyHostToDevice, c->stream), "upload ids"))
        return NULL;
    return d;
}

/* The rope tables (rope.h, as the CPU backend's), and the per-token layout
 * and log-softmax state for calls of up to max_tokens tokens. */
static TinaStatus cuda_reserve(TinaBackend *b, int max_tokens, int max_len, int D, double theta, TinaError *err) {
    Cuda *c = cuda_of(b);
    if (!tina_cuda_attention_fits(D))
        return tina_error(err, TINA_ERR_INPUT, "head size %d: the CUDA attention takes 16, 32, 64, 96 or 128", D);
    if (max_tokens > c->layout_capacity) {
        int *layout = NULL, *host = (int *)malloc(4 * (size_t)max_tokens * sizeof *host);
        if (!host || cudaMalloc(&layout, 3 * (size_t)max_tokens * sizeof *layout) != cudaSuccess) {
            free(host);
            cudaGetLastError();
            return tina_error(err, TINA_ERR_RUNTIME, "out of memory (a layout of %d tokens)", max_tokens);
        }
        cudaStreamSynchronize(c->stream);
        cudaFree(c->layout);
        free(c->layout_host);
        c->layout = layout, c->layout_host = host, c->layout_capacity = max_tokens, c->layout_tokens = 0;
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
    const int *ids = ints_on_device(c, tokens, T);
    if (!ids) return;
    launch_embed(c->stream, (bf16 *)out, (const bf16 *)table, ids, T, C);
    launched(c, "embed");
}

static void cuda_rmsnorm(TinaBackend *b, void *out, const void *in, const void *weight, int T, int C, float eps) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_rmsnorm(c->stream, (bf16 *)out, (const bf16 *)in, (const bf16 *)weight, T, C, eps);
    launched(c, "rmsnorm");
}

/* Row-major out (T, N) = in (T, K) @ w (N, K)^T is column-major out^T (N, T) = w^T' (N, K) @ in^T (K, T): cuBLAS
 * reads w as a (K, N) column-major matrix and transposes it. bf16 in and out, f32 accumulation. With a bias or into
 * the residual stream, the product goes through f32 so that it rounds where transformers rounds (finish_product). */
static void cuda_matmul(TinaBackend *b, void *out, const void *in, const void *w, const void *bias, int T, int K, int N,
                        bool accumulate) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
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

/* products of one input: cuBLAS runs them one after the other on the stream */
static void cuda_matmuls(TinaBackend *b, int n, void *const *out, const void *in, const void *const *w,
                         const void *const *bias, int T, int K, const int *N) {
    for (int i = 0; i < n; i++) cuda_matmul(b, out[i], in, w[i], bias[i], T, K, N[i], false);
}

/* PEFT keeps a bf16 model's adapter in f32 and computes it in f32 (the input cast up, the sum with the base
 * output in f32, then rounded): the same here, through an f32 copy of the input. */
static void cuda_lora(TinaBackend *b, void *out, const void *in, const float *a, const float *bm, void *z, int T, int K,
                      int N, int r, float scale) {
    Cuda *c = cuda_of(b);
    size_t in_n = (size_t)T * K, z_n = (size_t)T * r, out_n = (size_t)T * N;
    float *in32 = (float *)scratch(c, (in_n + z_n + out_n) * sizeof(float));
    if (!in32) return;
    float *z32 = in32 + in_n, *y32 = z32 + z_n;
    launch_bf16_to_f32(c->stream, in32, (const bf16 *)in, in_n);
    launched(c, "lora input");
    float one = 1.0f, zero = 0.0f;
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, r, T, K, &one, a, K, in32, K, &zero, z32, r), "lora A");
    blas_ok(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, T, r, &scale, bm, r, z32, r, &zero, y32, N), "lora B");
    launch_lora_out(c->stream, (bf16 *)out, y32, T, N, (bf16 *)z, z32, r);
    launched(c, "lora output");
}

static void cuda_rope(TinaBackend *b, void *q, void *k, const TinaBatch *batch, int Hq, int Hkv, int D, double theta) {
    Cuda *c = cuda_of(b);
    (void)theta; /* the tables were made for it by reserve */
    DeviceBatch d = batch_on_device(c, batch);
    if (failed(c)) return;
    launch_rope(c->stream, (bf16 *)q, (bf16 *)k, c->rope_cos, c->rope_sin, d, batch->n_tokens, Hq, Hkv, D);
    launched(c, "rope");
}

static void cuda_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache,
                           void *v_cache, int max_len, const TinaBatch *batch, int Hq, int Hkv, int D) {
    Cuda *c = cuda_of(b);
    DeviceBatch d = batch_on_device(c, batch);
    if (failed(c)) return;
    launch_attention(c->stream, (bf16 *)out, (const bf16 *)q, (const bf16 *)k, (const bf16 *)v, (bf16 *)k_cache,
                     (bf16 *)v_cache, max_len, d, batch->n_tokens, Hq, Hkv, D);
    launched(c, "attention");
}

static void cuda_swiglu(TinaBackend *b, void *out, const void *gate, const void *up, int T, int I) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_swiglu(c->stream, (bf16 *)out, (const bf16 *)gate, (const bf16 *)up, (size_t)T * I);
    launched(c, "swiglu");
}

static void cuda_copy(TinaBackend *b, void *dst, const void *src, size_t n) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaMemcpyAsync(dst, src, n * sizeof(bf16), cudaMemcpyDeviceToDevice, c->stream), "copy");
}

static void cuda_gather_rows(TinaBackend *b, void *out, const void *in, const int *rows, int n, int C) {
    Cuda *c = cuda_of(b);
    const int *ids = ints_on_device(c, rows, n);
    if (!ids) return;
    launch_gather_rows(c->stream, (bf16 *)out, (const bf16 *)in, ids, n, C);
    launched(c, "gather rows");
}

static void cuda_add(TinaBackend *b, void *x, const void *y, size_t n) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    launch_add(c->stream, (bf16 *)x, (const bf16 *)y, n);
    launched(c, "add");
}

/* out (rows, n) f32 = h (rows, C) @ head rows (n, C)^T, bf16 in, f32 accumulated */
static void head_product(Cuda *c, float *out, const void *h, const void *head, int rows, int C, int n) {
    float one = 1.0f, zero = 0.0f;
    blas_ok(c, cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, C, &one, head, CUDA_R_16BF, C, h, CUDA_R_16BF,
                            C, &zero, out, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "head");
}

/* rounded to bf16, as a bf16 model's head gives them */
static void cuda_logits(TinaBackend *b, float *out, const void *h, const void *head, int rows, int C, int V) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)rows * V;
    float *device = (float *)scratch(c, n * sizeof(float));
    if (!device) return;
    head_product(c, device, h, head, rows, C, V);
    launch_round_bf16(c->stream, device, device, n);
    launched(c, "round logits");
    ok(c, cudaMemcpyAsync(out, device, n * sizeof(float), cudaMemcpyDeviceToHost, c->stream), "download logits");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

/* the vocabulary in chunks of at most this many logits a call (rows x columns), 256 MB of f32 */
static const size_t CHUNK_LOGITS = (size_t)64 << 20;

static void cuda_logprobs(TinaBackend *b, float *out, const void *h, const void *head, const int32_t *targets, int T,
                          int C, int V) {
    Cuda *c = cuda_of(b);
    if (failed(c)) return;
    if (T > c->lse_capacity) {
        cudaFree(c->lse);
        cudaFree(c->picked);
        c->lse = NULL, c->picked = NULL, c->lse_capacity = 0;
        if (!ok(c, cudaMalloc(&c->lse, 2 * (size_t)T * sizeof *c->lse), "allocate log-softmax state") ||
            !ok(c, cudaMalloc(&c->picked, (size_t)T * sizeof *c->picked), "allocate log-softmax state"))
            return;
        c->lse_capacity = T;
    }
    int columns = (int)(CHUNK_LOGITS / (size_t)T);
    if (columns > V) columns = V;
    if (columns < 1) columns = 1;
    float *chunk = (float *)scratch(c, (size_t)T * columns * sizeof(float));
    const int *ids = ints_on_device(c, targets, T);
    if (!chunk || !ids) return;
    for (int v0 = 0; v0 < V; v0 += columns) {
        int n = V - v0 < columns ? V - v0 : columns;
        head_product(c, chunk, h, (const bf16 *)head + (size_t)v0 * C, T, C, n);
        launch_log_sum_exp(c->stream, chunk, T, n, v0, ids, c->lse, c->lse + T, c->picked, v0 == 0);
        launched(c, "log-sum-exp");
    }
    launch_logprob(c->stream, c->picked, c->picked, c->lse, c->lse + T, T);
    launched(c, "log-probs");
    ok(c, cudaMemcpyAsync(out, c->picked, (size_t)T * sizeof *out, cudaMemcpyDeviceToHost, c->stream),
       "download log-probs");
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

static void cuda_destroy(TinaBackend *b) {
    Cuda *c = cuda_of(b);
    cudaStreamSynchronize(c->stream);
    cudaFree(c->work);
    cudaFree(c->rope_cos);
    cudaFree(c->layout);
    cudaFree(c->lse);
    cudaFree(c->picked);
    free(c->layout_host);
    cublasDestroy(c->blas);
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
        !blas_ok(c, cublasCreate(&c->blas), "create a handle") || !blas_ok(c, cublasSetStream(c->blas, c->stream), "set the stream")) {
        TinaStatus failure = tina_error(err, TINA_ERR_RUNTIME, "%s", c->failure);
        if (c->blas) cublasDestroy(c->blas);
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
    base->upload = cuda_upload;
    base->download = cuda_download;
    base->host_alloc = cuda_host_alloc;
    base->host_release = cuda_host_release;
    base->check = cuda_check;
    base->reserve = cuda_reserve;
    base->load = cuda_load;
    base->weights_to_host = cuda_weights_to_host;
    base->weights_add = cuda_weights_add;
    base->embed = cuda_embed;
    base->rmsnorm = cuda_rmsnorm;
    base->matmul = cuda_matmul;
    base->matmuls = cuda_matmuls;
    base->lora = cuda_lora;
    base->rope = cuda_rope;
    base->attention = cuda_attention;
    base->swiglu = cuda_swiglu;
    base->copy = cuda_copy;
    base->gather_rows = cuda_gather_rows;
    base->add = cuda_add;
    base->logits = cuda_logits;
    base->logprobs = cuda_logprobs;
    base->destroy = cuda_destroy;
    *backend = base;
    return TINA_OK;
}

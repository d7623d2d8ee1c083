/* backend: the CUDA backend's seam (backend.h): its memory, loading, the recorded decode steps, the profile, and the
 * table of operations, each of which lives in its op's file (cuda_impl.cuh lists them). */
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda.h"
#include "backends/cuda/cuda_impl.cuh"
extern "C" {
#include "backends/rope.h"
}

static constexpr size_t BLAS_WORKSPACE = (size_t)32 << 20; /* cuBLAS's scratch, set once: a recording cannot
                                                             * allocate (Hopper's GEMMs ask for up to 32 MB) */

static void forget_recordings(Cuda *c);

void *scratch(Cuda *c, size_t bytes) {
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

static size_t cuda_free_memory(TinaBackend *) {
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) cudaGetLastError();
    return free;
}

static void cuda_release(TinaBackend *b, void *p) {
    Cuda *c = cuda_of(b);
    ok(c, cudaStreamSynchronize(c->stream), "synchronize");
    forget_recordings(c); /* a recording may point into p, and a later allocation may get its address */
    ok(c, cudaFree(p), "free");
}

void cuda_upload(TinaBackend *b, void *dst, const void *src, size_t bytes) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream), "upload");
}

void cuda_download(TinaBackend *b, void *dst, const void *src, size_t bytes) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream), "download");
    if (!failed(c)) ok(c, cudaStreamSynchronize(c->stream), "synchronize");
}

static TinaStatus cuda_check(TinaBackend *b, TinaError *err) {
    Cuda *c = cuda_of(b);
    if (!failed(c)) ok(c, cudaGetLastError(), "a kernel");
    return failed(c) ? tina_error(err, TINA_ERR_RUNTIME, "%s", c->failure) : TINA_OK;
}

DeviceBatch batch_on_device(Cuda *c, const TinaBatch *batch) {
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

const int *ints_on_device(Cuda *c, const int *host, int n, int staged) {
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
enum {
#define SLOT(op) SLOT_##op,
    TINA_CUDA_OPS(SLOT)
#undef SLOT
    SLOTS
};
static_assert(SLOTS <= MAX_TIMED, "more timed operations than the profile's table holds");

static const char *const SLOT_NAMES[] = {
#define NAME(op) #op,
    TINA_CUDA_OPS(NAME)
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

extern "C" TinaStatus tina_cuda_backend_new(TinaBackend **backend, TinaError *err) {
    *backend = NULL;
    int devices = 0;
    cudaError_t status = cudaGetDeviceCount(&devices);
    if (status != cudaSuccess || devices == 0) {
        const char *why = status != cudaSuccess ? cudaGetErrorString(status) : "no device";
        cudaGetLastError();
        return tina_error(err, TINA_ERR_INPUT, "--device cuda: no usable GPU here (%s)", why);
    }
    Cuda *c = (Cuda *)calloc(1, sizeof *c);
    if (!c) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (CUDA backend)");
    if (!ok(c, cudaSetDevice(0), "select the device") ||
        !ok(c, cudaStreamCreate(&c->stream), "create a stream") ||
        !ok(c, cudaDeviceGetAttribute(&c->multiprocessors, cudaDevAttrMultiProcessorCount, 0),
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
    TINA_CUDA_OPS(SET)
#undef SET
    base->destroy = cuda_destroy;
    *backend = base;
    return TINA_OK;
}

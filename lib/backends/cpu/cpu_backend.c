/* cpu_backend: the f32 reference implementation of the backend seam (backend.h): its memory, its workspaces and
 * the table of its operations, each written in the file of its op, forward and backward together: cpu_norm.c,
 * cpu_matmul.c (the products and LoRA), cpu_rope.c, cpu_attention.c, cpu_swiglu.c, cpu_logits.c (the head: logits,
 * sampling, log-probs), cpu_dropout.c. Every matrix product goes through gemm.c (one fixed order of sums per output,
 * whatever the processor, threads or batch), OpenMP across rows and heads for the rest. Every weight matrix is held
 * twice: as loaded (N, K), for the backward, and laid out in gemm's strips for the forward (2x the weights' memory:
 * no packing in the products that decode and prefill run most). */
#include "backends/cpu/cpu.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/rope.h"

static void *cpu_alloc(TinaBackend *b, size_t bytes) {
    Cpu *c = (Cpu *)b;
    if (c->n_blocks == c->blocks_cap) {
        int cap = c->blocks_cap ? 2 * c->blocks_cap : 16;
        Block *grown = realloc(c->blocks, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        c->blocks = grown, c->blocks_cap = cap;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) c->blocks[c->n_blocks++] = (Block){p, bytes};
    return p;
}

static void cpu_release(TinaBackend *b, void *p) {
    Cpu *c = (Cpu *)b;
    for (int i = 0; i < c->n_blocks; i++) {
        if (c->blocks[i].p != p) continue;
        const char *end = c->blocks[i].p + c->blocks[i].bytes;
        for (int j = 0; j < c->n_packed;) { /* the packed copies of weights in it go with it */
            const char *w = (const char *)c->packed[j].w;
            if (w >= (const char *)p && w < end) {
                free(c->packed[j].p);
                c->packed[j] = c->packed[--c->n_packed];
            } else {
                j++;
            }
        }
        c->blocks[i] = c->blocks[--c->n_blocks];
        break;
    }
    free(p);
}

/* MemAvailable of /proc/meminfo, else the free pages */
static size_t cpu_free_memory(TinaBackend *b) {
    (void)b;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib ? (size_t)kib * 1024 : (size_t)sysconf(_SC_AVPHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
}

/* upload and download: backend memory is host memory */
static void cpu_copy_bytes(TinaBackend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    memcpy(dst, src, bytes);
}

static TinaStatus cpu_check(TinaBackend *b, TinaError *err) {
    /* every other failure of the CPU's operations is caught before they run */
    if (((Cpu *)b)->out_of_memory) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (sampling workspace)");
    return TINA_OK;
}

static TinaStatus cpu_load(TinaBackend *b, void *dst, const TinaTensorInfo *src, TinaError *err) {
    Cpu *c = (Cpu *)b;
    TinaStatus status = tina_tensor_to_f32(src, dst, err);
    if (status || src->ndim != 2) return status;
    int N = (int)src->shape[0], K = (int)src->shape[1];
    if (c->n_packed == c->packed_cap) {
        int cap = c->packed_cap ? 2 * c->packed_cap : 64;
        Packed *grown = realloc(c->packed, (size_t)cap * sizeof *grown);
        if (!grown) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        c->packed = grown, c->packed_cap = cap;
    }
    float *p = aligned_alloc(64, tina_gemm_packed_floats(N, K) * sizeof *p);
    if (!p) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (a packed copy of %s)", src->name);
    tina_gemm_pack(p, dst, N, K, false);
    c->packed[c->n_packed++] = (Packed){dst, p, N, K};
    return TINA_OK;
}

static void cpu_weights_to_host(TinaBackend *b, float *dst, const void *src, size_t n) {
    (void)b;
    memcpy(dst, src, n * sizeof *dst);
}

/* (merging an adapter adds a whole matrix's delta at a time: to its packed copy as well) */
static void cpu_weights_add(TinaBackend *b, void *dst, const float *delta, size_t n) {
    float *w = dst;
    for (size_t i = 0; i < n; i++) w[i] += delta[i];
    Cpu *c = (Cpu *)b;
    for (int i = 0; i < c->n_packed; i++)
        if (c->packed[i].w == w && (size_t)c->packed[i].N * c->packed[i].K == n)
            tina_gemm_pack(c->packed[i].p, delta, c->packed[i].N, c->packed[i].K, true);
}

static void cpu_embed(TinaBackend *b, void *out, const void *table, const int32_t *tokens, int T, int C) {
    (void)b;
    for (int t = 0; t < T; t++)
        memcpy((float *)out + (size_t)t * C, (const float *)table + (size_t)tokens[t] * C, (size_t)C * sizeof(float));
}

/* the workspaces, and the rope tables (rope.h) for max_len positions */
static TinaStatus cpu_reserve(TinaBackend *b, int max_tokens, int max_len, int D, double theta, TinaError *err) {
    Cpu *c = (Cpu *)b;
    int block_len = max_len > c->block_len ? max_len : c->block_len;
    /* attention scores and their gradients, or the cached attention's products, per thread */
    size_t need = (size_t)c->threads * cpu_attention_floats((size_t)block_len, (size_t)D);
    size_t logprob = (size_t)max_tokens * (VOCAB_CHUNK + 4);       /* a vocabulary chunk and two doubles a row */
    if (logprob > need) need = logprob;
    if (need > c->scratch_len) {
        float *bigger = realloc(c->scratch, need * sizeof *bigger);
        if (!bigger) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (CPU workspace of %zu floats)", need);
        c->scratch = bigger;
        c->scratch_len = need;
    }
    c->block_len = block_len;
    if (max_len <= c->rope_positions && D == c->rope_dim && theta == c->rope_theta) return TINA_OK;
    size_t n = (size_t)max_len * (size_t)(D / 2);
    float *cs = malloc(2 * n * sizeof *cs);
    if (!cs) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (rope tables)");
    tina_rope_tables(cs, cs + n, max_len, D, theta);
    free(c->rope_cos);
    c->rope_cos = cs, c->rope_sin = cs + n;
    c->rope_positions = max_len, c->rope_dim = D, c->rope_theta = theta;
    return TINA_OK;
}

static void cpu_copy(TinaBackend *b, void *dst, const void *src, size_t n) {
    (void)b;
    memcpy(dst, src, n * sizeof(float));
}

static void cpu_gather_rows(TinaBackend *b, void *out, const void *in, const int *rows, int n, int C) {
    cpu_embed(b, out, in, rows, n, C);
}

void cpu_add(TinaBackend *b, void *x, const void *y, size_t n) {
    (void)b;
    float *xs = x;
    const float *ys = y;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) xs[i] += ys[i];
}

static void cpu_destroy(TinaBackend *b) {
    Cpu *c = (Cpu *)b;
    free(c->scratch);
    free(c->rope_cos); /* and rope_sin, in the same allocation */
    for (int i = 0; i < c->n_packed; i++) free(c->packed[i].p);
    free(c->packed);
    free(c->blocks);
    free(c->draw_logits);
    free(c->scaled);
    cpu_free_samplers(c);
    free(c);
}

TinaStatus tina_cpu_backend_new(int threads, TinaBackend **backend, TinaError *err) {
    Cpu *c = calloc(1, sizeof *c);
    if (!c) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (CPU backend)");
    c->threads = threads > 0 ? threads : omp_get_max_threads();
    c->avx2 = tina_gemm_kernel() != TINA_KERNEL_GENERIC; /* TINA_CPU=generic: no vector code at all */
    c->avx512 = tina_gemm_kernel() == TINA_KERNEL_AVX512;
    omp_set_num_threads(c->threads);
    c->base = (TinaBackend){
        .name = "cpu",
        .weight_bytes = sizeof(float),
        .act_bytes = sizeof(float),
        .host_memory = true,
        .alloc = cpu_alloc,
        .release = cpu_release,
        .free_memory = cpu_free_memory,
        .upload = cpu_copy_bytes,
        .download = cpu_copy_bytes,
        .check = cpu_check,
        .reserve = cpu_reserve,
        .load = cpu_load,
        .weights_to_host = cpu_weights_to_host,
        .weights_add = cpu_weights_add,
        .embed = cpu_embed,
        .rmsnorm = cpu_rmsnorm,
        .matmul = cpu_matmul,
        .matmuls = cpu_matmuls,
        .lora = cpu_lora,
        .loras = cpu_loras,
        .rope = cpu_rope,
        .attention = cpu_attention,
        .swiglu = cpu_swiglu,
        .copy = cpu_copy,
        .gather_rows = cpu_gather_rows,
        .add = cpu_add,
        .logits = cpu_logits,
        .sample = cpu_sample,
        .logprobs = cpu_logprobs,
        .logprobs_backward = cpu_logprobs_backward,
        .rmsnorm_backward = cpu_rmsnorm_backward,
        .matmul_backward = cpu_matmul_backward,
        .lora_backward = cpu_lora_backward,
        .rope_backward = cpu_rope_backward,
        .self_attention = cpu_self_attention,
        .attention_backward = cpu_attention_backward,
        .swiglu_backward = cpu_swiglu_backward,
        .dropout = cpu_dropout,
        .dropout_backward = cpu_dropout_backward,
        .destroy = cpu_destroy,
    };
    *backend = &c->base;
    return TINA_OK;
}

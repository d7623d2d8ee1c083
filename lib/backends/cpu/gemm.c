/* gemm: products in a fixed order (gemm.h says which), blocked as BLIS and GotoBLAS block them for the caches.
 *
 * B is laid out in strips of NR columns, k-major (a strip's row k is NR consecutive floats), the last strip
 * narrower (the columns left, rounded up to a vector); A is read in place, or, when alpha is not 1, copied into
 * panels of MR rows, k-major, each element times alpha.
 * A tile of R <= MR rows x one strip keeps its R x NR outputs in registers over a block of KC values of k and stores
 * them; the next block of k starts from what was stored. Blocking, threads and vector width decide which outputs go
 * together, never the order of one output's sum. Threads split an output's columns (strips) or rows (panels), never
 * its k. */
#include "backends/cpu/gemm.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/simd.h"

enum { KC = 512 };      /* the most k a block (K is cut into equal blocks): a strip's block (KC x NR) stays in L2 */
enum { MC_PANELS = 8 }; /* panels of A per block: MC = 8 MR rows (at most 64 x KC floats, for L2) */
enum { NC_STRIPS = 16 }; /* strips of B packed per block when B comes unpacked (16 NR x KC floats) */

typedef struct {
    int vw, nr, mr; /* floats per vector; strip width (NR); panel height (MR) */
} Shape;

static const Shape shapes[] = {
    [TINA_KERNEL_GENERIC] = {8, 16, 6},
    [TINA_KERNEL_AVX2] = {8, 16, 6},
    [TINA_KERNEL_AVX512] = {16, 48, 8},
};

static int kernel_in_use = -1, blocking_in_use = -1; /* blocking: the kernel's own (-1) or another's (tests) */

static TinaKernel best_kernel(void) {
    TinaKernel best = TINA_KERNEL_GENERIC;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = TINA_KERNEL_AVX2;
    if (best == TINA_KERNEL_AVX2 && __builtin_cpu_supports("avx512f")) best = TINA_KERNEL_AVX512;
    return best;
}

bool tina_gemm_use(TinaKernel kernel) {
    if (kernel > best_kernel()) return false;
    kernel_in_use = (int)kernel, blocking_in_use = -1;
    return true;
}

void tina_gemm_use_blocking(TinaKernel blocking) {
    kernel_in_use = TINA_KERNEL_GENERIC, blocking_in_use = (int)blocking;
}

static const char *const kernel_names[] = {"generic", "avx2", "avx512"};

/* The kernel TINA_CPU names, or the best one; a name that is not a kernel, or one the processor lacks, is said once on
 * stderr (a check of REPRODUCIBILITY's statements must know which kernel ran). */
static void choose_kernel(void) {
    TinaKernel best = best_kernel(), want = best;
    const char *asked = getenv("TINA_CPU");
    if (asked && *asked) {
        int named = -1;
        for (int k = 0; k < 3; k++)
            if (strcmp(asked, kernel_names[k]) == 0) named = k;
        if (named < 0)
            fprintf(stderr, "tina: TINA_CPU=%s is not a kernel (generic, avx2, avx512): running %s\n", asked,
                    kernel_names[best]);
        else if (named > (int)best)
            fprintf(stderr, "tina: TINA_CPU=%s: this processor lacks it: running %s\n", asked, kernel_names[best]);
        else want = (TinaKernel)named;
    }
    kernel_in_use = (int)want;
}

TinaKernel tina_gemm_kernel(void) {
    static pthread_once_t chosen = PTHREAD_ONCE_INIT;
    if (kernel_in_use < 0) pthread_once(&chosen, choose_kernel);
    return (TinaKernel)kernel_in_use;
}

const char *tina_gemm_kernel_name(void) { return kernel_names[tina_gemm_kernel()]; }

static Shape shape(void) {
    TinaKernel kernel = tina_gemm_kernel();
    return shapes[blocking_in_use >= 0 ? blocking_in_use : (int)kernel];
}

static int round_up(int n, int to) { return (n + to - 1) / to * to; }

/* Strip s of N columns starts at column s * NR; its width in floats (a multiple of the vector) */
static int strip_width(const Shape *sh, int N, int s) {
    int left = N - s * sh->nr;
    return left >= sh->nr ? sh->nr : round_up(left, sh->vw);
}

static int strip_count(const Shape *sh, int N) { return (N + sh->nr - 1) / sh->nr; }

/* A product's strips of B: how many, the first column of strip s, its width, and where its row k0 lies */
static int strips_of(const TinaProduct *g, const Shape *sh) {
    return g->strips ? (g->N + TINA_GEMM_STRIP - 1) / TINA_GEMM_STRIP : strip_count(sh, g->N);
}
static int first_column(const TinaProduct *g, const Shape *sh, int s) {
    return s * (g->strips ? TINA_GEMM_STRIP : sh->nr);
}
static int width_of(const TinaProduct *g, const Shape *sh, int s) {
    return g->strips ? TINA_GEMM_STRIP : strip_width(sh, g->N, s);
}
/* the columns of strip s that exist (the rest of its width is padding) */
static int columns_of(const TinaProduct *g, const Shape *sh, int s) {
    int left = g->N - first_column(g, sh, s), width = width_of(g, sh, s);
    return left < width ? left : width;
}

/* the floats of a weight (N, K) laid out as B in sh's strips */
static size_t packed_floats(const Shape *sh, int N, int K) { return (size_t)round_up(N, sh->vw) * (size_t)K; }

size_t tina_gemm_packed_floats(int N, int K) {
    Shape sh = shape();
    return packed_floats(&sh, N, K);
}

void tina_gemm_pack(float *p, const float *w, int N, int K, bool add) {
    Shape sh = shape();
    /* strips side by side on the threads: a model's load packs each of its weights */
#pragma omp parallel for schedule(static)
    for (int s = 0; s < strip_count(&sh, N); s++) {
        int n0 = s * sh.nr, width = strip_width(&sh, N, s);
        float *strip = p + (size_t)n0 * K;
        for (int k = 0; k < K; k++) /* written in order, from width rows read in order */
            for (int j = 0; j < width; j++) {
                float value = n0 + j < N ? w[(size_t)(n0 + j) * K + k] : 0.0f, *at = strip + (size_t)k * width + j;
                *at = add ? *at + value : value;
            }
    }
}

/* panels of rows [i0, i0 + mc) x k [k0, k0 + kc) of alpha A: panel p's (k, r) at out[p * MR * kc + k * MR + r] */
static void pack_a(float *out, const Shape *sh, const TinaProduct *g, int i0, int mc, int k0, int kc) {
    for (int p = 0; p * sh->mr < mc; p++) {
        float *panel = out + (size_t)p * sh->mr * kc;
        for (int r = 0; r < sh->mr; r++) {
            int i = i0 + p * sh->mr + r;
            if (i >= i0 + mc) {
                for (int k = 0; k < kc; k++) panel[(size_t)k * sh->mr + r] = 0.0f;
            } else if (g->a.trans) { /* (K, M) stored: a row of A is a column */
                const float *col = g->a.p + (size_t)k0 * g->a.ld + (size_t)i;
                for (int k = 0; k < kc; k++) panel[(size_t)k * sh->mr + r] = g->alpha * col[(size_t)k * g->a.ld];
            } else {
                const float *row = g->a.p + (size_t)i * g->a.ld + (size_t)k0;
                for (int k = 0; k < kc; k++) panel[(size_t)k * sh->mr + r] = g->alpha * row[k];
            }
        }
    }
}

/* B's row k (its column k when trans: B (K, N) stored (N, K)) */
static const float *b_line(const TinaMatrix *m, int k) { return m->rows ? m->rows[k] : m->p + (size_t)k * m->ld; }

/* strips [s0, s1) x k [k0, k0 + kc) of B: strip s at out + (s - s0) * NR * kc, row k of it width floats (with k0 0
 * and kc K, out + s0 * NR * K is tina_gemm_pack's layout). B unlisted: sh's strips. */
static void pack_b(float *out, const Shape *sh, const TinaProduct *g, int s0, int s1, int k0, int kc) {
    if (!g->b.trans) { /* row by row, each row's columns in one pass: strip by strip, the rows were walked once for
                        * each strip, a page or more apart (a LoRA gradient's product of 32 rows ran 6-20% slower) */
        for (int k = 0; k < kc; k++) {
            const float *line = b_line(&g->b, k0 + k);
            for (int s = s0; s < s1; s++) {
                int n0 = s * sh->nr, width = strip_width(sh, g->N, s), n = columns_of(g, sh, s);
                float *dst = out + (size_t)(s - s0) * sh->nr * kc + (size_t)k * width;
                memcpy(dst, line + n0, (size_t)n * sizeof *dst);
                for (int j = n; j < width; j++) dst[j] = 0.0f;
            }
        }
        return;
    }
    for (int s = s0; s < s1; s++) {
        int n0 = s * sh->nr, width = strip_width(sh, g->N, s), n = columns_of(g, sh, s);
        float *strip = out + (size_t)(s - s0) * sh->nr * kc;
        for (int j = 0; j < width; j++) { /* column n0 + j of B lies along k: read it in order */
            const float *column = j < n ? b_line(&g->b, n0 + j) + k0 : NULL;
            for (int k = 0; k < kc; k++) strip[(size_t)k * width + j] = column ? column[k] : 0.0f;
        }
    }
}

/* ---- tiles: R rows (a panel's first R) x NV vectors of a strip, over kc values of k ----------------------------
 * Each output is one register lane's chain of fused multiply-adds, from C (load) or 0; bias (or NULL) added after.
 * cols: the strip's columns that exist (the rest are not stored). next (or NULL): rows of the next strip's block to
 * fetch into the caches meanwhile, one every `every` values of k (for products of few rows, whose weights come from
 * memory once: each panel fetches its share, so that the reads spread over the whole strip). One body for both
 * vector widths: the macros below name the width's intrinsics. */
#define TILE_BODY(R, NV)                                                                                               \
    {                                                                                                                  \
        const int W = (NV) * VW;                                                                                       \
        MASK_T mask[3];                                                                                                \
        for (int v = 0; v < (NV); v++) mask[v] = MASK(cols - v * VW);                                                  \
        VEC acc[R][NV];                                                                                                \
        bool full = cols == W; /* masked loads and stores only for a strip's tail: AVX2's are slow on AMD */         \
        _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++) { \
            const float *from = c + (size_t)r * ldc + v * VW;                                                          \
            acc[r][v] = !load ? ZERO() : full ? LOADU(from) : MASKLOAD(from, mask[v]);                                 \
        }                                                                                                              \
        int due = next ? 0 : kc; /* the next k at which a row of next is fetched */                                   \
        for (int k = 0; k < kc; k++) {                                                                                 \
            if (k == due) {                                                                                            \
                _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++) if ((v * VW * 4) % 64 == 0)                     \
                    _mm_prefetch((const char *)(next + v * VW), _MM_HINT_T1); /* a cache line a prefetch */            \
                next += W, due += every;                                                                               \
            }                                                                                                          \
            VEC bv[NV];                                                                                                \
            _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++) bv[v] = LOADU(b + (size_t)k * W + v * VW);          \
            _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) {                                                    \
                VEC x = SET1(a[(size_t)r * ars + (size_t)k * aks]);                                                    \
                _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++) acc[r][v] = FMA(x, bv[v], acc[r][v]);           \
            }                                                                                                          \
        }                                                                                                              \
        _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++) { \
            VEC out = acc[r][v];                                                                                       \
            if (bias) out = ADD(out, full ? LOADU(bias + v * VW) : MASKLOAD(bias + v * VW, mask[v]));                  \
            if (full) STOREU(c + (size_t)r * ldc + v * VW, out);                                                       \
            else MASKSTORE(c + (size_t)r * ldc + v * VW, mask[v], out);                                                \
        }                                                                                                              \
    }

#define TILE_ARGS int kc, const float *a, size_t ars, size_t aks, const float *b, float *c, size_t ldc, int cols,     \
                  bool load, const float *bias, const float *next, int every

/* Under AddressSanitizer the vector tiles go unchecked (a check on every vector load made tina-update 5x slower
 * there, most of make test's time) and tile() checks every line of memory each will touch before it runs. */
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define UNCHECKED __attribute__((no_sanitize("address", "undefined")))
#else
#define UNCHECKED
#endif

/* AVX-512: 16 floats a vector, tiles of up to 8 rows x 48 columns (24 sums in registers) */
#define VEC __m512
#define VW 16
#define MASK_T __mmask16
#define MASK(n) ((__mmask16)((n) >= 16 ? 0xffff : (n) > 0 ? (1u << (n)) - 1 : 0))
#define ZERO() _mm512_setzero_ps()
#define LOADU(p) _mm512_loadu_ps(p)
#define STOREU(p, v) _mm512_storeu_ps(p, v)
#define MASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define MASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define SET1(x) _mm512_set1_ps(x)
#define FMA(x, y, z) _mm512_fmadd_ps(x, y, z)
#define ADD(x, y) _mm512_add_ps(x, y)
#define TILE(R, NV)                                                                                                    \
    __attribute__((target("avx512f"))) UNCHECKED static void tile512_##R##_##NV(TILE_ARGS) TILE_BODY(R, NV)
#define ROWS 8
#define VECTORS 3
#include "backends/cpu/gemm_tiles.h"

/* AVX2: 8 floats a vector, tiles of up to 6 rows x 16 columns (12 sums in registers). 16 columns, not 24: a model's
 * widths and a LoRA rank are multiples of 16 and often not of 24 (a rank 32, the 1.5B model's 256 and 8960), and a
 * strip of 8 left over runs 4 multiply-adds a k to 5 loads. On an AMD EPYC, 2 threads, a LoRA backward's
 * (2048 x 2048) x (2048 x 32) ran at 86-97 GFLOP/s with 24 columns and 149-159 with 16 (best of 8, two rounds). */
#define VEC __m256
#define VW 8
#define MASK_T __m256i
#define MASK(n) tail_mask8(n)
#define ZERO() _mm256_setzero_ps()
#define LOADU(p) _mm256_loadu_ps(p)
#define STOREU(p, v) _mm256_storeu_ps(p, v)
#define MASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define MASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define SET1(x) _mm256_set1_ps(x)
#define FMA(x, y, z) _mm256_fmadd_ps(x, y, z)
#define ADD(x, y) _mm256_add_ps(x, y)
#define TILE(R, NV)                                                                                                    \
    __attribute__((target("avx2,fma"))) UNCHECKED static void tile256_##R##_##NV(TILE_ARGS) TILE_BODY(R, NV)
#define ROWS 6
#define VECTORS 2
#include "backends/cpu/gemm_tiles.h"

typedef void (*TileFn)(TILE_ARGS);
#define ROW(w, R) {tile##w##_##R##_1, tile##w##_##R##_2, tile##w##_##R##_3}
static const TileFn tiles512[8][3] = {ROW(512, 1), ROW(512, 2), ROW(512, 3), ROW(512, 4),
                                      ROW(512, 5), ROW(512, 6), ROW(512, 7), ROW(512, 8)};
#undef ROW
#define ROW(R) {tile256_##R##_1, tile256_##R##_2}
static const TileFn tiles256[6][2] = {ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6)};
#undef ROW

/* The reference the vector tiles must equal: fmaf is one rounding, as a vector lane's fused multiply-add. */
static void tile_generic(int rows, int width, TILE_ARGS) {
    (void)next, (void)every;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            float acc = load ? c[(size_t)r * ldc + j] : 0.0f;
            for (int k = 0; k < kc; k++)
                acc = fmaf(a[(size_t)r * ars + (size_t)k * aks], b[(size_t)k * width + j], acc);
            c[(size_t)r * ldc + j] = bias ? acc + bias[j] : acc;
        }
}

#ifdef __SANITIZE_ADDRESS__
/* lines floats long, `apart` floats apart, must be addressable: a bad float is read here, byte-sized, for ASan to
 * report with this stack */
static void addressable(const float *p, int lines, size_t apart, size_t floats) {
    for (int i = 0; i < lines; i++) {
        const char *bad = __asan_region_is_poisoned((void *)(p + (size_t)i * apart), floats * sizeof *p);
        if (bad) (void)*(volatile const char *)bad;
    }
}

/* What a tile reads and writes, line by line (not the span from first to last: a transposed A's spans a whole
 * matrix, and scanning its shadow took longer than the tile) */
static void check_tile(int rows, int width, TILE_ARGS) {
    (void)load, (void)next, (void)every; /* next is only prefetched, which never faults */
    if (aks == 1) addressable(a, rows, ars, (size_t)kc); /* A's rows lie along k, or its columns do */
    else addressable(a, kc, aks, (size_t)rows);
    addressable(b, 1, 0, (size_t)kc * width);
    addressable(c, rows, ldc, (size_t)cols);
    if (bias) addressable(bias, 1, 0, (size_t)cols);
}
#endif

static void tile(int rows, int width, TILE_ARGS) {
#ifdef __SANITIZE_ADDRESS__
    check_tile(rows, width, kc, a, ars, aks, b, c, ldc, cols, load, bias, next, every);
#endif
    switch (tina_gemm_kernel()) {
    case TINA_KERNEL_AVX512:
        tiles512[rows - 1][width / 16 - 1](kc, a, ars, aks, b, c, ldc, cols, load, bias, next, every);
        break;
    case TINA_KERNEL_AVX2:
        tiles256[rows - 1][width / 8 - 1](kc, a, ars, aks, b, c, ldc, cols, load, bias, next, every);
        break;
    default: tile_generic(rows, width, kc, a, ars, aks, b, c, ldc, cols, load, bias, next, every);
    }
}

/* ---- one thread's part of a product: rows [m0, m1) x strips [s0, s1) --------------------------------------------- */

/* Brings a tile's outputs, rows [i, i + rows) x columns [n0, n0 + cols) of C, into L1: called for the next tile while
 * this one runs. A and B stream in order and the processor fetches them ahead by itself; a tile's rows of C lie far
 * apart and are read (or written) once, at its start (or end), so each would wait on memory. On an AMD EPYC at 2
 * threads the update step's base products (2,048 tokens) ran 4.5% (a quiet spell) to 42% (a busy one) faster with
 * it, in interleaved runs. Always inlined: GCC 12 takes a function that only prefetches for one without effect and
 * deletes its calls. */
static inline __attribute__((always_inline)) void prefetch_outputs(const TinaProduct *g, int i, int rows, int n0,
                                                                   int cols) {
    for (int r = 0; r < rows; r++) {
        const char *row = (const char *)(g->c + (size_t)(i + r) * g->ldc + n0);
        for (size_t at = 0; at < (size_t)cols * sizeof(float); at += 64) _mm_prefetch(row + at, _MM_HINT_T0);
        _mm_prefetch(row + (size_t)cols * sizeof(float) - 1, _MM_HINT_T0);
    }
}

/* the rows of panel p of a block of mc rows (the last may have fewer than MR) */
static int panel_rows(const Shape *sh, int mc, int p) { return mc - p * sh->mr < sh->mr ? mc - p * sh->mr : sh->mr; }

typedef struct {
    float *a, *b; /* a block of A's panels (MC x KC), of B's strips (KC x NC_STRIPS NR) */
} Work;

static void part(const TinaProduct *g, const Shape *sh, const Work *w, int m0, int m1, int s0, int s1) {
    bool few_rows = m1 - m0 <= 4 * sh->mr; /* a decoding step's: the weights stream from memory */
    /* A read in place unless it must be scaled: element (r, k) of a tile's rows at a[r * ars + k * aks] */
    bool direct = g->alpha == 1.0f;
    size_t ars = direct ? (g->a.trans ? 1 : g->a.ld) : 1, aks = direct ? (g->a.trans ? g->a.ld : 1) : (size_t)sh->mr;
    /* blocks of k as equal as can be: a short last block (K = 512 was 384 + 128) would take C's outputs from memory
     * and back again for a few k. On an AMD EPYC at 2 threads, the update step's products ran 5-7% faster in
     * interleaved runs than with blocks of 384, and whole update steps 3-13%. */
    int mc_max = MC_PANELS * sh->mr, blocks = (g->K + KC - 1) / KC, kc_max = (g->K + blocks - 1) / blocks;
    for (int jc = s0; jc < s1; jc += NC_STRIPS) {
        int je = jc + NC_STRIPS < s1 ? jc + NC_STRIPS : s1;
        for (int k0 = 0; k0 < g->K; k0 += kc_max) {
            int kc = g->K - k0 < kc_max ? g->K - k0 : kc_max;
            bool load = k0 > 0 || g->accumulate, last = k0 + kc == g->K;
            if (!g->packed && !g->strips) pack_b(w->b, sh, g, jc, je, k0, kc);
            for (int i0 = m0; i0 < m1; i0 += mc_max) {
                int mc = m1 - i0 < mc_max ? m1 - i0 : mc_max;
                if (!direct) pack_a(w->a, sh, g, i0, mc, k0, kc);
                for (int s = jc; s < je; s++) {
                    int n0 = first_column(g, sh, s), width = width_of(g, sh, s), cols = columns_of(g, sh, s);
                    const float *strip = g->strips   ? g->strips[s] + (size_t)k0 * width
                                         : g->packed ? g->packed + (size_t)n0 * g->K + (size_t)k0 * width
                                                     : w->b + (size_t)(s - jc) * sh->nr * kc;
                    const float *next = NULL;
                    int panels = (mc + sh->mr - 1) / sh->mr, share = (kc + panels - 1) / panels;
                    if (few_rows && g->packed && width == sh->nr) {
                        /* the block this loop reads next: this k's next strip, else the next k's first strip, else
                         * the next group's first; fetched when its rows are as wide as this strip's */
                        int ns = s + 1, nk = k0;
                        if (ns == je) ns = k0 + kc < g->K ? jc : je, nk = k0 + kc < g->K ? k0 + kc : 0;
                        if (ns < s1 && strip_width(sh, g->N, ns) == sh->nr)
                            next = g->packed + (size_t)ns * sh->nr * g->K + (size_t)nk * sh->nr;
                    }
                    for (int p = 0; p * sh->mr < mc; p++) {
                        int rows = panel_rows(sh, mc, p), i = i0 + p * sh->mr;
                        /* the next tile's outputs: this strip's next panel, else the next strip's first */
                        int next_p = p + 1, next_s = s;
                        if (next_p * sh->mr >= mc) next_p = 0, next_s = s + 1;
                        if (next_s < je)
                            prefetch_outputs(g, i0 + next_p * sh->mr, panel_rows(sh, mc, next_p),
                                             first_column(g, sh, next_s), columns_of(g, sh, next_s));
                        const float *a = direct ? g->a.p + (g->a.trans ? (size_t)k0 * g->a.ld + (size_t)i
                                                                       : (size_t)i * g->a.ld + (size_t)k0)
                                                : w->a + (size_t)p * sh->mr * kc;
                        tile(rows, width, kc, a, ars, aks, strip,
                             g->c + (size_t)(i0 + p * sh->mr) * g->ldc + n0, g->ldc, cols, load,
                             last && g->bias ? g->bias + n0 : NULL,
                             next ? next + (size_t)p * share * sh->nr : NULL, panels);
                    }
                }
            }
        }
    }
}

/* No k at all: C's rows [m0, m1) x columns [n0, n1) are 0 (or stay), plus the bias. */
static void empty_sum(const TinaProduct *g, int m0, int m1, int n0, int n1) {
    for (int i = m0; i < m1; i++)
        for (int j = n0; j < n1; j++) {
            float *c = g->c + (size_t)i * g->ldc + j;
            float value = g->accumulate ? *c : 0.0f;
            *c = g->bias ? value + g->bias[j] : value;
        }
}

/* What a thread keeps between its products, freed when the thread ends (OpenMP makes and ends threads as team sizes
 * change): its Work, and, for a thread that calls tina_gemm, the B its team laid out together (grown as needed) */
typedef struct {
    float *work, *together;
    size_t together_floats;
} Kept;

static pthread_key_t kept_key;
static pthread_once_t kept_key_once = PTHREAD_ONCE_INIT;
static void free_kept(void *p) {
    Kept *k = p;
    free(k->work), free(k->together), free(k);
}
static void make_kept_key(void) { (void)pthread_key_create(&kept_key, free_kept); }

static Kept *kept(void) {
    pthread_once(&kept_key_once, make_kept_key);
    Kept *mine = pthread_getspecific(kept_key);
    if (!mine && (mine = calloc(1, sizeof *mine)) && pthread_setspecific(kept_key, mine)) {
        free(mine);
        return NULL;
    }
    return mine;
}

/* the thread's Work, allocated at its first product */
static bool work_of(Work *w) {
    const Shape *widest = &shapes[TINA_KERNEL_AVX512];
    size_t a = (size_t)MC_PANELS * widest->mr * KC, b = (size_t)NC_STRIPS * widest->nr * KC;
    Kept *mine = kept();
    if (!mine) return false;
    if (!mine->work && !(mine->work = aligned_alloc(64, (a + b) * sizeof(float)))) return false;
    w->a = mine->work, w->b = mine->work + a;
    return true;
}

/* A product is split by panels of rows when it has enough of them and every thread packing all of B (none when it
 * comes packed) costs less than every thread packing all of A; else by strips. */
static bool by_strips(const TinaProduct *g, const Shape *sh, int threads) {
    if (threads == 1 || (g->M + sh->mr - 1) / sh->mr < 4 * threads) return true;
    if (strips_of(g, sh) < 2 * threads) return false;
    return g->packed || g->strips ? false : (double)g->N >= (double)g->M;
}

static int units_of(const TinaProduct *g, const Shape *sh, int threads) {
    if (g->M <= 0 || g->N <= 0) return 0;
    return by_strips(g, sh, threads) ? strips_of(g, sh) : (g->M + sh->mr - 1) / sh->mr;
}

/* The work of one unit of a product, a panel of rows or a strip of columns: its multiply-adds (its outputs when it has
 * no k) */
static double unit_cost(const TinaProduct *g, const Shape *sh, int threads) {
    double k = g->K > 0 ? g->K : 1;
    return by_strips(g, sh, threads) ? (double)width_of(g, sh, 0) * g->M * k : (double)sh->mr * g->N * k;
}

/* How many of a product's units (each `cost`, the first at 0) start before `at` */
static long units_before(double at, double cost, long units) {
    if (at <= 0) return 0;
    double before = ceil(at / cost);
    return before < (double)units ? (long)before : units;
}

/* The products laid end to end, each unit at its work's place: the units that start in [from, to). Chunks of the
 * same work, not the same count of units (3 products of 512, 128 and 128 columns, split by count, gave one of 2
 * threads 3 times the other's work). */
static bool run_units(const TinaProduct *p, int n, const Shape *sh, int threads, double from_work, double to_work) {
    Work w;
    if (!work_of(&w)) return false;
    double first = 0;
    for (int i = 0; i < n; i++) {
        const TinaProduct *g = &p[i];
        long units = units_of(g, sh, threads);
        double cost = unit_cost(g, sh, threads);
        long from = units_before(from_work - first, cost, units), to = units_before(to_work - first, cost, units);
        first += (double)units * cost;
        if (from >= to) continue;
        bool strips = by_strips(g, sh, threads);
        int m0 = strips ? 0 : (int)from * sh->mr, m1 = strips ? g->M : (int)(to * sh->mr < g->M ? to * sh->mr : g->M);
        int n0 = strips ? first_column(g, sh, (int)from) : 0, n1 = strips ? first_column(g, sh, (int)to) : g->N;
        n1 = n1 < g->N ? n1 : g->N;
        if (g->K <= 0) empty_sum(g, m0, m1, n0, n1);
        else if (strips) part(g, sh, &w, 0, g->M, (int)from, (int)to);
        else part(g, sh, &w, m0, m1, 0, strips_of(g, sh));
    }
    return true;
}

/* ---- a call's threads -------------------------------------------------------------------------------------------- */

/* Where chunk c of a call's work (total, in multiply-adds) starts. Each thread takes one of the first `threads`
 * chunks, an equal share of seven eighths of the work, then the threads take the last eighth in pieces of
 * 1 / (16 threads) as they finish: a share is the same work but not the same time when another process runs on one
 * thread's core, and the update step's two threads waited for each other 5% of their time (more in a busy spell) at
 * the end of fixed shares. A call of less work (under 2e8, a few milliseconds) keeps fixed shares: there each
 * further piece cost 3-7% (AMD EPYC, 2 threads, a LoRA gradient's products; finer pieces from the start cost 3-10%
 * even on the largest products). */
static double chunk_start(long c, double total, int threads) {
    const double tail = total < 2e8 ? 0.0 : 0.125;
    if (c <= threads) return total * (1.0 - tail) * (double)c / threads;
    return tail > 0 ? total * (1.0 - tail) + (double)(c - threads) * total * tail / (2.0 * threads) : total;
}

/* A product split by panels whose B comes unpacked would have every thread lay out all of B for its own rows (a
 * 2048 x 512 weight in the backward: 4 MB for each thread); its threads lay it out once, together, as
 * tina_gemm_pack would, and the product reads it as a packed weight (same bits: only where B's values lie). */
static bool packs_together(const TinaProduct *g, const Shape *sh, int threads) {
    return threads > 1 && !g->packed && !g->strips && g->M > 0 && g->N > 0 && g->K > 0 && !by_strips(g, sh, threads);
}

/* the floats of the B that products lay out together */
static size_t together_floats(const TinaProduct *p, int n, const Shape *sh, int threads) {
    size_t floats = 0;
    for (int i = 0; i < n; i++)
        if (packs_together(&p[i], sh, threads)) floats += packed_floats(sh, p[i].N, p[i].K);
    return floats;
}

/* q: the products, those that lay out their B together pointed at its place in `into` */
static void point_at_together(TinaProduct *q, const TinaProduct *p, int n, const Shape *sh, int threads, float *into) {
    for (int i = 0; i < n; i++) {
        q[i] = p[i];
        if (!packs_together(&p[i], sh, threads)) continue;
        q[i].packed = into;
        into += packed_floats(sh, p[i].N, p[i].K);
    }
}

/* The calling thread's room for B laid out together, at least floats */
static float *together_room(size_t floats) {
    Kept *mine = kept();
    if (!mine) return NULL;
    if (mine->together_floats < floats) {
        floats = (floats + 15) / 16 * 16; /* aligned_alloc's size: a multiple of the alignment */
        free(mine->together);
        mine->together = aligned_alloc(64, floats * sizeof(float));
        mine->together_floats = mine->together ? floats : 0;
    }
    return mine->together;
}

bool tina_gemm(const TinaProduct *p, int n, int threads) {
    Shape sh = shape();
    if (threads == 1) return run_units(p, n, &sh, 1, 0, INFINITY);
    TinaProduct few[4], *q = n <= 4 ? few : malloc((size_t)n * sizeof *q);
    if (!q) return false;
    bool ok = true, room = true;
    double total = 0;
    long next = 0; /* the next chunk to take */
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads()) reduction(&& : ok)
    {
        int count = omp_get_num_threads(), id = omp_get_thread_num();
#pragma omp single
        {
            size_t floats = together_floats(p, n, &sh, count);
            float *into = floats ? together_room(floats) : NULL;
            room = !floats || into;
            point_at_together(q, p, n, &sh, count, into);
            for (int i = 0; i < n; i++) total += (double)units_of(&q[i], &sh, count) * unit_cost(&q[i], &sh, count);
        }
        if (room) {
            for (int i = 0; i < n; i++) { /* each thread a share of the strips */
                if (q[i].packed == p[i].packed) continue;
                int strips = strip_count(&sh, p[i].N), s0 = strips * id / count, s1 = strips * (id + 1) / count;
                pack_b((float *)q[i].packed + (size_t)s0 * sh.nr * p[i].K, &sh, &p[i], s0, s1, 0, p[i].K);
            }
#pragma omp barrier
            for (;;) {
                long c;
#pragma omp atomic capture
                c = next++;
                double from = chunk_start(c, total, count), to = chunk_start(c + 1, total, count);
                if (from >= total) break;
                /* the last chunk ends past everything: the rounding of the sum cannot leave a unit to no one */
                ok = run_units(q, n, &sh, count, from, to >= total ? INFINITY : to) && ok;
            }
        }
    }
    if (q != few) free(q);
    return ok && room;
}

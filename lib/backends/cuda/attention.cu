/* attention: causal GQA attention over the paged KV cache on the GPU: a warp per token for decode steps, tiles of
 * queries on the tensor cores for prefills.
 *
 * Decode: one warp per (token, kv head, split of its keys), for the query heads that share the kv head (its group). The
 * warp walks its keys 32 at a time: each lane scores one key against every query of the group (kept in shared
 * memory, f32; the head size is a template argument so that a key row's loads unroll), the warp takes the chunk's
 * max per query, rescales its running sum and output (the online softmax of flash attention, in f32), and adds the
 * chunk's values with each lane owning D / 32 of the output's columns. Each key and value is read once per token
 * for the whole group: a warp per query head read them 6 times (Qwen2-1.5B's 12 heads over 2), through L2.
 *
 * Split-KV (flash decoding): a decode step has one token a sequence, too few warps to fill the GPU when the batch is
 * small, and each warp's walk over a long cache is a long serial chain. attention_splits cuts each token's keys
 * into up to that many ranges of whole 32-key chunks, one warp each; a warp then leaves its unnormalised output,
 * max and sum in f32, and a second kernel weighs the ranges together (exp(max - overall max)) and divides by the
 * overall sum.
 *
 * Prefill (prefill_kernel): a warp per token would read every key once per token, and multiply on the CUDA cores;
 * a prompt of thousands of tokens (or a preempted sequence's cache rebuilt) would take seconds. A block takes 64
 * queries of one head and runs flash attention over the keys 64 at a time, both products on the tensor cores, each
 * key read once per 64 queries. */
#include <mma.h>

#include <cmath>

#include "backends/cuda/cuda_impl.cuh"

using namespace nvcuda;

static const int WARPS = 4; /* per block */

/* the row of a layer's cache (pages x page_len, Hkv * D) that holds the slot's position (tina_kv_row) */
static __device__ size_t cache_row(const TinaKVPages &pages, int slot, int position) {
    return (size_t)pages.table[(size_t)slot * pages.per_slot + position / pages.page_len] * pages.page_len +
           position % pages.page_len;
}

/* one thread per element of the new rows: k, v (T, Hkv * D) into the cache at (slot, position) */
static __global__ void store_kernel(bf16 *k_cache, bf16 *v_cache, const bf16 *k, const bf16 *v, DeviceBatch batch,
                                    TinaKVPages pages, int row, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t t = i / row, c = i % row;
    size_t at = cache_row(pages, batch.slot[t], batch.positions[t]) * row + c;
    k_cache[at] = k[i];
    v_cache[at] = v[i];
}

/* One warp per (token, kv head, split), serving the query heads of the kv head's group (up to GROUP_MOST of them;
 * a larger group is served in parts): each key and value row is read once for all of them, not once per query
 * head. Lane l owns the output columns l * PER_LANE .. l * PER_LANE + PER_LANE - 1 (lanes past D / PER_LANE idle).
 * Keys are read as 16-byte vectors, all of a row's loads issued before the first is used. */
static constexpr int GROUP_MOST = 6; /* Qwen2-1.5B's group, in one part */

template <int D>
static __global__ void attention_kernel(bf16 *out, float *partial, int splits, const bf16 *q, const bf16 *k_cache,
                                        const bf16 *v_cache, DeviceBatch batch, TinaKVPages pages, int T, int Hq,
                                        int Hkv, float scale) {
    constexpr int PER_LANE = (D + 31) / 32, VECTORS = D / 8;
    __shared__ float q_shared[WARPS][GROUP_MOST][D];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int group = Hq / Hkv, parts = (group + GROUP_MOST - 1) / GROUP_MOST;
    int work = blockIdx.x * WARPS + warp, unit = work / splits, split = work % splits;
    if (unit >= T * Hkv * parts) return; /* the whole warp: nothing below synchronises the block */
    int t = unit / (Hkv * parts), g = unit / parts % Hkv, part = unit % parts;
    int h0 = g * group + part * GROUP_MOST, heads = min(GROUP_MOST, group - part * GROUP_MOST);
    float(*qs)[D] = q_shared[warp];
    for (int j = 0; j < heads; j++)
        for (int d = lane; d < D; d += 32) qs[j][d] = __bfloat162float(q[((size_t)t * Hq + h0 + j) * D + d]) * scale;
    __syncwarp();
    size_t row = (size_t)Hkv * D;
    int slot = batch.slot[t];
    const bf16 *kc = k_cache + (size_t)g * D, *vc = v_cache + (size_t)g * D + lane * PER_LANE;
    bool owner = lane * PER_LANE < D;
    int keys = batch.positions[t] + 1;
    int per_split = ((keys + splits - 1) / splits + 31) / 32 * 32; /* whole chunks */
    int begin = split * per_split;
    if (split * per_split + per_split < keys) keys = begin + per_split; /* this range's end */
    float running_max[GROUP_MOST], running_sum[GROUP_MOST], acc[GROUP_MOST][PER_LANE];
#pragma unroll
    for (int j = 0; j < GROUP_MOST; j++) {
        running_max[j] = -INFINITY, running_sum[j] = 0;
#pragma unroll
        for (int i = 0; i < PER_LANE; i++) acc[j][i] = 0;
    }
    for (int j0 = begin; j0 < keys; j0 += 32) {
        int key = j0 + lane;
        float p[GROUP_MOST]; /* each head's score of this lane's key, then its weight */
#pragma unroll
        for (int j = 0; j < GROUP_MOST; j++) p[j] = -INFINITY;
        if (key < keys) {
            const uint4 *kr = (const uint4 *)(kc + cache_row(pages, slot, key) * row);
#pragma unroll
            for (int j = 0; j < GROUP_MOST; j++) p[j] = 0;
#pragma unroll
            for (int u = 0; u < VECTORS; u++) { /* 8 of the key's values at a time, into every head's score */
                uint4 eight = kr[u];
                const __nv_bfloat162 *two = (const __nv_bfloat162 *)&eight;
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float2 f = __bfloat1622float2(two[e]);
#pragma unroll
                    for (int j = 0; j < GROUP_MOST; j++)
                        if (j < heads) p[j] += qs[j][8 * u + 2 * e] * f.x + qs[j][8 * u + 2 * e + 1] * f.y;
                }
            }
        }
#pragma unroll
        for (int j = 0; j < GROUP_MOST; j++) { /* heads is the same for the whole warp: the shuffles are too */
            if (j >= heads) break;
            float new_max = fmaxf(running_max[j], warp_reduce(p[j], Max()));
            p[j] = key < keys ? expf(p[j] - new_max) : 0.0f;
            float correction = expf(running_max[j] - new_max); /* 0 on the first chunk */
            running_sum[j] = running_sum[j] * correction + warp_reduce(p[j], Sum());
#pragma unroll
            for (int i = 0; i < PER_LANE; i++) acc[j][i] *= correction;
            running_max[j] = new_max;
        }
        int n = keys - j0 < 32 ? keys - j0 : 32;
#pragma unroll 2
        for (int jj = 0; jj < n; jj++) {
            float value[PER_LANE];
            const bf16 *vr = vc + cache_row(pages, slot, j0 + jj) * row;
#pragma unroll
            for (int i = 0; i < PER_LANE; i++) value[i] = owner ? __bfloat162float(vr[i]) : 0.0f;
#pragma unroll
            for (int j = 0; j < GROUP_MOST; j++) {
                if (j >= heads) break;
                float pj = __shfl_sync(0xffffffffu, p[j], jj);
#pragma unroll
                for (int i = 0; i < PER_LANE; i++) acc[j][i] += pj * value[i];
            }
        }
    }
#pragma unroll
    for (int j = 0; j < GROUP_MOST; j++) {
        if (j >= heads) break;
        size_t pair = (size_t)t * Hq + h0 + j;
        if (splits > 1) { /* this range's share; an empty range (begin past the keys) leaves max -inf and sum 0 */
            float *mine = partial + (pair * splits + split) * (D + 2);
            if (owner)
#pragma unroll
                for (int i = 0; i < PER_LANE; i++) mine[lane * PER_LANE + i] = acc[j][i];
            if (lane == 0) mine[D] = running_max[j], mine[D + 1] = running_sum[j];
        } else if (owner) {
#pragma unroll
            for (int i = 0; i < PER_LANE; i++)
                out[pair * D + lane * PER_LANE + i] = __float2bfloat16(acc[j][i] / running_sum[j]);
        }
    }
}

/* one thread per output value: out (pairs, D) = the ranges' outputs weighed by exp(max - overall max), over the
 * ranges' sums weighed alike */
static __global__ void combine_kernel(bf16 *out, const float *partial, int pairs, int splits, int D) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)pairs * D) return;
    size_t pair = i / D, d = i % D;
    const float *range = partial + pair * splits * (D + 2);
    float overall = -INFINITY;
    for (int s = 0; s < splits; s++) overall = fmaxf(overall, range[(size_t)s * (D + 2) + D]);
    float sum = 0, value = 0;
    for (int s = 0; s < splits; s++, range += D + 2) {
        float weight = expf(range[D] - overall); /* 0 for an empty range */
        sum += weight * range[D + 1];
        value += weight * range[d];
    }
    out[i] = __float2bfloat16(value / sum);
}

/* ---- prefill: tiles of queries on the tensor cores ----------------------------------------------------------- */

static constexpr int TILE = 64;              /* query rows of a block, and keys a step */
static constexpr int TILE_WARPS = TILE / 16; /* a warp for each 16 rows */
/* Row strides of the shared arrays, padded: unpadded rows of 256 bytes (64 floats, 128 bf16) start in the same bank,
 * so the 16 lanes walking 16 rows of scores or probs hit one bank at a time (16-way conflicts), as do the fragment
 * loads of the tile's rows. 4 extra words a row spread 8 rows over the banks (2-way at most); each stride stays a
 * multiple of 16 bytes (wmma's ldm and the 16-byte vectors) and every fragment's start 32-byte aligned. */
static constexpr int SCORE_STRIDE = TILE + 4; /* floats */
static constexpr int PROB_STRIDE = TILE + 8;  /* bf16 */
template <int D> static constexpr int TILE_STRIDE = D + 8; /* bf16 */

/* rows (TILE, D) of shared memory = D values at each of TILE places, zero where `valid` says no: queries of
 * consecutive tokens, or keys and values of consecutive positions through the page table (16-byte vectors) */
template <int D, class Where>
static __device__ void fill_tile(bf16 (*rows)[TILE_STRIDE<D>], int valid, Where where) {
    for (int i = threadIdx.x; i < TILE * (D / 8); i += blockDim.x) {
        int r = i / (D / 8), u = i % (D / 8);
        uint4 eight = {0, 0, 0, 0};
        if (r < valid) eight = *(const uint4 *)(where(r) + 8 * u);
        *(uint4 *)&rows[r][8 * u] = eight;
    }
}

/* One block of TILE_WARPS warps per (TILE rows of the call, query head): for each run of its rows that belongs to
 * one sequence (same slot, consecutive positions), the flash-attention loop over the sequence's keys TILE at a time:
 * S = Q K^T on the tensor cores (bf16 in, f32 sums), each warp's 16 rows through an online softmax in f32 (the
 * probabilities rounded to bf16 for the product, as flash attention does), O = O * correction + P V on the tensor
 * cores. A fragment's elements are spread over the lanes in an order CUDA does not specify: each lane learns the row
 * of its elements from a fragment of row numbers. Shared memory: 45 KB at D = 128 (of the 48 KB a static array may
 * take). */
template <int D, bool CACHED>
static __global__ void prefill_kernel(bf16 *out, const bf16 *q, const bf16 *k_cache, const bf16 *v_cache,
                                      DeviceBatch batch, TinaKVPages pages, int T, int Hq, int Hkv, float scale) {
    constexpr int F = D / 16; /* fragments across a head */
    /* (fragments load from and store to 32-byte boundaries) */
    __shared__ __align__(32) bf16 tile[TILE][TILE_STRIDE<D>];            /* the queries, then keys, values */
    __shared__ __align__(32) float scores[TILE_WARPS][16][SCORE_STRIDE]; /* a warp's scores, later its outputs */
    __shared__ __align__(32) bf16 probs[TILE_WARPS][16][PROB_STRIDE];    /* a warp's probabilities */
    __shared__ __align__(32) float row_numbers[16][16];
    __shared__ float running_max[TILE], running_sum[TILE], correction[TILE];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, h = blockIdx.y, g = h / (Hq / Hkv);
    int first = blockIdx.x * TILE, end = min(first + TILE, T);
    size_t row = (size_t)Hkv * D;
    for (int i = threadIdx.x; i < 256; i += blockDim.x) row_numbers[i / 16][i % 16] = (float)(i / 16);
    __syncthreads();
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> row_of;
    wmma::load_matrix_sync(row_of, &row_numbers[0][0], 16, wmma::mem_row_major);
    for (int start = first; start < end;) {
        int slot = batch.slot[start], position = batch.positions[start], n = 1;
        while (start + n < end && batch.slot[start + n] == slot && batch.positions[start + n] == position + n) n++;
        int last_key = position + n - 1;
        /* the row of key j: through the page table; or, keys and values (T, Hkv, D) of the call itself (training's
         * whole sequences, from position 0), the run's own rows */
        auto key_row = [&](int j) { return CACHED ? cache_row(pages, slot, j) : (size_t)(start - position + j); };
        fill_tile<D>(tile, n, [&](int r) { return q + ((size_t)(start + r) * Hq + h) * D; });
        __syncthreads();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> queries[F];
        for (int f = 0; f < F; f++) wmma::load_matrix_sync(queries[f], &tile[warp * 16][f * 16], TILE_STRIDE<D>);
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> o[F];
        for (int f = 0; f < F; f++) wmma::fill_fragment(o[f], 0.0f);
        /* lanes r and r + 16 share the softmax of the warp's row r (its even and odd columns); lane r keeps it */
        int half = lane / 16, mine = warp * 16 + lane % 16;
        if (half == 0) running_max[mine] = -INFINITY, running_sum[mine] = 0;
        /* rows past the run's end take the first row's keys: finite, and never written */
        int sees = position + (mine < n ? mine : 0);
        for (int j0 = 0; j0 <= last_key; j0 += TILE) {
            int keys = last_key - j0 + 1 < TILE ? last_key - j0 + 1 : TILE;
            __syncthreads(); /* every warp is done with the tile: the queries, or the last step's values */
            fill_tile<D>(tile, keys, [&](int r) { return k_cache + key_row(j0 + r) * row + g * D; });
            __syncthreads();
            for (int c = 0; c < TILE / 16; c++) {
                wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
                wmma::fill_fragment(s, 0.0f);
                for (int f = 0; f < F; f++) {
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> k;
                    wmma::load_matrix_sync(k, &tile[c * 16][f * 16], TILE_STRIDE<D>);
                    wmma::mma_sync(s, queries[f], k, s);
                }
                wmma::store_matrix_sync(&scores[warp][0][c * 16], s, SCORE_STRIDE, wmma::mem_row_major);
            }
            __syncwarp();
            {
                float *x = scores[warp][lane % 16], old = running_max[mine], top = old, sum = 0;
                for (int c = half; c < TILE; c += 2)
                    if (j0 + c <= sees) top = fmaxf(top, x[c] * scale);
                top = fmaxf(top, __shfl_xor_sync(0xffffffffu, top, 16));
                for (int c = half; c < TILE; c += 2) {
                    float p = j0 + c <= sees ? expf(x[c] * scale - top) : 0.0f;
                    probs[warp][lane % 16][c] = __float2bfloat16(p);
                    sum += p;
                }
                sum += __shfl_xor_sync(0xffffffffu, sum, 16);
                __syncwarp(); /* both lanes have read the row's running max */
                if (half == 0) {
                    correction[mine] = expf(old - top); /* 0 on the first step */
                    running_sum[mine] = running_sum[mine] * correction[mine] + sum;
                    running_max[mine] = top;
                }
            }
            __syncwarp();
            for (int f = 0; f < F; f++)
                for (int e = 0; e < o[f].num_elements; e++) o[f].x[e] *= correction[warp * 16 + (int)row_of.x[e]];
            __syncthreads(); /* every warp has its scores: the keys may go */
            fill_tile<D>(tile, keys, [&](int r) { return v_cache + key_row(j0 + r) * row + g * D; });
            __syncthreads();
            for (int c = 0; c < TILE / 16; c++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> p;
                wmma::load_matrix_sync(p, &probs[warp][0][c * 16], PROB_STRIDE);
                for (int f = 0; f < F; f++) {
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> v;
                    wmma::load_matrix_sync(v, &tile[c * 16][f * 16], TILE_STRIDE<D>);
                    wmma::mma_sync(o[f], p, v, o[f]);
                }
            }
        }
        for (int f = 0; f < F; f++) { /* a fragment at a time through the warp's scores, divided by the sums */
            wmma::store_matrix_sync(&scores[warp][0][0], o[f], SCORE_STRIDE, wmma::mem_row_major);
            __syncwarp();
            for (int i = lane; i < 256; i += 32) {
                int r = i / 16, c = i % 16;
                if (warp * 16 + r < n)
                    out[((size_t)(start + warp * 16 + r) * Hq + h) * D + f * 16 + c] =
                        __float2bfloat16(scores[warp][r][c] / running_sum[warp * 16 + r]);
            }
            __syncwarp();
        }
        start += n;
        __syncthreads(); /* the next run refills the tile */
    }
}

/* the warps of a split: a (token, kv head, part of its group) each */
static int attention_units(int T, int Hq, int Hkv) {
    return T * Hkv * ((Hq / Hkv + GROUP_MOST - 1) / GROUP_MOST);
}

/* the splits for T tokens of Hq query and Hkv kv heads whose longest walk is max_keys keys, on a GPU of `sms`
 * multiprocessors: enough warps to fill it (32 a multiprocessor; a warp serves a kv head's group of query heads),
 * no range shorter than a chunk of 32 keys; 1 when the tokens fill it */
static int attention_splits(int T, int Hq, int Hkv, int max_keys, int sms) {
    int units = attention_units(T, Hq, Hkv);
    int by_length = (max_keys + 31) / 32, by_occupancy = (32 * sms + units - 1) / units;
    int splits = by_length < by_occupancy ? by_length : by_occupancy;
    return splits > 1 ? splits : 1;
}

bool tina_cuda_attention_fits(int D) { return D == 16 || D == 32 || D == 64 || D == 96 || D == 128; }

/* launch(size) with the head size as a type's constant (a kernel's template argument): the sizes
 * tina_cuda_attention_fits admits */
template <class Launch> static void with_head_size(int D, Launch launch) {
    switch (D) {
    case 16: launch(std::integral_constant<int, 16>()); break;
    case 32: launch(std::integral_constant<int, 32>()); break;
    case 64: launch(std::integral_constant<int, 64>()); break;
    case 96: launch(std::integral_constant<int, 96>()); break;
    default: launch(std::integral_constant<int, 128>()); break;
    }
}

static constexpr int PREFILL_TILES_FROM = 16;

/* stores the new k, v (T, Hkv, D) in the layer's cache (pages x page_len, Hkv, D) where `pages` puts each token's
 * slot and position, then out (T, Hq, D) = causal GQA attention of q over positions 0 .. position of each token: a
 * decode step's way (each token's keys in `splits` ranges, whose shares take partial (T x Hq x splits, D + 2) f32
 * when splits > 1), or a prefill's (tiles: blocks of 64 queries of a sequence against its keys 64 at a time, on the
 * tensor cores) */
void cuda_attention(TinaBackend *b, void *out, const void *q, const void *k, const void *v, void *k_cache, void *v_cache,
                    const TinaKVPages *pages, const TinaBatch *batch, int Hq, int Hkv, int D) {
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
    int row = Hkv * D;
    size_t n = (size_t)T * row;
    if (failed(c) || (splits > 1 && !partial) || !n) return;
    cudaStream_t s = c->stream;
    store_kernel<<<blocks_for(n), THREADS, 0, s>>>((bf16 *)k_cache, (bf16 *)v_cache, (const bf16 *)k, (const bf16 *)v,
                                                  d, *pages, row, n);
    float scale = 1.0f / sqrtf((float)D);
    if (tiles) {
        dim3 grid((unsigned)((T + TILE - 1) / TILE), (unsigned)Hq);
        with_head_size(D, [&](auto size) {
            prefill_kernel<decltype(size)::value, true><<<grid, 32 * TILE_WARPS, 0, s>>>(
                (bf16 *)out, (const bf16 *)q, (const bf16 *)k_cache, (const bf16 *)v_cache, d, *pages, T, Hq, Hkv,
                scale);
        });
    } else {
        unsigned blocks = (unsigned)(((size_t)attention_units(T, Hq, Hkv) * splits + WARPS - 1) / WARPS);
        with_head_size(D, [&](auto size) {
            attention_kernel<decltype(size)::value><<<blocks, 32 * WARPS, 0, s>>>(
                (bf16 *)out, partial, splits, (const bf16 *)q, (const bf16 *)k_cache, (const bf16 *)v_cache, d,
                *pages, T, Hq, Hkv, scale);
        });
        size_t values = (size_t)T * Hq * D;
        if (splits > 1)
            combine_kernel<<<blocks_for(values), THREADS, 0, s>>>((bf16 *)out, partial, T * Hq, splits, D);
    }
    launched(c, "attention");
}

void launch_self_attention(cudaStream_t s, bf16 *out, const bf16 *q, const bf16 *k, const bf16 *v, DeviceBatch batch,
                           int T, int Hq, int Hkv, int D) {
    if (!T) return;
    dim3 grid((unsigned)((T + TILE - 1) / TILE), (unsigned)Hq);
    float scale = 1.0f / sqrtf((float)D);
    with_head_size(D, [&](auto size) {
        prefill_kernel<decltype(size)::value, false><<<grid, 32 * TILE_WARPS, 0, s>>>(out, q, k, v, batch,
                                                                                      TinaKVPages{}, T, Hq, Hkv,
                                                                                      scale);
    });
}

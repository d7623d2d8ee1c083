/* attention: causal GQA attention over the KV cache on the GPU, for prefill and decode alike.
 *
 * One warp per (token, kv head, split of its keys), for the query heads that share the kv head (its group). The
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
 * overall sum. Prefill has warps enough and runs unsplit. */
#include "kernels.h"

#include <cmath>

#include "common.cuh"

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

/* the warps of a split: a (token, kv head, part of its group) each */
static int attention_units(int T, int Hq, int Hkv) {
    return T * Hkv * ((Hq / Hkv + GROUP_MOST - 1) / GROUP_MOST);
}

int attention_splits(int T, int Hq, int Hkv, int max_keys, int sms) {
    int units = attention_units(T, Hq, Hkv);
    int by_length = (max_keys + 31) / 32, by_occupancy = (32 * sms + units - 1) / units;
    int splits = by_length < by_occupancy ? by_length : by_occupancy;
    return splits > 1 ? splits : 1;
}

bool tina_cuda_attention_fits(int D) { return D == 16 || D == 32 || D == 64 || D == 96 || D == 128; }

void launch_attention(cudaStream_t s, bf16 *out, const bf16 *q, const bf16 *k, const bf16 *v, bf16 *k_cache,
                      bf16 *v_cache, TinaKVPages pages, DeviceBatch batch, int T, int Hq, int Hkv, int D, int splits,
                      float *partial) {
    int row = Hkv * D;
    size_t n = (size_t)T * row;
    if (!n) return;
    store_kernel<<<blocks_for(n), THREADS, 0, s>>>(k_cache, v_cache, k, v, batch, pages, row, n);
    unsigned blocks = (unsigned)(((size_t)attention_units(T, Hq, Hkv) * splits + WARPS - 1) / WARPS);
    float scale = 1.0f / sqrtf((float)D);
#define ATTENTION(size) attention_kernel<size><<<blocks, 32 * WARPS, 0, s>>>(out, partial, splits, q, k_cache, \
                                                                            v_cache, batch, pages, T, Hq, Hkv, scale)
    switch (D) {
    case 16: ATTENTION(16); break;
    case 32: ATTENTION(32); break;
    case 64: ATTENTION(64); break;
    case 96: ATTENTION(96); break;
    default: ATTENTION(128); break; /* tina_cuda_attention_fits admits no other size */
    }
#undef ATTENTION
    size_t values = (size_t)T * Hq * D;
    if (splits > 1) combine_kernel<<<blocks_for(values), THREADS, 0, s>>>(out, partial, T * Hq, splits, D);
}

/* attention: causal GQA attention over the KV cache on the GPU, for prefill and decode alike.
 *
 * One warp per (token, query head, split of its keys). The warp walks its keys 32 at a time: each lane scores one
 * key against the query (kept in shared memory, f32; the head size is a template argument so that a key row's loads
 * unroll), the warp takes the chunk's max, rescales its running sum and output (the online softmax of flash
 * attention, in f32), and adds the chunk's values with each lane owning D / 32 of the output's columns. Keys and
 * values are read once per query head; the heads of a group share them through L1/L2.
 *
 * Split-KV (flash decoding): a decode step has one token a sequence, too few (token, head) pairs to fill the GPU
 * when the batch is small, and each pair's walk over a long cache is a long serial chain. attention_splits cuts each
 * token's keys into up to that many ranges of whole 32-key chunks, one warp each; a warp then leaves its unnormalised
 * output, max and sum in f32, and a second kernel weighs the ranges together (exp(max - overall max)) and divides by
 * the overall sum. Prefill has pairs enough and runs unsplit. */
#include "kernels.h"

#include <cmath>

static const int WARPS = 4; /* per block */

/* one thread per element of the new rows: k, v (T, Hkv * D) into the cache at (slot, position) */
static __global__ void store_kernel(bf16 *k_cache, bf16 *v_cache, const bf16 *k, const bf16 *v, DeviceBatch batch,
                                    int max_len, int row, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t t = i / row, c = i % row;
    size_t at = ((size_t)batch.slot[t] * max_len + batch.positions[t]) * row + c;
    k_cache[at] = k[i];
    v_cache[at] = v[i];
}

static __device__ float warp_max(float v) {
    for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

static __device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Lane l owns the output columns l * PER_LANE .. l * PER_LANE + PER_LANE - 1 (lanes past D / PER_LANE idle). Keys
 * are read as 16-byte vectors, all of a row's loads issued before the first is used. */
template <int D>
static __global__ void attention_kernel(bf16 *out, float *partial, int splits, const bf16 *q, const bf16 *k_cache,
                                        const bf16 *v_cache, DeviceBatch batch, int max_len, int T, int Hq, int Hkv,
                                        float scale) {
    constexpr int PER_LANE = (D + 31) / 32, VECTORS = D / 8;
    __shared__ float q_shared[WARPS][D];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int work = blockIdx.x * WARPS + warp, pair = work / splits, split = work % splits;
    if (pair >= T * Hq) return; /* the whole warp: nothing below synchronises the block */
    int t = pair / Hq, h = pair % Hq, g = h / (Hq / Hkv);
    float *qs = q_shared[warp];
    for (int d = lane; d < D; d += 32) qs[d] = __bfloat162float(q[(size_t)pair * D + d]) * scale;
    __syncwarp();
    size_t row = (size_t)Hkv * D;
    const bf16 *kc = k_cache + (size_t)batch.slot[t] * max_len * row + (size_t)g * D;
    const bf16 *vc = v_cache + (size_t)batch.slot[t] * max_len * row + (size_t)g * D + lane * PER_LANE;
    bool owner = lane * PER_LANE < D;
    int keys = batch.positions[t] + 1;
    int per_split = ((keys + splits - 1) / splits + 31) / 32 * 32; /* whole chunks */
    int begin = split * per_split;
    if (split * per_split + per_split < keys) keys = begin + per_split; /* this range's end */
    float running_max = -INFINITY, running_sum = 0, acc[PER_LANE];
#pragma unroll
    for (int i = 0; i < PER_LANE; i++) acc[i] = 0;
    for (int j0 = begin; j0 < keys; j0 += 32) {
        int j = j0 + lane;
        float score = -INFINITY;
        if (j < keys) {
            const uint4 *kr = (const uint4 *)(kc + (size_t)j * row);
            uint4 kv[VECTORS];
#pragma unroll
            for (int u = 0; u < VECTORS; u++) kv[u] = kr[u];
            float dot = 0;
#pragma unroll
            for (int u = 0; u < VECTORS; u++) {
                const __nv_bfloat162 *two = (const __nv_bfloat162 *)&kv[u];
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float2 f = __bfloat1622float2(two[e]);
                    dot += qs[8 * u + 2 * e] * f.x + qs[8 * u + 2 * e + 1] * f.y;
                }
            }
            score = dot;
        }
        float new_max = fmaxf(running_max, warp_max(score));
        float p = j < keys ? expf(score - new_max) : 0.0f;
        float correction = expf(running_max - new_max); /* 0 on the first chunk */
        running_sum = running_sum * correction + warp_sum(p);
#pragma unroll
        for (int i = 0; i < PER_LANE; i++) acc[i] *= correction;
        int n = keys - j0 < 32 ? keys - j0 : 32;
#pragma unroll 4
        for (int jj = 0; jj < n; jj++) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            const bf16 *vr = vc + (size_t)(j0 + jj) * row;
            if (owner)
#pragma unroll
                for (int i = 0; i < PER_LANE; i++) acc[i] += pj * __bfloat162float(vr[i]);
        }
        running_max = new_max;
    }
    if (splits > 1) { /* this range's share; an empty range (begin past the keys) leaves max -inf and sum 0 */
        float *mine = partial + (size_t)work * (D + 2);
        if (owner)
#pragma unroll
            for (int i = 0; i < PER_LANE; i++) mine[lane * PER_LANE + i] = acc[i];
        if (lane == 0) mine[D] = running_max, mine[D + 1] = running_sum;
        return;
    }
    if (owner)
#pragma unroll
        for (int i = 0; i < PER_LANE; i++)
            out[(size_t)pair * D + lane * PER_LANE + i] = __float2bfloat16(acc[i] / running_sum);
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

int attention_splits(int pairs, int max_keys, int sms) {
    int by_length = (max_keys + 31) / 32, by_occupancy = (32 * sms + pairs - 1) / pairs;
    int splits = by_length < by_occupancy ? by_length : by_occupancy;
    return splits > 1 ? splits : 1;
}

bool tina_cuda_attention_fits(int D) { return D == 16 || D == 32 || D == 64 || D == 96 || D == 128; }

void launch_attention(cudaStream_t s, bf16 *out, const bf16 *q, const bf16 *k, const bf16 *v, bf16 *k_cache,
                      bf16 *v_cache, int max_len, DeviceBatch batch, int T, int Hq, int Hkv, int D, int splits,
                      float *partial) {
    int row = Hkv * D;
    size_t n = (size_t)T * row;
    if (!n) return;
    store_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(k_cache, v_cache, k, v, batch, max_len, row, n);
    unsigned blocks = (unsigned)(((size_t)T * Hq * splits + WARPS - 1) / WARPS);
    float scale = 1.0f / sqrtf((float)D);
#define ATTENTION(size) attention_kernel<size><<<blocks, 32 * WARPS, 0, s>>>(out, partial, splits, q, k_cache, \
                                                                            v_cache, batch, max_len, T, Hq, Hkv, scale)
    switch (D) {
    case 16: ATTENTION(16); break;
    case 32: ATTENTION(32); break;
    case 64: ATTENTION(64); break;
    case 96: ATTENTION(96); break;
    default: ATTENTION(128); break; /* tina_cuda_attention_fits admits no other size */
    }
#undef ATTENTION
    size_t values = (size_t)T * Hq * D;
    if (splits > 1) combine_kernel<<<(unsigned)((values + 255) / 256), 256, 0, s>>>(out, partial, T * Hq, splits, D);
}

/* sample: the next token of each row of logits, drawn on the GPU by the rules of lib/backends/sampler.c (sampler.h states
 * them), so that a decode step hands the host a token and a log-prob a row instead of 151,936 logits.
 *
 * One block per row. Passes over the row find the best logit (the smallest id among equals) and the log-softmax's
 * sum; without top-k and top-p the draw is one more: each thread owns a contiguous stretch of ids, an exclusive scan
 * of the stretches' masses tells which stretch holds u x total, and its thread walks it. Top-k and top-p need the
 * tokens by decreasing logit: the tokens within 8 temperature units of the best (weight above e^-8, the CPU's first
 * window), or within 4, 2 or 1 when more than CANDIDATES lie within 8, are gathered into shared memory, sorted
 * (bitonic: decreasing logit, then increasing id), and walked by one thread. Every token left out ranks below every
 * token gathered, so when the kept set ends among them it is exactly the CPU's, which sorts wider windows until it
 * does; where it does not (top-k reaching below them, top-p's mass not reached among them, more than CANDIDATES
 * within one unit) the row's token is -1 and the backend draws it on the host with sampler.c. Weights are f32 and
 * their sums f64, as on the CPU; a draw can differ from the CPU's only where u x total falls within that rounding of
 * a boundary between two tokens. */
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "backends/cuda/cuda_impl.cuh"

static constexpr int CANDIDATES = 4096; /* 32 KB of shared memory: a logit and an id each */

/* the sum of v over the block's threads before this one (returned) and over all of them (*total) */
static __device__ double exclusive_scan(double v, double *shared, double *total) {
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    double inclusive = v;
    for (int o = 1; o < 32; o *= 2) {
        double up = __shfl_up_sync(0xffffffffu, inclusive, o);
        if (lane >= o) inclusive += up;
    }
    __syncthreads(); /* shared may still be read by a previous call */
    if (lane == 31) shared[warp] = inclusive;
    __syncthreads();
    double before = inclusive - v, all = 0;
    for (int w = 0; w < THREADS / 32; w++) {
        if (w < warp) before += shared[w];
        all += shared[w];
    }
    *total = all;
    return before;
}

/* A draw in id order from the weights exp((logit - best) / t) of the n valid ids (no top-k, no top-p). */
static __device__ int draw_in_id_order(const float *row, int n, float best, float t, double u, double *shared_sums,
                                       int *shared_ids) {
    int stretch = (n + THREADS - 1) / THREADS, begin = min(n, (int)threadIdx.x * stretch),
        end = min(n, begin + stretch);
    double mass = 0, total;
    for (int i = begin; i < end; i++) mass += expf((row[i] - best) / t);
    double cumulative = exclusive_scan(mass, shared_sums, &total), target = u * total;
    int found = INT_MAX;
    for (int i = begin; i < end; i++)
        if ((cumulative += expf((row[i] - best) / t)) > target) {
            found = i;
            break;
        }
    found = block_reduce(found, shared_ids, Min(), INT_MAX);
    return found < n - 1 ? found : n - 1; /* rounding can leave u x total past the last stretch: the last token */
}

/* whether candidate a comes before b: the larger logit, then the smaller id */
static __device__ bool before(float logit_a, int id_a, float logit_b, int id_b) {
    return logit_a > logit_b || (logit_a == logit_b && id_a < id_b);
}

/* sorts the m candidates (logit, id) of shared memory into draw order; m <= CANDIDATES */
static __device__ void sort_candidates(float *logit, int *id, int m) {
    int size = 1;
    while (size < m) size *= 2;
    for (int i = m + threadIdx.x; i < size; i += THREADS) logit[i] = -INFINITY, id[i] = INT_MAX; /* after all */
    __syncthreads();
    for (int block = 2; block <= size; block *= 2)
        for (int stride = block / 2; stride > 0; stride /= 2) {
            for (int i = threadIdx.x; i < size; i += THREADS) {
                int j = i ^ stride;
                if (j <= i) continue;
                bool forward = (i & block) == 0; /* this half of the bitonic sequence ends in draw order */
                bool swap = forward ? before(logit[j], id[j], logit[i], id[i])
                                    : before(logit[i], id[i], logit[j], id[j]);
                if (swap) {
                    float l = logit[i];
                    logit[i] = logit[j], logit[j] = l;
                    int d = id[i];
                    id[i] = id[j], id[j] = d;
                }
            }
            __syncthreads();
        }
}

/* A draw under top-k and top-p from the n valid ids, or -1 where the host must draw (see the top). all_mass: the
 * sum of every valid id's weight. */
static __device__ int draw_ordered(const float *row, int n, float best, const TinaSamplerParams &p, double u,
                                   double all_mass, float *logit, int *id) {
    __shared__ int count, chosen, shared_counts[THREADS / 32];
    const double widths[] = {8, 4, 2, 1}; /* temperature units below the best: the widest window that fits */
    int within[4] = {0, 0, 0, 0}, w = 0;
    for (int i = threadIdx.x; i < n; i += THREADS)
        for (int j = 0; j < 4; j++) within[j] += (double)row[i] > (double)best - widths[j] * p.temperature;
    for (int j = 0; j < 4; j++) within[j] = block_reduce(within[j], shared_counts, Sum(), 0);
    while (w < 4 && within[w] > CANDIDATES) w++;
    if (w == 4) return -1; /* the same for every thread, as the counts */
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    double cut = (double)best - widths[w] * p.temperature;
    for (int i = threadIdx.x; i < n; i += THREADS)
        if ((double)row[i] > cut) {
            int at = atomicAdd(&count, 1);
            if (at < CANDIDATES) logit[at] = row[i], id[at] = i;
        }
    __syncthreads();
    int m = count, k = p.top_k > 0 && p.top_k < n ? p.top_k : n;
    if (m > CANDIDATES || (k < n && k > m)) return -1; /* the same for every thread: m is shared */
    sort_candidates(logit, id, m);
    for (int i = threadIdx.x; i < m; i += THREADS) /* now weights, as the CPU's: f64 then rounded */
        logit[i] = (float)exp(((double)logit[i] - (double)best) / p.temperature);
    __syncthreads();
    if (threadIdx.x == 0) {
        int limit = min(k, m), kept = 0;
        double all = all_mass, mass = 0;
        if (k < n) { /* top-p takes its share of what top-k kept */
            all = 0;
            for (int i = 0; i < limit; i++) all += logit[i];
        }
        for (int i = 0; i < limit && !kept; i++) {
            mass += logit[i];
            if (i + 1 == k || (p.top_p < 1 && mass >= p.top_p * all)) kept = i + 1;
        }
        chosen = -1;
        if (kept) {
            double target = u * mass, cumulative = 0;
            int i = 0;
            for (; i < kept - 1; i++)
                if ((cumulative += logit[i]) > target) break;
            chosen = id[i];
        }
    }
    __syncthreads();
    return chosen;
}

static __global__ void sample_kernel(int32_t *tokens, double *logprobs, const float *logits, int V, int n,
                                     TinaSamplerParams p, const double *uniform) {
    __shared__ float shared_floats[THREADS / 32], candidate_logit[CANDIDATES];
    __shared__ double shared_sums[THREADS / 32];
    __shared__ int shared_ids[THREADS / 32], candidate_id[CANDIDATES];
    const float *row = logits + (size_t)blockIdx.x * V;
    float best = -INFINITY;
    int nans = 0;
    for (int i = threadIdx.x; i < n; i += THREADS) best = fmaxf(best, row[i]), nans += row[i] != row[i];
    best = block_reduce(best, shared_floats, Max(), -INFINITY);
    if (block_reduce(nans, shared_ids, Sum(), 0)) { /* a diverged model: the host's sampler refuses the row */
        if (threadIdx.x == 0) tokens[blockIdx.x] = -1, logprobs[blockIdx.x] = 0;
        return; /* every thread: the count is the block's */
    }
    int first = INT_MAX;
    for (int i = threadIdx.x; i < n; i += THREADS)
        if (row[i] == best) {
            first = i;
            break;
        }
    int token = block_reduce(first, shared_ids, Min(), INT_MAX);
    bool drawn = p.temperature > 0;
    float t = drawn ? fmaxf((float)p.temperature, FLT_MIN) : 0.0f; /* a temperature below f32's range still draws */
    float t_logprob = p.logprob_at_temperature && drawn ? t : 1.0f;
    double t_exact = p.logprob_at_temperature && drawn ? p.temperature : 1.0; /* the log-prob's divisor, as the CPU's */
    double mass = 0; /* the log-softmax's, at t_logprob */
    for (int i = threadIdx.x; i < n; i += THREADS) mass += expf((row[i] - best) / t_logprob);
    mass = block_reduce(mass, shared_sums, Sum(), 0.0);
    if (drawn) {
        bool ordered = (p.top_k > 0 && p.top_k < n) || p.top_p < 1;
        double u = uniform[blockIdx.x];
        if (!ordered) {
            token = draw_in_id_order(row, n, best, t, u, shared_sums, shared_ids);
        } else {
            double all_mass = mass;
            if (t_logprob != t) {
                all_mass = 0;
                for (int i = threadIdx.x; i < n; i += THREADS) all_mass += expf((row[i] - best) / t);
                all_mass = block_reduce(all_mass, shared_sums, Sum(), 0.0);
            }
            token = draw_ordered(row, n, best, p, u, all_mass, candidate_logit, candidate_id);
        }
    }
    if (threadIdx.x != 0) return;
    tokens[blockIdx.x] = token;
    logprobs[blockIdx.x] = token < 0 ? 0.0 : ((double)row[token] - (double)best) / t_exact - log(mass);
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
void cuda_sample(TinaBackend *b, int32_t *tokens, double *logprobs, const void *h, const void *head, int rows, int C,
                 int V, const TinaSamplerParams *params, const double *u) {
    Cuda *c = cuda_of(b);
    size_t n = (size_t)rows * V, small = ((size_t)rows * (2 * sizeof(double) + sizeof(int32_t)) + 255) / 256 * 256;
    char *work = (char *)scratch(c, small + n * sizeof(float));
    if (!work) return;
    double *u_device = (double *)work, *logprobs_device = u_device + rows;
    int32_t *tokens_device = (int32_t *)(logprobs_device + rows);
    float *logits = (float *)(work + small);
    ok(c, cudaMemcpyAsync(u_device, u, (size_t)rows * sizeof *u, cudaMemcpyHostToDevice, c->stream), "upload uniforms");
    rounded_logits(c, logits, h, head, rows, C, V);
    int valid = params->n_valid > 0 && params->n_valid < V ? params->n_valid : V;
    if (rows)
        sample_kernel<<<rows, THREADS, 0, c->stream>>>(tokens_device, logprobs_device, logits, V, valid, *params,
                                                       u_device);
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

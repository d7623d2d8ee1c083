/* test_emu: the CUDA emulator itself (emu.cc) catches what it claims to, on kernels written with the mistakes it is
 * for: a block that reads shared memory no thread of it wrote, a read that lacks its barrier, a kernel that counts
 * on blocks in grid order. Built only against the emulator (make emu); each mistake must show in the results. */
#include <cmath>
#include <cstdio>

#include "cuda_runtime.h"
#include "../unit/test.h"

enum { BLOCKS = 16, THREADS = 64 };

/* Every block's thread 0 reads `value` before any thread of the block writes it, then writes its block's number. On
 * a GPU what it reads is undefined; an emulator that keeps statics between blocks would hand it the previous block's
 * number (or 0 in the first). */
__global__ void reads_before_writing(float *out) {
    __shared__ float value;
    if (threadIdx.x == 0) {
        out[blockIdx.x] = value;
        value = (float)blockIdx.x;
    }
}

/* Thread 0 writes 42 and the others read it, with the barrier left out: wrong in any block whose readers run first,
 * which the same value in every block would hide if shared memory kept the last block's. */
__global__ void reads_without_barrier(float *out) {
    __shared__ float value;
    if (threadIdx.x == 0) value = 42.0f;
    /* __syncthreads() belongs here */
    out[blockIdx.x * THREADS + threadIdx.x] = value;
}

/* Each block takes the next ticket: the order in which blocks ran */
__global__ void takes_a_ticket(int *counter, int *order) {
    if (threadIdx.x == 0) order[atomicAdd(counter, 1)] = (int)blockIdx.x;
}

template <class T> static T *device(size_t n) {
    T *p;
    CHECK(cudaMalloc(&p, n * sizeof(T)) == cudaSuccess);
    return p;
}

static void shared_memory_starts_as_nan_in_every_block(void) {
    float *out = device<float>(BLOCKS), host[BLOCKS];
    reads_before_writing<<<BLOCKS, THREADS>>>(out);
    CHECK(cudaMemcpy(host, out, sizeof host, cudaMemcpyDeviceToHost) == cudaSuccess);
    int nan = 0;
    for (int b = 0; b < BLOCKS; b++) nan += std::isnan(host[b]);
    CHECK(nan == BLOCKS);
    cudaFree(out);
}

static void a_read_without_its_barrier_reads_nan(void) {
    float *out = device<float>(BLOCKS * THREADS);
    static float host[BLOCKS * THREADS];
    reads_without_barrier<<<BLOCKS, THREADS>>>(out);
    CHECK(cudaMemcpy(host, out, sizeof host, cudaMemcpyDeviceToHost) == cudaSuccess);
    int wrong = 0;
    for (int i = 0; i < BLOCKS * THREADS; i++) wrong += host[i] != 42.0f;
    CHECK(wrong > 0); /* the blocks whose threads take turns from the last one read before thread 0 wrote */
    cudaFree(out);
}

static void blocks_run_in_a_shuffled_order(void) {
    int *counter = device<int>(1), *order = device<int>(BLOCKS), host[BLOCKS], again[BLOCKS], zero = 0;
    CHECK(cudaMemcpy(counter, &zero, sizeof zero, cudaMemcpyHostToDevice) == cudaSuccess);
    takes_a_ticket<<<BLOCKS, THREADS>>>(counter, order);
    CHECK(cudaMemcpy(host, order, sizeof host, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(cudaMemcpy(counter, &zero, sizeof zero, cudaMemcpyHostToDevice) == cudaSuccess);
    takes_a_ticket<<<BLOCKS, THREADS>>>(counter, order);
    CHECK(cudaMemcpy(again, order, sizeof again, cudaMemcpyDeviceToHost) == cudaSuccess);
    int seen[BLOCKS] = {0}, in_place = 0, same = 0;
    for (int i = 0; i < BLOCKS; i++) {
        if (host[i] >= 0 && host[i] < BLOCKS) seen[host[i]]++;
        in_place += host[i] == i, same += host[i] == again[i];
    }
    for (int b = 0; b < BLOCKS; b++) CHECK(seen[b] == 1); /* every block once */
    CHECK(in_place < BLOCKS);                             /* not the grid's order */
    CHECK(same < BLOCKS);                                 /* nor the same order each launch */
    cudaFree(counter), cudaFree(order);
}

int main(void) {
    static const TestCase tests[] = {
        {"shared_memory_starts_as_nan_in_every_block", shared_memory_starts_as_nan_in_every_block},
        {"a_read_without_its_barrier_reads_nan", a_read_without_its_barrier_reads_nan},
        {"blocks_run_in_a_shuffled_order", blocks_run_in_a_shuffled_order},
    };
    return test_main("emu", tests, sizeof tests / sizeof *tests);
}

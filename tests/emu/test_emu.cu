/* test_emu: the CUDA emulator itself (emu.cc) catches what it claims to, on kernels written with the mistakes it is
 * for: a block that reads shared memory no thread of it wrote, a read that lacks its barrier, a kernel that counts
 * on blocks in grid order, a 16-byte vector load from an address that is not 16-byte aligned. Built only against the
 * emulator (make emu, under UBSan); each mistake must show in the results, or stop the program as a GPU would. */
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

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

/* Sixteen bytes from `at` as one vector: a GPU faults ("misaligned address") unless at is 16-byte aligned. */
__global__ void loads_a_vector(const char *at, uint4 *out) { *out = *(const uint4 *)at; }

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

/* The same load 16 and 8 bytes into an allocation, each in a child process: the first runs, the second stops the
 * child with UBSan's report of a misaligned load (uint4 is alignas(16) in the emulator, as on a GPU). */
static void a_misaligned_vector_load_stops_the_program(void) {
    for (int offset = 16; offset >= 8; offset -= 8) {
        int pipe_ends[2];
        CHECK(pipe(pipe_ends) == 0);
        fflush(NULL);
        pid_t child = fork();
        if (child == 0) {
            dup2(pipe_ends[1], 2);
            char *bytes = device<char>(64);
            uint4 *out = device<uint4>(1);
            loads_a_vector<<<1, 1>>>(bytes + offset, out);
            uint4 host;
            _exit(cudaMemcpy(&host, out, sizeof host, cudaMemcpyDeviceToHost) == cudaSuccess ? 0 : 3);
        }
        close(pipe_ends[1]);
        char report[4096] = "";
        size_t got = 0;
        for (ssize_t n; got < sizeof report - 1 && (n = read(pipe_ends[0], report + got, sizeof report - 1 - got)) > 0;)
            got += (size_t)n;
        close(pipe_ends[0]);
        int status = 0;
        CHECK(waitpid(child, &status, 0) == child);
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (offset == 16) CHECK(clean);
        else CHECK(!clean && strstr(report, "misaligned address") != NULL);
    }
}

int main(void) {
    static const TestCase tests[] = {
        {"shared_memory_starts_as_nan_in_every_block", shared_memory_starts_as_nan_in_every_block},
        {"a_read_without_its_barrier_reads_nan", a_read_without_its_barrier_reads_nan},
        {"blocks_run_in_a_shuffled_order", blocks_run_in_a_shuffled_order},
        {"a_misaligned_vector_load_stops_the_program", a_misaligned_vector_load_stops_the_program},
    };
    return test_main("emu", tests, sizeof tests / sizeof *tests);
}

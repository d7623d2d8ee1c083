/* emu: a CUDA emulator, so that lib/backends/cuda runs (slowly) on a machine without a GPU: `make CUDA=emu`.
 *
 * Why: the CUDA backend can be checked against its references only on a GPU, which this project is lent now and
 * then, for minutes. Built by the host compiler against tests/emu/include, lib/backends/cuda's kernels, its recorded steps
 * and its host logic run here with the semantics lib/backends/cuda could get wrong, and a mistake shows as a wrong result or
 * as an abort that says what happened:
 *  - A kernel's threads: each thread of a block is a fiber with its own stack. They take turns, thread 0 first, each
 *    running until a barrier (__syncthreads, __syncwarp, a shuffle) or its end, so a thread that reads shared memory
 *    without the barrier before it reads what a writer has not written yet (threads take turns from the first in
 *    even blocks, from the last in odd ones: writers after it, or before it). Blocks run one after the other, in a
 *    shuffled order (seeded: TINA_EMU_SEED, default 1), so that a kernel counting on blocks in grid order (one
 *    block's writes seen by a later block) fails; shared memory is 0xff bytes (NaN) at each block's start, so that a
 *    block reading what it did not write does not get the previous block's values.
 *    Threads of a block left waiting at different barriers (a __syncthreads that some skip, the lanes of a warp at
 *    different shuffles), a shuffle whose mask names a lane that has exited: reported, then abort().
 *  - Streams: work is queued, and runs only when the host waits for it (a synchronize, a copy into pageable memory,
 *    cudaMemcpy, cudaFree), in the order it was queued, so that a result read before its wait is stale. A copy from
 *    pageable host memory takes its bytes at the call, one from pinned memory (cudaMallocHost) when it runs.
 *  - Graphs: a stream capture records the launches, copies and cuBLAS calls with their arguments; a replay runs them
 *    again. What a capture forbids (to synchronize, allocate, free, copy to or from pageable memory) fails and
 *    invalidates the capture, as CUDA's does.
 *  - Tensor cores (include/mma.h): nvcuda::wmma's 16 x 16 x 16 bf16 fragments, spread over a warp's lanes in an
 *    order unlike a GPU's (CUDA leaves it unspecified), so that a kernel assuming an order fails here or there.
 *  - Memory: device memory starts as 0xff bytes (NaN as bf16, f32 and f64), so that a read of what nothing wrote
 *    spreads NaN; copies and cuBLAS's operands must lie in one allocation of the right side, or the program aborts.
 *    Allocations are exactly as large as asked: under AddressSanitizer (make emu) a kernel's access past one is
 *    reported where it happens. The vector type uint4 is 16-byte aligned as on a GPU, so a
 *    vector load from an address off that boundary, which faults on a GPU, stops the program with UBSan's report.
 * Not emulated: speed, blocks running at once, the memory model, CUDA's own arithmetic (expf is the host's, within
 * an ulp or two of the GPU's). Environment: TINA_EMU_DEVICES (default 1; 0: no GPU), TINA_EMU_MEMORY_MB (the
 * device's memory, default 4096), TINA_EMU_SMS (its multiprocessors, default 132 as an H100's or H200's),
 * TINA_EMU_STATS=1 (at exit, on stderr: grids run, captures recorded and failed, graph launches, the peak of device
 * memory allocated), TINA_EMU_DRY=1 (no grid or product computed: see `dry`), TINA_EMU_ORDER (see `Order`). */

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"
extern "C" {
#include "backends/cpu/gemm.h"
}

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {

[[noreturn]] void fatal(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("cuda-emu: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    abort();
}

size_t env_size(const char *name, size_t fallback) {
    const char *value = getenv(name);
    return value && *value ? strtoull(value, NULL, 10) : fallback;
}

bool env_on(const char *name) {
    const char *value = getenv(name);
    return value && *value && strcmp(value, "0") != 0;
}

/* TINA_EMU_DRY=1: grids and products are not run (every result stays what memory held, 0xff: NaN), the rest is;
 * for the device memory and the launches of a workload too large to compute here */
const bool dry = env_on("TINA_EMU_DRY");

/* The order in which a block's threads take their turns: from the first to the last in even blocks and from the
 * last to the first in odd ones, so that a read that lacks its barrier meets the absence of writers on either side
 * of it in one run; TINA_EMU_ORDER=forward or reverse for every block. */
enum Order { ALTERNATE, FORWARD, REVERSE };
Order order_from_env() {
    const char *order = getenv("TINA_EMU_ORDER");
    if (!order || !*order) return ALTERNATE;
    if (strcmp(order, "forward") == 0) return FORWARD;
    if (strcmp(order, "reverse") == 0) return REVERSE;
    fatal("TINA_EMU_ORDER=%s: forward, reverse, or unset (alternate)", order);
}
const Order order = order_from_env();

/* The section of every __shared__ variable (include/cuda_runtime.h), given bounds by the linker; weak: a program
 * without shared memory has none. Filled by an uninstrumented loop: under AddressSanitizer the section holds the
 * variables' redzones too, which a memset would be reported for. Eight bytes a store where they fit (byte by byte,
 * a block's poisoning of 33 KB took a fifth of the emulated sampler's tests). */
extern "C" char __start_emu_shared[] __attribute__((weak)), __stop_emu_shared[] __attribute__((weak));
__attribute__((no_sanitize("address"))) void poison_shared_memory() {
    volatile char *p = __start_emu_shared;
    for (; p < __stop_emu_shared && (uintptr_t)p % 8; p++) *p = (char)0xff;
    for (; p + 8 <= __stop_emu_shared; p += 8) *(volatile uint64_t *)p = ~(uint64_t)0;
    for (; p < __stop_emu_shared; p++) *p = (char)0xff;
}

/* The blocks' order: a seeded shuffle of the grid (xorshift64*), a new order each grid */
uint64_t block_order_state = env_size("TINA_EMU_SEED", 1) * 0x9E3779B97F4A7C15ull | 1;
uint64_t next_random() {
    block_order_state ^= block_order_state >> 12, block_order_state ^= block_order_state << 25,
        block_order_state ^= block_order_state >> 27;
    return block_order_state * 0x2545F4914F6CDD1Dull;
}

struct Stats {
    long grids, products, captures, invalidated, graph_launches;
    size_t peak_device_bytes;
    ~Stats() {
        if (env_on("TINA_EMU_STATS"))
            fprintf(stderr, "cuda-emu: %ld grids and %ld cuBLAS products %s; %ld captures recorded, %ld invalidated; "
                    "%ld graph launches; peak device memory %.3f GiB\n", grids, products, dry ? "skipped" : "run",
                    captures, invalidated, graph_launches, (double)peak_device_bytes / (1 << 30));
    }
} stats;

/* ---- memory ------------------------------------------------------------------------------------------------- */

struct Allocation {
    size_t bytes;
    bool device;
};
std::map<uintptr_t, Allocation> allocations; /* by address */
size_t device_bytes;

size_t device_memory() { return env_size("TINA_EMU_MEMORY_MB", 4096) << 20; }

/* the allocation holding [p, p + bytes), or NULL */
const Allocation *holding(const void *p, size_t bytes) {
    uintptr_t at = (uintptr_t)p;
    auto it = allocations.upper_bound(at);
    if (it == allocations.begin()) return NULL;
    --it;
    return at + bytes <= it->first + it->second.bytes ? &it->second : NULL;
}

bool on_device(const void *p, size_t bytes) {
    const Allocation *a = holding(p, bytes);
    return a && a->device;
}

bool pinned(const void *p, size_t bytes) {
    const Allocation *a = holding(p, bytes);
    return a && !a->device;
}

void *allocate(size_t bytes, bool device) {
    void *p = NULL;
    if (posix_memalign(&p, 256, bytes ? bytes : 1)) return NULL; /* exactly bytes: a sanitizer build sees overruns */
    if (device && !dry) memset(p, 0xff, bytes); /* dry: left untouched, so that the host does not fill it */
    allocations[(uintptr_t)p] = {bytes, device};
    if (device) device_bytes += bytes, stats.peak_device_bytes = std::max(stats.peak_device_bytes, device_bytes);
    return p;
}

/* ---- the threads of a block --------------------------------------------------------------------------------- */

/* Threads switch by saving the callee-saved registers on their own stack and swapping stack pointers (the x86-64
 * System V ABI's; ucontext's swapcontext also saves the signal mask, a system call each way that made the
 * emulator ten times slower). */
#if !defined(__x86_64__)
#error "the CUDA emulator switches threads with x86-64 code"
#endif
extern "C" void emu_switch(void **save, void *load);
asm(R"(
    .text
    .globl emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

/* Under AddressSanitizer each switch is announced, so that it knows which stack is running, and the top of a stack
 * is unpoisoned before a new thread reuses it: a finished thread leaves thread_main's frame, whose redzones stay
 * poisoned as the frame never returns (the frames below it returned, and cleared theirs). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SWITCHING(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define SWITCHED(saved, bottom, size) __sanitizer_finish_switch_fiber(saved, bottom, size)
#define UNPOISON(p, size) ASAN_UNPOISON_MEMORY_REGION(p, size)
#else
#define SWITCHING(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define SWITCHED(saved, bottom, size) ((void)(saved), (void)(bottom), (void)(size))
#define UNPOISON(p, size) ((void)(p), (void)(size))
#endif

enum State { READY, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };
enum WarpBarrier { SYNCWARP, EXCHANGE };

constexpr size_t STACK_BYTES = (size_t)256 << 10;

struct Thread {
    void *sp; /* where its registers are saved while it waits */
    State state;
    std::unique_ptr<char[]> stack;
    void *sanitizer_state; /* AddressSanitizer's, while it waits */
};

struct Warp {
    unsigned live;        /* its lanes that have not exited */
    int arrived;          /* at its barrier */
    WarpBarrier kind;     /* the barrier they wait at, */
    size_t bytes;         /* and for an exchange, its size */
    unsigned generation;  /* barriers passed: an exchange's slots alternate with it */
    unsigned char slots[2][32][8];
    unsigned filled[2];   /* the lanes that filled each side's slots */
    float tiles[2 * 256]; /* mma.h's products' operands */
};

struct Kernel {
    const char *name;
    const std::function<void()> *body;
    std::vector<Thread> threads; /* their stacks kept from launch to launch */
    std::vector<Warp> warps;
    int n_threads, live, block_arrived, current;
    void *scheduler; /* the scheduler's saved stack pointer */
    const void *scheduler_stack; /* its stack's bottom and size, for AddressSanitizer */
    size_t scheduler_stack_size;
} kernel;

[[noreturn]] void kernel_fatal(const char *what) {
    fatal("%s: block (%u, %u, %u), thread %d: %s", kernel.name, blockIdx.x, blockIdx.y, blockIdx.z, kernel.current,
          what);
}

void resume(int id) {
    kernel.current = id;
    threadIdx = {id % blockDim.x, id / blockDim.x % blockDim.y, id / (blockDim.x * blockDim.y)};
    void *sanitizer_state = NULL;
    SWITCHING(&sanitizer_state, kernel.threads[id].stack.get(), STACK_BYTES);
    emu_switch(&kernel.scheduler, kernel.threads[id].sp);
    SWITCHED(sanitizer_state, NULL, NULL);
}

void wait_turn() {
    Thread &t = kernel.threads[kernel.current];
    SWITCHING(&t.sanitizer_state, kernel.scheduler_stack, kernel.scheduler_stack_size);
    emu_switch(&t.sp, kernel.scheduler);
    SWITCHED(t.sanitizer_state, NULL, NULL);
}

/* threads first .. end - 1 waiting as `waiting` go on */
void release(State waiting, int first, int end) {
    for (int i = first; i < end; i++)
        if (kernel.threads[i].state == waiting) kernel.threads[i].state = READY;
}

void release_warp(Warp &w) {
    if (w.kind == EXCHANGE) w.filled[w.generation & 1] = w.live;
    w.arrived = 0;
    w.generation++;
    int first = (int)(&w - kernel.warps.data()) * 32;
    release(AT_WARP_BARRIER, first, std::min(first + 32, kernel.n_threads));
}

void release_block() {
    kernel.block_arrived = 0;
    release(AT_BLOCK_BARRIER, 0, kernel.n_threads);
}

[[noreturn]] void thread_main() {
    SWITCHED(NULL, &kernel.scheduler_stack, &kernel.scheduler_stack_size);
    (*kernel.body)();
    int id = kernel.current;
    Warp &w = kernel.warps[id / 32];
    kernel.threads[id].state = DONE;
    kernel.live--;
    w.live &= ~(1u << (id % 32));
    if (w.arrived && w.arrived == __builtin_popcount(w.live)) release_warp(w);
    if (kernel.block_arrived && kernel.block_arrived == kernel.live) release_block();
    void *gone;
    SWITCHING(NULL, kernel.scheduler_stack, kernel.scheduler_stack_size); /* NULL: this stack is done */
    emu_switch(&gone, kernel.scheduler);
    abort(); /* never resumed */
}

void warp_barrier(WarpBarrier kind, size_t bytes) {
    Warp &w = kernel.warps[kernel.current / 32];
    if (w.arrived == 0) w.kind = kind, w.bytes = bytes;
    else if (w.kind != kind || w.bytes != bytes) kernel_fatal("the lanes of its warp meet at different warp barriers");
    kernel.threads[kernel.current].state = AT_WARP_BARRIER;
    if (++w.arrived == __builtin_popcount(w.live)) release_warp(w);
    else wait_turn();
}

void run_block() {
    int n = kernel.n_threads;
    for (int i = 0; i < n; i++) {
        Thread &t = kernel.threads[i];
        if (!t.stack) t.stack.reset(new char[STACK_BYTES]);
        UNPOISON(t.stack.get() + STACK_BYTES - 4096, 4096);
        void **sp = (void **)(((uintptr_t)t.stack.get() + STACK_BYTES) & ~(uintptr_t)15);
        *--sp = NULL;                  /* thread_main's return address, as if called: it never returns */
        *--sp = (void *)thread_main;   /* where emu_switch's ret goes */
        for (int r = 0; r < 6; r++) *--sp = NULL; /* rbp rbx r12 r13 r14 r15 */
        t.sp = sp;
        t.state = READY;
    }
    for (size_t w = 0; w < kernel.warps.size(); w++) {
        int lanes = n - 32 * (int)w < 32 ? n - 32 * (int)w : 32;
        kernel.warps[w].live = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
        kernel.warps[w].arrived = 0;
        kernel.warps[w].generation = 0;
    }
    kernel.live = n, kernel.block_arrived = 0;
    bool reverse = order == REVERSE ||
                   (order == ALTERNATE && (blockIdx.x + blockIdx.y * gridDim.x + blockIdx.z * gridDim.x * gridDim.y) % 2);
    while (kernel.live) {
        bool ran = false;
        for (int k = 0; k < n; k++) {
            int i = reverse ? n - 1 - k : k;
            if (kernel.threads[i].state == READY) resume(i), ran = true;
        }
        if (ran) continue;
        int at_block = 0, at_warp = 0;
        for (int i = 0; i < n; i++) at_block += kernel.threads[i].state == AT_BLOCK_BARRIER,
                                    at_warp += kernel.threads[i].state == AT_WARP_BARRIER;
        char what[160];
        snprintf(what, sizeof what, "deadlock: %d threads wait at __syncthreads, %d at warp barriers, %d exited",
                 at_block, at_warp, n - kernel.live);
        kernel_fatal(what);
    }
}

void run_grid(const emu::Config &config, const char *name, const std::function<void()> &body) {
    stats.grids++;
    if (dry) return;
    kernel.name = name;
    kernel.body = &body;
    kernel.n_threads = (int)(config.block.x * config.block.y * config.block.z);
    if ((int)kernel.threads.size() < kernel.n_threads) kernel.threads.resize(kernel.n_threads);
    kernel.warps.resize((kernel.n_threads + 31) / 32);
    gridDim = config.grid, blockDim = config.block;
    size_t blocks = (size_t)config.grid.x * config.grid.y * config.grid.z;
    std::vector<size_t> shuffled(blocks);
    for (size_t b = 0; b < blocks; b++) shuffled[b] = b;
    for (size_t b = blocks; b > 1; b--) std::swap(shuffled[b - 1], shuffled[next_random() % b]);
    for (size_t b : shuffled) {
        blockIdx = {(unsigned)(b % config.grid.x), (unsigned)(b / config.grid.x % config.grid.y),
                    (unsigned)(b / ((size_t)config.grid.x * config.grid.y))};
        poison_shared_memory();
        run_block();
    }
    kernel.name = NULL;
}

/* ---- streams and graphs ------------------------------------------------------------------------------------- */

typedef std::function<void()> Operation;

std::deque<Operation> queued; /* every stream's, in issue order (a stricter order than CUDA's) */
cudaError_t last_error;
cudaStream_t capturing;       /* the stream being captured, or NULL */

cudaError_t fail(cudaError_t error) { return last_error = error; }


void drain() {
    while (!queued.empty()) {
        Operation op = std::move(queued.front());
        queued.pop_front();
        op();
    }
}

} // namespace

struct EmuStream {
    bool invalidated; /* its capture: something it forbids was asked for */
    std::vector<Operation> recorded;
};
struct EmuGraph {
    std::vector<Operation> nodes;
};
struct EmuGraphExec {
    std::vector<Operation> nodes;
};

namespace {

/* an operation for the stream: recorded when it is being captured, queued otherwise */
cudaError_t issue(cudaStream_t stream, Operation op) {
    if (stream && stream == capturing) {
        if (stream->invalidated) return fail(cudaErrorStreamCaptureInvalidated);
        stream->recorded.push_back(std::move(op));
    } else {
        queued.push_back(std::move(op));
    }
    return cudaSuccess;
}

/* what a capture forbids: it fails, and invalidates the capture */
bool forbidden(const char *what) {
    if (!capturing) return false;
    fprintf(stderr, "cuda-emu: %s during a stream capture\n", what);
    capturing->invalidated = true;
    fail(cudaErrorStreamCaptureUnsupported);
    return true;
}

/* the copy's direction against where its ends lie; false (and why, on stderr) if they disagree */
bool copy_sides(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    bool from_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    bool to_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool src_ok = from_device ? on_device(src, bytes) : !on_device(src, 1);
    bool dst_ok = to_device ? on_device(dst, bytes) : !on_device(dst, 1);
    if (src_ok && dst_ok) return true;
    fprintf(stderr, "cuda-emu: a copy of %zu bytes (kind %d) whose %s is not %s\n", bytes, (int)kind,
            src_ok ? "destination" : "source", (src_ok ? to_device : from_device) ? "in one device allocation"
                                                                                 : "host memory");
    return false;
}

} // namespace

/* ---- the device built-ins ----------------------------------------------------------------------------------- */

void emu::sync_block(void) {
    if (!kernel.name) fatal("__syncthreads outside a kernel");
    kernel.threads[kernel.current].state = AT_BLOCK_BARRIER;
    if (++kernel.block_arrived == kernel.live) release_block();
    else wait_turn();
}

void emu::sync_warp(unsigned mask) {
    if (!kernel.name) fatal("__syncwarp outside a kernel");
    if ((mask & kernel.warps[kernel.current / 32].live) != mask) kernel_fatal("__syncwarp names lanes that exited");
    warp_barrier(SYNCWARP, 0);
}

int emu::lane(void) { return kernel.current % 32; }
float *emu::warp_tiles(void) { return kernel.warps[kernel.current / 32].tiles; }

void emu::exchange(unsigned mask, void *value, size_t bytes, int source) {
    if (!kernel.name) fatal("a shuffle outside a kernel");
    Warp &w = kernel.warps[kernel.current / 32];
    if ((mask & w.live) != mask || (w.live & ~mask)) kernel_fatal("a shuffle whose mask is not its warp's live lanes");
    int lane = kernel.current % 32;
    unsigned slot = w.generation & 1;
    memcpy(w.slots[slot][lane], value, bytes);
    warp_barrier(EXCHANGE, bytes);
    if (source >= 0 && source < 32) {
        if (!(w.filled[slot] >> source & 1)) kernel_fatal("a shuffle reads a lane that had exited");
        memcpy(value, w.slots[slot][source], bytes);
    }
}

void emu::launch(const Config &config, const char *name, std::function<void()> thread) {
    size_t threads = (size_t)config.block.x * config.block.y * config.block.z;
    if (threads == 0 || threads > 1024 || config.grid.x == 0 || config.grid.y == 0 || config.grid.z == 0 ||
        config.grid.y > 65535 || config.grid.z > 65535 || config.block.z > 64) {
        fprintf(stderr, "cuda-emu: %s: launch of grid (%u, %u, %u), blocks (%u, %u, %u)\n", name, config.grid.x,
                config.grid.y, config.grid.z, config.block.x, config.block.y, config.block.z);
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    issue(config.stream, [config, name, thread]() { run_grid(config, name, thread); });
}

/* ---- the runtime -------------------------------------------------------------------------------------------- */

static int devices() { return (int)env_size("TINA_EMU_DEVICES", 1); }

cudaError_t cudaGetDeviceCount(int *count) {
    *count = devices();
    return *count ? cudaSuccess : fail(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
    return device >= 0 && device < devices() ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
    if (device < 0 || device >= devices()) return fail(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "CUDA emulator (tests/emu, on the CPU)");
    prop->totalGlobalMem = device_memory();
    prop->multiProcessorCount = (int)env_size("TINA_EMU_SMS", 132);
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device) {
    cudaDeviceProp prop;
    if (attr != cudaDevAttrMultiProcessorCount) return fail(cudaErrorInvalidValue);
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return last_error;
    *value = prop.multiProcessorCount;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *version) {
    *version = 13000;
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
    cudaError_t error = last_error;
    last_error = cudaSuccess;
    return error;
}

const char *cudaGetErrorString(cudaError_t error) {
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    }
    return "unknown error";
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
    *p = NULL;
    if (forbidden("cudaMalloc")) return last_error;
    if (device_bytes + bytes > device_memory()) return fail(cudaErrorMemoryAllocation);
    *p = allocate(bytes, true);
    return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    if (forbidden("cudaFree")) return last_error;
    drain(); /* as CUDA's, it waits for the device */
    auto it = allocations.find((uintptr_t)p);
    if (it == allocations.end() || !it->second.device) return fail(cudaErrorInvalidValue);
    device_bytes -= it->second.bytes;
    allocations.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t bytes) {
    *p = allocate(bytes, false);
    return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void *p) {
    if (!p) return cudaSuccess;
    drain();
    auto it = allocations.find((uintptr_t)p);
    if (it == allocations.end() || it->second.device) return fail(cudaErrorInvalidValue);
    allocations.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free, size_t *total) {
    *total = device_memory();
    *free = *total - device_bytes;
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (forbidden("cudaMemcpy")) return last_error;
    drain();
    if (!copy_sides(dst, src, bytes, kind)) return fail(cudaErrorInvalidValue);
    memcpy(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    if (!bytes) return cudaSuccess;
    if (!copy_sides(dst, src, bytes, kind)) return fail(cudaErrorInvalidValue);
    bool to_pageable = kind == cudaMemcpyDeviceToHost && !pinned(dst, bytes);
    bool from_pageable = kind == cudaMemcpyHostToDevice && !pinned(src, bytes);
    if (stream && stream == capturing && (to_pageable || from_pageable) &&
        forbidden("a copy to or from pageable memory"))
        return last_error;
    if (from_pageable) { /* the bytes as they are now */
        auto copy = std::make_shared<std::vector<char>>((const char *)src, (const char *)src + bytes);
        return issue(stream, [dst, copy]() { memcpy(dst, copy->data(), copy->size()); });
    }
    cudaError_t status = issue(stream, [dst, src, bytes]() { memcpy(dst, src, bytes); });
    if (status == cudaSuccess && to_pageable) drain(); /* as CUDA's: it returns when the copy is done */
    return status;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t stream) {
    if (!bytes) return cudaSuccess;
    if (!on_device(p, bytes)) {
        fprintf(stderr, "cuda-emu: cudaMemsetAsync of %zu bytes outside one device allocation\n", bytes);
        return fail(cudaErrorInvalidValue);
    }
    return issue(stream, [p, value, bytes]() { memset(p, value, bytes); });
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) {
    *stream = new EmuStream();
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    if (!stream) return fail(cudaErrorInvalidResourceHandle);
    drain();
    if (stream == capturing) capturing = NULL;
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    if (stream && stream == capturing) {
        forbidden("cudaStreamSynchronize");
        return last_error;
    }
    drain();
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
    (void)mode;
    if (!stream || capturing) return fail(cudaErrorIllegalState);
    capturing = stream;
    stream->invalidated = false;
    stream->recorded.clear();
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
    *graph = NULL;
    if (!stream || stream != capturing) return fail(cudaErrorIllegalState);
    capturing = NULL;
    if (stream->invalidated) {
        stats.invalidated++;
        stream->recorded.clear();
        return fail(cudaErrorStreamCaptureInvalidated);
    }
    stats.captures++;
    *graph = new EmuGraph{std::move(stream->recorded)};
    stream->recorded.clear();
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags) {
    (void)flags;
    *exec = NULL;
    if (!graph) return fail(cudaErrorInvalidValue);
    *exec = new EmuGraphExec{graph->nodes};
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (!exec) return fail(cudaErrorInvalidValue);
    stats.graph_launches++;
    for (const Operation &op : exec->nodes) {
        cudaError_t status = issue(stream, op);
        if (status != cudaSuccess) return status;
    }
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    delete graph;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}

/* ---- cuBLAS ------------------------------------------------------------------------------------------------- */

struct EmuBlas {
    cudaStream_t stream;
};

namespace {

size_t element_bytes(cudaDataType type) { return type == CUDA_R_16BF ? 2 : 4; }

/* the n values of p as f32 (bf16 widened); f32 operands are used in place */
const float *as_f32(const void *p, cudaDataType type, size_t n, std::vector<float> &room) {
    if (type == CUDA_R_32F) return (const float *)p;
    room.resize(n);
    for (size_t i = 0; i < n; i++) room[i] = (float)((const __nv_bfloat16 *)p)[i];
    return room.data();
}

/* the extent of a column-major (rows, cols) operand with leading dimension ld, in values */
size_t extent(int rows, int cols, int ld) { return rows && cols ? (size_t)(cols - 1) * ld + rows : 0; }

/* whether a column-major (rows, cols) operand with leading dimension ld lies in one device allocation */
bool operand_ok(const void *p, cudaDataType type, int rows, int cols, int ld) {
    if (rows == 0 || cols == 0) return true;
    return ld >= rows && on_device(p, extent(rows, cols, ld) * element_bytes(type));
}

/* C (m, n) = alpha op(A) op(B) + beta C, column-major, the sums in f32 (beta 0: C is not read) */
cublasStatus_t gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k,
                    float alpha, const void *a, cudaDataType a_type, int lda, const void *b, cudaDataType b_type,
                    int ldb, float beta, void *c, cudaDataType c_type, int ldc) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    bool ta = op_a == CUBLAS_OP_T, tb = op_b == CUBLAS_OP_T;
    if (!operand_ok(a, a_type, ta ? k : m, ta ? m : k, lda) || !operand_ok(b, b_type, tb ? n : k, tb ? k : n, ldb) ||
        !operand_ok(c, c_type, m, n, ldc))
        fatal("a cuBLAS product (m %d, n %d, k %d, lda %d, ldb %d, ldc %d) with an operand outside its allocation",
              m, n, k, lda, ldb, ldc);
    issue(handle->stream, [=]() { /* tina's f32 product (gemm.h): sums in f32, in its own order, as cuBLAS's in its */
        stats.products++;
        if (!m || !n || dry) return;
        std::vector<float> a_room, b_room, c_room;
        const float *fa = as_f32(a, a_type, extent(ta ? k : m, ta ? m : k, lda), a_room);
        const float *fb = as_f32(b, b_type, extent(tb ? n : k, tb ? k : n, ldb), b_room);
        float *fc = (float *)c;
        if (c_type == CUDA_R_16BF) {
            c_room.assign(extent(m, n, ldc), 0.0f);
            if (beta != 0) as_f32(c, c_type, c_room.size(), c_room);
            fc = c_room.data();
        }
        if (beta != 0 && beta != 1)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) fc[(size_t)j * ldc + i] *= beta;
        /* column-major C (m, n) is row-major C^T (n, m) = op(B)^T op(A)^T */
        TinaProduct p = {};
        p.c = fc, p.ldc = (size_t)ldc, p.alpha = alpha, p.M = n, p.N = m, p.K = k, p.accumulate = beta != 0;
        p.a = tina_matrix(fb, (size_t)std::max(ldb, 1), tb);
        p.b = tina_matrix(fa, (size_t)std::max(lda, 1), ta);
        if (!tina_gemm(&p, 1, 0)) fatal("out of memory in a cuBLAS product");
        if (c_type == CUDA_R_16BF)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) {
                    size_t at = (size_t)j * ldc + i;
                    ((__nv_bfloat16 *)c)[at] = __nv_bfloat16(fc[at]);
                }
    });
    return CUBLAS_STATUS_SUCCESS;
}

} // namespace

cublasStatus_t cublasCreate(cublasHandle_t *handle) {
    *handle = new EmuBlas{NULL};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void *workspace, size_t bytes) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    return on_device(workspace, bytes) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

const char *cublasGetStatusString(cublasStatus_t status) {
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k,
                            const void *alpha, const void *a, cudaDataType a_type, int lda, const void *b,
                            cudaDataType b_type, int ldb, const void *beta, void *c, cudaDataType c_type, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    (void)algo;
    if (compute != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    return gemm(handle, op_a, op_b, m, n, k, *(const float *)alpha, a, a_type, lda, b, b_type, ldb,
                *(const float *)beta, c, c_type, ldc);
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k,
                           const float *alpha, const float *a, int lda, const float *b, int ldb, const float *beta,
                           float *c, int ldc) {
    return gemm(handle, op_a, op_b, m, n, k, *alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F, ldb, *beta, c, CUDA_R_32F, ldc);
}

#include "backends/cuda/cuda.h"

#include <cstdio>
#include <cuda_runtime.h>

extern "C" void tina_cuda_describe(char *out, size_t size) {
    int version = 0;
    cudaRuntimeGetVersion(&version);
    int devices = 0;
    cudaError_t status = cudaGetDeviceCount(&devices);
    if (status != cudaSuccess) {
        snprintf(out, size, "runtime %d.%d, no device (%s)", version / 1000, version % 1000 / 10,
                 cudaGetErrorString(status));
        return;
    }
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    snprintf(out, size, "runtime %d.%d, %d device%s: %s", version / 1000, version % 1000 / 10, devices,
             devices == 1 ? "" : "s", prop.name);
}

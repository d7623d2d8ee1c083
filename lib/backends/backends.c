/* backends: a backend by name, for the tools' --device. */
#include "backends/backend.h"

#include <string.h>

#ifdef TINA_WITH_CUDA
#include "backends/cuda/cuda.h"
#endif

TinaStatus tina_backend_new(const char *name, int threads, TinaBackend **backend, TinaError *err) {
    *backend = NULL;
    if (strcmp(name, "cpu") == 0) return tina_cpu_backend_new(threads, backend, err);
    if (strcmp(name, "cuda") == 0) {
#ifdef TINA_WITH_CUDA
        return tina_cuda_backend_new(backend, err);
#else
        return tina_error(err, TINA_ERR_INPUT, "--device cuda: this build has no CUDA backend (build with make CUDA=1)");
#endif
    }
    return tina_error(err, TINA_ERR_INPUT, "--device %s: the backends are cpu and cuda", name);
}

#include "backends/version.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <zstd.h>

#include "backends/cuda/cuda.h"

void tina_version_describe(char *out, size_t size) {
    char cuda[128] = "";
#ifdef TINA_WITH_CUDA
    char runtime[96];
    tina_cuda_describe(runtime, sizeof runtime);
    snprintf(cuda, sizeof cuda, " cuda (%s)", runtime);
#endif
    snprintf(out, size, "cJSON %s, zstd %s, backends: cpu%s", cJSON_Version(), ZSTD_versionString(), cuda);
}

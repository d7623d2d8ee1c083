/* cuda: the CUDA backend, built only with `make CUDA=1` (nvcc, cuBLAS). It implements the backend seam on the GPU;
 * so far it reports the runtime and the devices it sees, and the forward/backward kernels land with the GPU issues. */
#ifndef TINA_CUDA_H
#define TINA_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "runtime 13.0, 1 device: NVIDIA H200" or "runtime 13.0, no device (...why...)". */
void tina_cuda_describe(char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif

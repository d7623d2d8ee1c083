/* cuda: the CUDA backend, built only with `make CUDA=1` (nvcc, cuBLAS). It implements the backend seam (backend.h)
 * on one GPU: weights and activations in bf16, every sum in f32, the LoRA matrices and their gradients in f32;
 * cuBLAS for the projections, the head and training's attention, own kernels for the rest, a file per op with its
 * forward and backward (cuda_impl.cuh lists them). */
#ifndef TINA_CUDA_H
#define TINA_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backends/backend.h"

/* "runtime 13.0, 1 device: NVIDIA H200" or "runtime 13.0, no device (...why...)". */
void tina_cuda_describe(char *out, size_t size);

/* The backend on the first GPU. No GPU, or no driver: TINA_ERR_INPUT with what CUDA said, so that a tool asked for
 * --device cuda on a machine without one exits 2 with a message. */
TinaStatus tina_cuda_backend_new(TinaBackend **backend, TinaError *err);

#ifdef __cplusplus
}
#endif

#endif

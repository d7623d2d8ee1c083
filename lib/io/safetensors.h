/* safetensors: the Hugging Face tensor file format, read through mmap after full validation, and written.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [b, e]},
 * "__metadata__": {string: string}}, then the data; offsets are relative to byte 8 + N. A reader accepts a file, a
 * folder with model.safetensors, or a folder or file model.safetensors.index.json naming shards. Every rule of the
 * format is checked before any tensor is used: header size, UTF-8 JSON, known dtypes, shape x dtype size equal to
 * the byte range, ranges inside the file, no duplicates, no overlap, no hole. */
#ifndef TINA_SAFETENSORS_H
#define TINA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum { TINA_DTYPE_F32, TINA_DTYPE_F16, TINA_DTYPE_BF16, TINA_DTYPE_OTHER } TinaDtype;

enum { TINA_MAX_DIMS = 8 };

typedef struct {
    const char *name;
    TinaDtype dtype;
    const char *dtype_name;     /* as the file says: "BF16", "I64" */
    int ndim;
    int64_t shape[TINA_MAX_DIMS];
    int64_t numel;
    const void *data;           /* in the mapped file */
    size_t nbytes;
    const char *file;           /* the shard it is in */
} TinaTensorInfo;

typedef struct TinaSafetensors TinaSafetensors;

/* Opens and validates: path is a .safetensors file, a model.safetensors.index.json, or a folder holding either. */
TinaStatus tina_safetensors_open(const char *path, TinaSafetensors **st, TinaError *err);
void tina_safetensors_close(TinaSafetensors *st);

int tina_safetensors_count(const TinaSafetensors *st);
const TinaTensorInfo *tina_safetensors_at(const TinaSafetensors *st, int i);
/* The tensor of that name, or NULL. */
const TinaTensorInfo *tina_safetensors_find(const TinaSafetensors *st, const char *name);
/* A __metadata__ value of the (first) file, or NULL. */
const char *tina_safetensors_metadata(const TinaSafetensors *st, const char *key);

/* "[a, b, ...]": a shape of ndim sizes for a message, in text (of size bytes, cut to fit); returns text. */
const char *tina_shape_text(char *text, size_t size, int ndim, const int64_t *shape);

/* Copies a F32, F16 or BF16 tensor into out as f32 (numel floats); a tensor holding an infinity or a NaN is
 * refused with its name (weights that would make every output NaN). */
TinaStatus tina_tensor_to_f32(const TinaTensorInfo *tensor, float *out, TinaError *err);

/* A tensor to write: f32 data, stored as dtype (F32, or BF16 rounded to nearest even). */
typedef struct {
    const char *name;
    TinaDtype dtype;
    int ndim;
    int64_t shape[TINA_MAX_DIMS];
    const float *data;
} TinaTensorOut;

/* Writes tensors[0..n) in that order, contiguous, with metadata {key: value} pairs (NULL-terminated list of
 * alternating keys and values, may be NULL); atomically (temporary file, then rename). */
TinaStatus tina_safetensors_write(const char *path, const TinaTensorOut *tensors, int n, const char *const *metadata,
                                  TinaError *err);

#endif

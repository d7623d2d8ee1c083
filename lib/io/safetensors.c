#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "io/record.h"
#include "io/stream.h"
#include "base/strmap.h"
#include "base/utf8.h"

enum { MAX_HEADER = 100000000 }; /* as the reference implementation: a larger header is an attack, not a model */

typedef struct {
    char *path;
    void *map;
    size_t size;
    cJSON *metadata; /* the __metadata__ object, or NULL */
} MappedFile;

struct TinaSafetensors {
    MappedFile *files;
    int n_files;
    TinaTensorInfo *tensors;
    int n_tensors, cap_tensors;
    TinaStrMap *by_name; /* name -> index in tensors */
};

static const struct {
    const char *name;
    int size;
    TinaDtype dtype;
} dtypes[] = {
    {"F32", 4, TINA_DTYPE_F32},   {"F16", 2, TINA_DTYPE_F16},   {"BF16", 2, TINA_DTYPE_BF16},
    {"F64", 8, TINA_DTYPE_OTHER}, {"I64", 8, TINA_DTYPE_OTHER}, {"I32", 4, TINA_DTYPE_OTHER},
    {"I16", 2, TINA_DTYPE_OTHER}, {"I8", 1, TINA_DTYPE_OTHER},  {"U64", 8, TINA_DTYPE_OTHER},
    {"U32", 4, TINA_DTYPE_OTHER}, {"U16", 2, TINA_DTYPE_OTHER}, {"U8", 1, TINA_DTYPE_OTHER},
    {"BOOL", 1, TINA_DTYPE_OTHER}, {"F8_E4M3", 1, TINA_DTYPE_OTHER}, {"F8_E5M2", 1, TINA_DTYPE_OTHER},
};

static bool json_count(const cJSON *item, int64_t *value) {
    if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 9007199254740992.0 ||
        item->valuedouble != (double)(int64_t)item->valuedouble)
        return false;
    *value = (int64_t)item->valuedouble;
    return true;
}

/* Validates one tensor entry of a header and appends it to st->tensors. data_size: bytes after the header. */
static TinaStatus add_tensor(TinaSafetensors *st, const MappedFile *file, const cJSON *entry, const char *data,
                             size_t data_size, TinaError *err) {
    const char *name = entry->string;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsObject(entry) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offsets))
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" needs \"dtype\", \"shape\" and \"data_offsets\"", name);
    int d = -1;
    for (int i = 0; i < (int)(sizeof dtypes / sizeof *dtypes); i++)
        if (strcmp(dtype->valuestring, dtypes[i].name) == 0) d = i;
    if (d < 0) return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" has unknown dtype \"%s\"", name, dtype->valuestring);
    if (st->n_tensors == st->cap_tensors) {
        int cap = st->cap_tensors ? 2 * st->cap_tensors : 256;
        TinaTensorInfo *tensors = realloc(st->tensors, (size_t)cap * sizeof *tensors);
        if (!tensors) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (tensor list)");
        st->tensors = tensors;
        st->cap_tensors = cap;
    }
    TinaTensorInfo t = {.dtype = dtypes[d].dtype, .dtype_name = dtypes[d].name, .numel = 1, .file = file->path};
    if (cJSON_GetArraySize(shape) > TINA_MAX_DIMS)
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" has more than %d dimensions", name, TINA_MAX_DIMS);
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        int64_t n;
        if (!json_count(dim, &n)) return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" has a bad shape", name);
        if (n && t.numel > INT64_MAX / 8 / n) return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" is too large", name);
        t.shape[t.ndim++] = n;
        t.numel *= n;
    }
    int64_t begin, end;
    if (cJSON_GetArraySize(offsets) != 2 || !json_count(cJSON_GetArrayItem(offsets, 0), &begin) ||
        !json_count(cJSON_GetArrayItem(offsets, 1), &end) || begin > end)
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" has bad data_offsets (expected [begin, end])", name);
    if ((uint64_t)end > data_size)
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" ends at byte %lld of the data, outside the file "
                          "(%zu bytes of data): truncated?", name, (long long)end, data_size);
    if (t.numel * dtypes[d].size != end - begin)
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\": shape x %s is %lld bytes but its data_offsets span "
                          "%lld", name, dtypes[d].name, (long long)(t.numel * dtypes[d].size), (long long)(end - begin));
    bool inserted;
    TinaStatus status = tina_strmap_insert(st->by_name, name, strlen(name), st->n_tensors, &inserted, err);
    if (status) return status;
    if (!inserted) return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" appears twice", name);
    t.name = strdup(name);
    if (!t.name) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    t.data = data + begin;
    t.nbytes = (size_t)(end - begin);
    st->tensors[st->n_tensors++] = t;
    return TINA_OK;
}

static int by_offset(const void *a, const void *b) {
    const TinaTensorInfo *x = *(TinaTensorInfo *const *)a, *y = *(TinaTensorInfo *const *)b;
    if ((const char *)x->data != (const char *)y->data) return (const char *)x->data < (const char *)y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* The tensors of one file must tile its data exactly: from 0, no overlap, no hole, nothing left over. */
static TinaStatus check_tiling(TinaSafetensors *st, int first, const char *data, size_t data_size, TinaError *err) {
    int n = st->n_tensors - first;
    TinaTensorInfo **order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < n; i++) order[i] = &st->tensors[first + i];
    qsort(order, (size_t)n, sizeof *order, by_offset);
    TinaStatus status = TINA_OK;
    const char *at = data;
    for (int i = 0; i < n && !status; i++) {
        const char *begin = order[i]->data;
        if (begin < at)
            status = tina_error(err, TINA_ERR_INPUT, "tensors \"%s\" and \"%s\" overlap", order[i - 1]->name,
                                order[i]->name);
        else if (begin > at)
            status = tina_error(err, TINA_ERR_INPUT, "%zu bytes before tensor \"%s\" belong to no tensor",
                                (size_t)(begin - at), order[i]->name);
        at = begin + order[i]->nbytes;
    }
    if (!status && at != data + data_size)
        status = tina_error(err, TINA_ERR_INPUT, "%zu bytes after the last tensor belong to no tensor",
                            (size_t)(data + data_size - at));
    free(order);
    return status;
}

static TinaStatus parse_file(TinaSafetensors *st, MappedFile *file, TinaError *err) {
    const unsigned char *bytes = file->map;
    if (file->size < 8) return tina_error(err, TINA_ERR_INPUT, "truncated: %zu bytes, no header length", file->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | bytes[i];
    if (n > MAX_HEADER)
        return tina_error(err, TINA_ERR_INPUT, "header of %llu bytes is too large (at most %d)", (unsigned long long)n,
                          MAX_HEADER);
    if (8 + n > file->size)
        return tina_error(err, TINA_ERR_INPUT, "truncated: the header needs %llu bytes, the file has %zu",
                          (unsigned long long)(8 + n), file->size);
    const char *header = (const char *)bytes + 8;
    if (!tina_utf8_valid(header, n)) return tina_error(err, TINA_ERR_INPUT, "header is not valid UTF-8");
    if (n == 0 || header[0] != '{') return tina_error(err, TINA_ERR_INPUT, "header is not a JSON object");
    cJSON *root = cJSON_ParseWithLength(header, n);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tina_error(err, TINA_ERR_INPUT, "header is not a JSON object");
    }
    const char *data = header + n;
    size_t data_size = file->size - 8 - n;
    int first = st->n_tensors;
    TinaStatus status = TINA_OK;
    cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        if (strcmp(entry->string, "__metadata__") == 0) {
            bool strings = cJSON_IsObject(entry);
            const cJSON *value;
            cJSON_ArrayForEach(value, entry) strings = strings && cJSON_IsString(value);
            if (!strings) status = tina_error(err, TINA_ERR_INPUT, "__metadata__ must map strings to strings");
        } else {
            status = add_tensor(st, file, entry, data, data_size, err);
        }
        if (status) break;
    }
    if (!status) status = check_tiling(st, first, data, data_size, err);
    if (!status) file->metadata = cJSON_DetachItemFromObjectCaseSensitive(root, "__metadata__");
    cJSON_Delete(root);
    return status;
}

static TinaStatus map_file(TinaSafetensors *st, const char *path, TinaError *err) {
    MappedFile *files = realloc(st->files, (size_t)(st->n_files + 1) * sizeof *files);
    if (!files) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    st->files = files;
    MappedFile *file = &st->files[st->n_files++];
    *file = (MappedFile){.path = strdup(path)};
    if (!file->path) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tina_error_errno(err, TINA_ERR_INPUT, "%s: cannot open", path);
    struct stat s;
    TinaStatus status = TINA_OK;
    if (fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) status = tina_error(err, TINA_ERR_INPUT, "%s: not a file", path);
    else if (s.st_size > 0) {
        file->size = (size_t)s.st_size;
        file->map = mmap(NULL, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (file->map == MAP_FAILED) {
            file->map = NULL;
            status = tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot map", path);
        }
    }
    close(fd);
    if (!status) status = parse_file(st, file, err);
    return status ? tina_error_in(err, path) : TINA_OK;
}

static TinaStatus open_index(TinaSafetensors *st, const char *index_path, TinaError *err) {
    cJSON *root;
    TinaStatus status = tina_record_read_json(index_path, &root, err);
    if (status) return status;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(root);
        return tina_error(err, TINA_ERR_INPUT, "%s: no \"weight_map\" object", index_path);
    }
    const char *slash = strrchr(index_path, '/');
    int dir_len = slash ? (int)(slash - index_path) + 1 : 0;
    TinaStrMap *opened = NULL;
    status = tina_strmap_new(&opened, err);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, map) {
        if (status) break;
        if (!cJSON_IsString(entry) || strchr(entry->valuestring, '/')) {
            status = tina_error(err, TINA_ERR_INPUT, "%s: tensor \"%s\" names no shard file in this folder",
                                index_path, entry->string);
            break;
        }
        bool inserted;
        status = tina_strmap_insert(opened, entry->valuestring, strlen(entry->valuestring), 0, &inserted, err);
        if (status || !inserted) continue;
        char path[4096];
        snprintf(path, sizeof path, "%.*s%s", dir_len, index_path, entry->valuestring);
        status = map_file(st, path, err);
    }
    cJSON_ArrayForEach(entry, map) { /* every tensor the index names is in the shard it names */
        if (status) break;
        const TinaTensorInfo *t = tina_safetensors_find(st, entry->string);
        const char *shard = t ? strrchr(t->file, '/') : NULL;
        shard = shard ? shard + 1 : t ? t->file : NULL;
        if (!t || strcmp(shard, entry->valuestring) != 0)
            status = tina_error(err, TINA_ERR_INPUT, "%s: tensor \"%s\" is not in %s", index_path, entry->string,
                                entry->valuestring);
    }
    tina_strmap_free(opened);
    cJSON_Delete(root);
    return status;
}

TinaStatus tina_safetensors_open(const char *path, TinaSafetensors **out, TinaError *err) {
    *out = NULL;
    TinaSafetensors *st = calloc(1, sizeof *st);
    if (!st) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    TinaStatus status = tina_strmap_new(&st->by_name, err);
    struct stat s;
    char found[4096];
    const char *file = path;
    if (!status && stat(path, &s) == 0 && S_ISDIR(s.st_mode)) { /* the folder's index, else its model.safetensors */
        file = found;
        snprintf(found, sizeof found, "%s/model.safetensors.index.json", path);
        if (stat(found, &s) != 0) snprintf(found, sizeof found, "%s/model.safetensors", path);
        if (stat(found, &s) != 0)
            status = tina_error(err, TINA_ERR_INPUT, "%s: no model.safetensors or model.safetensors.index.json", path);
    }
    size_t n = strlen(file);
    bool index = n >= 11 && strcmp(file + n - 11, ".index.json") == 0;
    if (!status) status = index ? open_index(st, file, err) : map_file(st, file, err);
    if (status) tina_safetensors_close(st);
    else *out = st;
    return status;
}

void tina_safetensors_close(TinaSafetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n_files; i++) {
        if (st->files[i].map) munmap(st->files[i].map, st->files[i].size);
        free(st->files[i].path);
        cJSON_Delete(st->files[i].metadata);
    }
    for (int i = 0; i < st->n_tensors; i++) free((char *)st->tensors[i].name);
    free(st->files);
    free(st->tensors);
    tina_strmap_free(st->by_name);
    free(st);
}

int tina_safetensors_count(const TinaSafetensors *st) { return st->n_tensors; }

const TinaTensorInfo *tina_safetensors_at(const TinaSafetensors *st, int i) { return &st->tensors[i]; }

const TinaTensorInfo *tina_safetensors_find(const TinaSafetensors *st, const char *name) {
    int64_t index;
    return tina_strmap_get(st->by_name, name, strlen(name), &index) ? &st->tensors[index] : NULL;
}

const char *tina_safetensors_metadata(const TinaSafetensors *st, const char *key) {
    const cJSON *value = st->n_files ? cJSON_GetObjectItemCaseSensitive(st->files[0].metadata, key) : NULL;
    return cJSON_IsString(value) ? value->valuestring : NULL;
}

/* ---- conversion ------------------------------------------------------------------------------------------- */

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) bits = sign | 0x7F800000 | mantissa << 13;  /* inf, nan */
    else if (exponent) bits = sign | (exponent + 112) << 23 | mantissa << 13;
    else if (!mantissa) bits = sign;                                  /* zero */
    else {                                                            /* subnormal: normalise */
        int shift = 0;
        while (!(mantissa & 0x400)) mantissa <<= 1, shift++;
        bits = sign | (uint32_t)(113 - shift) << 23 | (mantissa & 0x3FF) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The count of out's values that are infinite or NaN (exponent all ones), and the first one's index. */
static int64_t count_non_finite(const float *out, int64_t n, int64_t *first) {
    int64_t bad = 0, at = n;
#pragma omp parallel for schedule(static) reduction(+ : bad) reduction(min : at)
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &out[i], 4);
        if ((bits & 0x7F800000) == 0x7F800000) bad++, at = i < at ? i : at;
    }
    *first = at;
    return bad;
}

static TinaStatus convert(const TinaTensorInfo *t, float *out, TinaError *err) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case TINA_DTYPE_F32: memcpy(out, p, t->nbytes); return TINA_OK; /* little-endian hosts only, as x86 and Arm */
    case TINA_DTYPE_BF16: /* on all cores: loading a 1.5B model is mostly this loop and its page faults */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < t->numel; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&out[i], &bits, 4);
        }
        return TINA_OK;
    case TINA_DTYPE_F16:
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < t->numel; i++) out[i] = f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return TINA_OK;
    default:
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" is %s (expected F32, F16 or BF16)", t->name,
                          t->dtype_name);
    }
}

const char *tina_shape_text(char *text, size_t size, int ndim, const int64_t *shape) {
    size_t at = (size_t)snprintf(text, size, "[");
    for (int d = 0; d < ndim && at < size; d++)
        at += (size_t)snprintf(text + at, size - at, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (at < size) snprintf(text + at, size - at, "]");
    return text;
}

TinaStatus tina_tensor_to_f32(const TinaTensorInfo *t, float *out, TinaError *err) {
    TinaStatus status = convert(t, out, err);
    if (status) return status;
    int64_t first, bad = count_non_finite(out, t->numel, &first);
    if (bad)
        return tina_error(err, TINA_ERR_INPUT, "tensor \"%s\" holds %lld infinite or NaN values (the first at %lld)",
                          t->name, (long long)bad, (long long)first);
    return TINA_OK;
}

/* ---- writing ---------------------------------------------------------------------------------------------- */

static uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)(bits >> 16 | 0x40); /* a quiet nan */
    return (uint16_t)((bits + 0x7FFF + (bits >> 16 & 1)) >> 16);            /* round to nearest even */
}

static TinaStatus write_header(TinaBuf *h, const TinaTensorOut *tensors, int n, const char *const *metadata,
                               TinaError *err) {
    TinaStatus status = tina_buf_append_str(h, "{", err);
    if (!status && metadata && metadata[0]) {
        status = tina_buf_append_str(h, "\"__metadata__\":{", err);
        for (int i = 0; metadata[i] && !status; i += 2) {
            if (i) status = tina_buf_append_str(h, ",", err);
            if (!status) status = tina_record_format_string(h, metadata[i], strlen(metadata[i]), err);
            if (!status) status = tina_buf_append_str(h, ":", err);
            if (!status) status = tina_record_format_string(h, metadata[i + 1], strlen(metadata[i + 1]), err);
        }
        if (!status) status = tina_buf_append_str(h, "}", err);
    }
    int64_t offset = 0;
    for (int i = 0; i < n && !status; i++) {
        const TinaTensorOut *t = &tensors[i];
        int64_t numel = 1;
        char number[64];
        if (h->len > 1) status = tina_buf_append_str(h, ",", err);
        if (!status) status = tina_record_format_string(h, t->name, strlen(t->name), err);
        if (!status) status = tina_buf_append_str(h, t->dtype == TINA_DTYPE_BF16 ? ":{\"dtype\":\"BF16\",\"shape\":["
                                                                              : ":{\"dtype\":\"F32\",\"shape\":[", err);
        for (int d = 0; d < t->ndim && !status; d++) {
            snprintf(number, sizeof number, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            status = tina_buf_append_str(h, number, err);
            numel *= t->shape[d];
        }
        int64_t end = offset + numel * (t->dtype == TINA_DTYPE_BF16 ? 2 : 4);
        snprintf(number, sizeof number, "],\"data_offsets\":[%lld,%lld]}", (long long)offset, (long long)end);
        if (!status) status = tina_buf_append_str(h, number, err);
        offset = end;
    }
    if (!status) status = tina_buf_append_str(h, "}", err);
    while (!status && h->len % 8) status = tina_buf_append_str(h, " ", err); /* data starts 8-aligned */
    return status;
}

TinaStatus tina_safetensors_write(const char *path, const TinaTensorOut *tensors, int n, const char *const *metadata,
                                  TinaError *err) {
    for (int i = 0; i < n; i++)
        if (tensors[i].dtype != TINA_DTYPE_F32 && tensors[i].dtype != TINA_DTYPE_BF16)
            return tina_error(err, TINA_ERR_RUNTIME, "tensor \"%s\": only F32 and BF16 are written", tensors[i].name);
    TinaBuf header = {0};
    TinaStatus status = write_header(&header, tensors, n, metadata, err);
    TinaWriter *w = NULL;
    if (!status) status = tina_writer_open(&w, path, err);
    unsigned char length[8];
    for (int i = 0; i < 8; i++) length[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
    if (!status) status = tina_writer_write(w, length, 8, err);
    if (!status) status = tina_writer_write(w, header.data, header.len, err);
    for (int i = 0; i < n && !status; i++) {
        int64_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++) numel *= tensors[i].shape[d];
        if (tensors[i].dtype == TINA_DTYPE_F32) {
            status = tina_writer_write(w, tensors[i].data, (size_t)numel * 4, err);
            continue;
        }
        enum { BLOCK = 4096 };
        unsigned char le[2 * BLOCK];
        for (int64_t k = 0; k < numel && !status; k += BLOCK) {
            int64_t m = numel - k < BLOCK ? numel - k : BLOCK;
            for (int64_t j = 0; j < m; j++) {
                uint16_t b = f32_to_bf16(tensors[i].data[k + j]);
                le[2 * j] = (unsigned char)b;
                le[2 * j + 1] = (unsigned char)(b >> 8);
            }
            status = tina_writer_write(w, le, (size_t)(2 * m), err);
        }
    }
    tina_buf_free(&header);
    if (!status) return tina_writer_commit(w, err);
    tina_writer_abort(w);
    return status;
}

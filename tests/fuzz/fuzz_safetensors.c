/* libFuzzer target for the safetensors reader: any bytes must open or be refused with a message, never crash or
 * leak; an accepted file's float tensors must convert (or be refused for an infinity or a NaN), and every tensor must
 * lie inside the file. */
#include "fuzz.h"

#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(data, size);
    TinaSafetensors *st;
    TinaError err;
    if (tina_safetensors_open(path, &st, &err) != TINA_OK) {
        if (!err.message[0]) abort(); /* a refusal always says why */
        return 0;
    }
    size_t total = 0;
    for (int i = 0; i < tina_safetensors_count(st); i++) {
        const TinaTensorInfo *t = tina_safetensors_at(st, i);
        total += t->nbytes;
        if (total > size) abort(); /* tensors tile the data: together never more than the file */
        if (t->dtype == TINA_DTYPE_OTHER) continue;
        float *out = malloc((size_t)t->numel * sizeof *out + 1);
        TinaStatus status = tina_tensor_to_f32(t, out, &err);
        if (status && (status != TINA_ERR_INPUT || !strstr(err.message, "infinite or NaN"))) abort(); /* refused */
        free(out);
    }
    tina_safetensors_close(st);
    return 0;
}

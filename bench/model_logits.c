/* model_logits: the logits tina computes for one prompt at every position, written as OUT (safetensors, tensor
 * "logits" (T, V) f32), with load and forward times on stderr. For checks against transformers on models too big
 * for the committed fixtures (tests/reference/real_shape.py) and on the GPU (tests/gpu/parity.py).
 * Usage: model_logits [--device cpu|cuda] [--adapter DIR] DIR OUT TOKEN... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/lora.h"
#include "backends/kv_cache.h"
#include "model/model.h"
#include "base/progress.h"

int main(int argc, char **argv) {
    const char *device = "cpu", *adapter = NULL;
    int arg = 1;
    for (; arg + 1 < argc && strncmp(argv[arg], "--", 2) == 0; arg += 2) {
        if (strcmp(argv[arg], "--device") == 0) device = argv[arg + 1];
        else if (strcmp(argv[arg], "--adapter") == 0) adapter = argv[arg + 1];
        else break;
    }
    if (argc - arg < 3) {
        fprintf(stderr, "usage: model_logits [--device cpu|cuda] [--adapter DIR] DIR OUT TOKEN...\n");
        return 2;
    }
    const char *dir = argv[arg], *out_path = argv[arg + 1];
    int T = argc - arg - 2;
    int32_t *tokens = malloc((size_t)T * sizeof *tokens);
    for (int i = 0; i < T; i++) tokens[i] = atoi(argv[arg + 2 + i]);
    TinaError err;
    TinaBackend *backend;
    TinaModel *m;
    TinaKVCache *kv;
    TinaLora *lora = NULL;
    double t0 = tina_progress_now();
    if (tina_backend_new(device, 0, &backend, &err) || tina_model_load(dir, backend, T, &m, &err) ||
        tina_model_kv_cache(m, 1, T, 0, &kv, &err) || (adapter && tina_lora_load(adapter, tina_model_config(m), &lora, &err))) {
        fprintf(stderr, "model_logits: %s\n", err.message);
        return err.status;
    }
    double loaded = tina_progress_now();
    int V = tina_model_config(m)->vocab;
    float *logits = malloc((size_t)T * V * sizeof *logits);
    TinaSequence seq = {0, 0, T, tokens};
    if (tina_model_forward(m, kv, &seq, 1, lora, TINA_LOGITS_ALL, logits, &err)) {
        fprintf(stderr, "model_logits: %s\n", err.message);
        return err.status;
    }
    double done = tina_progress_now();
    fprintf(stderr, "model_logits: %s, load %.2f s, forward of %d tokens %.3f s\n", device, loaded - t0, T,
            done - loaded);
    TinaTensorOut out = {"logits", TINA_DTYPE_F32, 2, {T, V}, logits};
    if (tina_safetensors_write(out_path, &out, 1, NULL, &err)) {
        fprintf(stderr, "model_logits: %s\n", err.message);
        return err.status;
    }
    free(logits);
    free(tokens);
    tina_lora_free(lora);
    tina_kv_cache_free(kv);
    tina_model_free(m);
    backend->destroy(backend);
    return 0;
}

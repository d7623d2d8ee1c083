/* model_logits: the logits tina computes for one prompt at every position, written as OUT (safetensors, tensor
 * "logits" (T, V) f32), with load and forward times on stderr. For checks against transformers on models too big
 * for the committed fixtures (tests/reference/real_shape.py). Usage: model_logits DIR OUT TOKEN... */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "progress.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: model_logits DIR OUT TOKEN...\n");
        return 2;
    }
    int T = argc - 3;
    int32_t *tokens = malloc((size_t)T * sizeof *tokens);
    for (int i = 0; i < T; i++) tokens[i] = atoi(argv[3 + i]);
    TinaError err;
    TinaBackend *backend;
    TinaModel *m;
    TinaKVCache *kv;
    double t0 = tina_progress_now();
    if (tina_cpu_backend_new(0, &backend, &err) || tina_model_load(argv[1], backend, T, &m, &err) ||
        tina_kv_cache_new(m, 1, T, &kv, &err)) {
        fprintf(stderr, "model_logits: %s\n", err.message);
        return 1;
    }
    double loaded = tina_progress_now();
    int V = tina_model_config(m)->vocab;
    float *logits = malloc((size_t)T * V * sizeof *logits);
    TinaSequence seq = {0, 0, T, tokens};
    if (tina_model_forward(m, kv, &seq, 1, NULL, TINA_LOGITS_ALL, logits, &err)) {
        fprintf(stderr, "model_logits: %s\n", err.message);
        return 1;
    }
    double done = tina_progress_now();
    fprintf(stderr, "model_logits: load %.2f s, forward of %d tokens %.3f s\n", loaded - t0, T, done - loaded);
    TinaTensorOut out = {"logits", TINA_DTYPE_F32, 2, {T, V}, logits};
    if (tina_safetensors_write(argv[2], &out, 1, NULL, &err)) {
        fprintf(stderr, "model_logits: %s\n", err.message);
        return 1;
    }
    free(logits);
    free(tokens);
    tina_kv_cache_free(kv);
    tina_model_free(m);
    backend->destroy(backend);
    return 0;
}

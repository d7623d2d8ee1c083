/* libFuzzer target for the JSON settings files a model and an adapter come with: any bytes as config.json,
 * generation_config.json and adapter_config.json must load or be refused with a message, never crash or leak; what
 * loads must hold finite numbers within the ranges the code relies on. */
#include "fuzz.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "io/config.h"
#include "model/lora.h"

/* a model's config.json that loads, for the adapter's checks against its shapes */
static const char base_config[] =
    "{\"model_type\":\"qwen2\",\"hidden_size\":64,\"intermediate_size\":128,\"num_attention_heads\":4,"
    "\"num_hidden_layers\":2,\"num_key_value_heads\":2,\"rms_norm_eps\":1e-6,\"rope_theta\":10000,\"vocab_size\":256}";

static void write_file(const char *dir, const char *name, const void *data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char dir[64], base[80];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/tina-fuzz-config-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(base, sizeof base, "%s/base.json", dir);
        write_file(dir, "base.json", base_config, sizeof base_config - 1);
    }
    TinaError err = {0};
    TinaConfig config, valid;
    write_file(dir, "config.json", data, size);
    if (tina_config_load(dir, &config, &err) == TINA_OK) {
        if (config.hidden < 1 || config.n_layers < 1 || config.n_heads < 1 || config.n_kv_heads < 1 ||
            config.n_heads % config.n_kv_heads || config.head_dim < 1 || config.vocab < 1 ||
            !(config.rms_eps > 0 && config.rms_eps < 1) || !(config.rope_theta > 0) || !isfinite(config.rope_theta))
            abort();
    } else if (!err.message[0]) abort(); /* a refusal always says why */
    write_file(dir, "generation_config.json", data, size);
    TinaGenerationConfig generation;
    err.message[0] = 0;
    if (tina_generation_config_load(dir, &generation, &err) == TINA_OK) {
        if (!(generation.temperature >= 0 && generation.temperature <= 100) ||
            !(generation.top_p > 0 && generation.top_p <= 1) || generation.n_eos > TINA_MAX_EOS)
            abort();
    } else if (!err.message[0]) abort();
    write_file(dir, "adapter_config.json", data, size);
    if (tina_config_load(base, &valid, &err) != TINA_OK) abort();
    TinaLora *lora = NULL;
    err.message[0] = 0;
    /* there is no adapter_model.safetensors: what passes the settings is refused for the missing weights */
    if (tina_lora_load(dir, &valid, &lora, &err) == TINA_OK || !err.message[0]) abort();
    return 0;
}

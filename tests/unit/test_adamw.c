/* adamw: two optimizer steps (clipping, schedule, AdamW) on the tiny Qwen2 adapter against torch.optim.AdamW,
 * clip_grad_norm_ and transformers' cosine-with-min-lr schedule (tests/reference/optimizer.py): Tina's settings,
 * a visible learning rate, and weight decay without clipping. */
#include <stdlib.h>
#include <string.h>

#include "train/adamw.h"
#include "cjson/cJSON.h"
#include "io/config.h"
#include "model/lora.h"
#include "io/stream.h"
#include "test.h"

#define FIXTURES "tests/fixtures/"

static TinaLora *load(const char *dir, const TinaConfig *config) {
    TinaLora *l = NULL;
    TinaError err;
    if (tina_lora_load(dir, config, &l, &err)) fprintf(stderr, "    %s\n", err.message);
    CHECK(l != NULL);
    return l;
}

static void two_steps_match_torch(void) {
    TinaError err;
    TinaConfig config;
    CHECK(tina_config_load(FIXTURES "models/qwen2-f32", &config, &err) == TINA_OK);
    TinaBuf text = {0};
    CHECK(tina_read_file(FIXTURES "optimizer/cases.json", &text, &err) == TINA_OK);
    cJSON *root = cJSON_Parse(text.data ? text.data : "");
    tina_buf_free(&text);
    TinaLora *g1 = load(FIXTURES "gradients/qwen2-grads", &config), *g2 = NULL;
    if (g1) CHECK(tina_lora_zeros_like(g1, &g2, &err) == TINA_OK);
    if (g2) CHECK(tina_lora_read(FIXTURES "optimizer/step2-grads.safetensors", g2, &config, &err) == TINA_OK);
    const cJSON *c;
    int n_cases = 0;
    double worst = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        double lr = cJSON_GetObjectItem(c, "lr")->valuedouble, max_norm = cJSON_GetObjectItem(c, "max_norm")->valuedouble;
        long long total = cJSON_GetObjectItem(c, "num_training_steps")->valueint;
        long long warmup = cJSON_GetObjectItem(c, "num_warmup_steps")->valueint;
        TinaAdamW adamw = {0, 0.9, 0.999, 1e-8, cJSON_GetObjectItem(c, "weight_decay")->valuedouble};
        TinaLora *p = load(FIXTURES "models/qwen2-lora", &config);
        if (!p || !g2) break;
        size_t n = p->n_params;
        float *m = calloc(n, sizeof *m), *v = calloc(n, sizeof *v), *g = malloc(n * sizeof *g);
        const cJSON *step;
        int k = 0;
        cJSON_ArrayForEach(step, cJSON_GetObjectItem(c, "steps")) {
            memcpy(g, (k == 0 ? g1 : g2)->memory, n * sizeof *g);
            double norm = tina_grad_norm(g, n);
            CHECK_NEAR(norm / cJSON_GetObjectItem(step, "grad_norm")->valuedouble, 1.0, 1e-6);
            double coefficient = tina_clip_grad_norm(g, n, norm, max_norm);
            CHECK_NEAR(coefficient / cJSON_GetObjectItem(step, "clip_coef")->valuedouble, 1.0, 1e-6);
            adamw.lr = tina_lr_at(lr, k, warmup, total, 0.1);
            CHECK_NEAR(adamw.lr, cJSON_GetObjectItem(step, "lr")->valuedouble, 1e-15);
            tina_adamw_step(&adamw, k + 1, n, p->memory, g, m, v);
            char dir[256];
            snprintf(dir, sizeof dir, FIXTURES "optimizer/%s-step%d", name, k + 1);
            TinaLora *want = load(dir, &config);
            if (want)
                for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)p->memory[i] - want->memory[i]));
            tina_lora_free(want);
            k++;
        }
        CHECK(k == 2);
        free(m), free(v), free(g);
        tina_lora_free(p);
        n_cases++;
    }
    CHECK(n_cases == 3);
    CHECK(worst < 1e-7); /* a few float ulps of the parameters' size */
    printf("note: adamw: 3 cases x 2 steps, parameters within %.2g of torch\n", worst);
    tina_lora_free(g1);
    tina_lora_free(g2);
    cJSON_Delete(root);
}

static void schedule_warms_up_then_decays_to_the_floor(void) {
    CHECK(tina_lr_at(1.0, 0, 10, 110, 0.1) == 0);
    CHECK_NEAR(tina_lr_at(1.0, 5, 10, 110, 0.1), 0.5, 1e-15);
    CHECK_NEAR(tina_lr_at(1.0, 10, 10, 110, 0.1), 1.0, 1e-15);
    CHECK_NEAR(tina_lr_at(1.0, 60, 10, 110, 0.1), 0.55, 1e-12); /* half way: 0.1 + 0.9 / 2 */
    CHECK_NEAR(tina_lr_at(1.0, 110, 10, 110, 0.1), 0.1, 1e-12);
}

int main(void) {
    static const TestCase tests[] = {
        {"two_steps_match_torch", two_steps_match_torch},
        {"schedule_warms_up_then_decays_to_the_floor", schedule_warms_up_then_decays_to_the_floor},
    };
    return test_main("adamw", tests, sizeof tests / sizeof *tests);
}

/* policy_loss: the 16 cases of tests/fixtures/gradients/loss.json (TRL's formulas, written out in torch float64 by
 * tests/reference/gradients.py): every loss type, beta 0 and 0.04, ratio one and clipping active. */
#include <stdlib.h>

#include "cjson/cJSON.h"
#include "train/policy_loss.h"
#include "io/stream.h"
#include "test.h"

enum { MAX_T = 16 };

static float value(const cJSON *rows, int b, int t) {
    return (float)cJSON_GetArrayItem(cJSON_GetArrayItem(rows, b), t)->valuedouble;
}

static void every_case_matches_the_reference(void) {
    TinaBuf text = {0};
    TinaError err;
    CHECK(tina_read_file("tests/fixtures/gradients/loss.json", &text, &err) == TINA_OK);
    cJSON *root = cJSON_Parse(text.data ? text.data : "");
    tina_buf_free(&text);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases"), *c;
    int n_cases = 0;
    double worst_loss = 0, worst_grad = 0;
    cJSON_ArrayForEach(c, cases) {
        TinaLossConfig config = {0};
        CHECK(tina_loss_type_parse(cJSON_GetObjectItem(c, "loss_type")->valuestring, &config.type));
        config.beta = cJSON_GetObjectItem(c, "beta")->valuedouble;
        config.epsilon_low = cJSON_GetObjectItem(c, "epsilon_low")->valuedouble;
        config.epsilon_high = cJSON_GetObjectItem(c, "epsilon_high")->valuedouble;
        config.max_completion_length = cJSON_GetObjectItem(c, "max_completion_length")->valueint;
        const cJSON *mask = cJSON_GetObjectItem(c, "mask"), *grad = cJSON_GetObjectItem(c, "grad");
        const cJSON *logp = cJSON_GetObjectItem(c, "logp"), *old = cJSON_GetObjectItem(c, "old_logp");
        const cJSON *ref = cJSON_GetObjectItem(c, "ref_logp"), *adv = cJSON_GetObjectItem(c, "advantages");
        int B = cJSON_GetArraySize(mask), lengths[8] = {0};
        config.completions = B;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < cJSON_GetArraySize(cJSON_GetArrayItem(mask, b)); t++) lengths[b] += value(mask, b, t) != 0;
            config.tokens += lengths[b];
        }
        TinaLossStats stats = {0};
        for (int b = 0; b < B; b++) {
            float lp[MAX_T], op[MAX_T], rp[MAX_T], d[MAX_T];
            for (int t = 0; t < lengths[b]; t++) lp[t] = value(logp, b, t), op[t] = value(old, b, t), rp[t] = value(ref, b, t);
            tina_policy_loss(&config, lengths[b], lp, op, rp, cJSON_GetArrayItem(adv, b)->valuedouble, d, &stats);
            for (int t = 0; t < lengths[b]; t++) {
                double want = cJSON_GetArrayItem(cJSON_GetArrayItem(grad, b), t)->valuedouble;
                worst_grad = fmax(worst_grad, fabs(d[t] - want) / fmax(1e-3, fabs(want)));
            }
        }
        double want_loss = cJSON_GetObjectItem(c, "loss")->valuedouble;
        worst_loss = fmax(worst_loss, fabs(stats.loss - want_loss) / fabs(want_loss));
        CHECK_NEAR(stats.kl_sum / (double)stats.tokens, cJSON_GetObjectItem(c, "kl_mean")->valuedouble, 1e-12);
        CHECK_NEAR((double)stats.clipped / (double)stats.tokens, cJSON_GetObjectItem(c, "clip_fraction")->valuedouble,
                   1e-12);
        n_cases++;
    }
    CHECK(n_cases == 16);
    CHECK(worst_loss < 1e-12);
    CHECK(worst_grad < 1e-6); /* the gradient is stored as float */
    printf("note: policy loss: %d cases, loss within %.2g and d/dlogp within %.2g (relative) of TRL's formulas\n",
           n_cases, worst_loss, worst_grad);
    cJSON_Delete(root);
}

static void loss_types_parse_by_name(void) {
    TinaLossType t;
    CHECK(tina_loss_type_parse("dr_grpo", &t) && t == TINA_LOSS_DR_GRPO);
    CHECK(!tina_loss_type_parse("ppo", &t));
}

int main(void) {
    static const TestCase tests[] = {
        {"every_case_matches_the_reference", every_case_matches_the_reference},
        {"loss_types_parse_by_name", loss_types_parse_by_name},
    };
    return test_main("policy_loss", tests, sizeof tests / sizeof *tests);
}

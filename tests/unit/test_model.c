/* model: parity with transformers + PEFT on tiny random Qwen2 and Llama models (tests/reference/models.py): logits
 * at every position with and without an adapter, f32 and bf16 weights; the KV cache (prefill then decode equals all
 * at once); greedy continuations; log-probs; adapter save/load; merging; PEFT reading tina's adapters. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cjson/cJSON.h"
#include "backends/kv_cache.h"
#include "model/model.h"
#include "io/safetensors.h"
#include "io/stream.h"
#include "test.h"

#define FIXTURES "tests/fixtures/models/"
static const char *const ARCHS[] = {"qwen2", "llama"};
enum { N_PROMPTS = 3, MAX_LEN = 64 };

static TinaBackend *backend;
static int32_t prompts[N_PROMPTS][32];
static int prompt_len[N_PROMPTS];
static cJSON *expected;

static void load_prompts(void) {
    TinaBuf text = {0};
    TinaError err;
    CHECK(tina_read_file(FIXTURES "expected.json", &text, &err) == TINA_OK);
    expected = cJSON_Parse(text.data);
    tina_buf_free(&text);
    const cJSON *list = cJSON_GetObjectItem(expected, "prompts"), *prompt;
    int i = 0;
    cJSON_ArrayForEach(prompt, list) {
        const cJSON *id;
        prompt_len[i] = 0;
        cJSON_ArrayForEach(id, prompt) prompts[i][prompt_len[i]++] = id->valueint;
        i++;
    }
}

static TinaModel *load_model(const char *arch, const char *dtype) {
    char dir[256];
    snprintf(dir, sizeof dir, FIXTURES "%s-%s", arch, dtype);
    TinaModel *m = NULL;
    TinaError err;
    if (tina_model_load(dir, backend, 256, &m, &err)) fprintf(stderr, "    %s\n", err.message);
    CHECK(m != NULL);
    return m;
}

static TinaLora *load_lora(const TinaModel *m, const char *dir) {
    TinaLora *l = NULL;
    TinaError err;
    if (tina_lora_load(dir, tina_model_config(m), &l, &err)) fprintf(stderr, "    %s\n", err.message);
    CHECK(l != NULL);
    return l;
}

/* The fixture adapter of arch (tests/fixtures/models/ARCH-lora), for m. */
static TinaLora *fixture_lora(const TinaModel *m, const char *arch) {
    char dir[256];
    snprintf(dir, sizeof dir, FIXTURES "%s-lora", arch);
    return load_lora(m, dir);
}

/* ||got - want|| / ||want|| over one row. */
static double relative_error(const float *got, const float *want, int n) {
    double diff = 0, norm = 0;
    for (int i = 0; i < n; i++) {
        diff += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        norm += (double)want[i] * want[i];
    }
    return sqrt(diff / (norm > 0 ? norm : 1));
}

/* All prompts in one batched call, logits at every position: (T, V) in prompt order. */
static float *forward_all(TinaModel *m, const TinaLora *lora) {
    TinaError err;
    TinaKVCache *kv = NULL;
    CHECK(tina_model_kv_cache(m, N_PROMPTS, MAX_LEN, 0, &kv, &err) == TINA_OK);
    TinaSequence seqs[N_PROMPTS];
    int T = 0;
    for (int i = 0; i < N_PROMPTS; i++) {
        seqs[i] = (TinaSequence){i, 0, prompt_len[i], prompts[i]};
        T += prompt_len[i];
    }
    int V = tina_model_config(m)->vocab;
    float *logits = malloc((size_t)T * V * sizeof *logits);
    if (tina_model_forward(m, kv, seqs, N_PROMPTS, lora, TINA_LOGITS_ALL, logits, &err)) {
        fprintf(stderr, "    %s\n", err.message);
        CHECK(0);
    }
    tina_kv_cache_free(kv);
    return logits;
}

/* The worst relative L2 error over every position of every prompt, against the fixture tensors "PREFIX.i". */
static double worst_against(const float *logits, const char *file, const char *prefix, int V) {
    TinaSafetensors *st = NULL;
    TinaError err;
    CHECK(tina_safetensors_open(file, &st, &err) == TINA_OK);
    if (!st) return INFINITY;
    double worst = 0;
    const float *row = logits;
    for (int i = 0; i < N_PROMPTS; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.%d", prefix, i);
        const TinaTensorInfo *t = tina_safetensors_find(st, name);
        CHECK(t && t->numel == (int64_t)prompt_len[i] * V);
        if (!t) return INFINITY;
        float *want = malloc(t->nbytes);
        tina_tensor_to_f32(t, want, &err);
        for (int p = 0; p < prompt_len[i]; p++, row += V) {
            double e = relative_error(row, want + (size_t)p * V, V);
            worst = e > worst ? e : worst;
        }
        free(want);
    }
    tina_safetensors_close(st);
    return worst;
}

static void logits_match_transformers_and_peft_at_every_position(void) {
    for (int a = 0; a < 2; a++)
        for (int d = 0; d < 2; d++) {
            const char *dtype = d ? "bf16" : "f32";
            TinaModel *m = load_model(ARCHS[a], dtype);
            if (!m) continue;
            char file[256], prefix[32];
                snprintf(file, sizeof file, FIXTURES "%s-logits.safetensors", ARCHS[a]);
            TinaLora *lora = fixture_lora(m, ARCHS[a]);
            int V = tina_model_config(m)->vocab;
            for (int with = 0; with < 2; with++) {
                float *logits = forward_all(m, with ? lora : NULL);
                snprintf(prefix, sizeof prefix, "%s.%s", dtype, with ? "lora" : "base");
                double worst = worst_against(logits, file, prefix, V);
                printf("note: %s %s %s: worst relative L2 error of the logits vs transformers%s: %.2e\n", ARCHS[a],
                       dtype, with ? "with adapter" : "base", with ? " + PEFT" : "", worst);
                CHECK(worst < 1e-4);
                free(logits);
            }
            tina_lora_free(lora);
            tina_model_free(m);
        }
}

/* Prefill the first half of each prompt, then decode the rest one token per call: every position's logits equal
 * the all-at-once forward's. */
static void prefill_then_decode_equals_all_at_once(void) {
    for (int a = 0; a < 2; a++) {
        TinaModel *m = load_model(ARCHS[a], "f32");
        if (!m) continue;
        TinaLora *lora = fixture_lora(m, ARCHS[a]);
        int V = tina_model_config(m)->vocab;
        float *all = forward_all(m, lora);
        TinaKVCache *kv;
        TinaError err;
        CHECK(tina_model_kv_cache(m, N_PROMPTS, MAX_LEN, 0, &kv, &err) == TINA_OK);
        int half[N_PROMPTS], max_len = 0;
        TinaSequence seqs[N_PROMPTS];
        for (int i = 0; i < N_PROMPTS; i++) {
            half[i] = prompt_len[i] / 2;
            seqs[i] = (TinaSequence){i, 0, half[i], prompts[i]};
            max_len = prompt_len[i] > max_len ? prompt_len[i] : max_len;
        }
        float *step = malloc((size_t)64 * V * sizeof *step);
        CHECK(tina_model_forward(m, kv, seqs, N_PROMPTS, lora, TINA_LOGITS_ALL, step, &err) == TINA_OK);
        double worst = 0;
        for (int i = 0, row = 0, offset = 0; i < N_PROMPTS; offset += prompt_len[i], i++)
            for (int p = 0; p < half[i]; p++, row++)
                worst = fmax(worst, relative_error(step + (size_t)row * V, all + (size_t)(offset + p) * V, V));
        for (int p = 0; p < max_len; p++) { /* decode: one token for every prompt that still has one */
            TinaSequence one[N_PROMPTS];
            int n = 0, which[N_PROMPTS];
            for (int i = 0; i < N_PROMPTS; i++)
                if (half[i] + p < prompt_len[i]) {
                    which[n] = i;
                    one[n++] = (TinaSequence){i, half[i] + p, 1, &prompts[i][half[i] + p]};
                }
            if (!n) break;
            CHECK(tina_model_forward(m, kv, one, n, lora, TINA_LOGITS_LAST, step, &err) == TINA_OK);
            for (int k = 0; k < n; k++) {
                int offset = 0;
                for (int i = 0; i < which[k]; i++) offset += prompt_len[i];
                worst = fmax(worst, relative_error(step + (size_t)k * V, all + (size_t)(offset + half[which[k]] + p) * V, V));
            }
        }
        printf("note: %s: prefill then decode vs all at once: worst relative L2 error %.3e\n", ARCHS[a], worst);
        CHECK(worst < 1e-5);
        free(step);
        free(all);
        tina_kv_cache_free(kv);
        tina_lora_free(lora);
        tina_model_free(m);
    }
}

/* 32 greedy tokens for the three prompts decoded together, equal to transformers' token for token. */
static void greedy_continuations_match_transformers(void) {
    for (int a = 0; a < 2; a++) {
        TinaModel *m = load_model(ARCHS[a], "f32");
        if (!m) continue;
        TinaLora *lora = fixture_lora(m, ARCHS[a]);
        int V = tina_model_config(m)->vocab;
        float *logits = malloc((size_t)N_PROMPTS * V * sizeof *logits);
        for (int with = 0; with < 2; with++) {
            TinaKVCache *kv;
            TinaError err;
            CHECK(tina_model_kv_cache(m, N_PROMPTS, MAX_LEN, 0, &kv, &err) == TINA_OK);
            TinaSequence seqs[N_PROMPTS];
            int32_t next[N_PROMPTS], got[N_PROMPTS][32];
            for (int i = 0; i < N_PROMPTS; i++) seqs[i] = (TinaSequence){i, 0, prompt_len[i], prompts[i]};
            for (int step = 0; step < 32; step++) {
                CHECK(tina_model_forward(m, kv, seqs, N_PROMPTS, with ? lora : NULL, TINA_LOGITS_LAST, logits, &err) == TINA_OK);
                for (int i = 0; i < N_PROMPTS; i++) {
                    int best = 0;
                    for (int v = 1; v < V; v++) best = logits[(size_t)i * V + v] > logits[(size_t)i * V + best] ? v : best;
                    got[i][step] = next[i] = best;
                    seqs[i] = (TinaSequence){i, seqs[i].n_past + seqs[i].n_new, 1, &next[i]};
                }
            }
            const cJSON *want = cJSON_GetObjectItem(cJSON_GetObjectItem(expected, ARCHS[a]), with ? "greedy_lora" : "greedy_base");
            for (int i = 0; i < N_PROMPTS; i++)
                for (int step = 0; step < 32; step++)
                    CHECK(got[i][step] == cJSON_GetArrayItem(cJSON_GetArrayItem(want, i), step)->valueint);
            tina_kv_cache_free(kv);
        }
        free(logits);
        tina_lora_free(lora);
        tina_model_free(m);
    }
}

/* The chunked log-probs equal log_softmax of the full logits, and logits cover the vocabulary's chunks exactly. */
static void logprobs_equal_log_softmax_of_the_logits(void) {
    TinaModel *m = load_model("qwen2", "f32");
    if (!m) return;
    TinaLora *lora = fixture_lora(m, "qwen2");
    int V = tina_model_config(m)->vocab;
    float *logits = forward_all(m, lora);
    int T = 0;
    int32_t targets[64];
    TinaSequence seqs[N_PROMPTS];
    for (int i = 0; i < N_PROMPTS; i++) {
        seqs[i] = (TinaSequence){i, 0, prompt_len[i], prompts[i]};
        for (int p = 0; p < prompt_len[i]; p++, T++) targets[T] = p + 1 < prompt_len[i] ? prompts[i][p + 1] : (T * 97) % V;
    }
    TinaKVCache *kv;
    TinaError err;
    float logprobs[64];
    CHECK(tina_model_kv_cache(m, N_PROMPTS, MAX_LEN, 0, &kv, &err) == TINA_OK);
    CHECK(tina_model_logprobs(m, kv, seqs, N_PROMPTS, lora, targets, logprobs, &err) == TINA_OK);
    double worst = 0;
    for (int t = 0; t < T; t++) {
        const float *z = logits + (size_t)t * V;
        double max = z[0], sum = 0;
        for (int v = 1; v < V; v++) max = fmax(max, z[v]);
        for (int v = 0; v < V; v++) sum += exp(z[v] - max);
        worst = fmax(worst, fabs(logprobs[t] - (z[targets[t]] - max - log(sum))));
    }
    CHECK(worst < 1e-5);
    int32_t bad = V;
    TinaSequence one = {0, 0, 1, prompts[0]};
    CHECK(tina_model_logprobs(m, kv, &one, 1, lora, &bad, logprobs, &err) == TINA_ERR_INPUT);
    tina_kv_cache_free(kv);
    free(logits);
    tina_lora_free(lora);
    tina_model_free(m);
}

/* tina_model_sample's draws, `repeats` of each sequence's last position, are tina_sampler_draw's from the last
 * logits of the same forward with the same uniforms; more rows than the model takes are refused. */
static void sampled_tokens_are_the_samplers_draws_from_the_last_logits(void) {
    TinaModel *m = load_model("llama", "f32");
    if (!m) return;
    TinaLora *lora = fixture_lora(m, "llama");
    int V = tina_model_config(m)->vocab;
    enum { REPEATS = 5 };
    TinaSequence seqs[N_PROMPTS];
    double u[N_PROMPTS * REPEATS];
    for (int i = 0; i < N_PROMPTS; i++) seqs[i] = (TinaSequence){i, 0, prompt_len[i], prompts[i]};
    for (int i = 0; i < N_PROMPTS * REPEATS; i++) u[i] = (i + 0.5) / (N_PROMPTS * REPEATS);
    TinaSamplerParams params = {.temperature = 1.3, .top_p = 0.9, .top_k = 40};
    TinaKVCache *kv;
    TinaError err;
    float *logits = malloc((size_t)N_PROMPTS * V * sizeof *logits);
    int32_t tokens[N_PROMPTS * REPEATS];
    double logprobs[N_PROMPTS * REPEATS];
    TinaSampler *sampler = NULL;
    CHECK(logits && tina_sampler_new(V, &sampler, &err) == TINA_OK);
    CHECK(tina_model_kv_cache(m, N_PROMPTS, MAX_LEN, 0, &kv, &err) == TINA_OK);
    CHECK(tina_model_forward(m, kv, seqs, N_PROMPTS, lora, TINA_LOGITS_LAST, logits, &err) == TINA_OK);
    CHECK(tina_model_sample(m, kv, seqs, N_PROMPTS, lora, &params, REPEATS, u, tokens, logprobs, &err) == TINA_OK);
    int distinct = 0;
    for (int i = 0; sampler && i < N_PROMPTS * REPEATS; i++) {
        double want_logprob;
        int32_t want = tina_sampler_draw(sampler, logits + (size_t)(i / REPEATS) * V, &params, u[i], &want_logprob);
        CHECK(tokens[i] == want);
        CHECK(logprobs[i] == want_logprob);
        distinct += i % REPEATS && tokens[i] != tokens[i - 1];
    }
    CHECK(distinct > 0); /* the uniforms spread the draws of one position over several tokens */
    CHECK(tina_model_sample(m, kv, seqs, N_PROMPTS, lora, &params, 1 << 20, u, tokens, logprobs, &err) ==
          TINA_ERR_INPUT);
    tina_sampler_free(sampler);
    tina_kv_cache_free(kv);
    free(logits);
    tina_lora_free(lora);
    tina_model_free(m);
}

/* The trainer's (and tina-sample --forced's) log-probs of each prompt's next tokens equal log_softmax of
 * transformers + PEFT's logits within 1e-4. */
static void logprobs_equal_transformers_log_softmax(void) {
    for (int a = 0; a < 2; a++) {
        TinaModel *m = load_model(ARCHS[a], "f32");
        if (!m) continue;
        char file[256];
        snprintf(file, sizeof file, FIXTURES "%s-logits.safetensors", ARCHS[a]);
        TinaLora *lora = fixture_lora(m, ARCHS[a]);
        TinaSafetensors *st = NULL;
        TinaError err;
        CHECK(tina_safetensors_open(file, &st, &err) == TINA_OK);
        int V = tina_model_config(m)->vocab;
        double worst = 0;
        for (int i = 0; st && i < N_PROMPTS; i++) {
            int n = prompt_len[i];
            int32_t targets[32];
            for (int p = 0; p < n; p++) targets[p] = p + 1 < n ? prompts[i][p + 1] : 0;
            TinaKVCache *kv;
            float logprobs[32];
            CHECK(tina_model_kv_cache(m, 1, MAX_LEN, 0, &kv, &err) == TINA_OK);
            TinaSequence seq = {0, 0, n, prompts[i]};
            CHECK(tina_model_logprobs(m, kv, &seq, 1, lora, targets, logprobs, &err) == TINA_OK);
            char name[32];
            snprintf(name, sizeof name, "f32.lora.%d", i);
            const TinaTensorInfo *t = tina_safetensors_find(st, name);
            float *want = malloc(t->nbytes);
            tina_tensor_to_f32(t, want, &err);
            for (int p = 0; p + 1 < n; p++) {
                const float *z = want + (size_t)p * V;
                double max = z[0], sum = 0;
                for (int v = 1; v < V; v++) max = fmax(max, z[v]);
                for (int v = 0; v < V; v++) sum += exp(z[v] - max);
                worst = fmax(worst, fabs(logprobs[p] - (z[targets[p]] - max - log(sum))));
            }
            free(want);
            tina_kv_cache_free(kv);
        }
        printf("note: %s: log-probs vs log_softmax of transformers + PEFT logits: worst absolute error %.2e\n",
               ARCHS[a], worst);
        CHECK(worst < 1e-4);
        tina_safetensors_close(st);
        tina_lora_free(lora);
        tina_model_free(m);
    }
}

static bool same_file(const char *a, const char *b) {
    TinaBuf x = {0}, y = {0};
    TinaError err;
    bool same = tina_read_file(a, &x, &err) == TINA_OK && tina_read_file(b, &y, &err) == TINA_OK && x.len == y.len &&
                memcmp(x.data, y.data, x.len) == 0;
    tina_buf_free(&x);
    tina_buf_free(&y);
    return same;
}

/* save -> load -> save gives the same bytes; PEFT reads what tina saved and computes what tina computes. */
static void adapters_round_trip_and_peft_reads_what_tina_writes(void) {
    for (int a = 0; a < 2; a++) {
        TinaModel *m = load_model(ARCHS[a], "f32");
        if (!m) continue;
        char dir[256], once[64], twice[64], file_a[128], file_b[128];
        snprintf(once, sizeof once, "/tmp/tina-test-lora-%d-a", (int)getpid());
        snprintf(twice, sizeof twice, "/tmp/tina-test-lora-%d-b", (int)getpid());
        TinaLora *peft = fixture_lora(m, ARCHS[a]), *reloaded = NULL;
        TinaError err;
        CHECK(tina_lora_save(peft, once, &err) == TINA_OK);
        CHECK(tina_lora_load(once, tina_model_config(m), &reloaded, &err) == TINA_OK);
        CHECK(reloaded && tina_lora_save(reloaded, twice, &err) == TINA_OK);
        const char *files[] = {"adapter_config.json", "adapter_model.safetensors"};
        for (int f = 0; f < 2; f++) {
            snprintf(file_a, sizeof file_a, "%s/%s", once, files[f]);
            snprintf(file_b, sizeof file_b, "%s/%s", twice, files[f]);
            CHECK(same_file(file_a, file_b));
            unlink(file_a);
            unlink(file_b);
        }
        rmdir(once);
        rmdir(twice);
        int V = tina_model_config(m)->vocab;
        const char *kinds[] = {"copy", "init"};
        snprintf(dir, sizeof dir, FIXTURES "%s-lora-tina-peft-logits.safetensors", ARCHS[a]);
        for (int k = 0; k < 2; k++) { /* the committed tina-written adapters, and PEFT's logits with them */
            char adapter[256];
            snprintf(adapter, sizeof adapter, FIXTURES "%s-lora-tina-%s", ARCHS[a], kinds[k]);
            TinaLora *mine = load_lora(m, adapter);
            float *logits = mine ? forward_all(m, mine) : NULL;
            double worst = logits ? worst_against(logits, dir, kinds[k], V) : INFINITY;
            printf("note: %s: PEFT with the adapter tina wrote (%s) vs tina: worst relative L2 error %.2e\n", ARCHS[a],
                   kinds[k], worst);
            CHECK(worst < 1e-4);
            free(logits);
            tina_lora_free(mine);
        }
        tina_lora_free(peft);
        tina_lora_free(reloaded);
        tina_model_free(m);
    }
}

/* A fresh adapter: B is zero (the base model's logits) and A is uniform within 1/sqrt(K), from its seed alone. */
static void a_fresh_adapter_is_initialised_as_peft_does(void) {
    TinaModel *m = load_model("qwen2", "f32");
    if (!m) return;
    bool targets[TINA_LORA_TARGETS];
    TinaError err;
    CHECK(tina_lora_parse_targets("all-linear", targets, &err) == TINA_OK);
    TinaLora *a = NULL, *b = NULL;
    CHECK(tina_lora_init(tina_model_config(m), 8, 32, 0.05, false, targets, 7, "x", &a, &err) == TINA_OK);
    CHECK(tina_lora_init(tina_model_config(m), 8, 32, 0.05, false, targets, 7, "x", &b, &err) == TINA_OK);
    CHECK(a && b && memcmp(a->memory, b->memory, a->n_params * sizeof(float)) == 0);
    double bound = 1 / sqrt(64.0), max = 0;
    for (int i = 0; i < 8 * 64; i++) max = fmax(max, fabs(a->a[TINA_LORA_Q][i]));
    CHECK(max <= bound && max > 0.9 * bound);
    for (int i = 0; i < 8 * 64; i++) CHECK(a->b[TINA_LORA_Q][i] == 0);
    CHECK(a->scale == 4.0f);
    CHECK(tina_lora_parse_targets("q_proj,lm_head", targets, &err) == TINA_ERR_INPUT);
    tina_lora_free(a);
    tina_lora_free(b);
    tina_model_free(m);
}

/* Merged weights (W + scale B A) give the adapter's logits without the adapter, and survive a save and load. */
static void a_merged_model_equals_the_adapter_applied(void) {
    for (int a = 0; a < 2; a++) {
        TinaModel *m = load_model(ARCHS[a], "f32");
        if (!m) continue;
        char out[64];
        TinaLora *lora = fixture_lora(m, ARCHS[a]);
        int V = tina_model_config(m)->vocab;
        float *adapted = forward_all(m, lora);
        TinaError err;
        CHECK(tina_model_merge_lora(m, lora, &err) == TINA_OK);
        snprintf(out, sizeof out, "/tmp/tina-test-merged-%d", (int)getpid());
        CHECK(tina_model_save(m, out, TINA_DTYPE_F32, &err) == TINA_OK);
        TinaModel *merged = NULL;
        CHECK(tina_model_load(out, backend, 256, &merged, &err) == TINA_OK);
        float *plain = merged ? forward_all(merged, NULL) : NULL;
        double worst = 0;
        int T = prompt_len[0] + prompt_len[1] + prompt_len[2];
        for (int t = 0; plain && t < T; t++)
            worst = fmax(worst, relative_error(plain + (size_t)t * V, adapted + (size_t)t * V, V));
        printf("note: %s: merged model vs adapter applied: worst relative L2 error %.2e\n", ARCHS[a], worst);
        CHECK(plain && worst < 1e-5);
        char path[128];
        snprintf(path, sizeof path, "%s/model.safetensors", out);
        unlink(path);
        snprintf(path, sizeof path, "%s/config.json", out);
        unlink(path);
        rmdir(out);
        free(plain);
        free(adapted);
        tina_model_free(merged);
        tina_lora_free(lora);
        tina_model_free(m);
    }
}

/* The worst relative L2 error between two (T, V) logit tables of the three prompts. */
static double worst_between(const float *got, const float *want, int V) {
    double worst = 0;
    int T = prompt_len[0] + prompt_len[1] + prompt_len[2];
    for (int t = 0; t < T; t++) worst = fmax(worst, relative_error(got + (size_t)t * V, want + (size_t)t * V, V));
    return worst;
}

/* A backend whose memory is not the host's (a GPU's) reads the adapter from the model's copy of it, made when an
 * adapter id is first seen: the same logits as the adapter read in place; a changed adapter is copied again once
 * tina_lora_changed gives it a new id, not before. The CPU backend stands in for a GPU, told its memory is not the
 * host's. */
static void a_device_backend_reads_a_copy_of_the_adapter(void) {
    TinaModel *m = load_model("qwen2", "f32");
    if (!m) return;
    TinaLora *lora = fixture_lora(m, "qwen2");
    int V = tina_model_config(m)->vocab;
    float *in_place = forward_all(m, lora);
    backend->host_memory = false;
    float *copied = forward_all(m, lora);
    CHECK(worst_between(copied, in_place, V) < 1e-6);
    for (size_t i = 0; i < lora->n_params; i++) lora->memory[i] *= 2;
    float *stale = forward_all(m, lora);
    CHECK(worst_between(stale, in_place, V) < 1e-6);
    tina_lora_changed(lora);
    float *recopied = forward_all(m, lora);
    backend->host_memory = true;
    float *doubled = forward_all(m, lora);
    double moved = worst_between(doubled, in_place, V), agree = worst_between(recopied, doubled, V);
    printf("note: adapter copy: doubling the adapter moves the logits by %.2e; the recopied adapter's logits are "
           "within %.2e of the doubled adapter's read in place\n", moved, agree);
    CHECK(moved > 1e-2 && agree < 1e-6);
    free(in_place);
    free(copied);
    free(stale);
    free(recopied);
    free(doubled);
    tina_lora_free(lora);
    tina_model_free(m);
}

/* The CPU backend, posing as one that records decode steps (graph_begin and graph_end noted, embed counted). */
static uint64_t begun[64];
static int n_begun, n_ended, n_embeds, fail_at_end = -1;
static void (*cpu_embed)(TinaBackend *, void *, const void *, const int32_t *, int, int);
static void note_begin(TinaBackend *b, uint64_t key) {
    (void)b;
    if (n_begun < 64) begun[n_begun] = key;
    n_begun++;
}
static bool note_end(TinaBackend *b) {
    (void)b;
    return n_ended++ != fail_at_end;
}
static void counted_embed(TinaBackend *b, void *out, const void *table, const int32_t *tokens, int T, int C) {
    n_embeds++;
    cpu_embed(b, out, table, tokens, T, C);
}

/* Draws of the two prompts' continuations, 6 decode steps after their prefill, for a greedy or sampling run. */
static void decode(TinaModel *m, const TinaLora *lora, int n_seqs, int32_t drawn[][8], double logprobs[][8]) {
    TinaKVCache *kv;
    TinaError err;
    TinaSamplerParams params = {.temperature = 0.8, .top_p = 0.95};
    CHECK(tina_model_kv_cache(m, 2, MAX_LEN, 0, &kv, &err) == TINA_OK);
    TinaSequence seqs[2];
    double u[2];
    for (int s = 0; s < n_seqs; s++) seqs[s] = (TinaSequence){s, 0, prompt_len[s], prompts[s]}, u[s] = 0.3 + 0.4 * s;
    CHECK(tina_model_sample(m, kv, seqs, n_seqs, lora, &params, 1, u, drawn[0], logprobs[0], &err) == TINA_OK);
    for (int step = 1; step < 7; step++) {
        for (int s = 0; s < n_seqs; s++)
            seqs[s] = (TinaSequence){s, prompt_len[s] + step - 1, 1, &drawn[step - 1][s]}, u[s] = 0.1 * step + 0.2 * s;
        CHECK(tina_model_sample(m, kv, seqs, n_seqs, lora, &params, 1, u, drawn[step], logprobs[step], &err) ==
              TINA_OK);
    }
    tina_kv_cache_free(kv);
}

/* A decode step (a token a sequence) is offered to a recording backend under one key for as long as its shape (the
 * number of sequences, the adapter, the cache) holds, and the prefill of prompts longer than a token is not; when graph_end says the step did
 * not run, the model issues it again, and the draws are those of a backend that records nothing. */
static void decode_steps_are_offered_for_recording_under_stable_keys(void) {
    TinaModel *m = load_model("qwen2", "f32");
    if (!m) return;
    TinaLora *lora = fixture_lora(m, "qwen2");
    int32_t plain[7][8] = {{0}}, offered[7][8] = {{0}}, ignored[7][8];
    double plain_lp[7][8] = {{0}}, offered_lp[7][8] = {{0}}, ignored_lp[7][8];
    decode(m, lora, 2, plain, plain_lp);
    cpu_embed = backend->embed;
    backend->embed = counted_embed;
    backend->graph_begin = note_begin;
    backend->graph_end = note_end;
    n_begun = n_ended = n_embeds = 0;
    fail_at_end = 2; /* the third decode step's recording fails */
    decode(m, lora, 2, offered, offered_lp);
    CHECK(n_begun == 6 && n_ended == 6);           /* the prefill (13 + 7 tokens for 2 sequences) is not offered */
    CHECK(n_embeds == 1 + 6 + 1);                  /* prefill, six steps, and the failed one again */
    for (int i = 1; i < 6; i++) CHECK(begun[i] == begun[0]);
    CHECK(memcmp(offered, plain, sizeof plain) == 0 && memcmp(offered_lp, plain_lp, sizeof plain_lp) == 0);
    uint64_t with_two = begun[0];
    n_begun = 0, fail_at_end = -1;
    decode(m, lora, 1, ignored, ignored_lp);
    CHECK(n_begun == 6 && begun[0] != with_two);   /* another number of sequences: another key */
    uint64_t with_one = begun[0];
    n_begun = 0;
    decode(m, NULL, 1, ignored, ignored_lp);
    CHECK(n_begun == 6 && begun[0] != with_one);   /* without the adapter: another key */
    backend->embed = cpu_embed;
    backend->graph_begin = NULL;
    backend->graph_end = NULL;
    tina_lora_free(lora);
    tina_model_free(m);
}

static void mismatched_adapters_and_calls_are_refused(void) {
    TinaModel *qwen = load_model("qwen2", "f32"), *llama = load_model("llama", "f32");
    if (!qwen || !llama) return;
    TinaLora *l = NULL;
    TinaError err;
    CHECK(tina_lora_load(FIXTURES "llama-lora", tina_model_config(qwen), &l, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "an adapter for another model?") != NULL);
    CHECK(tina_lora_load(FIXTURES "no-such-adapter", tina_model_config(qwen), &l, &err) == TINA_ERR_INPUT);
    TinaKVCache *kv;
    CHECK(tina_model_kv_cache(qwen, 1, 8, 0, &kv, &err) == TINA_OK);
    int32_t too_big = 2048;
    TinaSequence bad = {0, 0, 1, &too_big};
    float logits[2048];
    CHECK(tina_model_forward(qwen, kv, &bad, 1, NULL, TINA_LOGITS_LAST, logits, &err) == TINA_ERR_INPUT);
    TinaSequence overflow = {0, 4, 5, prompts[1]};
    CHECK(tina_model_forward(qwen, kv, &overflow, 1, NULL, TINA_LOGITS_LAST, logits, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "do not fit the cache") != NULL);
    TinaSequence wrong_slot = {1, 0, 1, prompts[0]};
    CHECK(tina_model_forward(qwen, kv, &wrong_slot, 1, NULL, TINA_LOGITS_LAST, logits, &err) == TINA_ERR_INPUT);
    tina_kv_cache_free(kv);
    tina_model_free(qwen);
    tina_model_free(llama);
}

int main(void) {
    static const TestCase tests[] = {
        TEST(logits_match_transformers_and_peft_at_every_position),
        TEST(prefill_then_decode_equals_all_at_once),
        TEST(greedy_continuations_match_transformers),
        TEST(logprobs_equal_log_softmax_of_the_logits),
        TEST(sampled_tokens_are_the_samplers_draws_from_the_last_logits),
        TEST(logprobs_equal_transformers_log_softmax),
        TEST(adapters_round_trip_and_peft_reads_what_tina_writes),
        TEST(a_fresh_adapter_is_initialised_as_peft_does),
        TEST(a_merged_model_equals_the_adapter_applied),
        TEST(a_device_backend_reads_a_copy_of_the_adapter),
        TEST(decode_steps_are_offered_for_recording_under_stable_keys),
        TEST(mismatched_adapters_and_calls_are_refused),
    };
    TinaError err;
    if (tina_cpu_backend_new(2, &backend, &err)) return 1;
    load_prompts();
    int status = test_main("test_model", tests, sizeof tests / sizeof tests[0]);
    cJSON_Delete(expected);
    backend->destroy(backend);
    return status;
}

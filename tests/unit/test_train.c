/* train: the training forward and the LoRA gradients of its backward against PyTorch autograd through PEFT
 * (tests/reference/gradients.py): L = sum of coefficient x log-prob over four sequences of unequal length (one of
 * 150 tokens: several query blocks of the training attention), on the tiny Qwen2 (biases, GQA 4/2, untied head) and
 * Llama (GQA 4/1, tied embeddings) fixture models with an r=8 adapter on all seven projections. */
#include <stdlib.h>
#include <string.h>

#include "cjson/cJSON.h"
#include "backends/kv_cache.h"
#include "io/stream.h"
#include "test.h"
#include "train/train.h"

#define FIXTURES "tests/fixtures/"
enum { MAX_SEQS = 8, MAX_TOKENS = 256, MAX_LEN = 160 };

static TinaBackend *backend;

typedef struct {
    int n_seqs, T;
    int32_t tokens[MAX_TOKENS], targets[MAX_TOKENS];
    float coefficients[MAX_TOKENS], logprobs[MAX_TOKENS];
    TinaSequence seqs[MAX_SEQS];
} Case;

/* Sequence s of n tokens runs on its first n - 1 and predicts the last n - 1. */
static bool load_case(const char *arch, Case *c) {
    char path[256];
    snprintf(path, sizeof path, FIXTURES "gradients/%s.json", arch);
    TinaBuf text = {0};
    TinaError err;
    if (tina_read_file(path, &text, &err)) return false;
    cJSON *root = cJSON_Parse(text.data);
    tina_buf_free(&text);
    const cJSON *tokens = cJSON_GetObjectItem(root, "tokens"), *coefficients = cJSON_GetObjectItem(root, "coefficients");
    const cJSON *logprobs = cJSON_GetObjectItem(root, "logprobs");
    *c = (Case){0};
    for (int s = 0; s < cJSON_GetArraySize(tokens) && s < MAX_SEQS; s++) {
        const cJSON *seq = cJSON_GetArrayItem(tokens, s);
        int n = cJSON_GetArraySize(seq);
        if (c->T + n - 1 > MAX_TOKENS || n - 1 > MAX_LEN) break;
        c->seqs[s] = (TinaSequence){.slot = s, .n_past = 0, .n_new = n - 1, .tokens = c->tokens + c->T};
        for (int t = 0; t + 1 < n; t++, c->T++) {
            c->tokens[c->T] = cJSON_GetArrayItem(seq, t)->valueint;
            c->targets[c->T] = cJSON_GetArrayItem(seq, t + 1)->valueint;
            c->coefficients[c->T] = (float)cJSON_GetArrayItem(cJSON_GetArrayItem(coefficients, s), t)->valuedouble;
            c->logprobs[c->T] = (float)cJSON_GetArrayItem(cJSON_GetArrayItem(logprobs, s), t)->valuedouble;
        }
        c->n_seqs++;
    }
    cJSON_Delete(root);
    return c->T > 0;
}

static double relative_error(const float *got, const float *want, size_t n) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        diff += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        norm += (double)want[i] * want[i];
    }
    return sqrt(diff / (norm > 0 ? norm : 1));
}

/* keep: every layer's activations kept from the forward instead of recomputed in the backward */
static void gradients_match_pytorch(const char *arch, bool keep) {
    char dir[256];
    TinaError err;
    Case c;
    CHECK(load_case(arch, &c));
    TinaModel *m = NULL;
    snprintf(dir, sizeof dir, FIXTURES "models/%s-f32", arch);
    CHECK(tina_model_load(dir, backend, MAX_TOKENS, &m, &err) == TINA_OK);
    TinaLora *lora = NULL, *want = NULL, *grads = NULL;
    snprintf(dir, sizeof dir, FIXTURES "models/%s-lora", arch);
    if (m) CHECK(tina_lora_load(dir, tina_model_config(m), &lora, &err) == TINA_OK);
    snprintf(dir, sizeof dir, FIXTURES "gradients/%s-grads", arch);
    if (m) CHECK(tina_lora_load(dir, tina_model_config(m), &want, &err) == TINA_OK);
    if (lora) CHECK(tina_lora_zeros_like(lora, &grads, &err) == TINA_OK);
    TinaTrainer *tr = NULL;
    if (m) CHECK(tina_trainer_new(m, MAX_TOKENS, MAX_LEN, 8, &tr, &err) == TINA_OK);
    if (tr && keep) CHECK(tina_trainer_keep_insides(tr, &err) == TINA_OK);
    if (!tr || !grads || !want) goto done;

    float logprobs[MAX_TOKENS];
    CHECK(tina_trainer_forward(tr, c.seqs, c.n_seqs, NULL, lora, c.targets, logprobs, &err) == TINA_OK);
    double worst = 0;
    for (int t = 0; t < c.T; t++) worst = fmax(worst, fabs((double)logprobs[t] - c.logprobs[t]));
    CHECK(worst < 1e-4);
    CHECK(tina_trainer_backward(tr, lora, c.coefficients, grads, &err) == TINA_OK);

    /* every matrix within 1e-4 relative L2 of autograd's */
    double worst_matrix = 0;
    for (int i = 0; i < lora->n_layers * TINA_LORA_TARGETS; i++) {
        if (!lora->a[i]) continue;
        int target = i % TINA_LORA_TARGETS;
        double ea = relative_error(grads->a[i], want->a[i], (size_t)lora->r * lora->in[target]);
        double eb = relative_error(grads->b[i], want->b[i], (size_t)lora->out[target] * lora->r);
        worst_matrix = fmax(worst_matrix, fmax(ea, eb));
    }
    CHECK(worst_matrix < 1e-4);
    printf("note: %s%s: log-probs within %.2g of PyTorch, LoRA gradients within %.2g relative L2 (worst matrix)\n",
           arch, keep ? " (activations kept)" : "", worst, worst_matrix);

    /* a second backward adds the same gradients again: parameter gradients accumulate */
    CHECK(tina_trainer_backward(tr, lora, c.coefficients, grads, &err) == TINA_OK);
    double doubled = 0;
    for (size_t i = 0; i < lora->n_params; i++) doubled = fmax(doubled, fabs(grads->memory[i] - 2 * want->memory[i]));
    CHECK(doubled < 1e-3);
done:
    tina_trainer_free(tr);
    tina_lora_free(grads);
    tina_lora_free(want);
    tina_lora_free(lora);
    tina_model_free(m);
}

static void qwen2_gradients_match_pytorch(void) { gradients_match_pytorch("qwen2", false); }
static void llama_gradients_match_pytorch(void) { gradients_match_pytorch("llama", false); }
static void gradients_match_pytorch_with_activations_kept(void) {
    gradients_match_pytorch("qwen2", true);
    gradients_match_pytorch("llama", true);
}

/* The forward of training equals the inference forward's log-probs (KV-cache path) on the same tokens. */
static void training_forward_equals_inference_logprobs(void) {
    TinaError err;
    Case c;
    CHECK(load_case("qwen2", &c));
    TinaModel *m = NULL;
    CHECK(tina_model_load(FIXTURES "models/qwen2-f32", backend, MAX_TOKENS, &m, &err) == TINA_OK);
    TinaTrainer *tr = NULL;
    TinaKVCache *kv = NULL;
    if (m) CHECK(tina_trainer_new(m, MAX_TOKENS, MAX_LEN, 8, &tr, &err) == TINA_OK);
    if (m) CHECK(tina_model_kv_cache(m, MAX_SEQS, MAX_LEN, 0, &kv, &err) == TINA_OK);
    if (tr && kv) {
        float train[MAX_TOKENS], infer[MAX_TOKENS];
        CHECK(tina_trainer_forward(tr, c.seqs, c.n_seqs, NULL, NULL, c.targets, train, &err) == TINA_OK);
        CHECK(tina_model_logprobs(m, kv, c.seqs, c.n_seqs, NULL, c.targets, infer, &err) == TINA_OK);
        double worst = 0;
        for (int t = 0; t < c.T; t++) worst = fmax(worst, fabs((double)train[t] - infer[t]));
        CHECK(worst < 1e-5);
    }
    tina_kv_cache_free(kv);
    tina_trainer_free(tr);
    tina_model_free(m);
}

/* The qwen2 fixture model, its adapter, zero gradients of the adapter's shape and a trainer; false if any failed. */
typedef struct {
    TinaModel *model;
    TinaLora *lora, *grads;
    TinaTrainer *trainer;
} Fixture;

static bool fixture_open(Fixture *f) {
    TinaError err;
    *f = (Fixture){0};
    CHECK(tina_model_load(FIXTURES "models/qwen2-f32", backend, MAX_TOKENS, &f->model, &err) == TINA_OK);
    if (!f->model) return false;
    CHECK(tina_lora_load(FIXTURES "models/qwen2-lora", tina_model_config(f->model), &f->lora, &err) == TINA_OK);
    if (f->lora) CHECK(tina_lora_zeros_like(f->lora, &f->grads, &err) == TINA_OK);
    CHECK(tina_trainer_new(f->model, MAX_TOKENS, MAX_LEN, 8, &f->trainer, &err) == TINA_OK);
    return f->lora && f->grads && f->trainer;
}

static void fixture_close(Fixture *f) {
    tina_trainer_free(f->trainer);
    tina_lora_free(f->grads);
    tina_lora_free(f->lora);
    tina_model_free(f->model);
}

/* sum_t c_t logp_t for the case, with the dropout masks of seed 1 */
static double loss_at(TinaTrainer *tr, const Case *c, const TinaLora *lora) {
    float logprobs[MAX_TOKENS];
    TinaError err;
    tina_trainer_set_dropout_seed(tr, 1);
    CHECK(tina_trainer_forward(tr, c->seqs, c->n_seqs, NULL, lora, c->targets, logprobs, &err) == TINA_OK);
    double loss = 0;
    for (int t = 0; t < c->T; t++) loss += (double)c->coefficients[t] * logprobs[t];
    return loss;
}

/* The backward against finite differences of the forward, with LoRA dropout 0.3 active (the masks are redrawn
 * alike for the same seed), at the largest-gradient coordinate of a few matrices. */
static void gradients_match_finite_differences_with_dropout(void) {
    TinaError err;
    Case c;
    Fixture f;
    CHECK(load_case("qwen2", &c));
    if (!fixture_open(&f)) goto done;
    TinaTrainer *tr = f.trainer;
    TinaLora *lora = f.lora, *grads = f.grads;
    double plain = loss_at(tr, &c, lora);
    lora->dropout = 0.3;
    double dropped = loss_at(tr, &c, lora);
    CHECK(fabs(dropped - plain) > 1e-3);           /* the masks act */
    CHECK(loss_at(tr, &c, lora) == dropped);       /* and are drawn again alike */
    CHECK(tina_trainer_backward(tr, lora, c.coefficients, grads, &err) == TINA_OK);
    const int matrices[][2] = {{0, TINA_LORA_Q}, {0, TINA_LORA_V}, {1, TINA_LORA_O}, {1, TINA_LORA_GATE},
                               {1, TINA_LORA_DOWN}};
    double worst = 0;
    for (size_t k = 0; k < sizeof matrices / sizeof *matrices; k++)
        for (int which = 0; which < 2; which++) {
            int i = matrices[k][0] * TINA_LORA_TARGETS + matrices[k][1], target = matrices[k][1];
            float *p = which ? lora->b[i] : lora->a[i], *g = which ? grads->b[i] : grads->a[i];
            size_t n = (size_t)lora->r * (which ? lora->out[target] : lora->in[target]), at = 0;
            for (size_t j = 1; j < n; j++)
                if (fabsf(g[j]) > fabsf(g[at])) at = j;
            float saved = p[at], h = 1e-3f;
            p[at] = saved + h;
            double up = loss_at(tr, &c, lora);
            p[at] = saved - h;
            double down = loss_at(tr, &c, lora);
            p[at] = saved;
            double numeric = (up - down) / (2.0 * h);
            worst = fmax(worst, fabs(numeric - g[at]) / fabs(g[at]));
        }
    CHECK(worst < 2e-2);
    printf("note: finite differences (dropout 0.3): worst relative error %.2g at 10 coordinates\n", worst);
done:
    fixture_close(&f);
}

/* Micro-batches add up to one batch bit for bit, on a backend that trains on copies too: the adapter's gradients
 * continue their sums over the tokens (gemm.h), and every row of a forward is the same whatever rows come with it.
 * The case in two micro-batches (its first sequences, then its last), each with a forward without the adapter (the
 * KL reference) before its own, as tina-update runs them, gives the bytes of one backward over all of it, through
 * LoRA dropout (masks keyed by the sequence, not its place in a call). The split runs on copies: the CPU backend
 * stands in for a GPU, told its memory is not the host's, so the adapter is uploaded and the gradients uploaded
 * before each backward and read back after it. */
static void micro_batches_on_copies_give_the_bytes_of_one_batch(void) {
    TinaError err;
    Case c;
    Fixture f;
    CHECK(load_case("qwen2", &c));
    if (!fixture_open(&f)) goto done;
    f.lora->dropout = 0.3;
    tina_trainer_set_dropout_seed(f.trainer, 7);
    uint64_t keys[MAX_SEQS];
    for (int s = 0; s < c.n_seqs; s++) keys[s] = 1000 + (uint64_t)s;
    float whole[MAX_TOKENS], split[MAX_TOKENS];
    CHECK(tina_trainer_forward(f.trainer, c.seqs, c.n_seqs, keys, f.lora, c.targets, whole, &err) == TINA_OK);
    CHECK(tina_trainer_backward(f.trainer, f.lora, c.coefficients, f.grads, &err) == TINA_OK);
    TinaLora *parts = NULL;
    CHECK(tina_lora_zeros_like(f.lora, &parts, &err) == TINA_OK);
    if (!parts) goto done;
    backend->host_memory = false;
    int last = c.n_seqs - 1, bounds[3] = {0, last, c.n_seqs};
    for (int part = 0, t0 = 0; part < 2; part++) {
        int from = bounds[part], n = bounds[part + 1] - from;
        float reference[MAX_TOKENS];
        CHECK(tina_trainer_forward(f.trainer, c.seqs + from, n, keys + from, NULL, c.targets + t0, reference, &err) ==
              TINA_OK);
        CHECK(tina_trainer_forward(f.trainer, c.seqs + from, n, keys + from, f.lora, c.targets + t0, split + t0, &err) ==
              TINA_OK);
        CHECK(tina_trainer_backward(f.trainer, f.lora, c.coefficients + t0, parts, &err) == TINA_OK);
        for (int s = from; s < from + n; s++) t0 += c.seqs[s].n_new;
    }
    backend->host_memory = true;
    CHECK(memcmp(split, whole, (size_t)c.T * sizeof *split) == 0);
    double norm = 0;
    for (size_t i = 0; i < f.grads->n_params; i++) norm += (double)f.grads->memory[i] * f.grads->memory[i];
    CHECK(norm > 0 && memcmp(parts->memory, f.grads->memory, f.grads->n_params * sizeof *parts->memory) == 0);
    tina_lora_free(parts);
done:
    backend->host_memory = true;
    fixture_close(&f);
}

static void backward_refuses_without_forward_or_with_other_shapes(void) {
    TinaError err;
    Fixture f;
    if (fixture_open(&f)) {
        float dlogp[1] = {1};
        CHECK(tina_trainer_backward(f.trainer, f.lora, dlogp, f.grads, &err) == TINA_ERR_RUNTIME);
        int32_t tokens[MAX_LEN + 1] = {0}, targets[MAX_LEN + 1] = {0};
        TinaSequence too_long = {.n_new = MAX_LEN + 1, .tokens = tokens};
        float logprobs[MAX_LEN + 1];
        CHECK(tina_trainer_forward(f.trainer, &too_long, 1, NULL, f.lora, targets, logprobs, &err) == TINA_ERR_INPUT);
        TinaSequence from_middle = {.n_past = 3, .n_new = 2, .tokens = tokens};
        CHECK(tina_trainer_forward(f.trainer, &from_middle, 1, NULL, f.lora, targets, logprobs, &err) == TINA_ERR_INPUT);
    }
    fixture_close(&f);
}

int main(void) {
    TinaError err;
    if (tina_cpu_backend_new(0, &backend, &err)) return 1;
    static const TestCase tests[] = {
        {"qwen2_gradients_match_pytorch", qwen2_gradients_match_pytorch},
        {"llama_gradients_match_pytorch", llama_gradients_match_pytorch},
        {"gradients_match_pytorch_with_activations_kept", gradients_match_pytorch_with_activations_kept},
        {"training_forward_equals_inference_logprobs", training_forward_equals_inference_logprobs},
        {"gradients_match_finite_differences_with_dropout", gradients_match_finite_differences_with_dropout},
        {"micro_batches_on_copies_give_the_bytes_of_one_batch", micro_batches_on_copies_give_the_bytes_of_one_batch},
        {"backward_refuses_without_forward_or_with_other_shapes", backward_refuses_without_forward_or_with_other_shapes},
    };
    int status = test_main("train", tests, sizeof tests / sizeof *tests);
    backend->destroy(backend);
    return status;
}

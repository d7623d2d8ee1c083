/* tina-sample: G completions per prompt record, with the log-probs the trainer needs; or, with --forced, the
 * log-probs of completions that are already there. The engine is lib/model/generate.h; this file reads prompts, keeps
 * each prompt's samples until all G are done, and writes them in input order. */
#define _GNU_SOURCE /* memmem */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat.h"
#include "cli.h"
#include "io/fields.h"
#include "io/config.h"
#include "model/generate.h"
#include "backends/kv_cache.h"
#include "base/progress.h"
#include "io/record.h"
#include "base/rng.h"
#include "base/strmap.h"
#include "io/stream.h"
#include "text/tokenizer.h"
#include "base/utf8.h"

static const char usage[] =
    "Usage: tina-sample --model DIR [OPTION]... [INPUT]...\n"
    "Generate -n completions of each prompt record (\"problem\", or \"prompt_tokens\") with the model and adapter, and\n"
    "write one rollout record per sample, the samples of a prompt together, prompts in input order. INPUT is JSON\n"
    "lines, plain or zstd; none or \"-\" reads stdin.\n"
    "\n"
    "  -m, --model DIR            the base model (config.json, model.safetensors)\n"
    "  -a, --adapter DIR          a LoRA adapter in PEFT's layout (default: the base model alone)\n"
    "      --tokenizer PATH       the tokenizer (default: the model folder)\n"
    "  -n, --samples G            completions per prompt (default 1)\n"
    "      --template NAME        chat template for \"problem\": deepseek-r1, deepseek-r1-lighteval,\n"
    "                             tina (default), qwen, smollm2, plain\n"
    "      --problem-field NAME   the problem's field, text or chat messages (default: \"problem\", else a\n"
    "                             TRL \"prompt\", else \"question\")\n"
    "      --system TEXT          system prompt for records without \"system\"\n"
    "      --system-file FILE     the same, FILE's bytes as they are (a last newline kept)\n"
    "      --prefix TEXT          put before every problem\n"
    "      --prefix-file FILE     the same, FILE's bytes as they are\n"
    "      --suffix TEXT          appended to every problem\n"
    "  -t, --temperature T        0 is greedy (default: generation_config.json, else 1)\n"
    "      --top-p P              (default: generation_config.json, else 1)\n"
    "      --top-k K              0 is off (default: generation_config.json, else 0)\n"
    "      --max-new-tokens N     completion length limit, finish_reason \"length\" (default 1024)\n"
    "      --max-prompt-tokens N  longer prompts are cut from the left or skipped (default 1024)\n"
    "      --long-prompts WHAT    truncate (default, as TRL) or skip\n"
    "      --max-model-len N      also end a completion (by length) once prompt and completion hold more than\n"
    "                             N tokens, as vLLM 0.7's engine does (Tina's vllm_max_model_len; default: none)\n"
    "      --seed S               (default 42)\n"
    "      --stop STR             also stop where the text contains STR (repeatable; the text ends before it)\n"
    "      --ignore-eos           do not stop at EOS (for benchmarks: every completion gets --max-new-tokens)\n"
    "      --logprobs-at-temperature  log-probs of the tempered distribution (default: at temperature 1, as Tina)\n"
    "      --batch N|auto         sequences decoded together, at least G; auto: twice as many as a KV cache of 90%\n"
    "                             of the free memory holds at full length, at most 1024 (default: auto with\n"
    "                             --device cuda, else 32)\n"
    "      --kv-tokens N          positions the KV cache holds in all; sequences that outgrow it are preempted and\n"
    "                             resumed (default: 90% of the free memory with --batch auto, else --batch x\n"
    "                             (--max-prompt-tokens + --max-new-tokens), no more than 90% of the free memory)\n"
    "      --prefill-tokens N     prompts prefilled together in one call, up to N tokens (default: 8192 with\n"
    "                             --device cuda; 0 on the CPU: one a call, the results independent of --batch)\n"
    "      --threads N            CPU threads (default: all)\n"
    "      --device NAME          cpu (default), or cuda (bf16 on the first GPU; a build with CUDA=1)\n"
    "      --forced               read rollouts and recompute \"logprobs\" of their completion_tokens\n"
    "      --no-adapter           with --forced: the base model (the KL reference)\n"
    "      --as FIELD             with --forced: write the log-probs to FIELD (e.g. ref_logprobs)\n"
    "  -o, --output FILE          write to FILE (zstd if it ends in .zst; atomically) instead of stdout\n"
    "  -q, --quiet                no summary line on stderr\n"
    "      --progress             show progress on stderr even when it is not a terminal\n"
    "  -h, --help                 show this help and exit\n"
    "  -V, --version              show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or input. See tina-sample(1).\n";

enum { MAX_STOPS = 16, AUTO_BATCH = 0, AUTO_BATCH_MOST = 1024 };

typedef struct {
    const char *model, *adapter, *tokenizer, *output, *system, *prefix, *suffix, *problem_field, *as_field, *device;
    int samples, top_k, max_new, max_prompt, max_model_len, batch, prefill, threads, n_stops;
    long long kv_tokens;
    double temperature, top_p;
    bool has_temperature, has_top_p, has_top_k, skip_long, at_temperature, forced, no_adapter, quiet, progress;
    bool ignore_eos;
    TinaTemplate template;
    unsigned long long seed;
    const char *stops[MAX_STOPS];
} Options;

/* a text file's bytes, exactly, for option, read into text (static: the process keeps them to its end) */
static const char *text_file(const char *option, const char *path, TinaBuf *text) {
    TinaError err = {0};
    if (tina_read_file(path, text, &err)) cli_usage_error("%s: %s", option, err.message);
    if (!text->data || memchr(text->data, '\0', text->len)) cli_usage_error("%s %s: empty, or holds a NUL byte", option, path);
    return text->data;
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_TOKENIZER = 256, OPT_TEMPLATE, OPT_SYSTEM, OPT_SYSTEM_FILE, OPT_PREFIX, OPT_PREFIX_FILE, OPT_SUFFIX, OPT_PROBLEM_FIELD, OPT_TOP_P, OPT_TOP_K, OPT_MAX_NEW, OPT_MAX_PROMPT, OPT_MAX_MODEL_LEN,
           OPT_LONG, OPT_SEED, OPT_STOP, OPT_AT_TEMPERATURE, OPT_BATCH, OPT_THREADS, OPT_DEVICE, OPT_FORCED,
           OPT_NO_ADAPTER, OPT_AS, OPT_PROGRESS, OPT_IGNORE_EOS, OPT_PREFILL, OPT_KV_TOKENS };
    static const struct option long_options[] = {
        {"model", required_argument, NULL, 'm'}, {"adapter", required_argument, NULL, 'a'},
        {"tokenizer", required_argument, NULL, OPT_TOKENIZER}, {"samples", required_argument, NULL, 'n'},
        {"template", required_argument, NULL, OPT_TEMPLATE}, {"system", required_argument, NULL, OPT_SYSTEM},
        {"system-file", required_argument, NULL, OPT_SYSTEM_FILE},
        {"prefix", required_argument, NULL, OPT_PREFIX}, {"prefix-file", required_argument, NULL, OPT_PREFIX_FILE},
        {"suffix", required_argument, NULL, OPT_SUFFIX}, {"problem-field", required_argument, NULL, OPT_PROBLEM_FIELD},
        {"temperature", required_argument, NULL, 't'},
        {"top-p", required_argument, NULL, OPT_TOP_P}, {"top-k", required_argument, NULL, OPT_TOP_K},
        {"max-new-tokens", required_argument, NULL, OPT_MAX_NEW},
        {"max-prompt-tokens", required_argument, NULL, OPT_MAX_PROMPT},
        {"max-model-len", required_argument, NULL, OPT_MAX_MODEL_LEN},
        {"long-prompts", required_argument, NULL, OPT_LONG}, {"seed", required_argument, NULL, OPT_SEED},
        {"stop", required_argument, NULL, OPT_STOP}, {"ignore-eos", no_argument, NULL, OPT_IGNORE_EOS},
        {"logprobs-at-temperature", no_argument, NULL, OPT_AT_TEMPERATURE},
        {"batch", required_argument, NULL, OPT_BATCH}, {"prefill-tokens", required_argument, NULL, OPT_PREFILL},
        {"kv-tokens", required_argument, NULL, OPT_KV_TOKENS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"device", required_argument, NULL, OPT_DEVICE}, {"forced", no_argument, NULL, OPT_FORCED},
        {"no-adapter", no_argument, NULL, OPT_NO_ADAPTER}, {"as", required_argument, NULL, OPT_AS},
        {"output", required_argument, NULL, 'o'}, {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
    };
    static const char *const long_prompts[] = {"truncate", "skip", NULL};
    static TinaBuf system_text, prefix_text; /* --system-file's and --prefix-file's */
    static const char *const devices[] = {"cpu", "cuda", NULL};
    Options o = {.samples = 1, .max_new = 1024, .max_prompt = 1024, .batch = -1, .prefill = -1, .seed = 42,
                 .template = TINA_TEMPLATE_TINA, .as_field = "logprobs", .device = "cpu"};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":m:a:n:t:o:qhV", long_options, NULL)) != -1;) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'a': o.adapter = optarg; break;
        case OPT_TOKENIZER: o.tokenizer = optarg; break;
        case 'n': o.samples = (int)cli_integer("--samples", optarg, 1, 4096); break;
        case OPT_TEMPLATE:
            if (!tina_chat_template(optarg, &o.template))
                cli_usage_error("--template: '%s' is not one of: %s", optarg, tina_chat_template_names());
            break;
        case OPT_SYSTEM: o.system = optarg; break;
        case OPT_SYSTEM_FILE: o.system = text_file("--system-file", optarg, &system_text); break;
        case OPT_PREFIX: o.prefix = optarg; break;
        case OPT_PREFIX_FILE: o.prefix = text_file("--prefix-file", optarg, &prefix_text); break;
        case OPT_SUFFIX: o.suffix = optarg; break;
        case OPT_PROBLEM_FIELD: o.problem_field = optarg; break;
        case 't': o.temperature = cli_double("--temperature", optarg, 0, 100), o.has_temperature = true; break;
        case OPT_TOP_P: o.top_p = cli_double("--top-p", optarg, 1e-9, 1), o.has_top_p = true; break;
        case OPT_TOP_K: o.top_k = (int)cli_integer("--top-k", optarg, 0, 1 << 30), o.has_top_k = true; break;
        case OPT_MAX_NEW: o.max_new = (int)cli_integer("--max-new-tokens", optarg, 1, 1 << 20); break;
        case OPT_MAX_PROMPT: o.max_prompt = (int)cli_integer("--max-prompt-tokens", optarg, 1, 1 << 20); break;
        case OPT_MAX_MODEL_LEN: o.max_model_len = (int)cli_integer("--max-model-len", optarg, 1, 1 << 21); break;
        case OPT_LONG: o.skip_long = cli_choice("--long-prompts", optarg, long_prompts) == 1; break;
        case OPT_SEED: o.seed = (unsigned long long)cli_integer("--seed", optarg, 0, INT64_MAX); break;
        case OPT_STOP:
            if (o.n_stops == MAX_STOPS) cli_usage_error("at most %d --stop strings", MAX_STOPS);
            if (!optarg[0]) cli_usage_error("--stop: an empty string would stop at once");
            o.stops[o.n_stops++] = optarg;
            break;
        case OPT_IGNORE_EOS: o.ignore_eos = true; break;
        case OPT_AT_TEMPERATURE: o.at_temperature = true; break;
        case OPT_BATCH:
            o.batch = strcmp(optarg, "auto") == 0 ? AUTO_BATCH : (int)cli_integer("--batch", optarg, 1, 1 << 16);
            break;
        case OPT_PREFILL: o.prefill = (int)cli_integer("--prefill-tokens", optarg, 0, 1 << 20); break;
        case OPT_KV_TOKENS: o.kv_tokens = cli_integer("--kv-tokens", optarg, 1, 1LL << 40); break;
        case OPT_THREADS: o.threads = (int)cli_integer("--threads", optarg, 1, 1024); break;
        case OPT_DEVICE: o.device = devices[cli_choice("--device", optarg, devices)]; break;
        case OPT_FORCED: o.forced = true; break;
        case OPT_NO_ADAPTER: o.no_adapter = true; break;
        case OPT_AS: o.as_field = optarg; break;
        case 'o': o.output = optarg; break;
        case 'q': o.quiet = true; break;
        case OPT_PROGRESS: o.progress = true; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    if (!o.model) cli_usage_error("--model is required");
    if (o.max_model_len && o.max_model_len < o.max_prompt)
        cli_usage_error("--max-model-len %d is below --max-prompt-tokens %d (vLLM refuses a prompt longer than its "
                        "max_model_len)", o.max_model_len, o.max_prompt);
    /* --as writes log-probs: under a new name, or one of the two fields that hold them, never another record field */
    bool taken = !*o.as_field;
    for (int i = 0; i < TINA_FIELD_COUNT; i++)
        taken |= strcmp(o.as_field, tina_field_names[i]) == 0 && i != TINA_FIELD_LOGPROBS &&
                 i != TINA_FIELD_REF_LOGPROBS;
    if (taken) cli_usage_error("--as '%s': a rollout's own field (expected a new name, such as ref_logprobs)", o.as_field);
    if (!o.forced && (o.no_adapter || strcmp(o.as_field, "logprobs") != 0))
        cli_usage_error("--no-adapter and --as go with --forced");
    /* teacher forcing scores at temperature 1 only: a tempered sampler's log-probs would be overwritten by others */
    if (o.forced && o.at_temperature)
        cli_usage_error("--forced computes log-probs at temperature 1: --logprobs-at-temperature does not go with it");
    if (o.batch < 0) o.batch = strcmp(o.device, "cuda") == 0 ? AUTO_BATCH : 32;
    if (o.batch != AUTO_BATCH && o.batch < o.samples) o.batch = o.samples;
    if (o.prefill < 0) o.prefill = strcmp(o.device, "cuda") == 0 ? 8192 : 0;
    if (!o.tokenizer) o.tokenizer = o.model;
    return o;
}

typedef struct {
    TinaIds tokens;
    float *logprobs;
    size_t n_logprobs, cap_logprobs;
    TinaBuf text;
    TinaDecodeStream stream;
    bool by_length;
} Sample;

typedef struct Prompt {
    char *line;
    size_t len;
    TinaIds tokens;
    int remaining;
    Sample *samples; /* (G,) */
    struct Prompt *next;
} Prompt;

typedef struct {
    const Options *o;
    TinaTokenizer *tokenizer;
    TinaReader *reader;
    TinaWriter *writer;
    TinaGenerationConfig generation;
    Prompt *head, *tail; /* prompts in flight, in input order */
    TinaBuf line, value, id;
    const char *policy;
    long long prompts, truncated, skipped, tokens;
    long long without_id; /* prompts without an "id" */
    TinaStrMap *ids;      /* the prompts' ids, each to where it was read: its input's number x 2^32 + its line */
    const char **inputs;  /* the inputs' names, in the order read */
    int n_inputs;
    long long written; /* prompts done with: written out or skipped */
    TinaProgress progress;
    TinaGenStats stats;
} Run;

static void free_prompt(Prompt *p, int G) {
    for (int i = 0; p->samples && i < G; i++) {
        tina_ids_free(&p->samples[i].tokens);
        free(p->samples[i].logprobs);
        tina_buf_free(&p->samples[i].text);
    }
    free(p->samples);
    tina_ids_free(&p->tokens);
    free(p->line);
    free(p);
}

/* The prompt's tokens: "prompt_tokens" as given, or the record's turn (tina_chat_turn) rendered and encoded. */
static TinaStatus prompt_tokens(Run *r, const cJSON *record, TinaIds *ids, int vocab, TinaError *err) {
    if (cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(PROMPT_TOKENS)))
        return tina_record_ids(record, TINA_FIELD(PROMPT_TOKENS), vocab, ids, err);
    const char *problem = NULL, *system = r->o->system;
    TinaStatus status = tina_chat_turn(record, r->o->problem_field, &problem, &system, err);
    /* a prompt that is not UTF-8 is a damaged file, not text to sample from (tina-tokenize reads it as U+FFFD) */
    if (!status && !tina_utf8_valid(problem, strlen(problem)))
        status = tina_error(err, TINA_ERR_INPUT, "the problem's text is not valid UTF-8");
    if (!status && system && !tina_utf8_valid(system, strlen(system)))
        status = tina_error(err, TINA_ERR_INPUT, "the system prompt is not valid UTF-8");
    TinaBuf text = {0};
    if (!status)
        status = tina_chat_render(r->o->template, tina_tokenizer_special_tokens(r->tokenizer)->bos.text, system,
                                  r->o->prefix, problem, r->o->suffix, &text, err);
    if (!status) status = tina_tokenizer_encode(r->tokenizer, text.data, text.len, false, ids, err);
    tina_buf_free(&text);
    return status;
}

static TinaStatus next_prompt(void *ctx, TinaGenPrompt *out, bool *more, TinaError *err);
static bool on_token(void *ctx, void *user, int sample, int32_t token, double logprob);
static TinaStatus on_done(void *ctx, void *user, int sample, bool by_length, TinaError *err);

static TinaStatus next_prompt(void *ctx, TinaGenPrompt *out, bool *more, TinaError *err) {
    Run *r = ctx;
    int G = r->o->samples;
    for (;;) {
        const char *line;
        size_t len;
        TinaStatus status = tina_reader_next(r->reader, &line, &len, err);
        if (status) return status;
        if (!line) {
            *more = false;
            return TINA_OK;
        }
        cJSON *record;
        status = tina_record_parse(line, len, &record, err);
        if (status) return status;
        Prompt *p = calloc(1, sizeof *p);
        if (!p || !(p->samples = calloc((size_t)G, sizeof *p->samples)) || !(p->line = malloc(len + 1))) {
            cJSON_Delete(record);
            if (p) free_prompt(p, G);
            return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        }
        memcpy(p->line, line, len + 1);
        p->len = len;
        p->remaining = G;
        status = prompt_tokens(r, record, &p->tokens, tina_tokenizer_vocab_size(r->tokenizer), err);
        tina_buf_clear(&r->id); /* the prompt's RNG stream: its id, or its place in the input */
        if (!status && cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(ID))) {
            status = tina_record_key(record, TINA_FIELD(ID), &r->id, err);
            /* one id, two prompts: one random stream for both, one group for tina-advantage (which refuses it
             * after all the sampling), each sample twice for tina-score */
            bool added = true;
            const char *input = tina_reader_name(r->reader);
            if (!status && (!r->n_inputs || r->inputs[r->n_inputs - 1] != input)) {
                const char **grown = realloc(r->inputs, (size_t)(r->n_inputs + 1) * sizeof *grown);
                if (grown) (r->inputs = grown)[r->n_inputs++] = input;
                else status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
            }
            int64_t at = ((int64_t)(r->n_inputs - 1) << 32) + tina_reader_line(r->reader), first = 0;
            if (!status && !r->ids) status = tina_strmap_new(&r->ids, err);
            if (!status) status = tina_strmap_insert(r->ids, r->id.data, r->id.len, at, &added, err);
            if (!status && !added && tina_strmap_get(r->ids, r->id.data, r->id.len, &first))
                status = tina_error(err, TINA_ERR_INPUT, "id \"%s\" is also the id of the prompt at %s:%lld: give "
                                    "each prompt an id of its own (tina-advantage groups samples and tina-score "
                                    "counts them by id)", r->id.data, r->inputs[first >> 32],
                                    (long long)(first & 0xFFFFFFFF));
        } else if (!status) {
            char number[32];
            snprintf(number, sizeof number, "#%lld", r->prompts);
            status = tina_buf_append_str(&r->id, number, err);
            if (!r->without_id++ && !r->o->quiet) /* said once: the next tools cannot group or score its samples */
                fprintf(stderr, "%s: prompt %lld has no \"id\" (numbered %s here): tina-advantage groups and "
                        "tina-score counts samples by id, so give every prompt one\n", cli_program(),
                        r->prompts + 1, number);
        }
        cJSON_Delete(record);
        if (!status && p->tokens.len == 0) status = tina_error(err, TINA_ERR_INPUT, "the prompt is empty");
        if (status) {
            free_prompt(p, G);
            return status;
        }
        if ((int)p->tokens.len > r->o->max_prompt) {
            if (r->o->skip_long) {
                r->skipped++;
                r->written++; /* done with, for the progress bar */
                free_prompt(p, G);
                continue;
            }
            size_t cut = p->tokens.len - (size_t)r->o->max_prompt; /* keep the end, where the question is */
            memmove(p->tokens.data, p->tokens.data + cut, (size_t)r->o->max_prompt * sizeof *p->tokens.data);
            p->tokens.len = (size_t)r->o->max_prompt;
            r->truncated++;
        }
        *out = (TinaGenPrompt){p->tokens.data, (int)p->tokens.len, tina_rng_name(r->id.data, r->id.len), p};
        if (r->tail) r->tail->next = p;
        else r->head = p;
        r->tail = p;
        r->prompts++;
        *more = true;
        return TINA_OK;
    }
}

static bool is_eos(const Run *r, int32_t token) {
    for (int i = 0; i < r->generation.n_eos; i++)
        if (r->generation.eos[i] == token) return true;
    return false;
}

static bool on_token(void *ctx, void *user, int sample, int32_t token, double logprob) {
    Run *r = ctx;
    Sample *s = &((Prompt *)user)->samples[sample];
    TinaError err;
    r->tokens++;
    bool grown = s->n_logprobs < s->cap_logprobs;
    if (!grown) {
        size_t cap = s->cap_logprobs ? 2 * s->cap_logprobs : 256;
        float *bigger = realloc(s->logprobs, cap * sizeof *bigger);
        if (bigger) s->logprobs = bigger, s->cap_logprobs = cap, grown = true;
    }
    if (!grown || tina_ids_push(&s->tokens, token, &err)) return true; /* out of memory: end the sample; reported below */
    s->logprobs[s->n_logprobs++] = (float)logprob;
    if (is_eos(r, token)) return true;
    size_t before = s->text.len;
    if (tina_tokenizer_decode_next(r->tokenizer, &s->stream, token, false, &s->text, &err)) return true;
    for (int i = 0; i < r->o->n_stops; i++) { /* look where the new text could complete a stop string */
        size_t n = strlen(r->o->stops[i]), from = before >= n ? before - n + 1 : 0;
        const char *hit = s->text.len >= n ? memmem(s->text.data + from, s->text.len - from, r->o->stops[i], n) : NULL;
        if (hit) {
            s->text.len = (size_t)(hit - s->text.data);
            s->text.data[s->text.len] = '\0';
            s->stream.n_pending = 0;
            return true;
        }
    }
    return false;
}

/* Writes the prompt's G rollout records. */
static TinaStatus write_prompt(Run *r, Prompt *p, TinaError *err) {
    TinaBuf fields[8] = {{0}};
    TinaStatus status = TINA_OK;
    for (int i = 0; i < r->o->samples && !status; i++) {
        Sample *s = &p->samples[i];
        char number[32];
        for (int f = 0; f < 8; f++) tina_buf_clear(&fields[f]);
        snprintf(number, sizeof number, "%d", i);
        status = tina_buf_append_str(&fields[0], number, err);
        if (!status) status = tina_record_format_ids(&fields[1], p->tokens.data, p->tokens.len, err);
        if (!status) status = tina_record_format_string(&fields[2], s->text.data ? s->text.data : "", s->text.len, err);
        if (!status) status = tina_record_format_ids(&fields[3], s->tokens.data, s->tokens.len, err);
        if (!status) status = tina_record_format_floats(&fields[4], s->logprobs, s->n_logprobs, err);
        if (!status) status = tina_buf_append_str(&fields[5], s->by_length ? "\"length\"" : "\"stop\"", err);
        if (!status) status = tina_record_format_string(&fields[6], r->policy, strlen(r->policy), err);
        snprintf(number, sizeof number, "%llu", r->o->seed);
        if (!status) status = tina_buf_append_str(&fields[7], number, err);
        TinaField set[8] = {{TINA_FIELD(SAMPLE), fields[0].data}, {TINA_FIELD(PROMPT_TOKENS), fields[1].data},
                            {TINA_FIELD(COMPLETION), fields[2].data}, {TINA_FIELD(COMPLETION_TOKENS), fields[3].data},
                            {TINA_FIELD(LOGPROBS), fields[4].data}, {TINA_FIELD(FINISH_REASON), fields[5].data},
                            {TINA_FIELD(POLICY), fields[6].data}, {TINA_FIELD(SEED), fields[7].data}};
        tina_buf_clear(&r->line);
        if (!status) status = tina_record_splice(&r->line, p->line, p->len, set, 8, err);
        if (!status) status = tina_writer_line(r->writer, r->line.data, r->line.len, err);
    }
    for (int f = 0; f < 8; f++) tina_buf_free(&fields[f]);
    return status;
}

static TinaStatus on_done(void *ctx, void *user, int sample, bool by_length, TinaError *err) {
    Run *r = ctx;
    Prompt *p = user;
    Sample *s = &p->samples[sample];
    if (s->cap_logprobs == 0 || s->tokens.len != s->n_logprobs)
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (keeping a completion)");
    s->by_length = by_length;
    TinaStatus status = tina_tokenizer_decode_flush(&s->stream, &s->text, err);
    p->remaining--;
    while (!status && r->head && r->head->remaining == 0) { /* the oldest prompts, complete, go out in order */
        Prompt *done = r->head;
        status = write_prompt(r, done, err);
        r->head = done->next;
        if (!r->head) r->tail = NULL;
        free_prompt(done, r->o->samples);
        r->progress.also_done = r->tokens;
        tina_progress_update(&r->progress, ++r->written);
    }
    return status;
}

/* --forced: one rollout at a time, its completion's log-probs under the model. */
static TinaStatus force(Run *r, TinaModel *model, const TinaLora *lora, TinaError *err) {
    TinaKVCache *kv = NULL;
    int limit = r->o->max_prompt + r->o->max_new;
    TinaStatus status = tina_model_kv_cache(model, 1, limit, 0, &kv, err);
    TinaIds tokens = {0}, completion = {0}, targets = {0};
    float *logprobs = malloc((size_t)limit * sizeof *logprobs);
    if (!status && !logprobs) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    while (!status) {
        const char *line;
        size_t len;
        cJSON *record;
        status = tina_reader_next(r->reader, &line, &len, err);
        if (status || !line) break;
        status = tina_record_parse(line, len, &record, err);
        if (status) break;
        tokens.len = completion.len = targets.len = 0;
        int vocab = tina_model_config(model)->vocab;
        status = tina_record_ids(record, TINA_FIELD(PROMPT_TOKENS), vocab, &tokens, err);
        if (!status) status = tina_record_ids(record, TINA_FIELD(COMPLETION_TOKENS), vocab, &completion, err);
        cJSON_Delete(record);
        if (!status && (tokens.len == 0 || completion.len == 0))
            status = tina_error(err, TINA_ERR_INPUT, "prompt_tokens and completion_tokens must not be empty");
        if (!status && (int)(tokens.len + completion.len) > limit)
            status = tina_error(err, TINA_ERR_INPUT, "%zu tokens are more than --max-prompt-tokens + --max-new-tokens",
                                tokens.len + completion.len);
        if (status) break;
        size_t n_prompt = tokens.len;
        status = tina_ids_append(&tokens, completion.data, completion.len, err);
        for (size_t i = 1; !status && i < tokens.len; i++) status = tina_ids_push(&targets, tokens.data[i], err);
        if (!status) status = tina_ids_push(&targets, 0, err); /* the last position predicts nothing asked for */
        TinaSequence seq = {0, 0, (int)tokens.len, tokens.data};
        if (!status) status = tina_model_logprobs(model, kv, &seq, 1, lora, targets.data, logprobs, err);
        tina_buf_clear(&r->value);
        tina_buf_clear(&r->line);
        if (!status) status = tina_record_format_floats(&r->value, logprobs + n_prompt - 1, completion.len, err);
        TinaField field = {r->o->as_field, r->value.data};
        if (!status) status = tina_record_splice(&r->line, line, len, &field, 1, err);
        if (!status) status = tina_writer_line(r->writer, r->line.data, r->line.len, err);
        r->prompts++;
        r->tokens += (long long)completion.len;
        r->progress.also_done = r->tokens;
        tina_progress_update(&r->progress, r->prompts);
    }
    tina_ids_free(&tokens);
    tina_ids_free(&completion);
    tina_ids_free(&targets);
    free(logprobs);
    tina_kv_cache_free(kv);
    return status;
}

/* The KV cache's pages, and with --batch auto the slots: a cache of 90% of the backend's free memory once the model
 * is loaded (less a row of logits to draw from for each slot) and twice the sequences it holds at full length,
 * between G and AUTO_BATCH_MOST; else --batch x the full length, within that memory; or --kv-tokens. */
static int kv_pages(TinaModel *model, TinaBackend *backend, Options *o) {
    size_t page = tina_model_kv_page_bytes(model), logits_row = (size_t)tina_model_config(model)->vocab * sizeof(float);
    size_t memory = backend->free_memory(backend) / 10 * 9;
    size_t full = (size_t)tina_kv_cache_pages_of(o->max_prompt + o->max_new); /* a sequence at its longest */
    if (o->batch == AUTO_BATCH) {
        size_t slots = memory / (full * page / 2 + logits_row);
        int most = AUTO_BATCH_MOST > o->samples ? AUTO_BATCH_MOST : o->samples;
        o->batch = slots > (size_t)most ? most : slots < (size_t)o->samples ? o->samples : (int)slots;
    }
    size_t logits = (size_t)o->batch * logits_row, fits = memory > logits ? (memory - logits) / page : 0;
    size_t pages = full * (size_t)o->batch < fits ? full * (size_t)o->batch : fits;
    if (o->kv_tokens) pages = ((size_t)o->kv_tokens + TINA_KV_PAGE - 1) / TINA_KV_PAGE;
    /* 0 pages (no memory): the cache then says it cannot hold one sequence */
    return pages > INT32_MAX / TINA_KV_PAGE ? INT32_MAX / TINA_KV_PAGE : pages ? (int)pages : 1;
}

int main(int argc, char **argv) {
    cli_init("tina-sample");
    Options o = parse_options(argc, argv);
    TinaError err = {0};
    Run r = {.o = &o, .policy = o.adapter && !o.no_adapter ? o.adapter : "base"};
    TinaBackend *backend = NULL;
    TinaModel *model = NULL;
    TinaLora *lora = NULL;
    bool reading = false;
    tina_progress_start(&r.progress, cli_program(), o.forced ? "rollouts" : "prompts",
                        tina_progress_count_lines((const char *const *)argv + optind, argc - optind), o.progress);
    r.progress.also = "tokens";
    double started = tina_progress_now();
    TinaStatus status = tina_tokenizer_load(o.tokenizer, &r.tokenizer, &err);
    if (!status) status = tina_generation_config_load(o.model, &r.generation, &err);
    if (o.ignore_eos) r.generation.n_eos = 0;
    else if (!status && r.generation.n_eos == 0) { /* no generation_config.json: the tokenizer's EOS */
        int32_t eos = tina_tokenizer_special_tokens(r.tokenizer)->eos.id;
        if (eos >= 0) r.generation.eos[r.generation.n_eos++] = eos;
    }
    if (!status) status = tina_backend_new(o.device, o.threads, &backend, &err);
    int batch = o.batch != AUTO_BATCH ? o.batch : AUTO_BATCH_MOST > o.samples ? AUTO_BATCH_MOST : o.samples;
    int max_tokens = o.forced ? o.max_prompt + o.max_new : batch > o.max_prompt ? batch : o.max_prompt;
    if (!o.forced && o.prefill > max_tokens) max_tokens = o.prefill;
    if (!status) status = tina_model_load(o.model, backend, max_tokens, &model, &err);
    if (!status && o.adapter) status = tina_lora_load(o.adapter, tina_model_config(model), &lora, &err);
    int pages = !status && !o.forced ? kv_pages(model, backend, &o) : 0;
    double loaded = tina_progress_now();
    if (!status) status = tina_reader_open(&r.reader, (const char *const *)argv + optind, argc - optind, &err);
    if (!status) status = tina_writer_open(&r.writer, o.output, &err);
    reading = !status;
    if (!status && o.forced) status = force(&r, model, o.no_adapter ? NULL : lora, &err);
    else if (!status) {
        TinaGenParams params = {
            .sampling = {o.has_temperature ? o.temperature : r.generation.temperature,
                         o.has_top_p ? o.top_p : r.generation.top_p, o.has_top_k ? o.top_k : r.generation.top_k,
                         tina_tokenizer_vocab_size(r.tokenizer), o.at_temperature},
            .n_samples = o.samples, .max_new_tokens = o.max_new, .max_prompt_tokens = o.max_prompt,
            .max_model_len = o.max_model_len, .slots = o.batch, .kv_pages = pages, .prefill_tokens = o.prefill,
            .seed = o.seed, .stats = &r.stats};
        TinaGenCallbacks callbacks = {next_prompt, on_token, on_done, &r};
        status = tina_generate(model, lora, &params, &callbacks, &err);
    }
    r.progress.also_done = r.tokens;
    tina_progress_finish(&r.progress, o.forced ? r.prompts : r.written);
    if (!status) {
        status = tina_writer_commit(r.writer, &err);
        r.writer = NULL;
    }
    if (status == TINA_ERR_INPUT && reading && tina_reader_line(r.reader) > 0)
        cli_report_at(tina_reader_name(r.reader), tina_reader_line(r.reader), &err);
    else if (status) cli_report(&err);
    else if (!o.quiet) {
        double seconds = tina_progress_now() - loaded;
        fprintf(stderr, "%s: %lld %s, %lld tokens %s in %.1f s (%.1f tokens/s; loading %.1f s before)", cli_program(),
                r.prompts, o.forced ? "rollouts" : "prompts", r.tokens, o.forced ? "scored" : "generated", seconds,
                (double)r.tokens / seconds, loaded - started);
        if (!o.forced) {
            fprintf(stderr, "; model %.1f s in %lld prefill calls and %.1f s in %lld decode steps of up to %d "
                    "sequences (tokens drawn included); a KV cache of %lld tokens (%.3g GiB on %s)",
                    r.stats.prefill_seconds, r.stats.prefill_calls, r.stats.decode_seconds, r.stats.steps, o.batch,
                    (long long)pages * TINA_KV_PAGE,
                    (double)pages * (double)tina_model_kv_page_bytes(model) / (1 << 30), o.device);
            if (r.stats.preemptions)
                fprintf(stderr, "; %lld sequences preempted for want of it, %lld positions recomputed",
                        r.stats.preemptions, r.stats.recomputed_tokens);
        }
        if (r.truncated || r.skipped)
            fprintf(stderr, "; %lld prompt%s longer than %d tokens %s", r.truncated + r.skipped,
                    r.truncated + r.skipped == 1 ? "" : "s", o.max_prompt, r.skipped ? "skipped" : "cut from the left");
        fputc('\n', stderr);
    }
    while (r.head) {
        Prompt *next = r.head->next;
        free_prompt(r.head, o.samples);
        r.head = next;
    }
    tina_writer_abort(r.writer);
    tina_reader_close(r.reader);
    tina_lora_free(lora);
    tina_model_free(model);
    if (backend) backend->destroy(backend);
    tina_tokenizer_free(r.tokenizer);
    tina_buf_free(&r.line);
    tina_buf_free(&r.value);
    tina_buf_free(&r.id);
    tina_strmap_free(r.ids);
    free(r.inputs);
    return (int)status;
}

#include "text/pretokenizer.h"

#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* GPT-2's split, which ByteLevel applies when "use_regex" is true (Hugging Face tokenizers' byte_level.rs). */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef enum { ISOLATED, REMOVED } Behavior;

typedef struct {
    pcre2_code *code;
    pcre2_match_data *match;
    Behavior behavior;
} Step;

struct TinaPretokenizer {
    Step *steps;
    int n_steps;
    TinaSpans pieces, next; /* workspaces for split() */
};

static TinaStatus spans_push(TinaSpans *spans, size_t start, size_t len, TinaError *err) {
    if (spans->len == spans->cap) {
        size_t cap = spans->cap ? 2 * spans->cap : 256;
        TinaSpan *data = realloc(spans->data, cap * sizeof *data);
        if (!data) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (%zu pieces)", cap);
        spans->data = data;
        spans->cap = cap;
    }
    spans->data[spans->len++] = (TinaSpan){start, len};
    return TINA_OK;
}

void tina_spans_free(TinaSpans *spans) {
    free(spans->data);
    *spans = (TinaSpans){0};
}

/* Oniguruma (which tokenizers compiles the patterns with) and PCRE2 read nearly all of these patterns alike; \s
 * is Unicode White_Space in both (U+0085 included, which the tests check). \h is not: a hex digit to Oniguruma, a
 * horizontal space to PCRE2, so a pattern using it is refused rather than misread. */
static TinaStatus check_pattern(const char *pattern, TinaError *err) {
    for (const char *p = pattern; *p; p++) {
        if (*p != '\\' || !p[1]) continue;
        p++;
        if (*p == 'h' || *p == 'H')
            return tina_error(err, TINA_ERR_INPUT, "unsupported regex: \\%c in pre-tokenizer pattern \"%s\" (Oniguruma "
                              "and PCRE2 read it differently)", *p, pattern);
    }
    return TINA_OK;
}

static TinaStatus add_step(TinaPretokenizer *t, const char *pattern, bool literal, Behavior behavior,
                           TinaError *err) {
    TinaStatus status = literal ? TINA_OK : check_pattern(pattern, err);
    if (status) return status;
    int code;
    PCRE2_SIZE offset;
    uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        return tina_error(err, TINA_ERR_INPUT, "pre-tokenizer pattern \"%s\" does not compile: %s", pattern,
                          (const char *)message);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* where JIT is unavailable pcre2_match interprets: same result */
    Step *steps = realloc(t->steps, (size_t)(t->n_steps + 1) * sizeof *steps);
    if (steps) t->steps = steps;
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(re, NULL);
    if (!steps || !match) {
        pcre2_code_free(re);
        pcre2_match_data_free(match);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (pre-tokenizer)");
    }
    t->steps[t->n_steps++] = (Step){re, match, behavior};
    return TINA_OK;
}

static bool flag(const cJSON *node, const char *name, bool fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(node, name);
    return cJSON_IsBool(item) ? cJSON_IsTrue(item) : fallback;
}

static TinaStatus load_split(TinaPretokenizer *t, const cJSON *node, TinaError *err) {
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(node, "pattern");
    const cJSON *regex = cJSON_GetObjectItemCaseSensitive(pattern, "Regex");
    const cJSON *string = cJSON_GetObjectItemCaseSensitive(pattern, "String");
    const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(node, "behavior");
    if (!cJSON_IsString(regex) && !cJSON_IsString(string))
        return tina_error(err, TINA_ERR_INPUT, "Split pre-tokenizer has no \"pattern\" with \"Regex\" or \"String\"");
    if (flag(node, "invert", false))
        return tina_error(err, TINA_ERR_INPUT, "unsupported pre-tokenizer: Split with \"invert\": true");
    const char *name = cJSON_IsString(behavior) ? behavior->valuestring : "";
    Behavior b;
    if (strcmp(name, "Isolated") == 0) b = ISOLATED;
    else if (strcmp(name, "Removed") == 0) b = REMOVED;
    else
        return tina_error(err, TINA_ERR_INPUT, "unsupported pre-tokenizer: Split with behavior \"%s\" "
                          "(supported: Isolated, Removed)", name);
    return add_step(t, cJSON_IsString(regex) ? regex->valuestring : string->valuestring, !cJSON_IsString(regex), b,
                    err);
}

static TinaStatus load_node(TinaPretokenizer *t, const cJSON *node, bool *byte_level, TinaError *err) {
    if (!node || cJSON_IsNull(node)) return TINA_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    if (!cJSON_IsString(type)) return tina_error(err, TINA_ERR_INPUT, "pre_tokenizer has no \"type\"");
    const char *name = type->valuestring;
    if (strcmp(name, "Sequence") == 0) {
        const cJSON *step;
        cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(node, "pretokenizers")) {
            TinaStatus status = load_node(t, step, byte_level, err);
            if (status) return status;
        }
        return TINA_OK;
    }
    if (strcmp(name, "Split") == 0) return load_split(t, node, err);
    if (strcmp(name, "ByteLevel") == 0) {
        if (flag(node, "add_prefix_space", true))
            return tina_error(err, TINA_ERR_INPUT, "unsupported pre-tokenizer: ByteLevel with \"add_prefix_space\": true");
        *byte_level = true;
        return flag(node, "use_regex", true) ? add_step(t, gpt2_pattern, false, ISOLATED, err) : TINA_OK;
    }
    /* tokenizers' Digits: every number character (Rust's char::is_numeric, the categories Nd, Nl, No: \p{N}) a piece
     * of its own, or each run of them one piece (its Contiguous behaviour) */
    if (strcmp(name, "Digits") == 0)
        return add_step(t, flag(node, "individual_digits", false) ? "\\p{N}" : "\\p{N}+", false, ISOLATED, err);
    return tina_error(err, TINA_ERR_INPUT, "unsupported pre-tokenizer \"%s\" (supported: Split, ByteLevel, Digits, "
                      "Sequence)", name);
}

TinaStatus tina_pretokenizer_load(const cJSON *node, TinaPretokenizer **pretokenizer, bool *byte_level,
                                  TinaError *err) {
    *byte_level = false;
    TinaPretokenizer *t = calloc(1, sizeof *t);
    if (!t) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (pre-tokenizer)");
    TinaStatus status = load_node(t, node, byte_level, err);
    if (status) tina_pretokenizer_free(t);
    else *pretokenizer = t;
    return status;
}

/* Splits text[span] by one step, appending the resulting spans (offsets into text) to out. */
static TinaStatus split_span(const Step *step, const char *text, TinaSpan span, TinaSpans *out, TinaError *err) {
    PCRE2_SPTR subject = (PCRE2_SPTR)(text + span.start);
    size_t done = 0; /* subject[0..done) has been handed out */
    size_t at = 0;   /* where the next search starts */
    TinaStatus status = TINA_OK;
    while (at < span.len && !status) {
        int rc = pcre2_match(step->code, subject, span.len, at, PCRE2_NO_UTF_CHECK, step->match, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            return tina_error(err, TINA_ERR_RUNTIME, "pre-tokenizer regex failed: %s", (const char *)message);
        }
        PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(step->match);
        size_t start = ovector[0], end = ovector[1];
        if (end == start) { /* an empty match splits nothing: look again one character on */
            at = start + 1;
            while (at < span.len && (subject[at] & 0xC0) == 0x80) at++;
            continue;
        }
        if (start > done) status = spans_push(out, span.start + done, start - done, err);
        if (!status && step->behavior == ISOLATED) status = spans_push(out, span.start + start, end - start, err);
        done = at = end;
    }
    if (!status && done < span.len) status = spans_push(out, span.start + done, span.len - done, err);
    return status;
}

TinaStatus tina_pretokenizer_split(TinaPretokenizer *t, const char *text, size_t len, TinaSpans *spans,
                                   TinaError *err) {
    if (len == 0) return TINA_OK;
    if (t->n_steps == 0) return spans_push(spans, 0, len, err);
    t->pieces.len = 0;
    TinaStatus status = spans_push(&t->pieces, 0, len, err);
    for (int s = 0; s < t->n_steps && !status; s++) {
        bool last = s + 1 == t->n_steps;
        TinaSpans *into = last ? spans : &t->next;
        t->next.len = 0;
        for (size_t i = 0; i < t->pieces.len && !status; i++)
            status = split_span(&t->steps[s], text, t->pieces.data[i], into, err);
        if (!last) { /* this step's pieces are the next step's input */
            TinaSpans swap = t->pieces;
            t->pieces = t->next;
            t->next = swap;
        }
    }
    return status;
}

void tina_pretokenizer_free(TinaPretokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_steps; i++) {
        pcre2_code_free(t->steps[i].code);
        pcre2_match_data_free(t->steps[i].match);
    }
    free(t->steps);
    tina_spans_free(&t->pieces);
    tina_spans_free(&t->next);
    free(t);
}

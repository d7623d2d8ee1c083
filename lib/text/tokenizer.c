#include "text/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "text/bpe.h"
#include "text/normalizer.h"
#include "text/pretokenizer.h"
#include "io/record.h"
#include "base/strmap.h"
#include "base/utf8.h"

typedef struct {
    char *content;
    size_t len;
    int32_t id;
    bool special, single_word, lstrip, rstrip, normalized;
} AddedToken;

/* The added tokens matched on one kind of text (raw or normalised), indexed by first byte, longest first. */
typedef struct {
    AddedToken **tokens;
    int n;
    bool first_byte[256];
} AddedSet;

enum { TOKEN_EXISTS = 1, TOKEN_SPECIAL = 2 };

struct TinaTokenizer {
    TinaBpe *bpe;
    TinaNormalization normalization;
    TinaPretokenizer *pretokenizer;
    int32_t vocab_size;
    TinaBuf decoded_bytes;  /* every token's bytes, in load order */
    TinaSpan *decoded_at;   /* (vocab_size,) where the bytes of id i lie in decoded_bytes */
    unsigned char *flags;   /* (vocab_size,) TOKEN_EXISTS, TOKEN_SPECIAL */
    AddedToken *added;
    int n_added;
    AddedSet raw_set, normalized_set;
    TinaStrMap *added_ids;  /* content -> id */
    TinaIds prefix, suffix; /* the post-processor's special tokens around the sequence */
    TinaSpecialTokens specials;
    char *special_text[3];  /* storage for specials' texts */
    TinaBuf clean, normal;  /* encode workspaces */
    TinaSpans spans;
};

/* ---- the byte-level alphabet (GPT-2's bytes_to_unicode) ------------------------------------------------------ */

/* Byte of a byte-level character, or -1 (the alphabet spans U+0021..U+0143). Printable bytes stand for
 * themselves; the other 68 map, in order, to U+0100 and up. */
static int byte_of_char(uint32_t cp) {
    static int table[0x144];
    static bool ready;
    if (!ready) {
        for (int i = 0; i < 0x144; i++) table[i] = -1;
        int next = 256;
        for (int b = 0; b < 256; b++) {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[printable ? b : next++] = b;
        }
        ready = true;
    }
    return cp < 0x144 ? table[cp] : -1;
}

/* Appends the bytes that byte-level text stands for; false if a character is outside the alphabet. */
static bool byte_level_decode(const char *text, size_t len, TinaBuf *out, TinaError *err) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += tina_utf8_next(text + i, len - i, &cp);
        int b = cp == TINA_UTF8_BAD ? -1 : byte_of_char(cp);
        char byte = (char)b;
        if (b < 0 || tina_buf_append(out, &byte, 1, err)) return false;
    }
    return true;
}

/* ---- loading ---------------------------------------------------------------------------------------------- */

static bool json_flag(const cJSON *node, const char *name) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, name));
}

static bool empty_or_null(const cJSON *item) {
    return !item || cJSON_IsNull(item) || (cJSON_IsString(item) && item->valuestring[0] == '\0');
}

static TinaStatus check_model(const cJSON *model, TinaError *err) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!cJSON_IsObject(model)) return tina_error(err, TINA_ERR_INPUT, "tokenizer.json has no \"model\" object");
    if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0))
        return tina_error(err, TINA_ERR_INPUT, "unsupported model \"%s\" (supported: BPE)",
                          cJSON_IsString(type) ? type->valuestring : "?");
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return tina_error(err, TINA_ERR_INPUT, "unsupported BPE option: dropout (encoding would not be deterministic)");
    if (json_flag(model, "byte_fallback"))
        return tina_error(err, TINA_ERR_INPUT, "unsupported BPE option: byte_fallback");
    /* without one, a byte that has no token is left out, as tokenizers does (bpe.c) */
    if (!empty_or_null(cJSON_GetObjectItemCaseSensitive(model, "unk_token")))
        return tina_error(err, TINA_ERR_INPUT, "unsupported BPE option: unk_token");
    if (!empty_or_null(cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix")) ||
        !empty_or_null(cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix")))
        return tina_error(err, TINA_ERR_INPUT,
                          "unsupported BPE option: continuing_subword_prefix or end_of_word_suffix");
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(model, "vocab")) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(model, "merges")))
        return tina_error(err, TINA_ERR_INPUT, "BPE model needs a \"vocab\" object and a \"merges\" array");
    return TINA_OK;
}

static TinaStatus check_decoder(const cJSON *decoder, TinaError *err) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(decoder, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "ByteLevel") == 0) return TINA_OK;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "Sequence") == 0) {
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(decoder, "decoders");
        if (cJSON_GetArraySize(steps) == 1) return check_decoder(cJSON_GetArrayItem(steps, 0), err);
    }
    return tina_error(err, TINA_ERR_INPUT, "unsupported decoder \"%s\" (supported: ByteLevel)",
                      cJSON_IsString(type) ? type->valuestring : cJSON_IsNull(decoder) || !decoder ? "none" : "?");
}

/* Decoded bytes are collected as (id, bytes) in load order, then looked up by id. */
typedef struct {
    int32_t id;
    TinaSpan bytes; /* in decoded_bytes */
} Staged;

static TinaStatus load_vocab(TinaTokenizer *t, const cJSON *vocab, Staged *staged, int *n_staged, TinaError *err) {
    TinaBuf *store = &t->decoded_bytes;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, vocab) {
        if (!cJSON_IsNumber(entry) || entry->valuedouble < 0 || entry->valuedouble >= INT32_MAX ||
            entry->valuedouble != (int32_t)entry->valuedouble)
            return tina_error(err, TINA_ERR_INPUT, "vocabulary entry \"%s\" has no valid id", entry->string);
        size_t offset = store->len;
        int64_t added_id;
        bool added = tina_strmap_get(t->added_ids, entry->string, strlen(entry->string), &added_id);
        if (!byte_level_decode(entry->string, strlen(entry->string), store, err)) {
            store->len = offset;
            if (added) continue; /* an added token the trainer also listed: matched as added, never by BPE */
            return tina_error(err, TINA_ERR_INPUT,
                              "vocabulary token \"%s\" is not in the byte-level alphabet (only byte-level BPE is "
                              "supported)", entry->string);
        }
        int32_t id = (int32_t)entry->valuedouble;
        const char *bytes = store->len > offset ? store->data + offset : ""; /* an empty token has no buffer yet */
        TinaStatus status = tina_bpe_add_token(t->bpe, bytes, store->len - offset, id, err);
        if (status) return status;
        staged[(*n_staged)++] = (Staged){id, {offset, store->len - offset}};
    }
    return TINA_OK;
}

static TinaStatus load_merges(TinaTokenizer *t, const cJSON *merges, TinaError *err) {
    TinaBuf *left = &t->clean, *right = &t->normal; /* the encode workspaces, idle while loading */
    int32_t rank = 0;
    const cJSON *merge;
    cJSON_ArrayForEach(merge, merges) {
        const char *a = NULL, *b = NULL;
        size_t a_len = 0, b_len = 0;
        if (cJSON_IsString(merge)) { /* "a b", the older format */
            const char *space = strchr(merge->valuestring, ' ');
            if (space && !strchr(space + 1, ' ')) {
                a = merge->valuestring;
                a_len = (size_t)(space - a);
                b = space + 1;
                b_len = strlen(b);
            }
        } else if (cJSON_GetArraySize(merge) == 2 && cJSON_IsString(cJSON_GetArrayItem(merge, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(merge, 1))) { /* ["a", "b"], tokenizers >= 0.20 */
            a = cJSON_GetArrayItem(merge, 0)->valuestring;
            b = cJSON_GetArrayItem(merge, 1)->valuestring;
            a_len = strlen(a);
            b_len = strlen(b);
        }
        if (!a) return tina_error(err, TINA_ERR_INPUT, "merge %d is neither \"a b\" nor [\"a\", \"b\"]", rank);
        tina_buf_clear(left);
        tina_buf_clear(right);
        if (!byte_level_decode(a, a_len, left, err) || !byte_level_decode(b, b_len, right, err))
            return tina_error(err, TINA_ERR_INPUT, "merge %d is not in the byte-level alphabet", rank);
        TinaStatus status = tina_bpe_add_merge(t->bpe, left->data, left->len, right->data, right->len, rank++, err);
        if (status) return status;
    }
    return TINA_OK;
}

static TinaStatus load_added(TinaTokenizer *t, const cJSON *added, TinaError *err) {
    int n = cJSON_GetArraySize(added);
    t->added = calloc((size_t)n + 1, sizeof *t->added);
    if (!t->added) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (added tokens)");
    const cJSON *token;
    cJSON_ArrayForEach(token, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(token, "id");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(token, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= INT32_MAX || !cJSON_IsString(content) ||
            content->valuestring[0] == '\0')
            return tina_error(err, TINA_ERR_INPUT, "added token %d needs an \"id\" and a non-empty \"content\"",
                              t->n_added);
        AddedToken *a = &t->added[t->n_added++];
        a->content = strdup(content->valuestring);
        if (!a->content) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (added tokens)");
        a->len = strlen(a->content);
        a->id = (int32_t)id->valuedouble;
        a->special = json_flag(token, "special");
        a->single_word = json_flag(token, "single_word");
        a->lstrip = json_flag(token, "lstrip");
        a->rstrip = json_flag(token, "rstrip");
        const cJSON *normalized = cJSON_GetObjectItemCaseSensitive(token, "normalized");
        a->normalized = normalized ? cJSON_IsTrue(normalized) : !a->special; /* tokenizers' default */
        bool inserted;
        TinaStatus status = tina_strmap_insert(t->added_ids, a->content, a->len, a->id, &inserted, err);
        if (status) return status;
    }
    return TINA_OK;
}

static int longest_first(const void *x, const void *y) {
    const AddedToken *a = *(AddedToken *const *)x, *b = *(AddedToken *const *)y;
    return a->len != b->len ? (a->len < b->len ? 1 : -1) : (a < b ? -1 : a > b);
}

/* Builds the set of added tokens matched on raw (normalized == false) or on normalised text. A normalised token is
 * matched in its normalised form, as tokenizers does. */
static TinaStatus build_added_set(TinaTokenizer *t, bool normalized, AddedSet *set, TinaError *err) {
    set->tokens = calloc((size_t)t->n_added + 1, sizeof *set->tokens);
    if (!set->tokens) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (added tokens)");
    for (int i = 0; i < t->n_added; i++) {
        AddedToken *a = &t->added[i];
        if (a->normalized != normalized) continue;
        if (normalized && t->normalization != TINA_NORMALIZE_NONE) {
            TinaBuf form = {0};
            TinaStatus status = tina_normalize(t->normalization, a->content, a->len, &form, err);
            if (status) return status;
            free(a->content);
            a->content = form.data;
            a->len = form.len;
        }
        set->tokens[set->n++] = a;
        set->first_byte[(unsigned char)a->content[0]] = true;
    }
    qsort(set->tokens, (size_t)set->n, sizeof *set->tokens, longest_first);
    return TINA_OK;
}

static TinaStatus load_post_processor(TinaTokenizer *t, const cJSON *node, TinaError *err) {
    if (!node || cJSON_IsNull(node)) return TINA_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    const char *name = cJSON_IsString(type) ? type->valuestring : "?";
    if (strcmp(name, "ByteLevel") == 0) return TINA_OK; /* it only adjusts offsets, which tina does not report */
    if (strcmp(name, "Sequence") == 0) {
        const cJSON *step;
        cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(node, "processors")) {
            TinaStatus status = load_post_processor(t, step, err);
            if (status) return status;
        }
        return TINA_OK;
    }
    if (strcmp(name, "TemplateProcessing") != 0)
        return tina_error(err, TINA_ERR_INPUT,
                          "unsupported post-processor \"%s\" (supported: TemplateProcessing, ByteLevel)", name);
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(node, "special_tokens");
    bool seen_sequence = false;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(node, "single")) {
        if (cJSON_GetObjectItemCaseSensitive(item, "Sequence")) {
            seen_sequence = true;
            continue;
        }
        const cJSON *special = cJSON_GetObjectItemCaseSensitive(item, "SpecialToken");
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(special, "id");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(specials, cJSON_IsString(key) ? key->valuestring : ""), "ids");
        if (!cJSON_IsArray(ids))
            return tina_error(err, TINA_ERR_INPUT, "TemplateProcessing names a special token it does not define");
        const cJSON *id;
        cJSON_ArrayForEach(id, ids) {
            if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= t->vocab_size)
                return tina_error(err, TINA_ERR_INPUT, "TemplateProcessing has a token id outside the vocabulary");
            TinaStatus status = tina_ids_push(seen_sequence ? &t->suffix : &t->prefix, (int32_t)id->valuedouble, err);
            if (status) return status;
        }
    }
    return TINA_OK;
}

/* tokenizer_config.json writes a special token as "text" or {"content": "text", ...}. */
static TinaStatus load_special(TinaTokenizer *t, const cJSON *config, const char *field, int slot,
                               TinaSpecialToken *special, TinaError *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(config, field);
    if (cJSON_IsObject(item)) item = cJSON_GetObjectItemCaseSensitive(item, "content");
    if (!cJSON_IsString(item)) return TINA_OK;
    int32_t id = tina_tokenizer_token_id(t, item->valuestring);
    if (id < 0)
        return tina_error(err, TINA_ERR_INPUT, "tokenizer_config.json: %s \"%s\" is not a token", field,
                          item->valuestring);
    t->special_text[slot] = strdup(item->valuestring);
    if (!t->special_text[slot]) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    *special = (TinaSpecialToken){t->special_text[slot], id};
    return TINA_OK;
}

static TinaStatus load_config(TinaTokenizer *t, const char *folder, TinaError *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", folder);
    struct stat st;
    if (stat(path, &st) != 0) return TINA_OK;
    cJSON *config;
    TinaStatus status = tina_record_read_json(path, &config, err);
    if (status) return status;
    status = load_special(t, config, "bos_token", 0, &t->specials.bos, err);
    if (!status) status = load_special(t, config, "eos_token", 1, &t->specials.eos, err);
    if (!status) status = load_special(t, config, "pad_token", 2, &t->specials.pad, err);
    cJSON_Delete(config);
    return status ? tina_error_in(err, path) : TINA_OK;
}

/* Sizes the per-id tables (ids run up to the largest of the vocabulary and the added tokens) and points every id at
 * its decoded bytes: vocabulary tokens' as load_vocab staged them; added tokens' as tokenizers' ByteLevel decoder
 * treats them (through the alphabet when every character is in it, else their UTF-8 as it is). */
static TinaStatus build_decoding(TinaTokenizer *t, Staged *staged, int n_staged, TinaError *err) {
    TinaBuf *store = &t->decoded_bytes;
    for (int i = 0; i < t->n_added; i++) {
        const AddedToken *a = &t->added[i];
        size_t offset = store->len;
        if (!byte_level_decode(a->content, a->len, store, err)) {
            store->len = offset;
            TinaStatus status = tina_buf_append(store, a->content, a->len, err);
            if (status) return status;
        }
        staged[n_staged++] = (Staged){a->id, {offset, store->len - offset}};
    }
    int32_t max_id = -1;
    for (int i = 0; i < n_staged; i++) max_id = staged[i].id > max_id ? staged[i].id : max_id;
    if (max_id < 0) return tina_error(err, TINA_ERR_INPUT, "the vocabulary is empty");
    t->vocab_size = max_id + 1;
    t->flags = calloc((size_t)t->vocab_size, 1);
    t->decoded_at = calloc((size_t)t->vocab_size, sizeof *t->decoded_at);
    if (!t->flags || !t->decoded_at)
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (tables for %d tokens)", t->vocab_size);
    for (int i = 0; i < n_staged; i++) { /* later entries win: added tokens over the vocabulary */
        t->decoded_at[staged[i].id] = staged[i].bytes;
        t->flags[staged[i].id] |= TOKEN_EXISTS;
    }
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].special) t->flags[t->added[i].id] |= TOKEN_SPECIAL;
    return TINA_OK;
}

static TinaStatus load_json(TinaTokenizer *t, const cJSON *root, TinaError *err) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    TinaStatus status = check_model(model, err);
    if (status) return status;
    const char *unsupported[] = {"truncation", "padding"};
    for (int i = 0; i < 2; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, unsupported[i]);
        if (item && !cJSON_IsNull(item))
            return tina_error(err, TINA_ERR_INPUT, "unsupported: \"%s\" is set (tina never truncates or pads "
                              "silently; set it to null)", unsupported[i]);
    }
    bool byte_level;
    status = tina_pretokenizer_load(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), &t->pretokenizer,
                                    &byte_level, err);
    if (status) return status;
    if (!byte_level)
        return tina_error(err, TINA_ERR_INPUT, "unsupported pre-tokenizer: no ByteLevel step (only byte-level BPE is "
                          "supported)");
    status = check_decoder(cJSON_GetObjectItemCaseSensitive(root, "decoder"), err);
    if (!status) status = tina_normalizer_load(cJSON_GetObjectItemCaseSensitive(root, "normalizer"),
                                               &t->normalization, err);
    if (!status) status = tina_bpe_new(&t->bpe, json_flag(model, "ignore_merges"), err);
    if (status) return status;

    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int n_vocab = cJSON_GetArraySize(vocab), n_added = cJSON_GetArraySize(added);
    Staged *staged = malloc(((size_t)n_vocab + (size_t)n_added + 1) * sizeof *staged);
    int n_staged = 0;
    if (!staged) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (vocabulary)");
    status = load_added(t, added, err);
    if (!status) status = load_vocab(t, vocab, staged, &n_staged, err);
    if (!status) status = load_merges(t, cJSON_GetObjectItemCaseSensitive(model, "merges"), err);
    if (!status) status = build_decoding(t, staged, n_staged, err);
    free(staged);
    if (!status) status = build_added_set(t, false, &t->raw_set, err);
    if (!status) status = build_added_set(t, true, &t->normalized_set, err);
    if (!status) status = load_post_processor(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), err);
    return status;
}

TinaStatus tina_tokenizer_load(const char *path, TinaTokenizer **tokenizer, TinaError *err) {
    *tokenizer = NULL;
    char file[4096];
    const char *folder = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        folder = path;
        snprintf(file, sizeof file, "%s/tokenizer.json", path);
        if (stat(file, &st) != 0) snprintf(file, sizeof file, "%s/tokenizer.json.zst", path);
    } else {
        snprintf(file, sizeof file, "%s", path);
    }
    TinaTokenizer *t = calloc(1, sizeof *t);
    if (!t) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (tokenizer)");
    TinaSpecialToken none = {NULL, -1}; /* until a tokenizer_config.json names one */
    t->specials = (TinaSpecialTokens){none, none, none};
    TinaStatus status = tina_strmap_new(&t->added_ids, err);
    cJSON *root = NULL;
    if (!status) status = tina_record_read_json(file, &root, err);
    if (!status) {
        status = load_json(t, root, err);
        if (status) tina_error_in(err, file);
    }
    cJSON_Delete(root);
    if (!status && folder) status = load_config(t, folder, err);
    if (status) tina_tokenizer_free(t);
    else *tokenizer = t;
    return status;
}

void tina_tokenizer_free(TinaTokenizer *t) {
    if (!t) return;
    tina_bpe_free(t->bpe);
    tina_pretokenizer_free(t->pretokenizer);
    tina_buf_free(&t->decoded_bytes);
    free(t->decoded_at);
    free(t->flags);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    free(t->raw_set.tokens);
    free(t->normalized_set.tokens);
    tina_strmap_free(t->added_ids);
    tina_ids_free(&t->prefix);
    tina_ids_free(&t->suffix);
    for (int i = 0; i < 3; i++) free(t->special_text[i]);
    tina_buf_free(&t->clean);
    tina_buf_free(&t->normal);
    tina_spans_free(&t->spans);
    free(t);
}

/* ---- encoding ---------------------------------------------------------------------------------------------- */

/* Unicode White_Space, as Rust's \s in tokenizers' lstrip/rstrip. */
static bool white_space(uint32_t cp) {
    return (cp >= 9 && cp <= 13) || cp == 32 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* A word character, as Rust's \w for single_word tokens: letters, marks, decimal and letter numbers, connectors. */
static bool word_char(uint32_t cp) {
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND ||
           c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC;
}

/* The code point that ends at text[end] (exclusive). */
static uint32_t code_point_before(const char *text, size_t end, size_t *start) {
    size_t s = end - 1;
    while (s > 0 && ((unsigned char)text[s] & 0xC0) == 0x80) s--;
    uint32_t cp;
    tina_utf8_next(text + s, end - s, &cp);
    *start = s;
    return cp;
}

/* The leftmost-longest added token at or after `from`: its bytes [*start, *end). */
static const AddedToken *find_added(const AddedSet *set, const char *text, size_t len, size_t from, size_t *start,
                                    size_t *end) {
    for (size_t i = from; i < len; i++) {
        if (!set->first_byte[(unsigned char)text[i]]) continue;
        for (int k = 0; k < set->n; k++) { /* longest first: the first that matches is the longest */
            const AddedToken *a = set->tokens[k];
            if (a->len <= len - i && a->content[0] == text[i] && memcmp(text + i, a->content, a->len) == 0) {
                *start = i;
                *end = i + a->len;
                return a;
            }
        }
    }
    return NULL;
}

typedef TinaStatus (*SegmentEncoder)(TinaTokenizer *t, const char *text, size_t len, TinaIds *ids, TinaError *err);

/* Splits text on the set's added tokens (tokenizers' AddedVocabulary::find_matches, with its single_word, lstrip
 * and rstrip rules), pushing their ids and handing the text between them to encode_between. */
static TinaStatus split_on_added(TinaTokenizer *t, const AddedSet *set, const char *text, size_t len,
                                 SegmentEncoder encode_between, TinaIds *ids, TinaError *err) {
    size_t done = 0; /* text[0..done) is encoded */
    size_t search = 0;
    TinaStatus status = TINA_OK;
    while (!status && set->n) {
        size_t start, end;
        const AddedToken *a = find_added(set, text, len, search, &start, &end);
        if (!a) break;
        search = end; /* matches never overlap, whatever becomes of this one */
        if (a->single_word) {
            size_t s;
            bool word_before = start > 0 && word_char(code_point_before(text, start, &s));
            uint32_t next = 0;
            bool word_after = end < len && (tina_utf8_next(text + end, len - end, &next), word_char(next));
            if (word_before || word_after) continue;
        }
        if (a->lstrip) {
            size_t s;
            while (start > done && white_space(code_point_before(text, start, &s))) start = s;
        }
        if (a->rstrip) {
            uint32_t cp;
            size_t n;
            while (end < len && (n = tina_utf8_next(text + end, len - end, &cp), white_space(cp))) end += n;
        }
        if (start > done) status = encode_between(t, text + done, start - done, ids, err);
        if (!status) status = tina_ids_push(ids, a->id, err);
        done = end;
        if (search < done) search = done;
    }
    if (!status && done < len) status = encode_between(t, text + done, len - done, ids, err);
    return status;
}

/* Normalised text between added tokens: pre-tokenised pieces through BPE. */
static TinaStatus encode_pieces(TinaTokenizer *t, const char *text, size_t len, TinaIds *ids, TinaError *err) {
    t->spans.len = 0;
    TinaStatus status = tina_pretokenizer_split(t->pretokenizer, text, len, &t->spans, err);
    for (size_t i = 0; i < t->spans.len && !status; i++)
        status = tina_bpe_encode(t->bpe, text + t->spans.data[i].start, t->spans.data[i].len, ids, err);
    return status;
}

/* Raw text between raw added tokens: normalised, then split on the normalised added tokens. */
static TinaStatus encode_normalized(TinaTokenizer *t, const char *text, size_t len, TinaIds *ids, TinaError *err) {
    tina_buf_clear(&t->normal);
    TinaStatus status = tina_normalize(t->normalization, text, len, &t->normal, err);
    if (status) return status;
    /* split_on_added may call back here only through encode_pieces, so t->normal stays put while it is read */
    return split_on_added(t, &t->normalized_set, t->normal.data, t->normal.len, encode_pieces, ids, err);
}

TinaStatus tina_tokenizer_encode(TinaTokenizer *t, const char *text, size_t len, bool add_special, TinaIds *ids,
                                 TinaError *err) {
    TinaStatus status = add_special ? tina_ids_append(ids, t->prefix.data, t->prefix.len, err) : TINA_OK;
    if (!status && !tina_utf8_valid(text, len)) { /* read as Python reads such bytes: one U+FFFD per bad subpart */
        tina_buf_clear(&t->clean);
        status = tina_utf8_append_lossy(&t->clean, text, len, err);
        text = t->clean.data;
        len = t->clean.len;
    }
    if (!status) status = split_on_added(t, &t->raw_set, text, len, encode_normalized, ids, err);
    if (!status && add_special) status = tina_ids_append(ids, t->suffix.data, t->suffix.len, err);
    return status;
}

/* ---- decoding ---------------------------------------------------------------------------------------------- */

static TinaStatus token_bytes(const TinaTokenizer *t, int32_t id, bool skip_special, const char **bytes,
                              size_t *len, TinaError *err) {
    if (id < 0 || id >= t->vocab_size || !(t->flags[id] & TOKEN_EXISTS))
        return tina_error(err, TINA_ERR_INPUT, "token id %d is not in the vocabulary (0 to %d)", id,
                          t->vocab_size - 1);
    bool skip = skip_special && (t->flags[id] & TOKEN_SPECIAL);
    *bytes = t->decoded_bytes.data + t->decoded_at[id].start;
    *len = skip ? 0 : t->decoded_at[id].len;
    return TINA_OK;
}

TinaStatus tina_tokenizer_decode(const TinaTokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                                 TinaBuf *out, TinaError *err) {
    TinaBuf raw = {0};
    TinaStatus status = TINA_OK;
    for (size_t i = 0; i < n && !status; i++) {
        const char *bytes = NULL;
        size_t len = 0;
        status = token_bytes(t, ids[i], skip_special, &bytes, &len, err);
        if (!status) status = tina_buf_append(&raw, bytes, len, err);
    }
    if (!status) status = tina_utf8_append_lossy(out, raw.data ? raw.data : "", raw.len, err);
    tina_buf_free(&raw);
    return status;
}

TinaStatus tina_tokenizer_decode_next(const TinaTokenizer *t, TinaDecodeStream *stream, int32_t id,
                                      bool skip_special, TinaBuf *out, TinaError *err) {
    const char *bytes = NULL;
    size_t len;
    TinaStatus status = token_bytes(t, id, skip_special, &bytes, &len, err);
    if (status) return status;
    TinaBuf raw = {0};
    status = tina_buf_append(&raw, stream->pending, (size_t)stream->n_pending, err);
    if (!status) status = tina_buf_append(&raw, bytes, len, err);
    if (status) {
        tina_buf_free(&raw);
        return status;
    }
    /* Hold back a last character that is incomplete: only the last lead byte in the final three can start one. */
    size_t keep = raw.len;
    for (size_t k = raw.len; k > 0 && raw.len - k < 3; k--) {
        if (((unsigned char)raw.data[k - 1] & 0xC0) == 0x80) continue;
        if (tina_utf8_incomplete(raw.data + k - 1, raw.len - (k - 1))) keep = k - 1;
        break;
    }
    stream->n_pending = (int)(raw.len - keep);
    memcpy(stream->pending, raw.data + keep, (size_t)stream->n_pending);
    status = tina_utf8_append_lossy(out, raw.data ? raw.data : "", keep, err);
    tina_buf_free(&raw);
    return status;
}

TinaStatus tina_tokenizer_decode_flush(TinaDecodeStream *stream, TinaBuf *out, TinaError *err) {
    TinaStatus status = tina_utf8_append_lossy(out, stream->pending, (size_t)stream->n_pending, err);
    stream->n_pending = 0;
    return status;
}

/* ---- lookups ----------------------------------------------------------------------------------------------- */

int32_t tina_tokenizer_vocab_size(const TinaTokenizer *t) { return t->vocab_size; }

int32_t tina_tokenizer_token_id(const TinaTokenizer *t, const char *text) {
    int64_t id;
    if (tina_strmap_get(t->added_ids, text, strlen(text), &id)) return (int32_t)id;
    return tina_bpe_token_id(t->bpe, text, strlen(text));
}

bool tina_tokenizer_is_special(const TinaTokenizer *t, int32_t id) {
    return id >= 0 && id < t->vocab_size && (t->flags[id] & TOKEN_SPECIAL);
}

const TinaSpecialTokens *tina_tokenizer_special_tokens(const TinaTokenizer *t) { return &t->specials; }

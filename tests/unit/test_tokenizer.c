/* tokenizer: token-for-token parity with Hugging Face tokenizers on the committed corpus (tests/reference/
 * tokenizer.py), for the distill's tokenizer and the tiny one; decoding, streaming decoding, and refusals. */
#include <stdlib.h>
#include <unistd.h>

#include "text/pretokenizer.h"
#include "io/record.h"
#include "io/stream.h"
#include "text/tokenizer.h"
#include "test.h"
#include "base/utf8.h"

static const char *const DISTILL = "data/models/deepseek-r1-distill-qwen-1.5b";
static const char *const TINY = "data/models/tiny-math-bpe";
static const char *const CORPUS = "tests/fixtures/tokenizer/corpus.jsonl.zst";

static TinaTokenizer *load(const char *path) {
    TinaTokenizer *t = NULL;
    TinaError err;
    if (tina_tokenizer_load(path, &t, &err) != TINA_OK) fprintf(stderr, "    %s\n", err.message);
    CHECK(t != NULL);
    return t;
}

static bool same_ids(const TinaIds *got, const int32_t *want, size_t n) {
    return got->len == n && (n == 0 || memcmp(got->data, want, n * sizeof *want) == 0);
}

static void encodes_the_known_ids_of_the_distill(void) {
    TinaTokenizer *t = load(DISTILL);
    if (!t) return;
    struct {
        const char *text;
        int32_t ids[8];
        size_t n;
    } cases[] = {
        {"Hello world", {9707, 1879}, 2},
        {" Hello world", {21927, 1879}, 2},
        {"Hello, world!", {9707, 11, 1879, 0}, 4},
        {"3333", {18, 18, 18, 18}, 4},
        {"\n\n", {271}, 1},
        {"<｜begin▁of▁sentence｜><｜User｜>Hello, world!<｜Assistant｜>", {151646, 151644, 9707, 11, 1879, 0, 151645}, 7},
    };
    TinaError err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TinaIds ids = {0};
        CHECK(tina_tokenizer_encode(t, cases[i].text, strlen(cases[i].text), false, &ids, &err) == TINA_OK);
        CHECK(same_ids(&ids, cases[i].ids, cases[i].n));
        tina_ids_free(&ids);
    }
    TinaIds ids = {0};
    CHECK(tina_tokenizer_encode(t, "Hello world", 11, true, &ids, &err) == TINA_OK);
    CHECK(same_ids(&ids, (const int32_t[]){151646, 9707, 1879}, 3)); /* the post-processor's BOS */
    tina_ids_free(&ids);
    const TinaSpecialTokens *special = tina_tokenizer_special_tokens(t);
    CHECK(special->bos.id == 151646 && special->eos.id == 151643 && special->pad.id == 151643);
    CHECK_STR(special->bos.text, "<｜begin▁of▁sentence｜>");
    CHECK(tina_tokenizer_vocab_size(t) == 151665);
    CHECK(tina_tokenizer_token_id(t, "<think>") == 151648);
    CHECK(tina_tokenizer_is_special(t, 151643) && !tina_tokenizer_is_special(t, 151648));
    tina_tokenizer_free(t);
}

static uint64_t fnv(const void *data, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)data)[i]) * 0x100000001b3ULL;
    return h;
}

static bool ids_equal_json(const TinaIds *ids, const cJSON *array) {
    if (cJSON_GetArraySize(array) != (int)ids->len) return false;
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, array) if (item->valueint != ids->data[i++]) return false;
    return true;
}

static size_t characters(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        uint32_t cp;
        i += tina_utf8_next(s + i, n - i, &cp);
    }
    return count;
}

/* Decodes ids token by token and checks the pieces add up to the one-shot decoding. */
static bool streams_like_one_shot(const TinaTokenizer *t, const TinaIds *ids, const TinaBuf *whole) {
    TinaDecodeStream stream = {0};
    TinaBuf pieces = {0};
    TinaError err;
    bool ok = true;
    for (size_t i = 0; i < ids->len && ok; i++)
        ok = tina_tokenizer_decode_next(t, &stream, ids->data[i], false, &pieces, &err) == TINA_OK;
    ok = ok && tina_tokenizer_decode_flush(&stream, &pieces, &err) == TINA_OK;
    ok = ok && pieces.len == whole->len && (whole->len == 0 || memcmp(pieces.data, whole->data, whole->len) == 0);
    tina_buf_free(&pieces);
    return ok;
}

/* Encodes and decodes the corpus records the expected file names (all, or some in corpus order) and compares with
 * tokenizers' results for this tokenizer; at least min_cases records and 40 characters a case on average. */
static void check_corpus(const char *model, const char *expected_path, long min_cases) {
    TinaTokenizer *t = load(model);
    if (!t) return;
    TinaReader *corpus, *expected;
    TinaError err;
    CHECK(tina_reader_open(&corpus, &CORPUS, 1, &err) == TINA_OK);
    CHECK(tina_reader_open(&expected, &expected_path, 1, &err) == TINA_OK);
    long cases = 0, chars = 0, tokens = 0, id_mismatches = 0, text_mismatches = 0, stream_mismatches = 0;
    TinaIds ids = {0}, with_special = {0};
    TinaBuf decoded = {0};
    for (;;) {
        const char *line, *want_line;
        size_t len, want_len;
        cJSON *record = NULL, *want = NULL;
        CHECK(tina_reader_next(expected, &want_line, &want_len, &err) == TINA_OK);
        if (!want_line || tina_record_parse(want_line, want_len, &want, &err)) break;
        const char *want_id = cJSON_GetObjectItem(want, "id") ? cJSON_GetObjectItem(want, "id")->valuestring : NULL;
        do { /* the corpus record it is about: the next one, or the next of that id */
            cJSON_Delete(record);
            record = NULL;
            CHECK(tina_reader_next(corpus, &line, &len, &err) == TINA_OK);
        } while (line && tina_record_parse(line, len, &record, &err) == TINA_OK && want_id &&
                 strcmp(cJSON_GetObjectItem(record, "id")->valuestring, want_id) != 0);
        CHECK(record != NULL);
        if (!record) {
            cJSON_Delete(want);
            break;
        }
        const char *id = cJSON_GetObjectItem(record, "id")->valuestring;
        const char *text = cJSON_GetObjectItem(record, "text")->valuestring;
        ids.len = 0;
        CHECK(tina_tokenizer_encode(t, text, strlen(text), false, &ids, &err) == TINA_OK);
        char hash[32];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv(ids.data, ids.len * sizeof *ids.data));
        const cJSON *full = cJSON_GetObjectItem(want, "ids");
        bool ids_ok = (long)ids.len == cJSON_GetObjectItem(want, "n")->valueint &&
                      strcmp(hash, cJSON_GetObjectItem(want, "ids_fnv")->valuestring) == 0 &&
                      (!full || ids_equal_json(&ids, full));
        if (!ids_ok && id_mismatches++ < 5)
            fprintf(stderr, "    %s: %s: %zu ids, want %d\n", model, id, ids.len, cJSON_GetObjectItem(want, "n")->valueint);
        tina_buf_clear(&decoded);
        CHECK(tina_tokenizer_decode(t, ids.data, ids.len, false, &decoded, &err) == TINA_OK);
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv(decoded.data, decoded.len));
        if (strcmp(hash, cJSON_GetObjectItem(want, "text_fnv")->valuestring) != 0 && text_mismatches++ < 5)
            fprintf(stderr, "    %s: %s: decoded text differs\n", model, id);
        const cJSON *special = cJSON_GetObjectItem(want, "ids_special");
        if (special) {
            with_special.len = 0;
            CHECK(tina_tokenizer_encode(t, text, strlen(text), true, &with_special, &err) == TINA_OK);
            CHECK(ids_equal_json(&with_special, special));
        }
        if ((full || cases % 50 == 0) && !streams_like_one_shot(t, &ids, &decoded) && stream_mismatches++ < 5)
            fprintf(stderr, "    %s: %s: streaming decode differs\n", model, id);
        cases++;
        chars += (long)characters(text, strlen(text));
        tokens += (long)ids.len;
        cJSON_Delete(record);
        cJSON_Delete(want);
    }
    CHECK(id_mismatches == 0);
    CHECK(text_mismatches == 0);
    CHECK(stream_mismatches == 0);
    CHECK(cases >= min_cases && chars > 40 * cases);
    printf("note: %s: %ld cases, %ld characters, %ld tokens compared with tokenizers: %ld id and %ld text "
           "mismatches\n", model, cases, chars, tokens, id_mismatches, text_mismatches);
    tina_ids_free(&ids);
    tina_ids_free(&with_special);
    tina_buf_free(&decoded);
    tina_reader_close(corpus);
    tina_reader_close(expected);
    tina_tokenizer_free(t);
}

static void matches_tokenizers_on_the_corpus_with_the_distill(void) {
    check_corpus(DISTILL, "tests/fixtures/tokenizer/expected-distill.jsonl.zst", 40000);
}

static void matches_tokenizers_on_the_corpus_with_the_tiny_tokenizer(void) {
    check_corpus(TINY, "tests/fixtures/tokenizer/expected-tiny.jsonl.zst", 40000);
}

/* SmolLM2's pre-tokenizer, Digits (each number character alone) then ByteLevel, on the tiny tokenizer's vocabulary
 * (tests/reference/smollm2_tokenizer.py); and Digits' runs of number characters */
static void matches_tokenizers_with_a_digits_pre_tokenizer(void) {
    check_corpus("tests/fixtures/tokenizer/tiny-digits", "tests/fixtures/tokenizer/expected-tiny-digits.jsonl.zst",
                 39000);
    check_corpus("tests/fixtures/tokenizer/tiny-digit-runs",
                 "tests/fixtures/tokenizer/expected-tiny-digit-runs.jsonl.zst", 9000);
}

/* That tokenizer also lacks the byte tokens SmolLM2 lacks: such a byte is left out, as tokenizers' BPE does without
 * an unk_token, and its neighbours merge as if it had never been there (0x1d is one, 0x05 is not). */
static void a_byte_without_a_token_is_left_out(void) {
    TinaTokenizer *t = load("tests/fixtures/tokenizer/tiny-digits");
    if (!t) return;
    TinaIds with = {0}, without = {0}, kept = {0};
    TinaError err;
    CHECK(tina_tokenizer_encode(t, "the\x1dre", 6, false, &with, &err) == TINA_OK);
    CHECK(tina_tokenizer_encode(t, "there", 5, false, &without, &err) == TINA_OK);
    CHECK(with.len == without.len && memcmp(with.data, without.data, with.len * sizeof *with.data) == 0);
    CHECK(tina_tokenizer_encode(t, "the\x05re", 6, false, &kept, &err) == TINA_OK);
    CHECK(kept.len > without.len);
    tina_ids_free(&with);
    tina_ids_free(&without);
    tina_ids_free(&kept);
    tina_tokenizer_free(t);
}

/* ignore_merges (Llama-3's tokenizers): a word that is a token as a whole is that token, where merging would split
 * it; tokenizers' ids for a BPE whose merges cannot reach some whole words (tests/reference/ignore_merges.py) */
static void a_whole_word_token_is_taken_when_merges_are_ignored(void) {
    TinaTokenizer *t = load("tests/fixtures/tokenizer/ignore-merges");
    cJSON *expected = NULL;
    TinaError err;
    CHECK(tina_record_read_json("tests/fixtures/tokenizer/ignore-merges/expected.json", &expected, &err) == TINA_OK);
    const cJSON *cases = cJSON_GetObjectItem(expected, "cases"), *c;
    CHECK(cJSON_GetArraySize(cases) == 10);
    cJSON_ArrayForEach(c, cases) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        const cJSON *ids = cJSON_GetObjectItem(c, "ids");
        int32_t want[16];
        size_t n = 0;
        for (const cJSON *id = ids->child; id && n < 16; id = id->next) want[n++] = id->valueint;
        TinaIds got = {0};
        CHECK(t && tina_tokenizer_encode(t, text, strlen(text), false, &got, &err) == TINA_OK);
        if (!same_ids(&got, want, n)) fprintf(stderr, "    \"%s\": %zu ids, want %zu\n", text, got.len, n);
        CHECK(same_ids(&got, want, n));
        tina_ids_free(&got);
    }
    cJSON_Delete(expected);
    tina_tokenizer_free(t);
}

/* Without tokenizer_config.json (a tokenizer.json named as a file) no token is bos, eos or pad: an id of 0 there
 * would make tina-sample stop at token 0 of a model with no generation_config.json. */
static void a_tokenizer_without_its_config_has_no_special_tokens(void) {
    char file[256];
    snprintf(file, sizeof file, "%s/tokenizer.json", TINY);
    TinaTokenizer *t = load(file);
    if (!t) return;
    const TinaSpecialTokens *special = tina_tokenizer_special_tokens(t);
    CHECK(special->bos.id == -1 && special->eos.id == -1 && special->pad.id == -1);
    CHECK(!special->bos.text && !special->eos.text && !special->pad.text);
    tina_tokenizer_free(t);
    t = load(TINY); /* the same tokenizer with its config names them */
    if (!t) return;
    CHECK(tina_tokenizer_special_tokens(t)->eos.id >= 0);
    tina_tokenizer_free(t);
}

static void decoding_skips_special_tokens_on_request_and_refuses_unknown_ids(void) {
    TinaTokenizer *t = load(DISTILL);
    if (!t) return;
    const int32_t ids[] = {151646, 9707, 151648, 151643};
    TinaBuf out = {0};
    TinaError err;
    CHECK(tina_tokenizer_decode(t, ids, 4, false, &out, &err) == TINA_OK);
    CHECK_STR(out.data, "<｜begin▁of▁sentence｜>Hello<think><｜end▁of▁sentence｜>");
    tina_buf_clear(&out);
    CHECK(tina_tokenizer_decode(t, ids, 4, true, &out, &err) == TINA_OK);
    CHECK_STR(out.data, "Hello<think>"); /* <think> is an added token but not a special one */
    const int32_t bad[] = {9707, 151665};
    CHECK(tina_tokenizer_decode(t, bad, 2, false, &out, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "151665 is not in the vocabulary") != NULL);
    tina_buf_free(&out);
    tina_tokenizer_free(t);
}

/* A sampler may produce "😀" as four byte tokens: nothing is shown until its last byte; a character cut short by
 * another token becomes one U+FFFD, as in one-shot decoding. */
static void streaming_decode_holds_split_characters_until_complete(void) {
    TinaTokenizer *t = load(DISTILL);
    if (!t) return;
    int32_t byte_token[4];
    const char *smile = "\xF0\x9F\x98\x80";
    for (int i = 0; i < 4; i++) {
        char byte[2] = {smile[i], 0};
        byte_token[i] = tina_tokenizer_token_id(t, byte);
        CHECK(byte_token[i] >= 0);
    }
    TinaDecodeStream stream = {0};
    TinaBuf out = {0};
    TinaError err;
    for (int i = 0; i < 3; i++) {
        CHECK(tina_tokenizer_decode_next(t, &stream, byte_token[i], false, &out, &err) == TINA_OK);
        CHECK(out.len == 0);
    }
    CHECK(tina_tokenizer_decode_next(t, &stream, byte_token[3], false, &out, &err) == TINA_OK);
    CHECK_STR(out.data, "😀");
    int32_t cut[] = {byte_token[0], byte_token[1], tina_tokenizer_token_id(t, "a"), byte_token[0]};
    tina_buf_clear(&out);
    for (int i = 0; i < 4; i++) CHECK(tina_tokenizer_decode_next(t, &stream, cut[i], false, &out, &err) == TINA_OK);
    CHECK_STR(out.data, "\xEF\xBF\xBD" "a");
    CHECK(tina_tokenizer_decode_flush(&stream, &out, &err) == TINA_OK);
    CHECK_STR(out.data, "\xEF\xBF\xBD" "a" "\xEF\xBF\xBD");
    TinaBuf whole = {0};
    CHECK(tina_tokenizer_decode(t, cut, 4, false, &whole, &err) == TINA_OK);
    CHECK_STR(whole.data, out.data);
    tina_buf_free(&out);
    tina_buf_free(&whole);
    tina_tokenizer_free(t);
}

/* \s must be Unicode White_Space, U+0085 included, as in Oniguruma (tokenizers), and U+001C must not be: pieces as
 * tokenizers' pre_tokenize_str gives them for the Qwen2 split. */
static void the_split_regex_reads_white_space_as_tokenizers_does(void) {
    cJSON *node = cJSON_Parse("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
                              "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?"
                              "[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
                              "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\","
                              "\"add_prefix_space\":false,\"use_regex\":false}]}");
    TinaPretokenizer *p = NULL;
    bool byte_level;
    TinaError err;
    CHECK(node && tina_pretokenizer_load(node, &p, &byte_level, &err) == TINA_OK && byte_level);
    struct {
        const char *text;
        const char *pieces[4];
    } cases[] = {
        {"a\xC2\x85\xC2\x85" "b", {"a", "\xC2\x85", "\xC2\x85" "b"}}, /* U+0085 */
        {"a\u2028\u2028b", {"a", "\u2028", "\u2028b"}},
        {"a\x1c\x1c" "b", {"a", "\x1c\x1c", "b"}},
        {"I'M here  \n", {"I", "'M", " here", "  \n"}},
    };
    for (size_t i = 0; p && i < sizeof cases / sizeof *cases; i++) {
        TinaSpans spans = {0};
        CHECK(tina_pretokenizer_split(p, cases[i].text, strlen(cases[i].text), &spans, &err) == TINA_OK);
        size_t n = 0;
        while (n < 4 && cases[i].pieces[n]) n++;
        CHECK(spans.len == n);
        for (size_t k = 0; k < n && k < spans.len; k++)
            CHECK(spans.data[k].len == strlen(cases[i].pieces[k]) &&
                  memcmp(cases[i].text + spans.data[k].start, cases[i].pieces[k], spans.data[k].len) == 0);
        tina_spans_free(&spans);
    }
    tina_pretokenizer_free(p);
    cJSON_Delete(node);
}

/* Loads the tiny tokenizer.json with one change made by `edit` and returns the load status and message. */
static TinaStatus load_edited(void (*edit)(cJSON *root), TinaError *err) {
    TinaBuf text = {0};
    CHECK(tina_read_file("data/models/tiny-math-bpe/tokenizer.json", &text, err) == TINA_OK);
    cJSON *root = cJSON_ParseWithLength(text.data, text.len);
    edit(root);
    char *edited = cJSON_PrintUnformatted(root);
    char path[] = "/tmp/tina-test-tokenizer-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, edited, strlen(edited)) == (ssize_t)strlen(edited));
    close(fd);
    TinaTokenizer *t = NULL;
    TinaStatus status = tina_tokenizer_load(path, &t, err);
    CHECK((status == TINA_OK) == (t != NULL));
    tina_tokenizer_free(t);
    unlink(path);
    free(edited);
    cJSON_Delete(root);
    tina_buf_free(&text);
    return status;
}

static void set_type(cJSON *root, const char *component, const char *type) {
    cJSON *node = cJSON_GetObjectItem(root, component);
    if (cJSON_IsNull(node)) {
        node = cJSON_CreateObject();
        cJSON_ReplaceItemInObject(root, component, node);
    }
    cJSON_DeleteItemFromObject(node, "type");
    cJSON_AddStringToObject(node, "type", type);
}
static void wordpiece_model(cJSON *root) { set_type(root, "model", "WordPiece"); }
static void lowercase_normalizer(cJSON *root) { set_type(root, "normalizer", "Lowercase"); }
static void whitespace_pretokenizer(cJSON *root) { set_type(root, "pre_tokenizer", "Whitespace"); }
static void metaspace_decoder(cJSON *root) { set_type(root, "decoder", "Metaspace"); }
static void bert_post_processor(cJSON *root) { set_type(root, "post_processor", "BertProcessing"); }
static void truncation_set(cJSON *root) {
    cJSON_ReplaceItemInObject(root, "truncation", cJSON_Parse("{\"max_length\":16}"));
}
static void byte_fallback(cJSON *root) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "model"), "byte_fallback", cJSON_CreateTrue());
}
static void unk_token(cJSON *root) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "model"), "unk_token", cJSON_CreateString("<unk>"));
}
static void merge_of_unknown_tokens(cJSON *root) {
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "merges"),
                         cJSON_Parse("[\"zq\", \"qz\"]"));
}
static void no_change(cJSON *root) { (void)root; }

static void unsupported_components_are_refused_by_name(void) {
    struct {
        void (*edit)(cJSON *);
        const char *message;
    } cases[] = {
        {wordpiece_model, "unsupported model \"WordPiece\""},
        {lowercase_normalizer, "unsupported normalizer \"Lowercase\""},
        {whitespace_pretokenizer, "unsupported pre-tokenizer \"Whitespace\""},
        {metaspace_decoder, "unsupported decoder \"Metaspace\""},
        {bert_post_processor, "unsupported post-processor \"BertProcessing\""},
        {truncation_set, "\"truncation\" is set"},
        {byte_fallback, "unsupported BPE option: byte_fallback"},
        {unk_token, "unsupported BPE option: unk_token"},
        {merge_of_unknown_tokens, "names a token that is not in the vocabulary"},
    };
    TinaError err;
    CHECK(load_edited(no_change, &err) == TINA_OK);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK(load_edited(cases[i].edit, &err) == TINA_ERR_INPUT);
        if (!strstr(err.message, cases[i].message)) fprintf(stderr, "    got: %s\n", err.message);
        CHECK(strstr(err.message, cases[i].message) != NULL);
    }
}

RUN_TESTS("test_tokenizer", TEST(encodes_the_known_ids_of_the_distill),
          TEST(matches_tokenizers_on_the_corpus_with_the_distill),
          TEST(matches_tokenizers_on_the_corpus_with_the_tiny_tokenizer),
          TEST(matches_tokenizers_with_a_digits_pre_tokenizer), TEST(a_byte_without_a_token_is_left_out),
          TEST(a_whole_word_token_is_taken_when_merges_are_ignored),
          TEST(a_tokenizer_without_its_config_has_no_special_tokens),
          TEST(decoding_skips_special_tokens_on_request_and_refuses_unknown_ids),
          TEST(streaming_decode_holds_split_characters_until_complete),
          TEST(the_split_regex_reads_white_space_as_tokenizers_does),
          TEST(unsupported_components_are_refused_by_name))

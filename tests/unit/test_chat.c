/* chat: the built-in templates render byte for byte what transformers' apply_chat_template renders with the
 * published templates (tests/fixtures/tokenizer/chat.jsonl, made by tests/reference/tokenizer.py, and
 * chat-smollm2.jsonl, by tests/reference/smollm2_tokenizer.py), and the distill
 * tokenises the rendering to the same ids without a second BOS. */
#include "text/chat.h"
#include "io/record.h"
#include "io/stream.h"
#include "text/tokenizer.h"
#include "test.h"

/* Renders every prompt of a fixture file with each template it names and compares; returns the renderings. */
static int check_file(const char *path) {
    TinaReader *reader;
    TinaError err;
    TinaTokenizer *distill = NULL;
    CHECK(tina_tokenizer_load("data/models/deepseek-r1-distill-qwen-1.5b", &distill, &err) == TINA_OK);
    CHECK(tina_reader_open(&reader, &path, 1, &err) == TINA_OK);
    int cases = 0;
    for (;;) {
        const char *line;
        size_t len;
        cJSON *record;
        CHECK(tina_reader_next(reader, &line, &len, &err) == TINA_OK);
        if (!line || tina_record_parse(line, len, &record, &err)) break;
        const cJSON *system = cJSON_GetObjectItem(record, "system");
        const char *problem = cJSON_GetObjectItem(record, "problem")->valuestring;
        const char *suffix = cJSON_GetObjectItem(record, "suffix")->valuestring;
        const cJSON *rendered = cJSON_GetObjectItem(record, "rendered");
        const cJSON *want;
        cJSON_ArrayForEach(want, rendered) {
            TinaTemplate template;
            CHECK(tina_chat_template(want->string, &template));
            TinaBuf out = {0};
            CHECK(tina_chat_render(template, tina_tokenizer_special_tokens(distill)->bos.text,
                                   system ? system->valuestring : NULL, NULL, problem, suffix, &out, &err) == TINA_OK);
            CHECK_STR(out.data, want->valuestring);
            if (template == TINA_TEMPLATE_DEEPSEEK_R1) {
                TinaIds ids = {0};
                CHECK(tina_tokenizer_encode(distill, out.data, out.len, false, &ids, &err) == TINA_OK);
                const cJSON *want_ids = cJSON_GetObjectItem(record, "deepseek_r1_ids"), *id;
                CHECK(cJSON_GetArraySize(want_ids) == (int)ids.len);
                size_t i = 0;
                cJSON_ArrayForEach(id, want_ids) CHECK(i < ids.len && id->valueint == ids.data[i++]);
                CHECK(ids.len > 1 && ids.data[0] == 151646 && ids.data[1] != 151646); /* one BOS */
                tina_ids_free(&ids);
            }
            tina_buf_free(&out);
            cases++;
        }
        cJSON_Delete(record);
    }
    tina_reader_close(reader);
    tina_tokenizer_free(distill);
    return cases;
}

static void templates_render_like_apply_chat_template(void) {
    CHECK(check_file("tests/fixtures/tokenizer/chat.jsonl") == 24);
    /* tests/reference/smollm2_tokenizer.py: SmolLM2-Instruct's template on the same prompts */
    CHECK(check_file("tests/fixtures/tokenizer/chat-smollm2.jsonl") == 8);
}

static void plain_is_the_problem_and_suffix_and_names_are_known(void) {
    TinaBuf out = {0};
    TinaError err;
    TinaTemplate template;
    CHECK(tina_chat_template("plain", &template) && template == TINA_TEMPLATE_PLAIN);
    CHECK(tina_chat_render(template, NULL, "ignored system", NULL, "1+1?", " Think.", &out, &err) == TINA_OK);
    CHECK_STR(out.data, "1+1? Think.");
    CHECK(!tina_chat_template("llama", &template));
    tina_buf_free(&out);
}

RUN_TESTS("test_chat", TEST(templates_render_like_apply_chat_template),
          TEST(plain_is_the_problem_and_suffix_and_names_are_known))

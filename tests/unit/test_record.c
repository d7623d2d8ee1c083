/* record: parsing lines, typed field access with useful errors, and splicing fields into the original text. */
#include <float.h>
#include <stdlib.h>

#include "io/record.h"
#include "test.h"

static cJSON *parse(const char *line) {
    cJSON *record = NULL;
    TinaError err;
    CHECK(tina_record_parse(line, strlen(line), &record, &err) == TINA_OK);
    return record;
}

static TinaStatus parse_error(const char *line, TinaError *err) {
    cJSON *record = NULL;
    TinaStatus status = tina_record_parse(line, strlen(line), &record, err);
    CHECK(record == NULL);
    return status;
}

static void only_one_json_object_per_line_is_accepted(void) {
    TinaError err;
    CHECK(parse_error("[1,2]", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "not a JSON object") != NULL);
    /* a file holding one JSON array, given where JSON lines are read: its one line, or the "[" of a printed one */
    CHECK(parse_error("[{\"id\":\"a\"},{\"id\":\"b\"}]", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "jq -c '.[]' FILE") != NULL);
    CHECK(parse_error("[", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "not valid JSON") != NULL && strstr(err.message, "jq -c '.[]' FILE") != NULL);
    CHECK(parse_error("{\"a\":", &err) == TINA_ERR_INPUT && !strstr(err.message, "jq -c"));
    CHECK(parse_error("\"x\"", &err) == TINA_ERR_INPUT && !strstr(err.message, "jq -c"));
    CHECK(parse_error("{\"a\":1} {\"b\":2}", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "text after") != NULL);
    CHECK(parse_error("{\"a\":", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "not valid JSON") != NULL);
    CHECK(parse_error("{'a':1}", &err) == TINA_ERR_INPUT);
    cJSON_Delete(parse("  {\"a\":1}  "));
}

/* Two members of one name: jq and Python read the last, cJSON the first, so such a record is refused; a record of
 * many members (past the pairwise check) as well, at its first repeat, and an object inside a record; the same name
 * in two objects is no repeat. */
static void a_field_given_twice_is_refused(void) {
    TinaError err;
    CHECK(parse_error("{\"id\":\"a\",\"reward\":1,\"reward\":2}", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "field \"reward\" appears twice") != NULL);
    CHECK(parse_error("{\"a\":1,\"\\u0061\":2}", &err) == TINA_ERR_INPUT); /* one name, written two ways */
    TinaBuf many = {0};
    CHECK(tina_buf_append_str(&many, "{", &err) == TINA_OK);
    for (int i = 0; i < 1000; i++) {
        char member[32];
        snprintf(member, sizeof member, "\"k%d\":%d,", i, i);
        CHECK(tina_buf_append_str(&many, member, &err) == TINA_OK);
    }
    CHECK(tina_buf_append_str(&many, "\"k999\":0}", &err) == TINA_OK);
    CHECK(parse_error(many.data, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "field \"k999\" appears twice") != NULL);
    many.data[many.len - 7] = 'x'; /* "kx99": no repeat */
    cJSON_Delete(parse(many.data));
    tina_buf_free(&many);
    cJSON_Delete(parse("{\"a\":{\"x\":1},\"b\":{\"x\":2}}"));
    /* inside the record too: tina-score reads rewards.accuracy, tina-tokenize a message's content */
    CHECK(parse_error("{\"rewards\":{\"accuracy\":1,\"accuracy\":0}}", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "field \"accuracy\" appears twice") != NULL);
    CHECK(parse_error("{\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}]}", &err) ==
          TINA_ERR_INPUT);
    CHECK(strstr(err.message, "field \"content\" appears twice") != NULL);
}

/* What a C string or a double cannot hold is refused, with where it is: "\u0000" (cJSON's string would end there, so
 * "a\u0000b" and "a\u0000c" would be one id) and numbers beyond double's range (1e400 reads as infinity). */
static void nul_characters_and_numbers_beyond_double_are_refused(void) {
    TinaError err;
    CHECK(parse_error("{\"id\":\"a\\u0000b\"}", &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "\\u0000") != NULL && strstr(err.message, "byte 9") != NULL);
    CHECK(parse_error("{\"a\\u0000\":1}", &err) == TINA_ERR_INPUT); /* in a key too */
    cJSON_Delete(parse("{\"id\":\"a\\\\u0000b\"}"));            /* an escaped backslash, then plain "u0000" */
    TinaBuf written = {0}; /* and tina never writes one: a NUL byte (a model may sample it) is written as U+FFFD */
    CHECK(tina_record_format_string(&written, "a\0b", 3, &err) == TINA_OK);
    CHECK_STR(written.data, "\"a\xEF\xBF\xBD" "b\"");
    tina_buf_free(&written);
    cJSON_Delete(parse("{\"id\":\"\\u0001\\u1000\"}")); /* other control characters are characters */
    CHECK(parse_error("{\"rewards\":{\"accuracy\":1e400}}", &err) == TINA_ERR_INPUT);
    CHECK_STR(err.message, "field \"accuracy\" holds a number beyond double's range");
    CHECK(parse_error("{\"x\":[1,-2e999]}", &err) == TINA_ERR_INPUT);
    CHECK_STR(err.message, "field \"x\" holds a number beyond double's range");
    CHECK(parse_error("\xEF\xBB\xBF{\"a\":1}", &err) == TINA_ERR_INPUT); /* the reader drops one at an input's start */
    CHECK(strstr(err.message, "byte order mark") != NULL);
    cJSON_Delete(parse("{\"x\":1.7e308,\"y\":4e-330}")); /* the largest double, and an underflow to 0: numbers */
}

static void getters_name_the_field_that_is_missing_or_of_the_wrong_type(void) {
    cJSON *r = parse("{\"reward\":\"high\",\"sample\":2.5,\"n\":null,\"x\":0.25,\"id\":7,\"s\":\"v\"}");
    TinaError err;
    double value;
    bool is_null;
    long long integer;
    const char *text;
    CHECK(tina_record_number(r, "missing", &value, &err) == TINA_ERR_INPUT);
    CHECK_STR(err.message, "field \"missing\" is missing");
    CHECK(tina_record_number(r, "reward", &value, &err) == TINA_ERR_INPUT);
    CHECK_STR(err.message, "field \"reward\" is not a number");
    CHECK(tina_record_number_or_null(r, "n", &value, &is_null, &err) == TINA_OK && is_null && value == 0);
    CHECK(tina_record_number_or_null(r, "x", &value, &is_null, &err) == TINA_OK && !is_null && value == 0.25);
    CHECK(tina_record_number_or_null(r, "reward", &value, &is_null, &err) == TINA_ERR_INPUT);
    CHECK(tina_record_integer(r, "sample", 0, 10, &integer, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "expected an integer from 0 to 10") != NULL);
    CHECK(tina_record_integer(r, "id", 0, 5, &integer, &err) == TINA_ERR_INPUT);
    CHECK(tina_record_integer(r, "id", 0, 10, &integer, &err) == TINA_OK && integer == 7);
    CHECK(tina_record_string(r, "s", &text, &err) == TINA_OK);
    CHECK_STR(text, "v");
    CHECK(tina_record_string(r, "id", &text, &err) == TINA_ERR_INPUT);
    cJSON_Delete(r);
}

static void ids_may_be_strings_or_numbers(void) {
    cJSON *r = parse("{\"a\":\"p-1\",\"b\":42,\"c\":[1]}");
    TinaBuf key = {0};
    TinaError err;
    CHECK(tina_record_key(r, "a", &key, &err) == TINA_OK);
    CHECK_STR(key.data, "p-1");
    CHECK(tina_record_key(r, "b", &key, &err) == TINA_OK);
    CHECK_STR(key.data, "42");
    CHECK(tina_record_key(r, "c", &key, &err) == TINA_ERR_INPUT);
    tina_buf_free(&key);
    cJSON_Delete(r);
}

static const char *splice(const char *line, const char *key, const char *json) {
    static TinaBuf out;
    tina_buf_clear(&out);
    TinaField field = {key, json};
    TinaError err;
    CHECK(tina_record_splice(&out, line, strlen(line), &field, 1, &err) == TINA_OK);
    return out.data;
}

static void a_new_field_is_appended_and_every_other_byte_kept(void) {
    CHECK_STR(splice("{\"b\": 1.50, \"a\":\"x\" , \"e\":1E2}", "advantage", "0.5"),
              "{\"b\": 1.50, \"a\":\"x\" , \"e\":1E2,\"advantage\":0.5}");
    CHECK_STR(splice("{}", "advantage", "1"), "{\"advantage\":1}");
    CHECK_STR(splice(" { } ", "k", "[1]"), " {\"k\":[1] } ");
}

static void an_existing_field_is_replaced_where_it_stands(void) {
    CHECK_STR(splice("{\"advantage\": 3, \"z\":1}", "advantage", "0.5"), "{\"advantage\": 0.5, \"z\":1}");
    CHECK_STR(splice("{\"a\":1,\"advantage\":{\"deep\":[1,2]}}", "advantage", "-2"),
              "{\"a\":1,\"advantage\":-2}");
    CHECK_STR(splice("{\"adv\\u0061ntage\":1}", "advantage", "2"), "{\"adv\\u0061ntage\":2}");
}

static void only_top_level_keys_match_and_strings_may_hold_anything(void) {
    CHECK_STR(splice("{\"m\":{\"advantage\":1}}", "advantage", "2"), "{\"m\":{\"advantage\":1},\"advantage\":2}");
    CHECK_STR(splice("{\"s\":\"a}\\\"b{,\",\"t\":[1,{\"u\":\"]\"}]}", "advantage", "2"),
              "{\"s\":\"a}\\\"b{,\",\"t\":[1,{\"u\":\"]\"}],\"advantage\":2}");
    CHECK_STR(splice("{\"advantages\":1,\"advantag\":2}", "advantage", "3"),
              "{\"advantages\":1,\"advantag\":2,\"advantage\":3}");
}

static void several_fields_are_set_at_once_and_the_result_is_valid_json(void) {
    TinaBuf out = {0};
    TinaField fields[] = {{"reward", "1"}, {"pred", "\"42\""}, {"rewards", "{\"accuracy\":1}"}};
    TinaError err;
    const char *line = "{\"id\":\"q\",\"reward\":null,\"completion\":\"\\\\boxed{42}\"}";
    CHECK(tina_record_splice(&out, line, strlen(line), fields, 3, &err) == TINA_OK);
    CHECK_STR(out.data, "{\"id\":\"q\",\"reward\":1,\"completion\":\"\\\\boxed{42}\",\"pred\":\"42\","
                        "\"rewards\":{\"accuracy\":1}}");
    cJSON *parsed = parse(out.data);
    CHECK(parsed && cJSON_GetArraySize(parsed) == 5);
    cJSON_Delete(parsed);
    tina_buf_free(&out);
}

static void numbers_are_written_in_the_shortest_form_that_reads_back_exactly(void) {
    char text[32];
    const double values[] = {0.1, 1.0 / 3.0, 2, -0.5, 1e300, 5e-324, DBL_MAX, 0.999950002499875, 123456789012345678.0};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        tina_record_format_number(values[i], text);
        CHECK(strtod(text, NULL) == values[i]);
    }
    tina_record_format_number(0.1, text);
    CHECK_STR(text, "0.1");
    tina_record_format_number(2, text);
    CHECK_STR(text, "2");
    tina_record_format_number(NAN, text);
    CHECK_STR(text, "null");
    tina_record_format_number(INFINITY, text);
    CHECK_STR(text, "null");
}

RUN_TESTS("test_record", TEST(only_one_json_object_per_line_is_accepted), TEST(a_field_given_twice_is_refused),
          TEST(nul_characters_and_numbers_beyond_double_are_refused),
          TEST(getters_name_the_field_that_is_missing_or_of_the_wrong_type), TEST(ids_may_be_strings_or_numbers),
          TEST(a_new_field_is_appended_and_every_other_byte_kept),
          TEST(an_existing_field_is_replaced_where_it_stands),
          TEST(only_top_level_keys_match_and_strings_may_hold_anything),
          TEST(several_fields_are_set_at_once_and_the_result_is_valid_json),
          TEST(numbers_are_written_in_the_shortest_form_that_reads_back_exactly))

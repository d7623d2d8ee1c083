/* libFuzzer target for the JSON-lines path: stream reader (plain and zstd), record parser and field splicer.
 * Properties checked on every input, beyond "no crash, no sanitizer report": a returned line holds no newline;
 * splicing a field into any record the parser accepted gives a JSON object that cJSON accepts, that has the field
 * with the spliced value, and that has no other key count change than the one added field.
 * Build and run: make fuzz FUZZ_SECONDS=600 */
#include "fuzz.h"

#include <string.h>

#include "io/record.h"
#include "io/stream.h"

static void require(int condition, const char *what) {
    if (!condition) {
        fprintf(stderr, "property violated: %s\n", what);
        abort();
    }
}

static void check_splice(const char *line, size_t len, const cJSON *record) {
    TinaBuf out = {0};
    TinaError err;
    TinaField field = {"advantage", "1.5"};
    int had = cJSON_GetObjectItemCaseSensitive(record, "advantage") != NULL;
    require(tina_record_splice(&out, line, len, &field, 1, &err) == TINA_OK, "splice of a parsed record fails");
    cJSON *spliced = cJSON_ParseWithLength(out.data, out.len);
    require(spliced && cJSON_IsObject(spliced), "spliced record is not a JSON object");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(spliced, "advantage");
    require(value && cJSON_IsNumber(value) && value->valuedouble == 1.5, "spliced field does not read back");
    require(cJSON_GetArraySize(spliced) == cJSON_GetArraySize(record) + !had, "splice changed other keys");
    cJSON_Delete(spliced);
    tina_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(data, size);
    const char *paths[] = {path};
    TinaReader *reader;
    TinaError err;
    if (tina_reader_open(&reader, paths, 1, &err)) return 0;
    for (int lines = 0; lines < 1000; lines++) {
        const char *line;
        size_t len;
        if (tina_reader_next(reader, &line, &len, &err) || !line) break;
        require(memchr(line, '\n', len) == NULL && line[len] == '\0', "line holds a newline or is unterminated");
        cJSON *record;
        if (tina_record_parse(line, len, &record, &err) == TINA_OK) {
            check_splice(line, len, record);
            cJSON_Delete(record);
        }
    }
    tina_reader_close(reader);
    return 0;
}

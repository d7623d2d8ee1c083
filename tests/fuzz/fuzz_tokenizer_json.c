/* libFuzzer target for the tokenizer.json loader: any bytes must load or be refused with a message, never crash or
 * leak; a tokenizer that loads must encode and decode a fixed text, and its decoding must be well-formed UTF-8. */
#include "fuzz.h"

#include <string.h>

#include "text/tokenizer.h"
#include "base/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(data, size);
    TinaTokenizer *t;
    TinaError err;
    if (tina_tokenizer_load(path, &t, &err) != TINA_OK) {
        if (!err.message[0]) abort(); /* a refusal always says why */
        return 0;
    }
    static const char text[] = "Hello, wörld!  <think>x</think>\n\n12345 'S \xff\xfe done";
    TinaIds ids = {0};
    TinaBuf out = {0};
    if (tina_tokenizer_encode(t, text, sizeof text - 1, true, &ids, &err) == TINA_OK &&
        tina_tokenizer_decode(t, ids.data, ids.len, false, &out, &err) == TINA_OK &&
        !tina_utf8_valid(out.data ? out.data : "", out.len))
        abort();
    tina_ids_free(&ids);
    tina_buf_free(&out);
    tina_tokenizer_free(t);
    return 0;
}

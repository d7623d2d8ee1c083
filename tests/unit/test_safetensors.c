/* safetensors and config: every malformed file is refused with a message that says what is wrong, conversions are
 * exact, the writer round-trips, sharded checkpoints load, and config.json features tina lacks are refused. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/config.h"
#include "model/model.h"
#include "io/safetensors.h"
#include "io/stream.h"
#include "test.h"

static char folder[] = "/tmp/tina-test-safetensors-XXXXXX";

static const char *path_of(const char *name) {
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 256, "%s/%s", folder, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

/* A file: the header's length (or `length` when nonzero), the header, then `data_len` bytes 0x3f. */
static const char *make(const char *name, const char *header, size_t data_len, uint64_t length) {
    size_t n = strlen(header);
    unsigned char *bytes = malloc(8 + n + data_len + 1);
    uint64_t stated = length ? length : n;
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)(stated >> (8 * i));
    memcpy(bytes + 8, header, n);
    memset(bytes + 8 + n, 0x3f, data_len);
    const char *path = path_of(name);
    write_bytes(path, bytes, 8 + n + data_len);
    free(bytes);
    return path;
}

static void refused(const char *path, const char *message) {
    TinaSafetensors *st = NULL;
    TinaError err;
    CHECK(tina_safetensors_open(path, &st, &err) == TINA_ERR_INPUT);
    CHECK(st == NULL);
    if (!strstr(err.message, message)) fprintf(stderr, "    got: %s\n    want: %s\n", err.message, message);
    CHECK(strstr(err.message, message) != NULL);
}

static void every_malformed_file_is_refused_with_its_reason(void) {
    const char *one = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    char header[512];
    write_bytes(path_of("short"), "\x10\x00\x00", 3);
    refused(path_of("short"), "truncated: 3 bytes, no header length");
    snprintf(header, sizeof header, "{%s}", one);
    refused(make("long-header", header, 8, 4096), "truncated: the header needs 4104 bytes");
    refused(make("huge-header", header, 8, 200000000), "too large");
    refused(make("not-utf8", "{\"\xff\":{}}", 0, 0), "not valid UTF-8");
    refused(make("not-json", "{\"a\":", 0, 0), "not a JSON object");
    refused(make("array", "[1,2]", 0, 0), "not a JSON object");
    refused(make("dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0),
            "unknown dtype \"F33\"");
    refused(make("size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0),
            "shape x F32 is 12 bytes but its data_offsets span 8");
    refused(make("outside", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0),
            "outside the file");
    refused(make("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0), "overlap");
    refused(make("hole", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, 0),
            "4 bytes before tensor \"b\" belong to no tensor");
    snprintf(header, sizeof header, "{%s}", one);
    refused(make("trailing", header, 12, 0), "4 bytes after the last tensor");
    snprintf(header, sizeof header, "{%s,%s}", one, one);
    refused(make("twice", header, 8, 0), "tensor \"a\" appears twice");
    refused(make("backwards", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, 0),
            "bad data_offsets");
    refused(make("shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, 0), "bad shape");
    snprintf(header, sizeof header, "{\"__metadata__\":{\"format\":1},%s}", one);
    refused(make("metadata", header, 8, 0), "__metadata__ must map strings to strings");
    refused(path_of("missing"), "cannot open");
}

static void a_valid_file_reads_and_converts_every_float_type(void) {
    /* f32 1.5, -2; bf16 1.0 (0x3f80), -0.5 (0xbf00); f16 1.0 (0x3c00), -2.5 (0xc100), 2^-24 (0x0001), inf (0x7c00) */
    unsigned char data[] = {0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0x80, 0x3f, 0x00, 0xbf,
                            0x00, 0x3c, 0x00, 0xc1, 0x01, 0x00, 0x00, 0x7c};
    const char *header = "{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[8,12]},"
                         "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[12,20]}}";
    size_t n = strlen(header);
    unsigned char *bytes = malloc(8 + n + sizeof data);
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(bytes + 8, header, n);
    memcpy(bytes + 8 + n, data, sizeof data);
    write_bytes(path_of("good.safetensors"), bytes, 8 + n + sizeof data);
    free(bytes);
    TinaSafetensors *st = NULL;
    TinaError err;
    CHECK(tina_safetensors_open(path_of("good.safetensors"), &st, &err) == TINA_OK);
    if (!st) return;
    CHECK(tina_safetensors_count(st) == 3);
    CHECK_STR(tina_safetensors_metadata(st, "format"), "pt");
    float out[4];
    CHECK(tina_tensor_to_f32(tina_safetensors_find(st, "f"), out, &err) == TINA_OK && out[0] == 1.5f && out[1] == -2);
    const TinaTensorInfo *b = tina_safetensors_find(st, "b");
    CHECK(b->ndim == 2 && b->shape[0] == 1 && b->shape[1] == 2);
    CHECK(tina_tensor_to_f32(b, out, &err) == TINA_OK && out[0] == 1 && out[1] == -0.5f);
    /* converted, then refused for its infinity: weights must be finite */
    CHECK(tina_tensor_to_f32(tina_safetensors_find(st, "h"), out, &err) == TINA_ERR_INPUT);
    CHECK_STR(err.message, "tensor \"h\" holds 1 infinite or NaN values (the first at 3)");
    CHECK(out[0] == 1 && out[1] == -2.5f && out[2] == 0x1p-24f && isinf(out[3]));
    CHECK(tina_safetensors_find(st, "nothing") == NULL);
    tina_safetensors_close(st);
}

static void the_writer_round_trips_and_rounds_bf16_to_nearest_even(void) {
    float a[6] = {1, 2, 3, 4, 5, 6};
    float b[3] = {1.00390625f, 1.01171875f, -3.14159265f}; /* halfway cases round to even: 1.0, 1.015625 */
    TinaTensorOut tensors[] = {{"a", TINA_DTYPE_F32, 2, {2, 3}, a}, {"b", TINA_DTYPE_BF16, 1, {3}, b}};
    static const char *const metadata[] = {"format", "pt", "note", "quote\" and \\", NULL};
    TinaError err;
    CHECK(tina_safetensors_write(path_of("written.safetensors"), tensors, 2, metadata, &err) == TINA_OK);
    TinaSafetensors *st = NULL;
    CHECK(tina_safetensors_open(path_of("written.safetensors"), &st, &err) == TINA_OK);
    if (!st) return;
    float out[6];
    CHECK(tina_tensor_to_f32(tina_safetensors_find(st, "a"), out, &err) == TINA_OK && memcmp(out, a, sizeof a) == 0);
    CHECK(tina_tensor_to_f32(tina_safetensors_find(st, "b"), out, &err) == TINA_OK);
    CHECK(out[0] == 1.0f && out[1] == 1.015625f && out[2] == -3.140625f);
    CHECK_STR(tina_safetensors_metadata(st, "note"), "quote\" and \\");
    const TinaTensorInfo *t = tina_safetensors_find(st, "a");
    CHECK((((const char *)t->data - (const char *)tina_safetensors_find(st, "a")->data) % 8) == 0);
    tina_safetensors_close(st);
}

static void sharded_checkpoints_load_through_their_index(void) {
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    TinaTensorOut first[] = {{"a", TINA_DTYPE_F32, 1, {2}, a}}, second[] = {{"b", TINA_DTYPE_F32, 1, {3}, b}};
    TinaError err;
    CHECK(tina_safetensors_write(path_of("model-00001-of-00002.safetensors"), first, 1, NULL, &err) == TINA_OK);
    CHECK(tina_safetensors_write(path_of("model-00002-of-00002.safetensors"), second, 1, NULL, &err) == TINA_OK);
    const char *index = "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                        "\"b\":\"model-00002-of-00002.safetensors\"}}";
    write_bytes(path_of("model.safetensors.index.json"), index, strlen(index));
    TinaSafetensors *st = NULL;
    CHECK(tina_safetensors_open(folder, &st, &err) == TINA_OK);
    float out[3];
    CHECK(st && tina_tensor_to_f32(tina_safetensors_find(st, "b"), out, &err) == TINA_OK && out[2] == 5);
    tina_safetensors_close(st);
    const char *wrong = "{\"weight_map\":{\"a\":\"model-00002-of-00002.safetensors\"}}";
    write_bytes(path_of("wrong.index.json"), wrong, strlen(wrong));
    refused(path_of("wrong.index.json"), "tensor \"a\" is not in model-00002-of-00002.safetensors");
    unlink(path_of("model.safetensors.index.json"));
}

/* A folder with the qwen2 fixture's weights and an edited config.json. */
static TinaStatus load_with_config(const char *config_json, TinaError *err) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/model", folder);
    mkdir(dir, 0777);
    TinaBuf weights = {0};
    tina_read_file("tests/fixtures/models/qwen2-f32/model.safetensors", &weights, err);
    char path[300];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_bytes(path, weights.data, weights.len);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_bytes(path, config_json, strlen(config_json));
    tina_buf_free(&weights);
    TinaBackend *backend;
    tina_cpu_backend_new(1, &backend, err);
    TinaModel *m = NULL;
    TinaStatus status = tina_model_load(dir, backend, 4, &m, err);
    tina_model_free(m);
    backend->destroy(backend);
    return status;
}

static void configs_and_weights_that_do_not_fit_are_refused(void) {
    const char *base = "{\"model_type\":\"qwen2\",\"hidden_size\":64,\"intermediate_size\":%d,\"num_hidden_layers\":%d,"
                       "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"vocab_size\":2048%s}";
    struct {
        int intermediate, layers;
        const char *extra;
        TinaStatus status;
        const char *message;
    } cases[] = {
        {128, 2, "", TINA_OK, ""},
        {128, 2, ",\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":2}", TINA_ERR_INPUT,
         "unsupported rope scaling \"linear\""},
        {128, 2, ",\"rope_parameters\":{\"rope_type\":\"yarn\",\"rope_theta\":10000}", TINA_ERR_INPUT,
         "unsupported rope scaling \"yarn\""},
        {128, 2, ",\"use_sliding_window\":true", TINA_ERR_INPUT, "use_sliding_window is true"},
        {128, 2, ",\"layer_types\":[\"full_attention\",\"sliding_attention\"]", TINA_ERR_INPUT,
         "layer type \"sliding_attention\""},
        {128, 2, ",\"num_experts\":8", TINA_ERR_INPUT, "a mixture of experts"},
        {128, 2, ",\"hidden_act\":\"gelu\"", TINA_ERR_INPUT, "unsupported hidden_act \"gelu\""},
        {128, 3, "", TINA_ERR_INPUT, "missing tensor model.layers.2.input_layernorm.weight (config.json requires it)"},
        {96, 2, "", TINA_ERR_INPUT, "model.layers.0.mlp.gate_proj.weight has shape [128, 64], config.json implies [96, 64]"},
    };
    char config[1024];
    TinaError err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(config, sizeof config, base, cases[i].intermediate, cases[i].layers, cases[i].extra);
        TinaStatus status = load_with_config(config, &err);
        if (status != cases[i].status || !strstr(status ? err.message : "", cases[i].message))
            fprintf(stderr, "    case %zu: got %d %s\n", i, status, status ? err.message : "");
        CHECK(status == cases[i].status);
        if (status) CHECK(strstr(err.message, cases[i].message) != NULL);
    }
    TinaConfig c;
    write_bytes(path_of("bert.json"), "{\"model_type\":\"bert\"}", 21);
    CHECK(tina_config_load(path_of("bert.json"), &c, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "unsupported model_type \"bert\" (supported: qwen2, llama)") != NULL);
    CHECK(tina_config_load("data/models/deepseek-r1-distill-qwen-1.5b", &c, &err) == TINA_OK);
    CHECK(c.hidden == 1536 && c.n_layers == 28 && c.n_heads == 12 && c.n_kv_heads == 2 && c.head_dim == 128 &&
          c.intermediate == 8960 && c.vocab == 151936 && c.rope_theta == 10000 && !c.tie_embeddings && c.qkv_bias);
}

static void cleanup(void) {
    char command[300];
    snprintf(command, sizeof command, "rm -rf %s", folder);
    if (system(command) != 0) fprintf(stderr, "cannot remove %s\n", folder);
}

/* a 1-D shape was written "[5120]" for [512] (its missing second size printed as 0 after the first) */
static void shapes_are_written_with_every_size_and_no_other(void) {
    char text[64];
    CHECK_STR(tina_shape_text(text, sizeof text, 1, (int64_t[]){512}), "[512]");
    CHECK_STR(tina_shape_text(text, sizeof text, 2, (int64_t[]){128, 64}), "[128, 64]");
    CHECK_STR(tina_shape_text(text, sizeof text, 3, (int64_t[]){2, 3, 4}), "[2, 3, 4]");
    CHECK_STR(tina_shape_text(text, sizeof text, 0, NULL), "[]");
    CHECK_STR(tina_shape_text(text, 6, 2, (int64_t[]){128, 64}), "[128,");
}

int main(void) {
    static const TestCase tests[] = {
        TEST(shapes_are_written_with_every_size_and_no_other),
        TEST(every_malformed_file_is_refused_with_its_reason),
        TEST(a_valid_file_reads_and_converts_every_float_type),
        TEST(the_writer_round_trips_and_rounds_bf16_to_nearest_even),
        TEST(sharded_checkpoints_load_through_their_index),
        TEST(configs_and_weights_that_do_not_fit_are_refused),
    };
    if (!mkdtemp(folder)) return 1;
    int status = test_main("test_safetensors", tests, sizeof tests / sizeof tests[0]);
    cleanup();
    return status;
}

/* tina-tokenize: JSON lines through a model's tokenizer: text to "tokens", tokens to "text", prompts rendered with a
 * chat template first, or only counted. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat.h"
#include "cli.h"
#include "io/fields.h"
#include "base/progress.h"
#include "io/record.h"
#include "io/stream.h"
#include "text/tokenizer.h"

static const char usage[] =
    "Usage: tina-tokenize --tokenizer PATH [OPTION]... [INPUT]...\n"
    "Encode the \"text\" of each JSON line into \"tokens\" (or decode \"tokens\" into \"text\") with a model's\n"
    "Hugging Face tokenizer, exactly as the tokenizers library does. INPUT is JSON lines, plain or zstd; none or\n"
    "\"-\" reads stdin. Every other field passes through unchanged.\n"
    "\n"
    "  -t, --tokenizer PATH      model folder (tokenizer.json[.zst], tokenizer_config.json) or tokenizer.json\n"
    "  -d, --decode              read \"tokens\" (ids) and add \"text\"\n"
    "  -c, --count               add only \"n_tokens\" instead of \"tokens\"\n"
    "      --field NAME          the field to read (default \"text\", or \"tokens\" with --decode; with\n"
    "                            --template, the problem's: text or chat messages)\n"
    "      --template NAME       render the record's \"problem\" (and \"system\") with a chat template first;\n"
    "                            adds the rendered \"text\". NAME: deepseek-r1, deepseek-r1-lighteval, tina,\n"
    "                            qwen, smollm2, plain\n"
    "      --system TEXT         system prompt for records without a \"system\" field (with --template)\n"
    "      --prefix TEXT         put before each problem (with --template)\n"
    "      --suffix TEXT         appended to each problem, e.g. \" Please reason step by step, ...\" (with --template)\n"
    "      --add-special-tokens  apply the tokenizer's post-processor (BOS) even to rendered prompts\n"
    "      --no-special-tokens   do not apply it to plain text (by default it is applied, as tokenizers does)\n"
    "      --skip-special-tokens leave special tokens out of decoded text\n"
    "  -o, --output FILE         write to FILE (zstd if it ends in .zst; written atomically) instead of stdout\n"
    "  -q, --quiet               no summary line on stderr\n"
    "      --progress            show progress on stderr even when it is not a terminal\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or input. See tina-tokenize(1).\n";

typedef struct {
    const char *tokenizer;
    bool decode, count;
    const char *field;
    bool has_template;
    TinaTemplate template;
    const char *system, *prefix, *suffix;
    int add_special; /* -1: the default for the mode */
    bool skip_special;
    const char *output;
    bool quiet, progress;
} Options;

static Options parse_options(int argc, char **argv) {
    enum { OPT_FIELD = 256, OPT_TEMPLATE, OPT_SYSTEM, OPT_PREFIX, OPT_SUFFIX, OPT_ADD_SPECIAL, OPT_NO_SPECIAL, OPT_SKIP_SPECIAL,
           OPT_PROGRESS };
    static const struct option long_options[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"decode", no_argument, NULL, 'd'},
        {"count", no_argument, NULL, 'c'},
        {"field", required_argument, NULL, OPT_FIELD},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"system", required_argument, NULL, OPT_SYSTEM},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"suffix", required_argument, NULL, OPT_SUFFIX},
        {"add-special-tokens", no_argument, NULL, OPT_ADD_SPECIAL},
        {"no-special-tokens", no_argument, NULL, OPT_NO_SPECIAL},
        {"skip-special-tokens", no_argument, NULL, OPT_SKIP_SPECIAL},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    Options o = {.add_special = -1};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":t:dco:qhV", long_options, NULL)) != -1;) {
        switch (c) {
        case 't': o.tokenizer = optarg; break;
        case 'd': o.decode = true; break;
        case 'c': o.count = true; break;
        case OPT_FIELD: o.field = optarg; break;
        case OPT_TEMPLATE:
            if (!tina_chat_template(optarg, &o.template))
                cli_usage_error("--template: '%s' is not one of: %s", optarg, tina_chat_template_names());
            o.has_template = true;
            break;
        case OPT_SYSTEM: o.system = optarg; break;
        case OPT_PREFIX: o.prefix = optarg; break;
        case OPT_SUFFIX: o.suffix = optarg; break;
        case OPT_ADD_SPECIAL: o.add_special = 1; break;
        case OPT_NO_SPECIAL: o.add_special = 0; break;
        case OPT_SKIP_SPECIAL: o.skip_special = true; break;
        case 'o': o.output = optarg; break;
        case 'q': o.quiet = true; break;
        case OPT_PROGRESS: o.progress = true; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    if (!o.tokenizer) cli_usage_error("--tokenizer is required");
    if (o.decode && (o.count || o.has_template || o.add_special >= 0))
        cli_usage_error("--decode does not go with --count, --template or the special-token options of encoding");
    if (!o.has_template && (o.system || o.prefix || o.suffix))
        cli_usage_error("--system, --prefix and --suffix need --template");
    if (!o.field && !o.has_template) o.field = o.decode ? "tokens" : "text";
    if (o.add_special < 0) o.add_special = !o.has_template; /* a rendered prompt carries its own BOS */
    return o;
}

typedef struct {
    TinaTokenizer *tokenizer;
    TinaBuf text;       /* rendered or decoded text */
    TinaBuf text_json;  /* the "text" field's value */
    TinaBuf value_json; /* the "tokens" or "n_tokens" field's value */
    TinaBuf line;       /* the record as written */
    TinaIds ids;
    long long records, tokens;
} Work;

/* Encoding: the text to encode (rendered into w->text with --template) and its ids in w->ids. */
static TinaStatus encode(const Options *o, Work *w, const cJSON *record, TinaError *err) {
    const char *source;
    TinaStatus status;
    if (o->has_template) {
        const char *problem = NULL, *system = o->system;
        status = tina_chat_turn(record, o->field, &problem, &system, err);
        if (!status)
            status = tina_chat_render(o->template, tina_tokenizer_special_tokens(w->tokenizer)->bos.text, system,
                                      o->prefix, problem, o->suffix, &w->text, err);
        source = w->text.data;
    } else {
        status = tina_record_string(record, o->field, &source, err);
    }
    w->ids.len = 0;
    return status ? status : tina_tokenizer_encode(w->tokenizer, source, strlen(source), o->add_special, &w->ids, err);
}

/* The record's line with this tool's fields set, in w->line. */
static TinaStatus process(const Options *o, Work *w, const char *line, size_t len, TinaError *err) {
    cJSON *record;
    TinaStatus status = tina_record_parse(line, len, &record, err);
    if (status) return status;
    tina_buf_clear(&w->text);
    tina_buf_clear(&w->text_json);
    tina_buf_clear(&w->value_json);
    TinaField fields[2];
    int n = 0;
    if (o->decode) {
        w->ids.len = 0;
        status = tina_record_ids(record, o->field, INT32_MAX, &w->ids, err);
        if (!status) status = tina_tokenizer_decode(w->tokenizer, w->ids.data, w->ids.len, o->skip_special, &w->text,
                                                    err);
    } else {
        status = encode(o, w, record, err);
        w->tokens += (long long)w->ids.len;
    }
    cJSON_Delete(record);
    if (!status && (o->decode || o->has_template)) {
        status = tina_record_format_string(&w->text_json, w->text.data ? w->text.data : "", w->text.len, err);
        fields[n++] = (TinaField){"text", w->text_json.data};
    }
    if (!status && !o->decode) {
        char count[32];
        snprintf(count, sizeof count, "%zu", w->ids.len);
        status = o->count ? tina_buf_append_str(&w->value_json, count, err)
                          : tina_record_format_ids(&w->value_json, w->ids.data, w->ids.len, err);
        fields[n++] = (TinaField){o->count ? "n_tokens" : "tokens", w->value_json.data};
    }
    if (status) return status;
    tina_buf_clear(&w->line);
    return tina_record_splice(&w->line, line, len, fields, n, err);
}

int main(int argc, char **argv) {
    cli_init("tina-tokenize");
    Options o = parse_options(argc, argv);
    TinaError err = {0};
    Work w = {0};
    TinaReader *reader = NULL;
    TinaWriter *writer = NULL;
    bool in_line = false;
    TinaProgress progress;
    tina_progress_start(&progress, cli_program(), "records", 0, o.progress);
    TinaStatus status = tina_tokenizer_load(o.tokenizer, &w.tokenizer, &err);
    if (!status) status = tina_reader_open(&reader, (const char *const *)argv + optind, argc - optind, &err);
    if (!status) status = tina_writer_open(&writer, o.output, &err);
    while (!status) {
        const char *line;
        size_t len;
        in_line = false;
        status = tina_reader_next(reader, &line, &len, &err);
        if (status || !line) break;
        in_line = true;
        status = process(&o, &w, line, len, &err);
        if (!status) status = tina_writer_line(writer, w.line.data, w.line.len, &err);
        if ((++w.records & 255) == 0) tina_progress_update(&progress, w.records);
    }
    tina_progress_finish(&progress, w.records);
    if (!status) {
        in_line = false;
        status = tina_writer_commit(writer, &err);
        writer = NULL;
    }
    if (status == TINA_ERR_INPUT && in_line) cli_report_at(tina_reader_name(reader), tina_reader_line(reader), &err);
    else if (status) cli_report(&err);
    else if (!o.quiet && o.decode) fprintf(stderr, "%s: %lld records decoded\n", cli_program(), w.records);
    else if (!o.quiet) fprintf(stderr, "%s: %lld records, %lld tokens\n", cli_program(), w.records, w.tokens);
    tina_writer_abort(writer);
    tina_reader_close(reader);
    tina_tokenizer_free(w.tokenizer);
    tina_buf_free(&w.text);
    tina_buf_free(&w.text_json);
    tina_buf_free(&w.value_json);
    tina_buf_free(&w.line);
    tina_ids_free(&w.ids);
    return (int)status;
}

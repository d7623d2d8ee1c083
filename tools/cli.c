#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/stream.h"
#include "backends/version.h"

static const char *program = "tina";
static bool stdout_failure_reported;

/* At exit: what stdio still holds for stdout reaches it, or the tool fails (1) saying so; a full disk or a closed
 * descriptor is never an exit 0. */
static void close_stdout(void) {
    errno = 0;
    bool failed = fflush(stdout) != 0 || ferror(stdout);
    int error = errno;
    if (fclose(stdout) != 0 && !failed) failed = true, error = errno;
    if (!failed) return;
    if (stdout_failure_reported) _exit(TINA_ERR_RUNTIME);
    if (error) fprintf(stderr, "%s: cannot write to stdout: %s\n", program, strerror(error));
    else fprintf(stderr, "%s: cannot write to stdout\n", program);
    _exit(TINA_ERR_RUNTIME);
}

void cli_init(const char *name) {
    program = name;
    atexit(close_stdout);
}

const char *cli_program(void) { return program; }

TinaStatus cli_flush_stdout(TinaError *err) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return TINA_OK;
    stdout_failure_reported = true;
    return errno ? tina_error_errno(err, TINA_ERR_RUNTIME, "cannot write to stdout")
                 : tina_error(err, TINA_ERR_RUNTIME, "cannot write to stdout");
}

noreturn void cli_usage_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", program);
    exit(TINA_ERR_INPUT);
}

void cli_report(const TinaError *err) { fprintf(stderr, "%s: %s\n", program, err->message); }

void cli_report_at(const char *file, long line, const TinaError *err) {
    fprintf(stderr, "%s: %s:%ld: %s\n", program, file, line, err->message);
}

TinaStatus cli_read_records(const char *const *paths, int n, CliAddRecord add, void *context, TinaError *err) {
    TinaReader *reader = NULL;
    TinaStatus status = tina_reader_open(&reader, paths, n, err);
    while (!status) {
        const char *line;
        size_t len;
        status = tina_reader_next(reader, &line, &len, err);
        if (status || !line) break;
        cJSON *record;
        status = tina_record_parse(line, len, &record, err);
        if (!status) status = add(record, context, err);
        cJSON_Delete(record);
        if (status == TINA_ERR_INPUT) {
            char where[1024];
            snprintf(where, sizeof where, "%s:%ld", tina_reader_name(reader), tina_reader_line(reader));
            tina_error_in(err, where);
        }
    }
    tina_reader_close(reader);
    return status;
}

/* The text goes to memory first (a table or one JSON object: small), then out through a TinaWriter: a file is
 * written whole under a temporary name and renamed, so a failure leaves the older file as it was. */
static char *pending_text;
static size_t pending_len;

FILE *cli_open_output(TinaError *err) {
    FILE *out = open_memstream(&pending_text, &pending_len);
    if (!out) tina_error_errno(err, TINA_ERR_RUNTIME, "cannot hold the output");
    return out;
}

TinaStatus cli_close_output(FILE *out, const char *path, TinaStatus status, TinaError *err) {
    if (!out) return status;
    if (fclose(out) != 0 && !status) status = tina_error_errno(err, TINA_ERR_RUNTIME, "cannot hold the output");
    TinaWriter *writer = NULL;
    if (!status) status = tina_writer_open(&writer, path, err);
    if (!status) status = tina_writer_write(writer, pending_text, pending_len, err);
    if (!status) {
        status = tina_writer_commit(writer, err);
        writer = NULL;
    }
    tina_writer_abort(writer);
    free(pending_text);
    pending_text = NULL;
    return status;
}

void cli_print_version(void) {
    char build[256];
    tina_version_describe(build, sizeof build);
    printf("%s %s (%s)\n", program, TINA_VERSION, build);
}

noreturn void cli_standard_option(int c, char **argv, const char *usage, const struct option *long_options) {
    if (c == 'h') {
        fputs(usage, stdout);
        exit(0);
    }
    if (c == 'V') {
        cli_print_version();
        exit(0);
    }
    /* getopt leaves optind on an element it is still reading (the -z of "-zq"), so argv[optind - 1] can be the
     * element before it; optopt is the short option, or the long option's value when that was given one it does not
     * take (0 for an unknown long option) */
    const char *given = argv[optind - 1];
    bool is_long = strncmp(given, "--", 2) == 0;
    if (c == ':') {
        if (is_long) cli_usage_error("option '%s' needs a value", given);
        cli_usage_error("option '-%c' needs a value", optopt);
    }
    if (optopt && is_long && strchr(given, '=')) {
        size_t len = strcspn(given + 2, "=");
        for (const struct option *o = long_options; o && o->name; o++)
            if (o->val == optopt && o->has_arg == no_argument && strncmp(o->name, given + 2, len) == 0)
                cli_usage_error("option '--%s' takes no value", o->name);
    }
    if (optopt > 0 && optopt < 256) cli_usage_error("unknown option '-%c'", optopt);
    if (is_long) { /* getopt says '?' for an abbreviation of several options too */
        size_t len = strcspn(given + 2, "=");
        char matches[512] = "";
        int n = 0;
        for (const struct option *o = long_options; o && o->name; o++)
            if (strncmp(o->name, given + 2, len) == 0 && strlen(matches) + strlen(o->name) + 5 < sizeof matches)
                n++, strcat(strcat(matches, n > 1 ? ", --" : "--"), o->name);
        if (n > 1) cli_usage_error("option '%.*s' is ambiguous: %s", (int)len + 2, given, matches);
    }
    cli_usage_error("unknown option '%s'", given);
}

double cli_double(const char *option, const char *arg, double min, double max) {
    char *end;
    errno = 0;
    double value = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(value) || value < min || value > max)
        cli_usage_error("%s: '%s' is not a number from %g to %g", option, arg, min, max);
    return value;
}

long long cli_integer(const char *option, const char *arg, long long min, long long max) {
    char *end;
    errno = 0;
    long long value = strtoll(arg, &end, 10);
    if (end == arg || *end || errno || value < min || value > max)
        cli_usage_error("%s: '%s' is not an integer from %lld to %lld", option, arg, min, max);
    return value;
}

char **cli_list(const char *option, const char *arg) {
    size_t n = 1, len = strlen(arg);
    for (const char *c = arg; *c; c++) n += *c == ',';
    char **items = malloc((n + 1) * sizeof *items + len + 1);
    if (!items) cli_usage_error("out of memory");
    char *text = memcpy((char *)(items + n + 1), arg, len + 1);
    for (size_t i = 0; i < n; i++) {
        items[i] = text;
        text += strcspn(text, ",");
        if (*text) *text++ = '\0';
        if (!*items[i]) {
            free(items);
            cli_usage_error("%s: '%s' has an empty item (expected a comma-separated list)", option, arg);
        }
    }
    items[n] = NULL;
    return items;
}

int cli_choice(const char *option, const char *arg, const char *const *choices) {
    char expected[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(arg, choices[i]) == 0) return i;
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s", i ? ", " : "",
                 choices[i]);
    }
    cli_usage_error("%s: '%s' is not one of: %s", option, arg, expected);
}

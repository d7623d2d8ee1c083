/* tina-cost: a run's stage timings in, its device-hours and their price out, in the shape of Tina's cost table
 * (training, evaluation, total, and what it took to reach the best checkpoint).
 *
 * Input: JSON lines {"step", "stage", "seconds", "devices", "device"}, one per stage run (pipelines/grpo.mk writes
 * them as RUN/step-S/times/STAGE.json). A stage's device-hours are its seconds x devices / 3600. */
#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "cli.h"

static const char usage[] =
    "Usage: tina-cost [OPTION]... [INPUT]...\n"
    "Sum a run's stage timings (JSON lines with \"step\", \"stage\", \"seconds\", \"devices\", \"device\", as\n"
    "pipelines/grpo.mk writes them in RUN/step-S/times/) into device-hours and their price: training (sample,\n"
    "reward, advantage, gradients, update), evaluation (eval), the total, and up to the best checkpoint. An\n"
    "INPUT that is a folder is a run's: its RUN/step-*/times/*.json are read.\n"
    "\n"
    "      --price-per-gpu-hour P  the price of one device for an hour (default 1.0, as Tina assumed for an L40S;\n"
    "                              a CPU machine counts as one device)\n"
    "      --best-step S           the best checkpoint's step: also report training up to it and the evaluations\n"
    "                              up to it\n"
    "      --json                  one JSON object instead of the table\n"
    "  -o, --output FILE           write to FILE instead of stdout\n"
    "  -h, --help                  show this help and exit\n"
    "  -V, --version               show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or input (an unknown stage, a missing or negative\n"
    "field). See tina-cost(1).\n";

static const char *const stages[] = {"sample", "reward", "advantage", "gradients", "update", "eval", NULL};
enum { N_STAGES = 6, EVAL = 5 };

typedef struct {
    double price;
    long long best_step; /* -1: none */
    bool json;
    const char *output;
} Options;

typedef struct {
    double seconds, device_hours;
} Sum;

typedef struct {
    Sum stage[N_STAGES], training, evaluation, total, best_training, best_evaluation;
    long long last_step, records;
    bool best_evaluated; /* the best step's own evaluation is among the records */
    char devices[512];   /* the distinct device names, "; "-separated */
} Tally;

static void add(Sum *s, double seconds, double device_hours) {
    s->seconds += seconds;
    s->device_hours += device_hours;
}

static void note_device(Tally *t, const char *device) {
    size_t n = strlen(device), used = strlen(t->devices);
    for (const char *p = t->devices; (p = strstr(p, device)); p += n)
        if ((p == t->devices || p[-1] == ' ') && (p[n] == ';' || p[n] == '\0')) return;
    if (used + n + 3 < sizeof t->devices)
        snprintf(t->devices + used, sizeof t->devices - used, "%s%s", used ? "; " : "", device);
}

static TinaStatus add_record(Tally *t, const cJSON *record, const Options *o, TinaError *err) {
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(record, "step");
    const cJSON *stage = cJSON_GetObjectItemCaseSensitive(record, "stage");
    const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(record, "seconds");
    const cJSON *devices = cJSON_GetObjectItemCaseSensitive(record, "devices");
    const cJSON *device = cJSON_GetObjectItemCaseSensitive(record, "device");
    /* at most 2^40, as --best-step: a step beyond long long's range has no value as one (undefined behaviour) */
    if (!cJSON_IsNumber(step) || step->valuedouble < 0 || step->valuedouble > 1099511627776.0 ||
        step->valuedouble != floor(step->valuedouble))
        return tina_error(err, TINA_ERR_INPUT, "\"step\" is not a step number (0, 1, ... up to 2^40)");
    if (!cJSON_IsString(stage)) return tina_error(err, TINA_ERR_INPUT, "\"stage\" is not a string");
    int kind = 0;
    while (stages[kind] && strcmp(stages[kind], stage->valuestring) != 0) kind++;
    if (!stages[kind])
        return tina_error(err, TINA_ERR_INPUT, "unknown stage \"%s\" (sample, reward, advantage, gradients, update, eval)",
                          stage->valuestring);
    if (!cJSON_IsNumber(seconds) || !(seconds->valuedouble >= 0) || !isfinite(seconds->valuedouble))
        return tina_error(err, TINA_ERR_INPUT, "\"seconds\" is not a number of seconds");
    if (!cJSON_IsNumber(devices) || devices->valuedouble < 1 || devices->valuedouble != floor(devices->valuedouble))
        return tina_error(err, TINA_ERR_INPUT, "\"devices\" is not a count of devices (1, 2, ...)");
    if (!cJSON_IsString(device)) return tina_error(err, TINA_ERR_INPUT, "\"device\" is not a string");
    double s = seconds->valuedouble, hours = s * devices->valuedouble / 3600;
    /* every sum is at most the total's: a total that overflows would be written as inf, which JSON has no word for */
    if (!isfinite(t->total.seconds + s) || !isfinite(t->total.device_hours + hours))
        return tina_error(err, TINA_ERR_INPUT, "\"seconds\" x \"devices\" adds up beyond a double's range");
    if (!isfinite((t->total.device_hours + hours) * o->price))
        return tina_error(err, TINA_ERR_INPUT, "the device-hours' cost at --price-per-gpu-hour %g is beyond a double's "
                          "range", o->price);
    long long at = (long long)step->valuedouble;
    add(&t->stage[kind], s, hours);
    add(kind == EVAL ? &t->evaluation : &t->training, s, hours);
    add(&t->total, s, hours);
    if (o->best_step >= 0 && at <= o->best_step) add(kind == EVAL ? &t->best_evaluation : &t->best_training, s, hours);
    if (kind == EVAL && at == o->best_step) t->best_evaluated = true;
    if (kind != EVAL && at > t->last_step) t->last_step = at;
    note_device(t, device->valuestring);
    t->records++;
    return TINA_OK;
}

static void print_row(FILE *f, const char *name, const Sum *s, double price) {
    fprintf(f, "%-34s %12.1f %14.4f %12.2f\n", name, s->seconds, s->device_hours, s->device_hours * price);
}

static void print_table(FILE *f, const Tally *t, const Options *o) {
    fprintf(f, "%-34s %12s %14s %12s\n", "", "seconds", "device-hours", "cost");
    print_row(f, "training", &t->training, o->price);
    for (int k = 0; k < EVAL; k++) {
        char name[32];
        snprintf(name, sizeof name, "  %s", stages[k]);
        print_row(f, name, &t->stage[k], o->price);
    }
    print_row(f, "evaluation", &t->evaluation, o->price);
    print_row(f, "total", &t->total, o->price);
    if (o->best_step >= 0) {
        Sum best = {t->best_training.seconds + t->best_evaluation.seconds,
                    t->best_training.device_hours + t->best_evaluation.device_hours};
        char name[64];
        snprintf(name, sizeof name, "to the best checkpoint (step %lld)", o->best_step);
        print_row(f, name, &best, o->price);
    }
    fprintf(f, "\n%lld steps trained; price %.2f per device-hour; devices: %s\n", t->last_step, o->price, t->devices);
}

static TinaStatus json_sum(TinaBuf *out, const char *name, const Sum *s, double price, TinaError *err) {
    char text[256];
    snprintf(text, sizeof text, "\"%s\":{\"seconds\":%.17g,\"device_hours\":%.17g,\"cost\":%.17g}", name, s->seconds,
             s->device_hours, s->device_hours * price);
    return tina_buf_append_str(out, text, err);
}

static TinaStatus print_json(FILE *f, const Tally *t, const Options *o, TinaError *err) {
    TinaBuf out = {0};
    char text[128];
    snprintf(text, sizeof text, "{\"price_per_gpu_hour\":%.17g,\"steps\":%lld,\"devices\":", o->price, t->last_step);
    TinaStatus status = tina_buf_append_str(&out, text, err);
    cJSON *devices = cJSON_CreateString(t->devices);
    char *quoted = devices ? cJSON_PrintUnformatted(devices) : NULL;
    if (!status) status = quoted ? tina_buf_append_str(&out, quoted, err) : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    free(quoted);
    cJSON_Delete(devices);
    if (!status) status = tina_buf_append_str(&out, ",", err);
    if (!status) status = json_sum(&out, "training", &t->training, o->price, err);
    if (!status) status = tina_buf_append_str(&out, ",", err);
    if (!status) status = json_sum(&out, "evaluation", &t->evaluation, o->price, err);
    if (!status) status = tina_buf_append_str(&out, ",", err);
    if (!status) status = json_sum(&out, "total", &t->total, o->price, err);
    if (!status) status = tina_buf_append_str(&out, ",\"stages\":{", err);
    for (int k = 0; !status && k < N_STAGES; k++) {
        if (k) status = tina_buf_append_str(&out, ",", err);
        if (!status) status = json_sum(&out, stages[k], &t->stage[k], o->price, err);
    }
    if (!status) status = tina_buf_append_str(&out, "},\"best\":", err);
    if (!status && o->best_step < 0) status = tina_buf_append_str(&out, "null", err);
    if (!status && o->best_step >= 0) {
        snprintf(text, sizeof text, "{\"step\":%lld,", o->best_step);
        status = tina_buf_append_str(&out, text, err);
        if (!status) status = json_sum(&out, "training", &t->best_training, o->price, err);
        if (!status) status = tina_buf_append_str(&out, ",", err);
        if (!status) status = json_sum(&out, "evaluation", &t->best_evaluation, o->price, err);
        Sum both = {t->best_training.seconds + t->best_evaluation.seconds,
                    t->best_training.device_hours + t->best_evaluation.device_hours};
        if (!status) status = tina_buf_append_str(&out, ",", err);
        if (!status) status = json_sum(&out, "total", &both, o->price, err);
        if (!status) status = tina_buf_append_str(&out, "}", err);
    }
    if (!status) status = tina_buf_append_str(&out, "}", err);
    if (!status) fprintf(f, "%s\n", out.data);
    tina_buf_free(&out);
    return status;
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_PRICE = 256, OPT_BEST, OPT_JSON };
    static const struct option long_options[] = {
        {"price-per-gpu-hour", required_argument, NULL, OPT_PRICE}, {"best-step", required_argument, NULL, OPT_BEST},
        {"json", no_argument, NULL, OPT_JSON},                      {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},                           {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    Options o = {.price = 1.0, .best_step = -1};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":o:hV", long_options, NULL)) != -1;) {
        switch (c) {
        case OPT_PRICE: o.price = cli_double("--price-per-gpu-hour", optarg, 0, 1e9); break;
        case OPT_BEST: o.best_step = cli_integer("--best-step", optarg, 0, 1LL << 40); break;
        case OPT_JSON: o.json = true; break;
        case 'o': o.output = optarg; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    return o;
}

static TinaStatus add_to_tally(const cJSON *record, void *context, TinaError *err) {
    const void **c = context; /* {Tally, Options} */
    return add_record((Tally *)c[0], record, c[1], err);
}

/* The inputs, a run's folder standing for its stage timings, step-S/times/STAGE.json (in name order: by step, then
 * stage): input i's files in found[i] (n of them, zeroed; globfree each), the list to read in *paths (free it). */
static TinaStatus expand_inputs(char **args, int n, glob_t *found, const char ***paths, int *count, TinaError *err) {
    TinaStatus status = TINA_OK;
    size_t total = (size_t)n;
    for (int i = 0; !status && i < n; i++) {
        struct stat st;
        if (strcmp(args[i], "-") == 0 || stat(args[i], &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        TinaBuf pattern = {0};
        status = tina_buf_append_str(&pattern, args[i], err);
        if (!status) status = tina_buf_append_str(&pattern, "/step-*/times/*.json", err);
        if (status) break;
        int got = glob(pattern.data, 0, NULL, &found[i]);
        tina_buf_free(&pattern);
        if (got == GLOB_NOMATCH || (got == 0 && !found[i].gl_pathc))
            status = tina_error(err, TINA_ERR_INPUT, "%s: a folder without stage timings (a run's folder holds "
                                "step-*/times/*.json, written by pipelines/grpo.mk)", args[i]);
        else if (got) status = tina_error(err, TINA_ERR_RUNTIME, "%s: cannot list its stage timings", args[i]);
        total += found[i].gl_pathc;
    }
    const char **list = status ? NULL : calloc(total + 1, sizeof *list);
    if (!status && !list) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    *count = 0;
    for (int i = 0; !status && i < n; i++) {
        if (!found[i].gl_pathc) list[(*count)++] = args[i];
        for (size_t k = 0; k < found[i].gl_pathc; k++) list[(*count)++] = found[i].gl_pathv[k];
    }
    *paths = list;
    return status;
}

int main(int argc, char **argv) {
    cli_init("tina-cost");
    Options o = parse_options(argc, argv);
    TinaError err = {0};
    Tally t = {0};
    int n_inputs = argc - optind;
    glob_t *found = calloc((size_t)n_inputs + 1, sizeof *found);
    const char **paths = NULL;
    int count = 0;
    TinaStatus status = found ? expand_inputs(argv + optind, n_inputs, found, &paths, &count, &err)
                              : tina_error(&err, TINA_ERR_RUNTIME, "out of memory");
    if (!status)
        status = cli_read_records(paths, count, add_to_tally, (const void *[]){&t, &o}, &err);
    free(paths);
    for (int i = 0; found && i < n_inputs; i++) globfree(&found[i]);
    free(found);
    if (!status && !t.records) status = tina_error(&err, TINA_ERR_INPUT, "no stage timings to sum");
    if (!status && o.best_step > t.last_step)
        status = tina_error(&err, TINA_ERR_INPUT, "--best-step %lld: the timings end at step %lld", o.best_step,
                            t.last_step);
    if (!status && o.best_step >= 0 && !t.best_evaluated)
        status = tina_error(&err, TINA_ERR_INPUT, "--best-step %lld: no evaluation of that step among the timings",
                            o.best_step);
    FILE *out = status ? NULL : cli_open_output(&err);
    if (!status && !out) status = err.status;
    if (!status) {
        if (o.json) status = print_json(out, &t, &o, &err);
        else print_table(out, &t, &o);
    }
    status = cli_close_output(out, o.output, status, &err);
    if (status) cli_report(&err);
    return (int)status;
}

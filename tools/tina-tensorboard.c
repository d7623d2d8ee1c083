/* tina-tensorboard: a run's metrics (JSON lines, one a step) as a TensorBoard event file, for its scalar dashboard.
 *
 * Every number of a line is a scalar at the line's "step", tagged by its name (a number inside an object by
 * "object/name", as "rewards/accuracy"); the wall time of a step is the sum of the "seconds" of the steps up to it,
 * so that TensorBoard's relative time axis shows the run's own time and the file is the same bytes every time. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli.h"
#include "io/stream.h"
#include "io/tfevents.h"

/* the one event file, by the name TensorBoard looks for (events.out.tfevents.*) */
#define EVENTS_FILE "events.out.tfevents.0.tina"

static const char usage[] =
    "Usage: tina-tensorboard -o LOGDIR [INPUT]...\n"
    "Write a run's metrics (JSON lines with a \"step\", as RUN/metrics.jsonl) as a TensorBoard event file,\n"
    "LOGDIR/" EVENTS_FILE " (written whole, replacing an older one): every number of a line is a\n"
    "scalar at its step, a number inside an object tagged \"object/name\". Then: tensorboard --logdir LOGDIR.\n"
    "\n"
    "  -o, --output DIR    the log folder (made when missing)\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or input (a line without a \"step\", or steps not\n"
    "increasing). See tina-tensorboard(1).\n";

enum { MAX_SCALARS = 1024, MAX_TAG = 256 };

typedef struct {
    TinaBuf events;
    double wall_time;
    long long last_step;
    char tags[MAX_SCALARS][MAX_TAG];
    const char *tag_of[MAX_SCALARS];
    float values[MAX_SCALARS];
    int n;
} Events;

/* the numbers of object (under prefix), depth first, in the line's order */
static TinaStatus gather(Events *e, const cJSON *object, const char *prefix, TinaError *err) {
    const cJSON *item;
    cJSON_ArrayForEach(item, object) {
        char tag[MAX_TAG];
        int len = snprintf(tag, sizeof tag, "%s%s%s", prefix, *prefix ? "/" : "", item->string);
        if (len < 0 || len >= MAX_TAG) return tina_error(err, TINA_ERR_INPUT, "a field name longer than %d", MAX_TAG);
        if (!*prefix && strcmp(item->string, "step") == 0) continue;
        if (cJSON_IsObject(item)) {
            TinaStatus status = gather(e, item, tag, err);
            if (status) return status;
        } else if (cJSON_IsNumber(item)) {
            if (e->n == MAX_SCALARS) return tina_error(err, TINA_ERR_INPUT, "more than %d numbers in a line", MAX_SCALARS);
            memcpy(e->tags[e->n], tag, (size_t)len + 1);
            e->tag_of[e->n] = e->tags[e->n];
            e->values[e->n++] = (float)item->valuedouble;
        }
    }
    return TINA_OK;
}

static TinaStatus add_step(const cJSON *record, void *context, TinaError *err) {
    Events *e = context;
    long long step;
    TinaStatus status = tina_record_integer(record, "step", 0, 1LL << 50, &step, err);
    if (!status && step <= e->last_step)
        status = tina_error(err, TINA_ERR_INPUT, "step %lld after step %lld: the steps must increase", step,
                            e->last_step);
    const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(record, "seconds");
    if (!status && cJSON_IsNumber(seconds) && seconds->valuedouble > 0) e->wall_time += seconds->valuedouble;
    e->n = 0;
    if (!status) status = gather(e, record, "", err);
    if (!status) status = tina_tfevents_scalars(&e->events, e->wall_time, step, e->tag_of, e->values, e->n, err);
    e->last_step = step;
    return status;
}

int main(int argc, char **argv) {
    cli_init("tina-tensorboard");
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":o:hV", long_options, NULL)) != -1;) {
        if (c == 'o') dir = optarg;
        else cli_standard_option(c, argv, usage, long_options);
    }
    if (!dir) cli_usage_error("--output is required (the log folder TensorBoard reads)");
    TinaError err = {0};
    Events *e = calloc(1, sizeof *e);
    if (!e) {
        fprintf(stderr, "%s: out of memory\n", cli_program());
        return 1;
    }
    e->last_step = -1;
    TinaStatus status = tina_tfevents_start(&e->events, 0, &err);
    if (!status) status = cli_read_records((const char *const *)argv + optind, argc - optind, add_step, e, &err);
    if (!status && e->last_step < 0) status = tina_error(&err, TINA_ERR_INPUT, "no steps in the input");
    TinaFolder folder = {0}; /* a new log folder appears with its file, or not at all */
    if (!status) status = tina_folder_open(&folder, dir, &err);
    TinaWriter *w = NULL;
    if (!status) {
        char path[4096];
        snprintf(path, sizeof path, "%s/" EVENTS_FILE, tina_folder_path(&folder));
        status = tina_writer_open(&w, path, &err);
    }
    if (!status) status = tina_writer_write(w, e->events.data, e->events.len, &err);
    if (!status) status = tina_writer_commit(w, &err);
    else tina_writer_abort(w);
    if (!status) status = tina_folder_commit(&folder, &err);
    else tina_folder_abort(&folder);
    if (!status)
        fprintf(stderr, "%s: steps to %lld -> %s/" EVENTS_FILE " (tensorboard --logdir %s)\n", cli_program(),
                e->last_step, dir, dir);
    if (status) cli_report(&err);
    tina_buf_free(&e->events);
    free(e);
    return (int)status;
}

/* tina-advantage: rewarded rollouts in, the same records with a group-relative "advantage" out.
 *
 * The G rollouts of a prompt arrive together (same "id"); each group is held until its last record, its
 * advantages computed (lib/train/grpo.h), and written out in input order. With --scale batch the standard deviation is
 * over the whole input, so everything is held to the end. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli.h"
#include "io/fields.h"
#include "train/grpo.h"
#include "base/progress.h"
#include "io/record.h"
#include "base/stats.h"
#include "io/stream.h"
#include "base/strmap.h"

static const char usage[] =
    "Usage: tina-advantage [OPTION]... [INPUT]...\n"
    "Add a group-relative \"advantage\" to each rewarded rollout (JSON lines with \"id\", \"sample\", \"reward\").\n"
    "INPUT is a JSON-lines file, plain or zstd; none or \"-\" reads stdin. The samples of a prompt must be\n"
    "contiguous. Every other field passes through unchanged.\n"
    "\n"
    "  -o, --output FILE      write to FILE (zstd if it ends in .zst; written atomically) instead of stdout\n"
    "      --scale MODE       group: (r - mean) / (group std + eps)    [default; Tina, TRL 0.15]\n"
    "                         batch: (r - mean) / (batch std + eps)   [later TRL]\n"
    "                         none:  r - mean                         [Dr. GRPO]\n"
    "      --eps E            added to the std before dividing (default 1e-4)\n"
    "      --drop-zero-std    omit groups whose usable rewards are all equal or fewer than 2 (no signal)\n"
    "  -G, --group-size N     require every group to have exactly N samples\n"
    "      --stats FILE       write the summary as a JSON object to FILE\n"
    "  -q, --quiet            no summary line on stderr\n"
    "      --progress         show progress on stderr even when it is not a terminal\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "A null reward gets advantage 0 and is left out of the statistics; so is a whole group with fewer than 2\n"
    "usable rewards or with all rewards equal. Exit status: 0 success, 1 runtime failure, 2 bad usage or input.\n"
    "See tina-advantage(1) and tina(7).\n";

typedef struct {
    const char *output;
    TinaAdvantageScale scale;
    double eps;
    bool drop_zero_std;
    long long group_size; /* 0: any */
    const char *stats_path;
    bool quiet;
    bool progress;
} Options;

/* A record held until its group (or, for --scale batch, the whole input) is complete. */
typedef struct {
    size_t text_offset, text_len; /* its line in Held.text */
    long long sample;
    const char *file;
    long line;
} HeldRecord;

typedef struct {
    size_t first, count;  /* its records in Held */
    TinaGroupStats stats;
} HeldGroup;

typedef struct {
    HeldRecord *records;
    double *rewards; /* (records,) */
    bool *usable;    /* (records,) reward is not null */
    size_t n_records, cap_records;
    HeldGroup *groups;
    size_t n_groups, cap_groups;
    TinaBuf text;
} Held;

typedef struct {
    long long groups, records, null_rewards;
    long long zero_std_groups; /* at least 2 usable rewards, all equal */
    long long small_groups;    /* fewer than 2 usable rewards */
    long long dropped_groups, dropped_records;
    TinaRunningStats rewards;  /* every usable reward */
} Summary;

static TinaStatus grow(void **array, size_t *cap, size_t need, size_t item, TinaError *err) {
    if (need <= *cap) return TINA_OK;
    size_t cap2 = *cap ? *cap * 2 : 1024;
    while (cap2 < need) cap2 *= 2;
    void *bigger = realloc(*array, cap2 * item);
    if (!bigger) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (holding %zu records)", need);
    *array = bigger;
    *cap = cap2;
    return TINA_OK;
}

static TinaStatus hold_record(Held *held, const char *line, size_t len, double reward, bool usable,
                              long long sample, const char *file, long line_number, TinaError *err) {
    size_t i = held->n_records;
    if (i == held->cap_records) {
        size_t cap = held->cap_records ? 2 * held->cap_records : 1024;
        HeldRecord *records = realloc(held->records, cap * sizeof *records);
        if (records) held->records = records;
        double *rewards = realloc(held->rewards, cap * sizeof *rewards);
        if (rewards) held->rewards = rewards;
        bool *usable_flags = realloc(held->usable, cap * sizeof *usable_flags);
        if (usable_flags) held->usable = usable_flags;
        if (!records || !rewards || !usable_flags)
            return tina_error(err, TINA_ERR_RUNTIME, "out of memory (holding %zu records)", cap);
        held->cap_records = cap;
    }
    held->records[i] = (HeldRecord){held->text.len, len, sample, file, line_number};
    held->rewards[i] = reward;
    held->usable[i] = usable;
    held->n_records++;
    return tina_buf_append(&held->text, line, len, err);
}

static int by_sample(const void *a, const void *b) {
    const HeldRecord *x = *(HeldRecord *const *)a, *y = *(HeldRecord *const *)b;
    if (x->sample != y->sample) return x->sample < y->sample ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Checks the group that has just ended (records [first, n_records)) and records its statistics. On a bad group,
 * *file and *line say where. */
static TinaStatus close_group(Held *held, size_t first, const char *id, const Options *options, Summary *summary,
                              const char **file, long *line, TinaError *err) {
    size_t count = held->n_records - first;
    HeldRecord *last = &held->records[held->n_records - 1];
    *file = last->file;
    *line = last->line;
    if (options->group_size && (long long)count != options->group_size)
        return tina_error(err, TINA_ERR_INPUT, "group \"%s\" has %zu samples (expected %lld, from --group-size)",
                          id, count, options->group_size);
    HeldRecord **order = malloc(count * sizeof *order);
    if (!order) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (group of %zu samples)", count);
    for (size_t i = 0; i < count; i++) order[i] = &held->records[first + i];
    qsort(order, count, sizeof *order, by_sample);
    TinaStatus status = TINA_OK;
    for (size_t i = 1; i < count && !status; i++) {
        if (order[i]->sample != order[i - 1]->sample) continue;
        *file = order[i]->file;
        *line = order[i]->line;
        status = tina_error(err, TINA_ERR_INPUT, "sample %lld appears twice in group \"%s\" (first at line %ld)",
                            order[i]->sample, id, order[i - 1]->line);
    }
    free(order);
    if (status) return status;

    size_t cap = held->cap_groups;
    status = grow((void **)&held->groups, &cap, held->n_groups + 1, sizeof *held->groups, err);
    if (status) return status;
    held->cap_groups = cap;
    TinaGroupStats stats = tina_grpo_group_stats(held->rewards + first, held->usable + first, (int)count);
    held->groups[held->n_groups++] = (HeldGroup){first, count, stats};
    summary->groups++;
    if (stats.usable < 2) summary->small_groups++;
    else if (stats.all_equal) summary->zero_std_groups++;
    return TINA_OK;
}

/* Writes every held group with its advantages and forgets them. */
static TinaStatus emit_held(Held *held, const Options *options, double batch_std, Summary *summary,
                            TinaWriter *writer, TinaBuf *line, TinaError *err) {
    TinaStatus status = TINA_OK;
    double *advantages = NULL;
    size_t cap_advantages = 0;
    for (size_t g = 0; g < held->n_groups && !status; g++) {
        const HeldGroup *group = &held->groups[g];
        if (options->drop_zero_std && tina_grpo_group_is_flat(&group->stats)) {
            summary->dropped_groups++;
            summary->dropped_records += (long long)group->count;
            continue;
        }
        status = grow((void **)&advantages, &cap_advantages, group->count, sizeof *advantages, err);
        if (status) break;
        tina_grpo_advantages(held->rewards + group->first, held->usable + group->first, (int)group->count,
                             &group->stats, options->scale, batch_std, options->eps, advantages);
        /* A group has few distinct advantages (two for 0/1 rewards) and formatting a double exactly is the
         * costliest step here: keep the last two values formatted. */
        double cached[2] = {NAN, NAN};
        char texts[2][32];
        int newest = 0;
        for (size_t i = 0; i < group->count && !status; i++) {
            const HeldRecord *record = &held->records[group->first + i];
            int hit = advantages[i] == cached[newest] ? newest : advantages[i] == cached[!newest] ? !newest : -1;
            if (hit < 0) {
                hit = newest = !newest;
                cached[hit] = advantages[i];
                tina_record_format_number(advantages[i], texts[hit]);
            }
            const char *number = texts[hit];
            TinaField field = {"advantage", number};
            tina_buf_clear(line);
            if (strcmp(number, "null") == 0)
                status = tina_error(err, TINA_ERR_INPUT, "advantage of %s:%ld is not finite (rewards too large)",
                                    record->file, record->line);
            else
                status = tina_record_splice(line, held->text.data + record->text_offset, record->text_len, &field,
                                            1, err);
            if (!status) status = tina_writer_line(writer, line->data, line->len, err);
        }
    }
    free(advantages);
    held->n_records = held->n_groups = 0;
    tina_buf_clear(&held->text);
    return status;
}

static void print_summary(FILE *out, const Summary *s) {
    double zero_std = s->groups ? 100.0 * (double)s->zero_std_groups / (double)s->groups : 0;
    fprintf(out, "%s: %lld groups (%.1f%% zero-std, %lld with fewer than 2 usable rewards, %lld dropped), ",
            cli_program(), s->groups, zero_std, s->small_groups, s->dropped_groups);
    fprintf(out, "%lld records (%lld null rewards), ", s->records, s->null_rewards);
    if (s->rewards.count) fprintf(out, "reward mean %.4g std %.4g\n", s->rewards.mean, tina_stats_std(&s->rewards));
    else fprintf(out, "no usable rewards\n");
}

/* the summary as one JSON line into stats (opened with the output, so that a path that cannot be written fails the
 * run before anything is committed) */
static TinaStatus write_stats(TinaWriter *stats, const Options *options, const Summary *s, TinaError *err) {
    static const char *const scales[] = {"group", "batch", "none"};
    char mean[32], std[32], eps[32], frac[32];
    tina_record_format_number(s->rewards.count ? s->rewards.mean : NAN, mean);
    tina_record_format_number(s->rewards.count ? tina_stats_std(&s->rewards) : NAN, std);
    tina_record_format_number(options->eps, eps);
    tina_record_format_number(s->groups ? (double)s->zero_std_groups / (double)s->groups : 0, frac);
    char json[1024];
    int n = snprintf(json, sizeof json,
                     "{\"groups\":%lld,\"records\":%lld,\"null_rewards\":%lld,\"zero_std_groups\":%lld,"
                     "\"frac_zero_std_groups\":%s,\"small_groups\":%lld,\"dropped_groups\":%lld,"
                     "\"dropped_records\":%lld,\"reward_mean\":%s,\"reward_std\":%s,\"scale\":\"%s\",\"eps\":%s}",
                     s->groups, s->records, s->null_rewards, s->zero_std_groups, frac, s->small_groups,
                     s->dropped_groups, s->dropped_records, mean, std, scales[options->scale], eps);
    return tina_writer_line(stats, json, (size_t)n, err);
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_SCALE = 256, OPT_EPS, OPT_DROP_ZERO_STD, OPT_STATS, OPT_PROGRESS };
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'},     {"scale", required_argument, NULL, OPT_SCALE},
        {"eps", required_argument, NULL, OPT_EPS},    {"drop-zero-std", no_argument, NULL, OPT_DROP_ZERO_STD},
        {"group-size", required_argument, NULL, 'G'}, {"stats", required_argument, NULL, OPT_STATS},
        {"quiet", no_argument, NULL, 'q'},            {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},             {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static const char *const scales[] = {"group", "batch", "none", NULL};
    Options options = {.scale = TINA_SCALE_GROUP, .eps = 1e-4};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":o:G:qhV", long_options, NULL)) != -1;) {
        switch (c) {
        case 'o': options.output = optarg; break;
        case OPT_SCALE: options.scale = (TinaAdvantageScale)cli_choice("--scale", optarg, scales); break;
        case OPT_EPS: options.eps = cli_double("--eps", optarg, 0, 1e300); break;
        case OPT_DROP_ZERO_STD: options.drop_zero_std = true; break;
        case 'G': options.group_size = cli_integer("--group-size", optarg, 1, 1LL << 40); break;
        case OPT_STATS: options.stats_path = optarg; break;
        case 'q': options.quiet = true; break;
        case OPT_PROGRESS: options.progress = true; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    return options;
}

int main(int argc, char **argv) {
    cli_init("tina-advantage");
    Options options = parse_options(argc, argv);
    const char *const *inputs = (const char *const *)argv + optind;
    int n_inputs = argc - optind;

    TinaError err = {0};
    const char *bad_file = NULL; /* where a bad-input error is, when it is in a line */
    long bad_line = 0;
    TinaReader *reader = NULL;
    TinaWriter *writer = NULL, *stats = NULL;
    TinaStrMap *seen_ids = NULL;
    Held held = {0};
    Summary summary = {0};
    TinaBuf id = {0}, group_id = {0}, line_out = {0};
    TinaProgress progress;
    tina_progress_start(&progress, cli_program(), "records", 0, options.progress);

    TinaStatus status = tina_reader_open(&reader, inputs, n_inputs, &err);
    if (!status) status = tina_writer_open(&writer, options.output, &err);
    if (!status && options.stats_path) status = tina_writer_open(&stats, options.stats_path, &err);
    if (!status) status = tina_strmap_new(&seen_ids, &err);
    size_t group_first = 0;
    while (!status) {
        const char *line;
        size_t len;
        bad_file = NULL; /* the reader's own errors name their input */
        status = tina_reader_next(reader, &line, &len, &err);
        if (status || !line) break;
        bad_file = tina_reader_name(reader);
        bad_line = tina_reader_line(reader);
        cJSON *record;
        status = tina_record_parse(line, len, &record, &err);
        if (status) break;
        double reward;
        bool is_null;
        long long sample;
        status = tina_record_key(record, TINA_FIELD(ID), &id, &err);
        if (!status) status = tina_record_integer(record, TINA_FIELD(SAMPLE), 0, 1LL << 40, &sample, &err);
        if (!status) status = tina_record_number_or_null(record, TINA_FIELD(REWARD), &reward, &is_null, &err);
        cJSON_Delete(record);
        if (status) break;

        bool new_group = held.n_records == group_first || strcmp(id.data, group_id.data) != 0;
        if (new_group) {
            if (held.n_records > group_first) {
                status = close_group(&held, group_first, group_id.data, &options, &summary, &bad_file, &bad_line,
                                     &err);
                if (!status && options.scale != TINA_SCALE_BATCH)
                    status = emit_held(&held, &options, 0, &summary, writer, &line_out, &err);
                if (status) break;
                bad_file = tina_reader_name(reader);
                bad_line = tina_reader_line(reader);
            }
            bool added;
            status = tina_strmap_insert(seen_ids, id.data, id.len, 0, &added, &err);
            if (!status && !added)
                status = tina_error(&err, TINA_ERR_INPUT,
                                    "group \"%s\" is split: it appeared before another group "
                                    "(the samples of a prompt must be contiguous)",
                                    id.data);
            if (status) break;
            group_first = held.n_records;
            tina_buf_clear(&group_id);
            status = tina_buf_append(&group_id, id.data, id.len, &err);
            if (status) break;
        }
        status = hold_record(&held, line, len, reward, !is_null, sample, bad_file, bad_line, &err);
        summary.records++;
        if (is_null) summary.null_rewards++;
        else tina_stats_add(&summary.rewards, reward);
        if ((summary.records & 1023) == 0) tina_progress_update(&progress, summary.records);
    }
    if (!status && held.n_records > group_first)
        status = close_group(&held, group_first, group_id.data, &options, &summary, &bad_file, &bad_line, &err);
    if (!status) {
        bad_file = NULL; /* what fails from here is not one input line's fault */
        status = emit_held(&held, &options, tina_stats_std(&summary.rewards), &summary, writer, &line_out, &err);
    }
    tina_progress_finish(&progress, summary.records);
    if (!status && stats) status = write_stats(stats, &options, &summary, &err);
    if (!status) {
        status = tina_writer_commit(writer, &err);
        writer = NULL;
    }
    if (!status && stats) {
        status = tina_writer_commit(stats, &err);
        stats = NULL;
    }
    if (!status && !options.quiet) print_summary(stderr, &summary);

    if (status) {
        if (status == TINA_ERR_INPUT && bad_file && bad_line) cli_report_at(bad_file, bad_line, &err);
        else cli_report(&err);
    }
    tina_writer_abort(writer);
    tina_writer_abort(stats);
    tina_reader_close(reader);
    tina_strmap_free(seen_ids);
    free(held.records);
    free(held.rewards);
    free(held.usable);
    free(held.groups);
    tina_buf_free(&held.text);
    tina_buf_free(&id);
    tina_buf_free(&group_id);
    tina_buf_free(&line_out);
    return (int)status;
}

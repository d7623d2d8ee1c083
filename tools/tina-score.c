/* tina-score: rewarded evaluation rollouts in, a table of pass@1, pass@k, maj@n per benchmark out.
 *
 * Records are grouped by benchmark (--by, default "source"; or --by-input, one benchmark a file) and, inside it, by
 * problem ("id"); every sample of a problem counts (pass@1 is the mean over the n samples, the field's standard, not
 * one sample as Tina reported). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli.h"
#include "io/fields.h"
#include "io/record.h"
#include "verify/score.h"
#include "base/strmap.h"

static const char usage[] =
    "Usage: tina-score [OPTION]... [INPUT]...\n"
    "Score rewarded evaluation rollouts (JSON lines with \"id\", \"rewards\" {\"accuracy\"}, \"pred\"): per\n"
    "benchmark and on average, pass@1 (the mean over each problem's samples) with a 95% bootstrap interval, the\n"
    "unbiased pass@k, maj@n (majority vote over \"pred\"), mean completion length and fraction truncated.\n"
    "\n"
    "      --by FIELD         group benchmarks by FIELD (default \"source\"; records without it are \"all\")\n"
    "      --by-input         each INPUT is one benchmark, named by its file name less .rewarded.jsonl.zst\n"
    "  -k, --k LIST           the k of pass@k, comma-separated (default 1,4,16; k above n is left out)\n"
    "      --allow-ragged     allow problems with different numbers of samples\n"
    "      --bootstrap N      bootstrap resamples for the interval (default 1000; 0: none)\n"
    "      --seed S           the bootstrap's seed (default 0)\n"
    "      --json             one JSON object instead of the table\n"
    "  -o, --output FILE      write to FILE instead of stdout\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or input (a missing or null accuracy, ragged sample\n"
    "counts). See tina-score(1).\n";

typedef struct {
    const char *by;
    bool by_input;
    int ks[16], n_ks;
    bool allow_ragged, json;
    int bootstrap;
    long long seed;
    const char *output;
} Options;

typedef struct {
    int n, correct;
} Problem;

typedef struct {
    size_t problem;      /* index in problems */
    int pred;            /* index in preds, -1 for null */
    bool correct;
} Vote;

typedef struct {
    char *name;
    size_t *problems;    /* indices into the global problems */
    size_t n_problems, cap_problems;
    double length_sum;
    long long samples, truncated;
} Benchmark;

typedef struct {
    Benchmark *benchmarks;
    size_t n_benchmarks, cap_benchmarks;
    Problem *problems;
    size_t n_problems, cap_problems;
    Vote *votes;
    size_t n_votes, cap_votes;
    TinaStrMap *benchmark_index, *problem_index, *pred_index, *sample_index;
    const char *input_benchmark; /* with --by-input: the benchmark of the input being read */
} Tally;

static TinaStatus grow(void **array, size_t *cap, size_t need, size_t item, TinaError *err) {
    if (need <= *cap) return TINA_OK;
    size_t bigger = *cap ? 2 * *cap : 64;
    while (bigger < need) bigger *= 2;
    void *p = realloc(*array, bigger * item);
    if (!p) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    *array = p, *cap = bigger;
    return TINA_OK;
}

/* index of key in map, added with value `next` if new */
static TinaStatus intern(TinaStrMap *map, const char *key, size_t len, size_t next, size_t *index, bool *added,
                         TinaError *err) {
    int64_t value;
    if (tina_strmap_get(map, key, len, &value)) {
        *index = (size_t)value, *added = false;
        return TINA_OK;
    }
    *index = next, *added = true;
    return tina_strmap_insert(map, key, len, (int64_t)next, added, err);
}

static TinaStatus add_record(Tally *t, const cJSON *record, const Options *o, TinaBuf *key, TinaError *err) {
    const cJSON *rewards = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(REWARDS));
    const cJSON *accuracy = cJSON_GetObjectItemCaseSensitive(rewards, "accuracy");
    if (!cJSON_IsNumber(accuracy)) {
        const char *why = !accuracy ? "missing"
                          : cJSON_IsNull(accuracy) ? "null: the gold answer does not parse"
                                                   : "not a number";
        /* the gold that did not parse, as the record holds it (an empty one is the usual cause) */
        const cJSON *gold = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(ANSWER));
        bool show = cJSON_IsNull(accuracy) && cJSON_IsString(gold);
        return tina_error(err, TINA_ERR_INPUT, "no rewards.accuracy (%s%s%.60s%s; run tina-reward with the accuracy "
                          "reward, and check the gold answers)", why, show ? ", \"answer\" \"" : "",
                          show ? gold->valuestring : "", show ? "\"" : "");
    }
    TinaBuf bench = {0}, id = {0};
    TinaStatus status = TINA_OK;
    if (o->by_input) status = tina_buf_append_str(&bench, t->input_benchmark, err);
    else if (cJSON_GetObjectItemCaseSensitive(record, o->by)) status = tina_record_key(record, o->by, &bench, err);
    else status = tina_buf_append_str(&bench, "all", err);
    if (!status) status = tina_record_key(record, TINA_FIELD(ID), &id, err);
    size_t b = 0, p = 0;
    bool added;
    if (!status) status = intern(t->benchmark_index, bench.data, bench.len, t->n_benchmarks, &b, &added, err);
    if (!status && added) {
        status = grow((void **)&t->benchmarks, &t->cap_benchmarks, t->n_benchmarks + 1, sizeof *t->benchmarks, err);
        if (!status) t->benchmarks[t->n_benchmarks++] = (Benchmark){.name = strdup(bench.data)};
    }
    if (!status) {
        tina_buf_clear(key);
        status = tina_buf_append(key, bench.data, bench.len, err);
        if (!status) status = tina_buf_append(key, "\x1f", 1, err);
        if (!status) status = tina_buf_append(key, id.data, id.len, err);
    }
    /* a rollout counted twice skews pass@k */
    if (!status && cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(SAMPLE))) {
        TinaBuf sample = {0};
        status = tina_record_key(record, TINA_FIELD(SAMPLE), &sample, err);
        size_t before = key->len, ignored;
        if (!status) status = tina_buf_append(key, "\x1f", 1, err);
        if (!status) status = tina_buf_append(key, sample.data, sample.len, err);
        if (!status) status = intern(t->sample_index, key->data, key->len, 0, &ignored, &added, err);
        if (!status && !added)
            status = tina_error(err, TINA_ERR_INPUT, "id %s, sample %s: a second record of the same sample", id.data,
                                sample.data);
        key->len = before;
        if (key->data) key->data[before] = '\0';
        tina_buf_free(&sample);
    }
    if (!status) status = intern(t->problem_index, key->data, key->len, t->n_problems, &p, &added, err);
    if (!status && added) {
        Benchmark *bm = &t->benchmarks[b];
        status = grow((void **)&t->problems, &t->cap_problems, t->n_problems + 1, sizeof *t->problems, err);
        if (!status) status = grow((void **)&bm->problems, &bm->cap_problems, bm->n_problems + 1, sizeof *bm->problems, err);
        if (!status) {
            t->problems[t->n_problems++] = (Problem){0};
            bm->problems[bm->n_problems++] = p;
        }
    }
    int pred = -1;
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(PRED));
    if (!status && cJSON_IsString(pv)) {
        size_t index;
        status = intern(t->pred_index, pv->valuestring, strlen(pv->valuestring), tina_strmap_size(t->pred_index),
                        &index, &added, err);
        pred = (int)index;
    }
    if (!status) status = grow((void **)&t->votes, &t->cap_votes, t->n_votes + 1, sizeof *t->votes, err);
    if (!status) {
        bool correct = accuracy->valuedouble >= 0.5;
        t->votes[t->n_votes++] = (Vote){p, pred, correct};
        t->problems[p].n++;
        t->problems[p].correct += correct;
        Benchmark *bm = &t->benchmarks[b];
        const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(COMPLETION_TOKENS));
        const cJSON *completion = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(COMPLETION));
        const cJSON *finish = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(FINISH_REASON));
        bm->length_sum += cJSON_IsArray(tokens) ? cJSON_GetArraySize(tokens)
                          : cJSON_IsString(completion) ? (double)strlen(completion->valuestring) : 0;
        bm->samples++;
        bm->truncated += cJSON_IsString(finish) && strcmp(finish->valuestring, "length") == 0;
    }
    tina_buf_free(&bench);
    tina_buf_free(&id);
    return status;
}

/* maj@n of every problem into right[]: the most frequent prediction (the earliest on a tie) decides; no prediction
 * is wrong. Linear in the votes: a counting sort by problem keeps each problem's votes in input order, and a count
 * per prediction is kept for one problem at a time. */
static TinaStatus majorities(const Tally *t, bool *right, TinaError *err) {
    size_t n_preds = tina_strmap_size(t->pred_index);
    size_t *start = calloc(t->n_problems + 1, sizeof *start), *next = malloc((t->n_problems + 1) * sizeof *next);
    size_t *order = malloc((t->n_votes ? t->n_votes : 1) * sizeof *order);
    int *count = calloc(n_preds ? n_preds : 1, sizeof *count);
    TinaStatus status = start && next && order && count ? TINA_OK : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    for (size_t v = 0; !status && v < t->n_votes; v++) start[t->votes[v].problem + 1]++;
    for (size_t p = 0; !status && p < t->n_problems; p++) start[p + 1] += start[p];
    if (!status) memcpy(next, start, (t->n_problems + 1) * sizeof *next);
    for (size_t v = 0; !status && v < t->n_votes; v++) order[next[t->votes[v].problem]++] = v;
    for (size_t p = 0; !status && p < t->n_problems; p++) {
        for (size_t i = start[p]; i < start[p + 1]; i++)
            if (t->votes[order[i]].pred >= 0) count[t->votes[order[i]].pred]++;
        int best_count = 0;
        right[p] = false;
        for (size_t i = start[p]; i < start[p + 1]; i++) {
            const Vote *v = &t->votes[order[i]];
            if (v->pred >= 0 && count[v->pred] > best_count) best_count = count[v->pred], right[p] = v->correct;
        }
        for (size_t i = start[p]; i < start[p + 1]; i++)
            if (t->votes[order[i]].pred >= 0) count[t->votes[order[i]].pred] = 0;
    }
    free(start), free(next), free(order), free(count);
    return status;
}

typedef struct {
    const char *name;
    size_t problems;
    int n;               /* samples per problem (the first's, when ragged) */
    double pass1, low, high, pass[16], majority, length, truncated;
} Row;

static int rank(const char *name) {
    static const char *const order[] = {"aime24", "aime25", "amc23", "math500", "gpqa", "gpqa_diamond", "minerva"};
    for (int i = 0; i < 7; i++)
        if (strcmp(name, order[i]) == 0) return i;
    return 7;
}

static int by_rank(const void *a, const void *b) {
    const Row *x = a, *y = b;
    int rx = rank(x->name), ry = rank(y->name);
    return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

static TinaStatus summarise(const Tally *t, const Options *o, Row *rows, TinaError *err) {
    bool *right = malloc(t->n_problems * sizeof *right);
    TinaStatus status = right ? majorities(t, right, err) : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    for (size_t b = 0; !status && b < t->n_benchmarks; b++) {
        const Benchmark *bm = &t->benchmarks[b];
        Row *r = &rows[b];
        *r = (Row){.name = bm->name, .problems = bm->n_problems, .n = t->problems[bm->problems[0]].n};
        double *rates = malloc(bm->n_problems * sizeof *rates);
        if (!rates) {
            status = tina_error(err, TINA_ERR_RUNTIME, "out of memory");
            break;
        }
        int majority = 0;
        for (int k = 0; k < o->n_ks; k++) r->pass[k] = 0;
        int counted[16] = {0};
        for (size_t i = 0; i < bm->n_problems; i++) {
            const Problem *p = &t->problems[bm->problems[i]];
            if (p->n != r->n && !o->allow_ragged) {
                status = tina_error(err, TINA_ERR_INPUT, "%s: problems have %d and %d samples (--allow-ragged to "
                                    "score them anyway)", bm->name, r->n, p->n);
                break;
            }
            rates[i] = (double)p->correct / p->n;
            r->pass1 += rates[i];
            for (int k = 0; k < o->n_ks; k++) {
                double v = tina_pass_at_k(p->n, p->correct, o->ks[k]);
                if (!isnan(v)) r->pass[k] += v, counted[k]++;
            }
            majority += right[bm->problems[i]];
        }
        r->pass1 /= (double)bm->n_problems;
        for (int k = 0; k < o->n_ks; k++) r->pass[k] = counted[k] ? r->pass[k] / counted[k] : NAN;
        r->majority = (double)majority / (double)bm->n_problems;
        r->length = bm->samples ? bm->length_sum / (double)bm->samples : 0;
        r->truncated = bm->samples ? (double)bm->truncated / (double)bm->samples : 0;
        if (o->bootstrap > 0) tina_bootstrap_mean(rates, (int)bm->n_problems, o->bootstrap, (uint64_t)o->seed, &r->low, &r->high);
        else r->low = r->high = NAN;
        free(rates);
    }
    free(right);
    if (!status) qsort(rows, t->n_benchmarks, sizeof *rows, by_rank);
    return status;
}

static void print_percent(FILE *f, double v, int width) {
    if (isnan(v)) fprintf(f, "%*s", width, "-");
    else fprintf(f, "%*.2f", width, 100 * v);
}

static void print_table(FILE *f, const Row *rows, size_t n, const Options *o) {
    int names = 14; /* the first column, as wide as the longest name */
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(rows[i].name) > names) names = (int)strlen(rows[i].name);
    fprintf(f, "%-*s %8s %4s %8s %17s", names, "benchmark", "problems", "n", "pass@1", "95% CI");
    for (int k = 0; k < o->n_ks; k++) {
        if (o->ks[k] == 1) continue;
        char head[16];
        snprintf(head, sizeof head, "pass@%d", o->ks[k]);
        fprintf(f, " %8s", head);
    }
    fprintf(f, " %8s %9s %7s\n", "maj@n", "length", "trunc%");
    double sum = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n) {
            fprintf(f, "%-*s %8s %4s ", names, "average", "", "");
            print_percent(f, n ? sum / (double)n : NAN, 8);
            fprintf(f, "\n");
            break;
        }
        const Row *r = &rows[i];
        sum += r->pass1;
        fprintf(f, "%-*s %8zu %4d ", names, r->name, r->problems, r->n);
        print_percent(f, r->pass1, 8);
        if (isnan(r->low)) fprintf(f, " %17s", "-");
        else fprintf(f, "   [%6.2f, %6.2f]", 100 * r->low, 100 * r->high);
        for (int k = 0; k < o->n_ks; k++) {
            if (o->ks[k] == 1) continue;
            fprintf(f, " ");
            print_percent(f, r->pass[k], 8);
        }
        fprintf(f, " ");
        print_percent(f, r->majority, 8);
        fprintf(f, " %9.1f ", r->length);
        print_percent(f, r->truncated, 7);
        fprintf(f, "\n");
    }
}

static void json_number(TinaBuf *out, double v) {
    char text[32];
    tina_record_format_number(v, text);
    TinaError ignored;
    tina_buf_append_str(out, text, &ignored);
}

static TinaStatus print_json(FILE *f, const Row *rows, size_t n, const Options *o, TinaError *err) {
    TinaBuf out = {0};
    TinaStatus status = tina_buf_append_str(&out, "{\"benchmarks\":{", err);
    double sum = 0;
    for (size_t i = 0; i < n && !status; i++) {
        const Row *r = &rows[i];
        sum += r->pass1;
        if (i) tina_buf_append_str(&out, ",", err);
        status = tina_record_format_string(&out, r->name, strlen(r->name), err);
        char head[128];
        snprintf(head, sizeof head, ":{\"problems\":%zu,\"samples_per_problem\":%d,\"pass@1\":", r->problems, r->n);
        tina_buf_append_str(&out, head, err);
        json_number(&out, r->pass1);
        tina_buf_append_str(&out, ",\"ci95\":[", err);
        json_number(&out, r->low);
        tina_buf_append_str(&out, ",", err);
        json_number(&out, r->high);
        tina_buf_append_str(&out, "]", err);
        for (int k = 0; k < o->n_ks; k++) {
            if (o->ks[k] == 1) continue;
            snprintf(head, sizeof head, ",\"pass@%d\":", o->ks[k]);
            tina_buf_append_str(&out, head, err);
            json_number(&out, r->pass[k]);
        }
        tina_buf_append_str(&out, ",\"maj@n\":", err);
        json_number(&out, r->majority);
        tina_buf_append_str(&out, ",\"completion_len_mean\":", err);
        json_number(&out, r->length);
        tina_buf_append_str(&out, ",\"frac_truncated\":", err);
        json_number(&out, r->truncated);
        status = tina_buf_append_str(&out, "}", err);
    }
    if (!status) status = tina_buf_append_str(&out, "},\"average_pass@1\":", err);
    if (!status) json_number(&out, n ? sum / (double)n : NAN);
    if (!status) status = tina_buf_append_str(&out, "}", err);
    if (!status) fprintf(f, "%s\n", out.data);
    tina_buf_free(&out);
    return status;
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_BY = 256, OPT_BY_INPUT, OPT_RAGGED, OPT_BOOTSTRAP, OPT_SEED, OPT_JSON };
    static const struct option long_options[] = {
        {"by", required_argument, NULL, OPT_BY},           {"by-input", no_argument, NULL, OPT_BY_INPUT},
        {"k", required_argument, NULL, 'k'},               {"allow-ragged", no_argument, NULL, OPT_RAGGED},
        {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP}, {"seed", required_argument, NULL, OPT_SEED},
        {"json", no_argument, NULL, OPT_JSON},             {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},                  {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    Options o = {.by = "source", .ks = {1, 4, 16}, .n_ks = 3, .bootstrap = 1000};
    bool by_given = false;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":k:o:hV", long_options, NULL)) != -1;) {
        switch (c) {
        case OPT_BY: o.by = optarg, by_given = true; break;
        case OPT_BY_INPUT: o.by_input = true; break;
        case 'k': {
            o.n_ks = 0;
            char **items = cli_list("--k", optarg);
            for (char **item = items; *item; item++) {
                if (o.n_ks == 16) cli_usage_error("--k takes at most 16 values");
                o.ks[o.n_ks++] = (int)cli_integer("--k", *item, 1, 1 << 20);
            }
            free(items);
            break;
        }
        case OPT_RAGGED: o.allow_ragged = true; break;
        case OPT_BOOTSTRAP: o.bootstrap = (int)cli_integer("--bootstrap", optarg, 0, 1000000); break;
        case OPT_SEED: o.seed = cli_integer("--seed", optarg, 0, 1LL << 62); break;
        case OPT_JSON: o.json = true; break;
        case 'o': o.output = optarg; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    if (by_given && o.by_input) cli_usage_error("--by and --by-input exclude each other");
    return o;
}

static bool cut_ending(char *name, size_t *len, const char *ending) {
    size_t n = strlen(ending);
    if (*len <= n || memcmp(name + *len - n, ending, n) != 0) return false;
    name[*len -= n] = '\0';
    return true;
}

/* A benchmark named by its file: the base name less what tina's files add to a set's name, .zst, then .jsonl or .json,
 * then .rewarded (eval.mk's OUT/aime24.rewarded.jsonl.zst is aime24); standard input is "stdin". Inputs of one name
 * are one benchmark (a set's shards). */
static char *input_benchmark(const char *path) {
    if (strcmp(path, "-") == 0) return strdup("stdin");
    const char *slash = strrchr(path, '/');
    char *name = strdup(slash ? slash + 1 : path);
    if (!name) return NULL;
    size_t len = strlen(name);
    cut_ending(name, &len, ".zst");
    if (!cut_ending(name, &len, ".jsonl")) cut_ending(name, &len, ".json");
    cut_ending(name, &len, ".rewarded");
    return name;
}

static TinaStatus add_to_tally(const cJSON *record, void *context, TinaError *err) {
    void **c = context; /* {Tally, Options, the key buffer} */
    return add_record(c[0], record, c[1], c[2], err);
}

int main(int argc, char **argv) {
    cli_init("tina-score");
    Options o = parse_options(argc, argv);
    TinaError err = {0};
    Tally t = {0};
    TinaBuf key = {0};
    TinaStatus status = tina_strmap_new(&t.benchmark_index, &err);
    if (!status) status = tina_strmap_new(&t.problem_index, &err);
    if (!status) status = tina_strmap_new(&t.pred_index, &err);
    if (!status) status = tina_strmap_new(&t.sample_index, &err);
    const char *const *inputs = (const char *const *)argv + optind;
    int n_inputs = argc - optind;
    if (!status && !o.by_input)
        status = cli_read_records(inputs, n_inputs, add_to_tally, (void *[]){&t, &o, &key}, &err);
    for (int i = 0; o.by_input && !status && i < (n_inputs ? n_inputs : 1); i++) {
        char *name = input_benchmark(n_inputs ? inputs[i] : "-");
        t.input_benchmark = name;
        if (!name) status = tina_error(&err, TINA_ERR_RUNTIME, "out of memory");
        else status = cli_read_records(n_inputs ? &inputs[i] : NULL, n_inputs ? 1 : 0, add_to_tally,
                                       (void *[]){&t, &o, &key}, &err);
        free(name);
    }
    if (!status && !t.n_votes) status = tina_error(&err, TINA_ERR_INPUT, "no records to score");
    Row *rows = t.n_benchmarks ? calloc(t.n_benchmarks, sizeof *rows) : NULL;
    if (!status && !rows) status = tina_error(&err, TINA_ERR_RUNTIME, "out of memory");
    if (!status) status = summarise(&t, &o, rows, &err);
    FILE *out = status ? NULL : cli_open_output(&err);
    if (!status && !out) status = err.status;
    if (!status) {
        if (o.json) status = print_json(out, rows, t.n_benchmarks, &o, &err);
        else print_table(out, rows, t.n_benchmarks, &o);
    }
    status = cli_close_output(out, o.output, status, &err);
    if (status) cli_report(&err);
    for (size_t b = 0; b < t.n_benchmarks; b++) free(t.benchmarks[b].name), free(t.benchmarks[b].problems);
    free(t.benchmarks), free(t.problems), free(t.votes), free(rows);
    tina_strmap_free(t.benchmark_index), tina_strmap_free(t.problem_index), tina_strmap_free(t.pred_index);
    tina_strmap_free(t.sample_index);
    tina_buf_free(&key);
    return (int)status;
}

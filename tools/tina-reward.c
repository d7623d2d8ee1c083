/* tina-reward: rollouts in, the same records with "rewards", "reward" and "pred" out.
 *
 * The answer check is Math-Verify's (lib/verify/answer.h); the other rewards are Tina's and open-r1's (lib/verify/rewards.h).
 * Records are held per group (consecutive records with the same "id") because the length reward compares the
 * samples of a prompt; everything else is per record. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/answer.h"
#include "base/buf.h"
#include "cli.h"
#include "io/fields.h"
#include "base/progress.h"
#include "io/record.h"
#include "verify/rewards.h"
#include "io/stream.h"

static const char usage[] =
    "Usage: tina-reward [OPTION]... [INPUT]...\n"
    "Score rollouts (JSON lines with \"completion\" and a gold \"answer\") and add \"rewards\" {name: value},\n"
    "\"reward\" (their weighted sum) and \"pred\" (the extracted answer). INPUT is a JSON-lines file, plain or\n"
    "zstd; none or \"-\" reads stdin. Every other field passes through unchanged.\n"
    "\n"
    "  -r, --reward LIST      rewards and weights, NAME[:WEIGHT],... (repeatable; weight 1 by default):\n"
    "                         accuracy, format, format_r1, tag_count, tag_count_tina, reasoning_steps,\n"
    "                         length, cosine, repetition, boxed, boxed_number,\n"
    "                         length_l1_exact, length_l1_max\n"
    "                         (the L1 rewards read each record's \"target_length\")\n"
    "  -p, --preset NAME      tina      format:1,accuracy:2   [default when no --reward]\n"
    "                         tina-rs3  format:1,cosine:2\n"
    "                         still     length:1,accuracy:2\n"
    "                         open-r1   accuracy:1,format_r1:1,tag_count:1\n"
    "      --cosine-max-len N the cosine reward's length scale (default 3584, Tina's)\n"
    "      --cosine-unit U    chars (default, Tina's) or tokens (completion_tokens)\n"
    "      --cosine-clamp     clamp lengths past --cosine-max-len (Tina does not: its reward rises again there)\n"
    "      --ngram N          n-gram size of the repetition reward (default 3)\n"
    "      --max-penalty P    the repetition reward's most negative value (default -1)\n"
    "      --gold-field NAME  the gold answer's field (default \"answer\"; without it, the last \\boxed{} of\n"
    "                         \"solution\")\n"
    "      --nulls MODE       strict (default): a null reward makes the total null; trl: it adds nothing to\n"
    "                         the total (TRL's nansum, as Tina trained), and cosine is 1 for a gold that does not\n"
    "                         parse (Tina's)\n"
    "      --gold-parse MODE  answer (default): the gold is an answer, read as \\boxed{gold}; tina: as Tina's\n"
    "                         rewards read it: a \"solution\" field searched like a completion (a final\n"
    "                         answer, a \\boxed{}, then the last formula or number), any other field as $gold$\n"
    "      --grader NAME      whose answer check accuracy (and cosine, length, L1) is: open-r1 (default):\n"
    "                         Math-Verify 0.9.0 as open-r1's accuracy reward configures it; lighteval-expr,\n"
    "                         lighteval-latex, lighteval-letters: lighteval's extractive match (ed084813)\n"
    "                         as Tina's evaluation configured it, the gold read as an expression (AIME,\n"
    "                         AMC), as LaTeX (MATH-500 and Minerva solutions) or as a letter (GPQA; needs\n"
    "                         \"choices\"); the completion searched for numbers and LaTeX, boxed first, any\n"
    "                         match that parses, decimals to 5 places\n"
    "  -o, --output FILE      write to FILE (zstd if it ends in .zst; written atomically) instead of stdout\n"
    "  -q, --quiet            no summary on stderr\n"
    "      --progress         show progress on stderr even when it is not a terminal\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "accuracy is null when the gold answer does not parse; so are cosine and the total reward then (--nulls\n"
    "strict). Exit status:\n"
    "0 success, 1 runtime failure, 2 bad usage or input. See tina-reward(1) and tina(7).\n";

typedef enum {
    ACCURACY,
    FORMAT,
    FORMAT_R1,
    TAG_COUNT,
    TAG_COUNT_TINA,
    REASONING_STEPS,
    LENGTH,
    COSINE,
    REPETITION,
    BOXED,
    BOXED_NUMBER,
    LENGTH_L1_EXACT,
    LENGTH_L1_MAX,
    N_KINDS
} Kind;

static const char *const kind_names[N_KINDS + 1] = {
    "accuracy", "format", "format_r1", "tag_count", "tag_count_tina", "reasoning_steps", "length", "cosine",
    "repetition", "boxed", "boxed_number", "length_l1_exact", "length_l1_max", NULL};

typedef struct {
    Kind kind;
    double weight;
} Term;

/* --grader: whose answer check accuracy is (lighteval's three are Tina's evaluation metrics) */
typedef enum { GRADER_OPEN_R1, GRADER_LIGHTEVAL_EXPR, GRADER_LIGHTEVAL_LATEX, GRADER_LIGHTEVAL_LETTERS } Grader;
static const char *const grader_names[] = {"open-r1", "lighteval-expr", "lighteval-latex", "lighteval-letters",
                                           NULL};

typedef struct {
    Term terms[N_KINDS];
    int n_terms;
    double cosine_max_len;
    bool cosine_tokens, cosine_clamp;
    int ngram;
    double max_penalty;
    const char *gold_field;
    bool nulls_trl; /* --nulls trl: a null reward adds nothing to the total; cosine of a null gold is 1 */
    bool gold_tina; /* --gold-parse tina: the gold found in its text as Tina's rewards.py finds it */
    int grader;     /* --grader: a Grader */
    const char *output;
    bool quiet, progress;
} Options;

static void add_terms(Options *o, const char *list) {
    char **items = cli_list("--reward", list);
    for (char **next = items, *item; (item = *next) != NULL; next++) {
        char *colon = strchr(item, ':');
        if (colon) *colon = 0;
        int kind = cli_choice("--reward", item, kind_names);
        double weight = colon ? cli_double("--reward weight", colon + 1, -1e6, 1e6) : 1.0;
        for (int i = 0; i < o->n_terms; i++)
            if (o->terms[i].kind == (Kind)kind) cli_usage_error("reward \"%s\" given twice", item);
        o->terms[o->n_terms++] = (Term){(Kind)kind, weight};
    }
    free(items);
}

/* ---- one group ---- */

typedef struct {
    size_t offset, len; /* the line in Group.text */
    long line;
    const char *file;
    bool gold_null, correct, has_pred, truncated;
    bool length_gold_null, length_correct; /* what cosine, length and L1 go by (differ only under --gold-parse tina) */
    size_t pred_offset, pred_len; /* the extracted answer in Group.preds */
    double chars, tokens;
    double target; /* target_length, for the L1 rewards */
    double values[N_KINDS];
    bool null[N_KINDS];
} Item;

typedef struct {
    Item *items;
    size_t n, cap;
    TinaBuf text, preds;
} Group;

typedef struct {
    long long records, truncated, no_pred;
    double sum[N_KINDS], total_sum;
    long long counted[N_KINDS], nulls[N_KINDS], total_counted, total_nulls;
} Summary;

static bool uses(const Options *o, Kind kind) {
    for (int i = 0; i < o->n_terms; i++)
        if (o->terms[i].kind == kind) return true;
    return false;
}

/* The gold answer: the gold field, or the last \boxed{} of "solution" (worked solutions). */
static TinaStatus gold_text(const cJSON *record, const Options *o, TinaBuf *gold, TinaError *err) {
    tina_buf_clear(gold);
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(record, o->gold_field);
    if (cJSON_IsString(field)) return tina_buf_append_str(gold, field->valuestring, err);
    if (cJSON_IsNumber(field)) {
        char number[32];
        /* 27.0 in a JSON file is the integer 27 to a reader */
        if (field->valuedouble == floor(field->valuedouble) && fabs(field->valuedouble) < 1e15)
            snprintf(number, sizeof number, "%.0f", field->valuedouble);
        else
            tina_record_format_number(field->valuedouble, number);
        return tina_buf_append_str(gold, number, err);
    }
    if (cJSON_IsArray(field) && cJSON_GetArraySize(field) > 0 && cJSON_IsString(cJSON_GetArrayItem(field, 0)))
        return tina_buf_append_str(gold, cJSON_GetArrayItem(field, 0)->valuestring, err);
    const cJSON *solution = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(SOLUTION));
    if (!field && cJSON_IsString(solution)) {
        const char *s = solution->valuestring;
        return tina_boxed_content(s, strlen(s), false, gold, err);
    }
    return tina_error(err, TINA_ERR_INPUT, "no gold answer: field \"%s\" is %s (and no \"solution\" to take a "
                      "\\boxed{} from)", o->gold_field,
                      field ? "not a string, a number or a list that starts with a string" : "missing");
}

/* The gold as Tina's rewards.py reads it (--gold-parse tina): its grpo.py wrote an answer column as "$answer$" and
 * kept a solution column as written; accuracy parses it with LaTeX and plain numbers and asks
 * verify(gold, answer), cosine, length and L1 with LaTeX only and ask verify(answer, gold). */
static TinaStatus tina_gold(const cJSON *record, const Options *o, bool accuracy, bool length, const TinaBuf *text,
                            TinaAnswer *gold, const TinaAnswer *pred, Item *it, TinaError *err) {
    TinaBuf wrapped = {0};
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(record, o->gold_field);
    const char *math = strcmp(o->gold_field, "solution") == 0 && cJSON_IsString(field) ? "" : "$";
    TinaStatus status = tina_buf_append_str(&wrapped, math, err);
    if (!status) status = tina_buf_append(&wrapped, text->data ? text->data : "", text->len, err);
    if (!status) status = tina_buf_append_str(&wrapped, math, err);
    if (!status && accuracy) status = tina_answer_first_match(gold, wrapped.data, wrapped.len, true, err);
    if (!status && accuracy) {
        it->gold_null = !tina_answer_found(gold);
        it->correct = !it->gold_null && tina_answer_equivalent(gold, pred);
    }
    if (!status && length) status = tina_answer_first_match(gold, wrapped.data, wrapped.len, false, err);
    if (!status && length) {
        it->length_gold_null = !tina_answer_found(gold);
        it->length_correct = !it->length_gold_null && tina_answer_found(pred) && tina_answer_equivalent(pred, gold);
    }
    tina_buf_free(&wrapped);
    return status;
}

/* The correct option of a multiple-choice record: its gold is the letter ("C", "(C)") or the text of a choice. */
static int choice_of(const char *gold, const cJSON *choices) {
    int n = cJSON_GetArraySize(choices);
    char letter[8];
    size_t k = 0;
    for (const char *c = gold; *c && k < sizeof letter - 1; c++)
        if (!strchr(" ()\t\n", *c)) letter[k++] = (char)toupper((unsigned char)*c);
    letter[k] = 0;
    if (k == 1 && letter[0] >= 'A' && letter[0] < 'A' + n) return letter[0] - 'A';
    for (int i = 0; i < n; i++) {
        const cJSON *choice = cJSON_GetArrayItem(choices, i);
        if (cJSON_IsString(choice) && strcmp(choice->valuestring, gold) == 0) return i;
    }
    return -1;
}

static TinaStatus score_record(Group *g, const char *line, size_t len, const char *file, long line_number,
                               const Options *o, TinaAnswer *gold, TinaAnswer *pred, TinaBuf *scratch,
                               TinaError *err) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        Item *items = realloc(g->items, cap * sizeof *items);
        if (!items) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (group of %zu records)", cap);
        g->items = items, g->cap = cap;
    }
    cJSON *record;
    TinaStatus status = tina_record_parse(line, len, &record, err);
    if (status) return status;
    Item *it = &g->items[g->n];
    *it = (Item){.offset = g->text.len, .len = len, .line = line_number, .file = file};
    const char *completion;
    status = tina_record_string(record, TINA_FIELD(COMPLETION), &completion, err);
    size_t completion_len = status ? 0 : strlen(completion);
    if (!status) {
        it->chars = (double)tina_utf8_length(completion, completion_len);
        const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(COMPLETION_TOKENS));
        const cJSON *finish = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(FINISH_REASON));
        it->truncated = cJSON_IsString(finish) && strcmp(finish->valuestring, "length") == 0;
        if (cJSON_IsArray(tokens)) it->tokens = cJSON_GetArraySize(tokens);
        else if (o->cosine_tokens && uses(o, COSINE))
            status = tina_error(err, TINA_ERR_INPUT, "--cosine-unit tokens needs \"completion_tokens\"");
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(CHOICES));
    int n_choices = cJSON_IsArray(choices) ? cJSON_GetArraySize(choices) : 0;
    if (!status && n_choices > 26)
        status = tina_error(err, TINA_ERR_INPUT, "\"choices\" has %d options (at most 26, A to Z)", n_choices);
    bool lighteval = o->grader != GRADER_OPEN_R1;
    if (!status && o->grader == GRADER_LIGHTEVAL_LETTERS && !n_choices)
        status = tina_error(err, TINA_ERR_INPUT, "--grader lighteval-letters needs \"choices\" (the options)");
    if (!status && !(lighteval && n_choices))
        status = lighteval ? tina_answer_lighteval(pred, completion, completion_len, TINA_LIGHTEVAL_PRED, err)
                           : tina_answer_prediction(pred, completion, completion_len, err);
    int letter = -1;
    if (n_choices && !status)
        letter = lighteval ? tina_extract_indices(completion, completion_len, n_choices)
                           : tina_answer_choice(pred, completion, completion_len, n_choices);
    if (!status && (n_choices ? letter >= 0 : tina_answer_found(pred))) {
        char chosen = (char)('A' + letter);
        it->has_pred = true;
        it->pred_offset = g->preds.len, it->pred_len = n_choices ? 1 : pred->text.len;
        status = n_choices ? tina_buf_append(&g->preds, &chosen, 1, err)
                           : tina_buf_append(&g->preds, pred->text.data ? pred->text.data : "", pred->text.len, err);
    }
    bool l1 = uses(o, LENGTH_L1_EXACT) || uses(o, LENGTH_L1_MAX);
    long long target = 0;
    if (!status && l1) status = tina_record_integer(record, TINA_FIELD(TARGET_LENGTH), 1, 1LL << 30, &target, err);
    it->target = (double)target;
    bool needs_gold = uses(o, ACCURACY) || uses(o, LENGTH) || uses(o, COSINE) || l1;
    if (!status && needs_gold) status = gold_text(record, o, scratch, err);
    if (!status && needs_gold && n_choices) {
        int gold_letter = choice_of(scratch->data ? scratch->data : "", choices);
        it->gold_null = it->length_gold_null = gold_letter < 0;
        it->correct = it->length_correct = !it->gold_null && gold_letter == letter;
    } else if (!status && needs_gold && lighteval) {
        /* a gold lighteval extracts nothing from is compared as its text; an empty one, which it scores 0 against
         * anything, is a broken record, null as under the other graders */
        TinaLightevalTarget target =
            o->grader == GRADER_LIGHTEVAL_LATEX ? TINA_LIGHTEVAL_GOLD_LATEX : TINA_LIGHTEVAL_GOLD_EXPR;
        status = tina_answer_lighteval(gold, scratch->data ? scratch->data : "", scratch->len, target, err);
        it->gold_null = it->length_gold_null = !status && !tina_answer_found(gold);
        it->correct = it->length_correct = !status && !it->gold_null && tina_answer_lighteval_equivalent(gold, pred);
    } else if (!status && needs_gold && o->gold_tina) {
        status = tina_gold(record, o, uses(o, ACCURACY), uses(o, LENGTH) || uses(o, COSINE) || l1, scratch, gold, pred,
                           it, err);
    } else if (!status && needs_gold) {
        status = tina_answer_gold(gold, scratch->data ? scratch->data : "", scratch->len, err);
        it->gold_null = it->length_gold_null = !tina_answer_found(gold);
        it->correct = it->length_correct = !status && !it->gold_null && tina_answer_equivalent(gold, pred);
    }
    if (!status) {
        double *v = it->values;
        bool *null = it->null;
        v[ACCURACY] = it->correct, null[ACCURACY] = it->gold_null;
        v[FORMAT] = tina_reward_format(completion, completion_len);
        if (uses(o, FORMAT_R1)) v[FORMAT_R1] = tina_reward_format_r1(completion, completion_len);
        v[TAG_COUNT] = tina_reward_tag_count(completion, completion_len, false);
        v[TAG_COUNT_TINA] = tina_reward_tag_count(completion, completion_len, true);
        if (uses(o, REASONING_STEPS)) v[REASONING_STEPS] = tina_reward_reasoning_steps(completion, completion_len);
        double length = o->cosine_tokens ? it->tokens : it->chars;
        v[COSINE] = tina_reward_cosine(length, o->cosine_max_len, it->length_correct, o->cosine_clamp);
        null[COSINE] = it->length_gold_null && !o->nulls_trl;
        if (it->length_gold_null && o->nulls_trl) v[COSINE] = 1; /* Tina's rewards.py: "Skip unparseable examples" */
        if (uses(o, REPETITION)) v[REPETITION] = tina_reward_repetition(completion, completion_len, o->ngram, o->max_penalty);
        v[BOXED] = tina_reward_boxed(completion, completion_len);
        v[BOXED_NUMBER] = tina_reward_boxed_number(completion, completion_len);
    }
    cJSON_Delete(record);
    if (status) return status;
    g->n++;
    return tina_buf_append(&g->text, line, len, err);
}

static TinaStatus emit_group(Group *g, const Options *o, Summary *s, TinaWriter *writer, TinaBuf *out,
                             TinaError *err) {
    if ((uses(o, LENGTH) || uses(o, LENGTH_L1_EXACT) || uses(o, LENGTH_L1_MAX)) && g->n) {
        /* a null gold counts as correct here, as in open-r1's len_reward and Tina's L1 rewards */
        double *lengths = malloc(g->n * sizeof *lengths), *rewards = malloc(g->n * sizeof *rewards);
        double *targets = malloc(g->n * sizeof *targets);
        bool *correct = malloc(g->n * sizeof *correct);
        if (!lengths || !rewards || !targets || !correct) {
            free(lengths), free(rewards), free(targets), free(correct);
            return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
        }
        for (size_t i = 0; i < g->n; i++) {
            lengths[i] = g->items[i].chars, targets[i] = g->items[i].target;
            correct[i] = g->items[i].length_correct || g->items[i].length_gold_null;
        }
        tina_reward_length(lengths, correct, (int)g->n, rewards);
        for (size_t i = 0; i < g->n; i++) g->items[i].values[LENGTH] = rewards[i];
        tina_reward_l1(lengths, targets, correct, (int)g->n, false, rewards);
        for (size_t i = 0; i < g->n; i++) g->items[i].values[LENGTH_L1_EXACT] = rewards[i];
        tina_reward_l1(lengths, targets, correct, (int)g->n, true, rewards);
        for (size_t i = 0; i < g->n; i++) g->items[i].values[LENGTH_L1_MAX] = rewards[i];
        free(lengths), free(rewards), free(targets), free(correct);
    }
    TinaBuf rewards = {0}, pred = {0};
    TinaStatus status = TINA_OK;
    for (size_t i = 0; i < g->n && !status; i++) {
        Item *it = &g->items[i];
        tina_buf_clear(&rewards);
        double total = 0;
        bool total_null = false;
        status = tina_buf_append_str(&rewards, "{", err);
        for (int t = 0; t < o->n_terms && !status; t++) {
            Kind k = o->terms[t].kind;
            char number[32] = "null";
            if (!it->null[k]) tina_record_format_number(it->values[k], number);
            status = tina_buf_append_str(&rewards, t ? ",\"" : "\"", err);
            if (!status) status = tina_buf_append_str(&rewards, kind_names[k], err);
            if (!status) status = tina_buf_append_str(&rewards, "\":", err);
            if (!status) status = tina_buf_append_str(&rewards, number, err);
            if (it->null[k]) total_null = total_null || !o->nulls_trl, s->nulls[k]++;
            else total += o->terms[t].weight * it->values[k], s->sum[k] += it->values[k], s->counted[k]++;
        }
        if (!status) status = tina_buf_append_str(&rewards, "}", err);
        char total_text[32] = "null";
        if (!total_null) tina_record_format_number(total, total_text);
        if (total_null) s->total_nulls++;
        else s->total_sum += total, s->total_counted++;
        tina_buf_clear(&pred);
        if (!status && it->has_pred)
            status = tina_record_format_string(&pred, g->preds.data + it->pred_offset, it->pred_len, err);
        else if (!status)
            status = tina_buf_append_str(&pred, "null", err);
        s->records++;
        s->truncated += it->truncated;
        s->no_pred += !it->has_pred;
        TinaField fields[3] = {{"rewards", rewards.data}, {"reward", total_text}, {"pred", pred.data}};
        tina_buf_clear(out);
        if (!status) status = tina_record_splice(out, g->text.data + it->offset, it->len, fields, 3, err);
        if (!status) status = tina_writer_line(writer, out->data, out->len, err);
    }
    tina_buf_free(&rewards);
    tina_buf_free(&pred);
    g->n = 0;
    tina_buf_clear(&g->text);
    tina_buf_clear(&g->preds);
    return status;
}

static void print_summary(const Options *o, const Summary *s) {
    double n = s->records ? (double)s->records : 1;
    fprintf(stderr, "%s: %lld records, %.1f%% truncated, %.1f%% without an answer; reward mean ", cli_program(),
            s->records, 100.0 * (double)s->truncated / n, 100.0 * (double)s->no_pred / n);
    if (s->total_counted) fprintf(stderr, "%.4g", s->total_sum / (double)s->total_counted);
    else fprintf(stderr, "-");
    fprintf(stderr, " (%.1f%% null)\n", 100.0 * (double)s->total_nulls / n);
    for (int t = 0; t < o->n_terms; t++) {
        Kind k = o->terms[t].kind;
        fprintf(stderr, "  %-16s weight %-6g mean ", kind_names[k], o->terms[t].weight);
        if (s->counted[k]) fprintf(stderr, "%-8.4g", s->sum[k] / (double)s->counted[k]);
        else fprintf(stderr, "%-8s", "-");
        fprintf(stderr, " null %.1f%%\n", 100.0 * (double)s->nulls[k] / n);
    }
}

static Options parse_options(int argc, char **argv) {
    enum { OPT_COSINE_MAX_LEN = 256, OPT_COSINE_UNIT, OPT_COSINE_CLAMP, OPT_NGRAM, OPT_MAX_PENALTY, OPT_GOLD_FIELD,
           OPT_NULLS, OPT_GOLD_PARSE, OPT_GRADER, OPT_PROGRESS };
    static const struct option long_options[] = {
        {"reward", required_argument, NULL, 'r'},
        {"preset", required_argument, NULL, 'p'},
        {"cosine-max-len", required_argument, NULL, OPT_COSINE_MAX_LEN},
        {"cosine-unit", required_argument, NULL, OPT_COSINE_UNIT},
        {"cosine-clamp", no_argument, NULL, OPT_COSINE_CLAMP},
        {"ngram", required_argument, NULL, OPT_NGRAM},
        {"max-penalty", required_argument, NULL, OPT_MAX_PENALTY},
        {"gold-field", required_argument, NULL, OPT_GOLD_FIELD},
        {"nulls", required_argument, NULL, OPT_NULLS},
        {"gold-parse", required_argument, NULL, OPT_GOLD_PARSE},
        {"grader", required_argument, NULL, OPT_GRADER},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static const char *const presets[] = {"tina", "tina-rs3", "still", "open-r1", NULL};
    static const char *const preset_terms[] = {"format:1,accuracy:2", "format:1,cosine:2", "length:1,accuracy:2",
                                               "accuracy:1,format_r1:1,tag_count:1"};
    static const char *const units[] = {"chars", "tokens", NULL};
    static const char *const null_modes[] = {"strict", "trl", NULL};
    static const char *const gold_modes[] = {"answer", "tina", NULL};
    Options o = {.cosine_max_len = 3584, .ngram = 3, .max_penalty = -1, .gold_field = "answer"};
    const char *preset = NULL;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":r:p:o:qhV", long_options, NULL)) != -1;) {
        switch (c) {
        case 'r': add_terms(&o, optarg); break;
        case 'p':
            if (preset) cli_usage_error("--preset given twice");
            preset = preset_terms[cli_choice("--preset", optarg, presets)];
            break;
        case OPT_COSINE_MAX_LEN: o.cosine_max_len = cli_double("--cosine-max-len", optarg, 1, 1e12); break;
        case OPT_COSINE_UNIT: o.cosine_tokens = cli_choice("--cosine-unit", optarg, units) == 1; break;
        case OPT_COSINE_CLAMP: o.cosine_clamp = true; break;
        case OPT_NGRAM: o.ngram = (int)cli_integer("--ngram", optarg, 1, 64); break;
        case OPT_MAX_PENALTY: o.max_penalty = cli_double("--max-penalty", optarg, -1e6, 0); break;
        case OPT_GOLD_FIELD: o.gold_field = optarg; break;
        case OPT_NULLS: o.nulls_trl = cli_choice("--nulls", optarg, null_modes) == 1; break;
        case OPT_GOLD_PARSE: o.gold_tina = cli_choice("--gold-parse", optarg, gold_modes) == 1; break;
        case OPT_GRADER: o.grader = cli_choice("--grader", optarg, grader_names); break;
        case 'o': o.output = optarg; break;
        case 'q': o.quiet = true; break;
        case OPT_PROGRESS: o.progress = true; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    if (preset && o.n_terms) cli_usage_error("--preset and --reward exclude each other");
    /* both say how the gold is read: Tina's training rewards, or its evaluation's metric */
    if (o.gold_tina && o.grader != GRADER_OPEN_R1) cli_usage_error("--gold-parse tina and --grader %s exclude each other",
                                                                   grader_names[o.grader]);
    if (!o.n_terms) add_terms(&o, preset ? preset : preset_terms[0]);
    return o;
}

int main(int argc, char **argv) {
    cli_init("tina-reward");
    Options options = parse_options(argc, argv);
    const char *const *inputs = (const char *const *)argv + optind;
    int n_inputs = argc - optind;

    TinaError err = {0};
    TinaReader *reader = NULL;
    TinaWriter *writer = NULL;
    Group group = {0};
    Summary summary = {0};
    TinaBuf id = {0}, group_id = {0}, out = {0}, scratch = {0};
    TinaAnswer *gold = calloc(1, sizeof *gold), *pred = calloc(1, sizeof *pred);
    const char *bad_file = NULL;
    long bad_line = 0;
    TinaProgress progress;
    tina_progress_start(&progress, cli_program(), "records", 0, options.progress);

    TinaStatus status = gold && pred ? TINA_OK : tina_error(&err, TINA_ERR_RUNTIME, "out of memory");
    if (!status) status = tina_reader_open(&reader, inputs, n_inputs, &err);
    if (!status) status = tina_writer_open(&writer, options.output, &err);
    long long records = 0;
    while (!status) {
        const char *line;
        size_t len;
        bad_file = NULL;
        status = tina_reader_next(reader, &line, &len, &err);
        if (status || !line) break;
        bad_file = tina_reader_name(reader);
        bad_line = tina_reader_line(reader);
        cJSON *record;
        status = tina_record_parse(line, len, &record, &err);
        if (status) break;
        /* a record without "id" is a group of its own */
        bool has_id = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(ID)) != NULL;
        tina_buf_clear(&id);
        if (has_id) status = tina_record_key(record, TINA_FIELD(ID), &id, &err);
        cJSON_Delete(record);
        if (status) break;
        bool same_group = has_id && group.n && group_id.data && strcmp(id.data, group_id.data) == 0;
        if (!same_group) {
            status = emit_group(&group, &options, &summary, writer, &out, &err);
            tina_buf_clear(&group_id);
            if (!status && has_id) status = tina_buf_append(&group_id, id.data, id.len, &err);
            if (!status && !has_id) status = tina_buf_append_str(&group_id, "", &err);
            if (status) break;
        }
        status = score_record(&group, line, len, bad_file, bad_line, &options, gold, pred, &scratch, &err);
        if ((++records & 255) == 0) tina_progress_update(&progress, records);
    }
    if (!status) {
        bad_file = NULL;
        status = emit_group(&group, &options, &summary, writer, &out, &err);
    }
    tina_progress_finish(&progress, records);
    if (!status) {
        status = tina_writer_commit(writer, &err);
        writer = NULL;
    }
    if (!status && !options.quiet) print_summary(&options, &summary);
    if (status) {
        if (status == TINA_ERR_INPUT && bad_file && bad_line) cli_report_at(bad_file, bad_line, &err);
        else cli_report(&err);
    }
    tina_writer_abort(writer);
    tina_reader_close(reader);
    if (gold) tina_answer_free(gold);
    if (pred) tina_answer_free(pred);
    free(gold), free(pred), free(group.items);
    tina_buf_free(&group.text), tina_buf_free(&group.preds);
    tina_buf_free(&id), tina_buf_free(&group_id), tina_buf_free(&out), tina_buf_free(&scratch);
    return (int)status;
}

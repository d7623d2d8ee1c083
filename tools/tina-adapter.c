/* tina-adapter: LoRA adapters in PEFT's layout: create one, copy (check and rewrite) one, merge one into its base
 * model for export (vLLM, transformers). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "model/lora.h"
#include "model/model.h"
#include "io/stream.h"

static const char usage[] =
    "Usage: tina-adapter init  --model DIR --out DIR [-r N] [--alpha A] [--dropout P] [--targets LIST] [--rslora]\n"
    "                          [--seed S]\n"
    "       tina-adapter copy  --model DIR --adapter DIR --out DIR\n"
    "       tina-adapter merge --model DIR --adapter DIR --out DIR [--dtype bf16|f32]\n"
    "       tina-adapter diff  --model DIR --adapter DIR --against DIR\n"
    "Create a LoRA adapter as PEFT initialises one (A uniform, B zero), copy an adapter (checked against the base\n"
    "model and rewritten in tina's PEFT layout, f32), merge one into a copy of its base model for export, or say\n"
    "how far one adapter is from another (a JSON object on stdout: max_abs_diff, rel_l2, norm, against_norm,\n"
    "params).\n"
    "\n"
    "  -m, --model DIR      the base model (config.json, model.safetensors)\n"
    "  -a, --adapter DIR    the adapter (adapter_config.json, adapter_model.safetensors)\n"
    "  -o, --out DIR        where to write (created if needed, in a folder that exists; each file written\n"
    "                       atomically)\n"
    "      --against DIR    the adapter to compare with (diff)\n"
    "  -r, --rank N         LoRA rank (init; default 32, Tina's)\n"
    "      --alpha A        lora_alpha (init; default 128, Tina's: scale alpha / r = 4)\n"
    "      --dropout P      lora_dropout, used in training (init; default 0.05, Tina's)\n"
    "      --targets LIST   target modules, comma-separated, or all-linear (init; default all-linear)\n"
    "      --rslora         scale by alpha / sqrt(r) (init)\n"
    "      --seed S         seed of A (init; default 42)\n"
    "      --dtype TYPE     weights of the merged model: bf16 (default) or f32 (merge)\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or input. See tina-adapter(1).\n";

typedef struct {
    const char *command, *model, *adapter, *out, *targets, *against;
    int rank;
    double alpha, dropout;
    bool rslora;
    unsigned long long seed;
    TinaDtype dtype;
} Options;

static Options parse_options(int argc, char **argv) {
    enum { OPT_ALPHA = 256, OPT_DROPOUT, OPT_TARGETS, OPT_RSLORA, OPT_SEED, OPT_DTYPE, OPT_AGAINST };
    static const struct option long_options[] = {
        {"model", required_argument, NULL, 'm'},   {"adapter", required_argument, NULL, 'a'},
        {"out", required_argument, NULL, 'o'},     {"rank", required_argument, NULL, 'r'},
        {"alpha", required_argument, NULL, OPT_ALPHA}, {"dropout", required_argument, NULL, OPT_DROPOUT},
        {"targets", required_argument, NULL, OPT_TARGETS}, {"rslora", no_argument, NULL, OPT_RSLORA},
        {"seed", required_argument, NULL, OPT_SEED}, {"dtype", required_argument, NULL, OPT_DTYPE},
        {"against", required_argument, NULL, OPT_AGAINST},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static const char *const dtypes[] = {"bf16", "f32", NULL};
    Options o = {.rank = 32, .alpha = 128, .dropout = 0.05, .targets = "all-linear", .seed = 42,
                 .dtype = TINA_DTYPE_BF16};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":m:a:o:r:hV", long_options, NULL)) != -1;) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'a': o.adapter = optarg; break;
        case 'o': o.out = optarg; break;
        case 'r': o.rank = (int)cli_integer("--rank", optarg, 1, 4096); break;
        case OPT_ALPHA: o.alpha = cli_double("--alpha", optarg, 1e-9, 1e6); break;
        case OPT_DROPOUT: o.dropout = cli_double("--dropout", optarg, 0, 0.999); break;
        case OPT_TARGETS: o.targets = optarg; break;
        case OPT_RSLORA: o.rslora = true; break;
        case OPT_SEED: o.seed = (unsigned long long)cli_integer("--seed", optarg, 0, INT64_MAX); break;
        case OPT_DTYPE: o.dtype = cli_choice("--dtype", optarg, dtypes) ? TINA_DTYPE_F32 : TINA_DTYPE_BF16; break;
        case OPT_AGAINST: o.against = optarg; break;
        default: cli_standard_option(c, argv, usage, long_options);
        }
    }
    if (optind + 1 != argc) cli_usage_error("expected one command: init, copy, merge or diff");
    o.command = argv[optind];
    if (strcmp(o.command, "init") && strcmp(o.command, "copy") && strcmp(o.command, "merge") && strcmp(o.command, "diff"))
        cli_usage_error("unknown command '%s' (expected init, copy, merge or diff)", o.command);
    bool diff = strcmp(o.command, "diff") == 0;
    if (!o.model || (!o.out && !diff)) cli_usage_error("%s needs --model%s", o.command, diff ? "" : " and --out");
    if (diff && !o.against) cli_usage_error("diff needs --against");
    if (strcmp(o.command, "init") != 0 && !o.adapter) cli_usage_error("%s needs --adapter", o.command);
    return o;
}

/* Copies the tokenizer files of the base model next to the merged weights, so the folder is a whole model. */
static TinaStatus copy_model_files(const char *from, const char *to, TinaError *err) {
    static const char *const names[] = {"tokenizer.json", "tokenizer.json.zst", "tokenizer_config.json",
                                        "generation_config.json", "special_tokens_map.json"};
    TinaStatus status = TINA_OK;
    for (size_t i = 0; i < sizeof names / sizeof *names && !status; i++) {
        char source[4096], target[4096];
        snprintf(source, sizeof source, "%s/%s", from, names[i]);
        snprintf(target, sizeof target, "%s/%s", to, names[i]);
        struct stat st;
        if (stat(source, &st) != 0) continue;
        TinaBuf bytes = {0};
        TinaWriter *w = NULL;
        status = tina_read_file(source, &bytes, err);
        if (!status && strcmp(names[i], "tokenizer.json.zst") == 0) /* vLLM and transformers want it plain */
            snprintf(target, sizeof target, "%s/tokenizer.json", to);
        if (!status) status = tina_writer_open(&w, target, err);
        if (!status) status = tina_writer_write(w, bytes.data, bytes.len, err);
        if (!status) status = tina_writer_commit(w, err);
        else tina_writer_abort(w);
        tina_buf_free(&bytes);
    }
    return status;
}

/* The first file of a training step's state (tina-update's, beside its adapter) that dir holds, or NULL. */
static const char *run_state_in(const char *dir) {
    static const char *const names[] = {"trainer_state.json", "optimizer.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0) return names[i];
    }
    return NULL;
}

/* Whether two paths name one existing folder (links and "a/../a" included). */
static bool same_folder(const char *a, const char *b) {
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(int argc, char **argv) {
    cli_init("tina-adapter");
    Options o = parse_options(argc, argv);
    TinaError err = {0};
    TinaConfig config;
    TinaLora *lora = NULL;
    TinaStatus status = tina_config_load(o.model, &config, &err);
    bool writes = strcmp(o.command, "diff") != 0;
    const char *replaced = same_folder(o.out, o.model)     ? "base model"
                           : same_folder(o.out, o.adapter) ? "adapter"
                                                           : NULL;
    if (!status && strcmp(o.command, "merge") == 0 && replaced)
        status = tina_error(&err, TINA_ERR_INPUT, "--out %s is the %s's own folder: the merge would replace it", o.out,
                            replaced);
    /* A folder that holds files is written in place, file by file: a step's folder would keep the optimizer state
     * and trainer_state.json of the adapter it held, and tina-update would continue that run (its step, its AdamW
     * moments) from the new adapter. copy onto its own folder rewrites the same values. */
    const char *state = !status && (strcmp(o.command, "init") == 0 ||
                                    (strcmp(o.command, "copy") == 0 && !same_folder(o.out, o.adapter)))
                            ? run_state_in(o.out)
                            : NULL;
    if (state)
        status = tina_error(&err, TINA_ERR_INPUT,
                            "--out %s holds a training step's %s: tina-update would continue that run from this "
                            "adapter; give a new folder", o.out, state);
    TinaFolder folder = {0}; /* a new folder appears whole or not at all */
    if (!status && writes) status = tina_folder_open(&folder, o.out, &err);
    const char *out = writes && !status ? tina_folder_path(&folder) : o.out;
    if (!status && strcmp(o.command, "init") == 0) {
        bool targets[TINA_LORA_TARGETS];
        status = tina_lora_parse_targets(o.targets, targets, &err);
        if (!status)
            status = tina_lora_init(&config, o.rank, o.alpha, o.dropout, o.rslora, targets, o.seed, o.model, &lora, &err);
        if (!status) status = tina_lora_save(lora, out, &err);
    } else if (!status && strcmp(o.command, "copy") == 0) {
        status = tina_lora_load(o.adapter, &config, &lora, &err);
        if (!status) status = tina_lora_save(lora, out, &err);
    } else if (!status && strcmp(o.command, "diff") == 0) {
        TinaLora *other = NULL;
        status = tina_lora_load(o.adapter, &config, &lora, &err);
        if (!status) status = tina_lora_load(o.against, &config, &other, &err);
        /* the values are compared in place: adapters of other modules of one size (q_proj and o_proj) would compare
         * one module's values with another's */
        bool same_targets = !status && memcmp(other->targets, lora->targets, sizeof lora->targets) == 0;
        if (!status && (other->n_params != lora->n_params || other->r != lora->r || !same_targets))
            status = tina_error(&err, TINA_ERR_INPUT, "%s and %s have different shapes (rank %d and %d%s)", o.adapter,
                                o.against, lora->r, other->r, same_targets ? "" : "; other target modules");
        if (!status) {
            double max = 0, diff2 = 0, norm2 = 0, other2 = 0;
            for (size_t i = 0; i < lora->n_params; i++) {
                double d = (double)lora->memory[i] - other->memory[i];
                max = fmax(max, fabs(d));
                diff2 += d * d, norm2 += (double)lora->memory[i] * lora->memory[i];
                other2 += (double)other->memory[i] * other->memory[i];
            }
            printf("{\"max_abs_diff\":%.9g,\"rel_l2\":%.9g,\"norm\":%.9g,\"against_norm\":%.9g,\"params\":%zu}\n",
                   max, sqrt(diff2 / (other2 > 0 ? other2 : 1)), sqrt(norm2), sqrt(other2), lora->n_params);
        }
        tina_lora_free(other);
        tina_lora_free(lora);
        lora = NULL; /* nothing written: no summary */
    } else if (!status) {
        TinaBackend *backend = NULL;
        TinaModel *model = NULL;
        status = tina_lora_load(o.adapter, &config, &lora, &err);
        if (!status) status = tina_cpu_backend_new(0, &backend, &err);
        if (!status) status = tina_model_load(o.model, backend, 1, &model, &err);
        if (!status) status = tina_model_merge_lora(model, lora, &err);
        if (!status) status = tina_model_save(model, out, o.dtype, &err);
        if (!status) status = copy_model_files(o.model, out, &err);
        tina_model_free(model);
        if (backend) backend->destroy(backend);
    }
    if (writes && folder.dir) {
        if (status) tina_folder_abort(&folder);
        else status = tina_folder_commit(&folder, &err);
    }
    if (status) cli_report(&err);
    else if (lora)
        fprintf(stderr, "%s: %s: r=%d, alpha=%g, %zu parameters -> %s\n", cli_program(), o.command, lora->r, lora->alpha,
                lora->n_params, o.out);
    tina_lora_free(lora);
    return (int)status;
}

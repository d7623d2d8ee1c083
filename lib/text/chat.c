#include "text/chat.h"

#include <stdio.h>
#include <string.h>

#include "io/fields.h"
#include "io/record.h"

static const char *const names[] = {
    [TINA_TEMPLATE_DEEPSEEK_R1] = "deepseek-r1", [TINA_TEMPLATE_DEEPSEEK_R1_LIGHTEVAL] = "deepseek-r1-lighteval",
    [TINA_TEMPLATE_TINA] = "tina", [TINA_TEMPLATE_QWEN] = "qwen",
    [TINA_TEMPLATE_SMOLLM2] = "smollm2", [TINA_TEMPLATE_PLAIN] = "plain",
};

bool tina_chat_template(const char *name, TinaTemplate *template) {
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0) return *template = (TinaTemplate)i, true;
    return false;
}

const char *tina_chat_template_names(void) { return "deepseek-r1, deepseek-r1-lighteval, tina, qwen, smollm2, plain"; }

TinaStatus tina_chat_render(TinaTemplate template, const char *bos, const char *system, const char *prefix,
                            const char *problem, const char *suffix, TinaBuf *out, TinaError *err) {
    const char *parts[12];
    int n = 0;
    const char *user[3] = {prefix ? prefix : "", problem, suffix ? suffix : ""};
    switch (template) {
    case TINA_TEMPLATE_DEEPSEEK_R1:
    case TINA_TEMPLATE_DEEPSEEK_R1_LIGHTEVAL:
    case TINA_TEMPLATE_TINA:
        if (template == TINA_TEMPLATE_DEEPSEEK_R1_LIGHTEVAL) parts[n++] = bos ? bos : "<｜begin▁of▁sentence｜>";
        parts[n++] = bos ? bos : "<｜begin▁of▁sentence｜>";
        parts[n++] = system ? system : "";
        parts[n++] = "<｜User｜>";
        parts[n++] = user[0], parts[n++] = user[1], parts[n++] = user[2];
        parts[n++] = template == TINA_TEMPLATE_TINA ? "<｜Assistant｜>" : "<｜Assistant｜><think>\n";
        break;
    case TINA_TEMPLATE_QWEN:
    case TINA_TEMPLATE_SMOLLM2: { /* ChatML; each model's template has its own default system prompt */
        const char *fallback = template == TINA_TEMPLATE_QWEN
                                   ? "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                                   : "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
        parts[n++] = "<|im_start|>system\n";
        parts[n++] = system ? system : fallback;
        parts[n++] = "<|im_end|>\n<|im_start|>user\n";
        parts[n++] = user[0], parts[n++] = user[1], parts[n++] = user[2];
        parts[n++] = "<|im_end|>\n<|im_start|>assistant\n";
        break;
    }
    case TINA_TEMPLATE_PLAIN:
        parts[n++] = user[0], parts[n++] = user[1], parts[n++] = user[2];
        break;
    }
    TinaStatus status = TINA_OK;
    for (int i = 0; i < n && !status; i++) status = tina_buf_append_str(out, parts[i], err);
    return status;
}

/* A prompt as TRL takes one: the problem's text, or chat messages (one user turn, a system turn at most). */
static TinaStatus trl_prompt(const cJSON *prompt, const char *field, const char **problem, const char **system,
                             TinaError *err) {
    if (cJSON_IsString(prompt)) {
        *problem = prompt->valuestring;
        return TINA_OK;
    }
    if (!cJSON_IsArray(prompt))
        return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is neither text nor a list of chat messages", field);
    int users = 0, systems = 0, i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, prompt) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(r) || !cJSON_IsString(c))
            return tina_error(err, TINA_ERR_INPUT, "field \"%s\": message %d is not {\"role\": ..., \"content\": "
                              "...} with strings", field, i);
        i++;
        const char *role = r->valuestring, *content = c->valuestring;
        if (strcmp(role, "user") == 0) *problem = content, users++;
        else if (strcmp(role, "system") == 0) *system = content, systems++;
        else return tina_error(err, TINA_ERR_INPUT, "field \"%s\": a '%s' turn (tina renders one user turn, after a "
                               "system turn at most)", field, role);
    }
    if (users != 1 || systems > 1)
        return tina_error(err, TINA_ERR_INPUT, "field \"%s\": %d user and %d system turns (one user turn, and a "
                          "system turn at most)", field, users, systems);
    return TINA_OK;
}

TinaStatus tina_chat_turn(const cJSON *record, const char *field, const char **problem, const char **system,
                          TinaError *err) {
    TinaStatus status = TINA_OK;
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(PROMPT));
    if (field) {
        const cJSON *named = cJSON_GetObjectItemCaseSensitive(record, field);
        if (!named) return tina_error(err, TINA_ERR_INPUT, "field \"%s\" (named as the problem's) is missing", field);
        status = trl_prompt(named, field, problem, system, err);
    } else if (cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(PROBLEM)) || (!prompt &&
               !cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(QUESTION)))) {
        status = tina_record_string(record, TINA_FIELD(PROBLEM), problem, err);
        if (status) {
            char why[sizeof err->message];
            snprintf(why, sizeof why, "%s", err->message);
            return tina_error(err, TINA_ERR_INPUT, "%s (or a TRL \"prompt\", or a \"question\"; or name the "
                              "problem's field)", why);
        }
    } else if (!prompt) {
        status = tina_record_string(record, TINA_FIELD(QUESTION), problem, err);
    } else {
        status = trl_prompt(prompt, TINA_FIELD(PROMPT), problem, system, err);
    }
    if (!status && cJSON_GetObjectItemCaseSensitive(record, TINA_FIELD(SYSTEM)))
        status = tina_record_string(record, TINA_FIELD(SYSTEM), system, err);
    return status;
}

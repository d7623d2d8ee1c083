#include "text/chat.h"

#include <string.h>

static const char *const names[] = {
    [TINA_TEMPLATE_DEEPSEEK_R1] = "deepseek-r1", [TINA_TEMPLATE_TINA] = "tina", [TINA_TEMPLATE_QWEN] = "qwen",
    [TINA_TEMPLATE_SMOLLM2] = "smollm2", [TINA_TEMPLATE_PLAIN] = "plain",
};

bool tina_chat_template(const char *name, TinaTemplate *template) {
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0) return *template = (TinaTemplate)i, true;
    return false;
}

const char *tina_chat_template_names(void) { return "deepseek-r1, tina, qwen, smollm2, plain"; }

TinaStatus tina_chat_render(TinaTemplate template, const char *bos, const char *system, const char *problem,
                            const char *suffix, TinaBuf *out, TinaError *err) {
    const char *parts[12];
    int n = 0;
    switch (template) {
    case TINA_TEMPLATE_DEEPSEEK_R1:
    case TINA_TEMPLATE_TINA:
        parts[n++] = bos ? bos : "<｜begin▁of▁sentence｜>";
        parts[n++] = system ? system : "";
        parts[n++] = "<｜User｜>";
        parts[n++] = problem;
        parts[n++] = suffix ? suffix : "";
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
        parts[n++] = problem;
        parts[n++] = suffix ? suffix : "";
        parts[n++] = "<|im_end|>\n<|im_start|>assistant\n";
        break;
    }
    case TINA_TEMPLATE_PLAIN:
        parts[n++] = problem;
        parts[n++] = suffix ? suffix : "";
        break;
    }
    TinaStatus status = TINA_OK;
    for (int i = 0; i < n && !status; i++) status = tina_buf_append_str(out, parts[i], err);
    return status;
}

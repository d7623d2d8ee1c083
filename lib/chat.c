#include "chat.h"

#include <string.h>

static const char *const names[] = {"deepseek-r1", "tina", "qwen", "plain"};

bool tina_chat_template(const char *name, TinaTemplate *template) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return *template = (TinaTemplate)i, true;
    return false;
}

const char *tina_chat_template_names(void) { return "deepseek-r1, tina, qwen, plain"; }

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
        parts[n++] = "<|im_start|>system\n";
        parts[n++] = system ? system : "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
        parts[n++] = "<|im_end|>\n<|im_start|>user\n";
        parts[n++] = problem;
        parts[n++] = suffix ? suffix : "";
        parts[n++] = "<|im_end|>\n<|im_start|>assistant\n";
        break;
    case TINA_TEMPLATE_PLAIN:
        parts[n++] = problem;
        parts[n++] = suffix ? suffix : "";
        break;
    }
    TinaStatus status = TINA_OK;
    for (int i = 0; i < n && !status; i++) status = tina_buf_append_str(out, parts[i], err);
    return status;
}

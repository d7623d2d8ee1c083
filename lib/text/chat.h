/* chat: the chat templates the Tina pipeline renders prompts with, built in and named (no Jinja interpreter).
 *
 *   deepseek-r1  {bos}{system}<｜User｜>{user}<｜Assistant｜><think>\n   the distill's current template
 *   deepseek-r1-lighteval  {bos}{bos}{system}<｜User｜>{user}<｜Assistant｜><think>\n   as Tina's evaluation fed it:
 *                lighteval (ed08481) renders the template, then its vLLM model encodes that text with
 *                add_special_tokens=True, and the tokenizer puts a second BOS before the template's
 *   tina         {bos}{system}<｜User｜>{user}<｜Assistant｜>             as Tina trained (no <think> prefill)
 *   qwen         ChatML as Qwen2.5-Instruct's template: a missing system prompt becomes Qwen's default one
 *   smollm2      ChatML as SmolLM2-Instruct's template: a missing system prompt becomes SmolLM's default one
 *   plain        {user}
 * Each renders one user turn ready for generation, byte for byte as transformers' apply_chat_template renders the
 * published templates with add_generation_prompt=True. {user} is the prefix, the problem and the suffix. */
#ifndef TINA_CHAT_H
#define TINA_CHAT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/error.h"

typedef enum {
    TINA_TEMPLATE_DEEPSEEK_R1,
    TINA_TEMPLATE_DEEPSEEK_R1_LIGHTEVAL,
    TINA_TEMPLATE_TINA,
    TINA_TEMPLATE_QWEN,
    TINA_TEMPLATE_SMOLLM2,
    TINA_TEMPLATE_PLAIN
} TinaTemplate;

/* The template of that name; false if there is none. */
bool tina_chat_template(const char *name, TinaTemplate *template);
/* "deepseek-r1, deepseek-r1-lighteval, tina, qwen, smollm2, plain", for messages. */
const char *tina_chat_template_names(void);

/* Appends the rendered prompt to out. bos: the tokenizer's BOS text (NULL: the distill's); system: NULL when there is
 * no system prompt ("" is an empty one, which the ChatML templates keep); prefix and suffix: NULL or text put before
 * and after the problem. */
TinaStatus tina_chat_render(TinaTemplate template, const char *bos, const char *system, const char *prefix,
                            const char *problem, const char *suffix, TinaBuf *out, TinaError *err);

/* The user turn and system prompt a record asks for: its "problem" (and "system"), or as other tools' data sets
 * give them, a TRL "prompt" (the problem's text, or chat messages: at most one system turn and exactly one user
 * turn) or a "question"; field, when not NULL, names the problem's field instead (text or chat messages, as a TRL
 * prompt). system keeps its value (the caller's default) when the record names none. The strings belong to the
 * record. An error names the field that is missing or malformed. */
TinaStatus tina_chat_turn(const cJSON *record, const char *field, const char **problem, const char **system,
                          TinaError *err);

#endif

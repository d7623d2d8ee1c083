/* fields: every field of tina's records, the stage that first writes it, and what it holds: the one declaration the
 * tools read and write records by (TINA_FIELD(NAME)), and the list tina(7)'s RECORDS section states
 * (tests/cli/man.sh holds the two equal). A record gathers fields along the pipeline: a prompt of a data set, a
 * rollout of tina-sample, rewarded by tina-reward, advantaged by tina-advantage; each tool keeps every field it
 * does not write, in order. */
#ifndef TINA_FIELDS_H
#define TINA_FIELDS_H

/* X(NAME, "name", stage, what it holds). Code reads only NAME and "name": the stage and what it holds document the
 * field, and tests/cli/man.sh checks the stages against tina(7). */
#define TINA_RECORD_FIELDS(X)                                                                                          \
    X(ID, "id", DATA, "a unique string naming the problem")                                                            \
    X(PROBLEM, "problem", DATA, "the problem text")                                                                    \
    X(ANSWER, "answer", DATA, "the gold answer, plain or LaTeX")                                                       \
    X(SOURCE, "source", DATA, "the benchmark or training set it comes from")                                           \
    X(SOLUTION, "solution", DATA, "a worked solution; its last \\boxed{} is the gold where a reward asks for it")       \
    X(LEVEL, "level", DATA, "the set's difficulty label")                                                              \
    X(SUBJECT, "subject", DATA, "the set's subject label")                                                             \
    X(CHOICES, "choices", DATA, "a multiple-choice question's options, in the order their letters name them")        \
    X(SYSTEM, "system", DATA, "this problem's system prompt")                                                          \
    X(TARGET_LENGTH, "target_length", DATA, "the length an L1 reward asks of its completion (data/import/l1.sh)")     \
    X(PROMPT, "prompt", DATA, "a TRL prompt in place of problem: its text, or chat messages (system, user)")            \
    X(QUESTION, "question", DATA, "the problem's text under the name other data sets give it")                         \
    X(SAMPLE, "sample", SAMPLE, "the completion's index among the G of its prompt")                                   \
    X(PROMPT_TOKENS, "prompt_tokens", SAMPLE, "the prompt's token ids (a data set may give them instead of problem)")  \
    X(COMPLETION, "completion", SAMPLE, "the completion's text")                                                       \
    X(COMPLETION_TOKENS, "completion_tokens", SAMPLE, "the completion's token ids")                                   \
    X(LOGPROBS, "logprobs", SAMPLE, "each completion token's log-probability under the sampling policy")              \
    X(REF_LOGPROBS, "ref_logprobs", SAMPLE, "each completion token's log-probability without the adapter (--as)")     \
    X(FINISH_REASON, "finish_reason", SAMPLE, "stop or length")                                                        \
    X(POLICY, "policy", SAMPLE, "the adapter that sampled it, or base")                                               \
    X(SEED, "seed", SAMPLE, "the seed that drew it")                                                                   \
    X(REWARDS, "rewards", REWARD, "each reward asked for, by name, or null")                                          \
    X(REWARD, "reward", REWARD, "the weighted sum of the rewards, null if a weighted part is null")                   \
    X(PRED, "pred", REWARD, "the extracted answer (normalised LaTeX), or null")                                       \
    X(ADVANTAGE, "advantage", ADVANTAGE, "the reward relative to the group of the same id")

enum {
#define TINA_FIELD_INDEX(name, key, stage, holds) TINA_FIELD_##name,
    TINA_RECORD_FIELDS(TINA_FIELD_INDEX)
#undef TINA_FIELD_INDEX
    TINA_FIELD_COUNT
};

extern const char *const tina_field_names[TINA_FIELD_COUNT];

/* a field's name in records, e.g. TINA_FIELD(COMPLETION_TOKENS) is "completion_tokens" */
#define TINA_FIELD(field) (tina_field_names[TINA_FIELD_##field])

#endif

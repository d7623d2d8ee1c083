/* train: the training pass of a model with a LoRA adapter: a forward over whole sequences (each from position 0,
 * no KV cache kept) that gives the log-probs of given next tokens, and the backward that turns their gradients
 * dL/dlogp into gradients of the LoRA matrices. The base weights are frozen.
 *
 * Memory is bounded by per-layer checkpointing: the forward keeps each layer's input (L + 1, T, C) and nothing
 * else; the backward recomputes one layer's insides at a time from its input. Everything lives in one allocation
 * sized at creation for up to max_tokens tokens in sequences of up to max_len, in the backend's memory: on a GPU the
 * adapter is read from the model's device copy and the gradients are added on the device, then read back into the
 * caller's (host) gradients at the end of each backward. */
#ifndef TINA_TRAIN_H
#define TINA_TRAIN_H

#include "model/lora.h"
#include "model/model.h"

typedef struct TinaTrainer TinaTrainer;

TinaStatus tina_trainer_new(TinaModel *model, int max_tokens, int max_len, int max_rank, TinaTrainer **trainer,
                            TinaError *err);
void tina_trainer_free(TinaTrainer *trainer);

/* Keeping every layer's activations from the forward instead of recomputing them in the backward: a third less
 * arithmetic for tina_trainer_insides_bytes more memory (the caller decides, e.g. against a budget). */
size_t tina_trainer_insides_bytes(const TinaTrainer *trainer);
TinaStatus tina_trainer_keep_insides(TinaTrainer *trainer, TinaError *err);

/* LoRA dropout (the adapter's dropout rate) draws its masks from this seed, each sequence's key, the layer, the
 * module and the position in the sequence: a sequence drops the same values whatever else shares its micro-batch,
 * so that micro-batch sizes and shards of a batch (tina-update --shard) give the same step. */
void tina_trainer_set_dropout_seed(TinaTrainer *trainer, uint64_t seed);

/* Runs the sequences (each seqs[s].n_past must be 0; slots are ignored) through the model with the adapter (NULL:
 * the base) and gives logprobs (T,) of targets (T,), rows in sequence order; keeps what the backward needs.
 * keys (n_seqs,) name the sequences for LoRA dropout's masks; NULL: their index in this call. */
TinaStatus tina_trainer_forward(TinaTrainer *trainer, const TinaSequence *seqs, int n_seqs, const uint64_t *keys,
                                const TinaLora *lora, const int32_t *targets, float *logprobs, TinaError *err);

/* Given dlogp (T,) = dL/dlogprobs for the last forward's tokens, adds dL/dA and dL/dB into grads, an adapter of
 * the same shape as lora (tina_lora_zeros_like). */
TinaStatus tina_trainer_backward(TinaTrainer *trainer, const TinaLora *lora, const float *dlogp, TinaLora *grads,
                                 TinaError *err);

#endif

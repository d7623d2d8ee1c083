/* rope: the rotary embedding's tables, shared by the backends. */
#ifndef TINA_ROPE_H
#define TINA_ROPE_H

/* cos and sin (max_len, D / 2) of position x inv_freq[j] for positions below max_len, as transformers computes them
 * in f32: inv_freq = 1 / theta^(2j / D), angle = float(position) * inv_freq, so that long positions round alike. */
void tina_rope_tables(float *cos_table, float *sin_table, int max_len, int D, double theta);

#endif

#include "backends/rope.h"

#include <math.h>
#include <stddef.h>

void tina_rope_tables(float *cos_table, float *sin_table, int max_len, int D, double theta) {
    for (int j = 0; j < D / 2; j++) {
        float inv_freq = 1.0f / powf((float)theta, (float)(2 * j) / (float)D);
        for (int p = 0; p < max_len; p++) {
            float angle = (float)p * inv_freq;
            cos_table[(size_t)p * (D / 2) + j] = cosf(angle);
            sin_table[(size_t)p * (D / 2) + j] = sinf(angle);
        }
    }
}

/*
 * Small DSP kernels to try P4-JIT with. Right-click a function in VS Code and pick
 * "Run on ESP32-P4", or from a terminal:
 *   p4jit run examples/dsp.c dot_product '[1,2,3]' '[4,5,6]' 3
 */
#include <stdint.h>

/* Dot product of two float vectors. */
float dot_product(const float *a, const float *b, int n)
{
    float acc = 0.0f;
    for (int i = 0; i < n; i++) {
        acc += a[i] * b[i];
    }
    return acc;
}

/* In-place gain with saturation to the int16 range; returns how many samples clipped. */
int apply_gain_q15(int16_t *samples, int n, int32_t gain_q15)
{
    int clipped = 0;
    for (int i = 0; i < n; i++) {
        int32_t v = ((int32_t)samples[i] * gain_q15) >> 15;
        if (v > INT16_MAX) {
            v = INT16_MAX;
            clipped++;
        } else if (v < INT16_MIN) {
            v = INT16_MIN;
            clipped++;
        }
        samples[i] = (int16_t)v;
    }
    return clipped;
}

/* Weighted sum of three integers. */
int32_t weighted_sum(int32_t a, int32_t b, int32_t c)
{
    return 3 * a - 2 * b + c;
}

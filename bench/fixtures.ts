/** Sources the benchmarks compile: a 30-line DSP function and an empty one. */
export const DSP_SOURCE = `#include <stdint.h>

/* Biquad cascade over a block of samples (direct form I), 30 lines of DSP. */
typedef struct { float b0, b1, b2, a1, a2; } coeffs_t;

static const coeffs_t stages[2] = {
    {0.2929f, 0.5858f, 0.2929f, -0.0000f, 0.1716f},
    {0.2066f, 0.4131f, 0.2066f, -0.3695f, 0.1958f},
};

float biquad_block(float *samples, int n)
{
    float energy = 0.0f;
    for (int s = 0; s < 2; s++) {
        const coeffs_t *c = &stages[s];
        float x1 = 0, x2 = 0, y1 = 0, y2 = 0;
        for (int i = 0; i < n; i++) {
            float x = samples[i];
            float y = c->b0 * x + c->b1 * x1 + c->b2 * x2 - c->a1 * y1 - c->a2 * y2;
            x2 = x1;
            x1 = x;
            y2 = y1;
            y1 = y;
            samples[i] = y;
        }
    }
    for (int i = 0; i < n; i++) {
        energy += samples[i] * samples[i];
    }
    return energy;
}
`;

export const EMPTY_SOURCE = `void empty(void)
{
}
`;

export const ARRAYS_SOURCE = `#include <stdint.h>
int32_t sum4(const int32_t *a, const int32_t *b, int32_t *c, int32_t *d, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++) { c[i] = a[i] + b[i]; d[i] = a[i] - b[i]; s += c[i]; }
    return s;
}
int32_t sum1(const int32_t *a, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s;
}
`;

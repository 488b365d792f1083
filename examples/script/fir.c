/* A direct-form FIR filter: y[i] = sum over k of h[k] * x[i - k] (samples before x[0] are 0). */
void fir(const float *x, float *y, int n, const float *h, int taps)
{
    for (int i = 0; i < n; i++) {
        float acc = 0.0f;
        for (int k = 0; k < taps && k <= i; k++) {
            acc += h[k] * x[i - k];
        }
        y[i] = acc;
    }
}

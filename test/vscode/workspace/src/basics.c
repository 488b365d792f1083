/* Functions the extension's integration tests run on the emulated ESP32-P4. */
#include <stdio.h>

int answer(void)
{
    return 42;
}

int add(int a, int b)
{
    return a + b;
}

/* Scales x in place and returns the sum of the scaled values. */
float scale(float *x, int n, float k)
{
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] *= k;
        sum += x[i];
    }
    return sum;
}

int shout(int times)
{
    for (int i = 0; i < times; i++) {
        printf("hello %d\n", i);
    }
    return times;
}

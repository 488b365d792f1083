/*
 * C library functions the firmware keeps for JIT code. JIT objects are linked with
 * -Wl,-R,<this firmware's ELF> (just-symbols): a call to printf or sinf in a JIT function lands
 * on these, exactly as on a board where they come from ESP-IDF's ROM and newlib.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(fn) (void *)(fn)

/* grouped by header: stdio, stdlib, string, float math, double math */
/* clang-format off */
__attribute__((used)) void *const p4jit_firmware_exports[] = {
    X(printf), X(sprintf), X(snprintf), X(vprintf), X(vsnprintf), X(puts), X(putchar), X(fputc),
    X(fputs), X(fwrite), X(fflush),
    X(malloc), X(calloc), X(realloc), X(free), X(abs), X(labs), X(atoi), X(strtol), X(strtoul),
    X(strtof), X(qsort), X(rand), X(srand),
    X(memcpy), X(memmove), X(memset), X(memcmp), X(strlen), X(strcmp), X(strncmp), X(strcpy),
    X(strncpy), X(strchr), X(strstr),
    X(sinf), X(cosf), X(tanf), X(asinf), X(acosf), X(atanf), X(atan2f), X(sqrtf), X(expf),
    X(logf), X(log10f), X(log2f), X(powf), X(fabsf), X(floorf), X(ceilf), X(roundf), X(fmodf),
    X(sinhf), X(coshf), X(tanhf), X(exp2f), X(fminf), X(fmaxf), X(hypotf),
    X(sin), X(cos), X(tan), X(sqrt), X(exp), X(log), X(pow), X(fabs), X(floor), X(ceil), X(atan2),
};
/* clang-format on */

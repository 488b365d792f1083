/* A loop that never ends: the time limit stops it inside the loop. */

int spin(int n)
{
    volatile int i = 0;
    while (n > 0) { /* LOOP START */
        i++;
    } /* LOOP END */
    return i;
}

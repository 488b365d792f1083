/* Code that faults: the tests expect the fault on the marked line. */

int read_unmapped(int index)
{
    volatile int *p = (volatile int *)0x10;
    return p[index]; /* FAULT LINE */
}

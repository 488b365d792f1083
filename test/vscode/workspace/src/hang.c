/* Code that hangs the device: interrupts off, then a loop no time limit can stop. */

void irq_off_spin(void)
{
    __asm__ volatile("csrci mstatus, 8");
    for (;;) {
    }
}

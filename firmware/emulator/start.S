/*
 * Entry and trap vector of the emulated ESP32-P4 (QEMU riscv32 "virt", M-mode only).
 */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      tp, __tls_base
    /* floating point on (mstatus.FS = initial), like the P4's HP core */
    li      t0, (1 << 13)
    csrs    mstatus, t0
    fscsr   zero
    la      t0, trap_entry
    csrw    mtvec, t0
    /* .bss to zero */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  call    main
3:  wfi
    j       3b

/*
 * Every trap lands here. The handler never returns into JIT code that faulted: trap_c() either
 * unwinds to the recovery point with longjmp, or resets the board. So only what trap_c needs is
 * saved; we switch to the trap stack so a JIT function with a broken sp cannot take us down.
 */
    .section .text.trap, "ax"
    .align  4
    .globl trap_entry
trap_entry:
    csrw    mscratch, sp
    la      sp, __trap_stack_top
    addi    sp, sp, -16
    sw      ra, 12(sp)
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    csrr    a3, mscratch
    call    trap_c
    /* trap_c returns only for an interrupt it has handled: resume */
    lw      ra, 12(sp)
    csrr    sp, mscratch
    mret

/*
 * Entry, trap vector and JIT call trampoline of the emulated ESP32-P4 (QEMU riscv32 "virt",
 * M-mode only).
 */

/* gp and tp hold fixed values for the whole firmware; JIT code may clobber them */
.macro load_gp_tp
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      tp, __tls_base
.endm

    .section .text.start, "ax"
    .globl _start
_start:
    csrw    mie, zero
    load_gp_tp
    la      sp, __stack_top
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
 * Every trap lands here, on its own stack (a JIT function with a broken sp cannot take the
 * handler down). trap_c() either unwinds to the recovery point with longjmp (a fault or the time
 * limit in JIT code), resets the board (a fault of the firmware), or returns for an interrupt it
 * masked: then every register trap_c may change is restored and execution resumes.
 */
    .section .text.trap, "ax"
    .align  4
    .globl trap_entry
trap_entry:
    csrw    mscratch, sp
    /* JIT code may have left mstatus.MPRV set (loads and stores with U-mode rights, which the
       PMP refuses): clear it before the first memory access; and the FPU may be off, which
       longjmp (it restores fs0-fs11) needs on */
    li      sp, (1 << 17)
    csrc    mstatus, sp
    li      sp, (1 << 13)
    csrs    mstatus, sp
    la      sp, __trap_stack_top
    addi    sp, sp, -80
    sw      ra, 0(sp)
    sw      gp, 4(sp)
    sw      tp, 8(sp)
    sw      t0, 12(sp)
    sw      t1, 16(sp)
    sw      t2, 20(sp)
    sw      a0, 24(sp)
    sw      a1, 28(sp)
    sw      a2, 32(sp)
    sw      a3, 36(sp)
    sw      a4, 40(sp)
    sw      a5, 44(sp)
    sw      a6, 48(sp)
    sw      a7, 52(sp)
    sw      t3, 56(sp)
    sw      t4, 60(sp)
    sw      t5, 64(sp)
    sw      t6, 68(sp)
    load_gp_tp
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    csrr    a3, mscratch
    call    trap_c
    lw      ra, 0(sp)
    lw      gp, 4(sp)
    lw      tp, 8(sp)
    lw      t0, 12(sp)
    lw      t1, 16(sp)
    lw      t2, 20(sp)
    lw      a0, 24(sp)
    lw      a1, 28(sp)
    lw      a2, 32(sp)
    lw      a3, 36(sp)
    lw      a4, 40(sp)
    lw      a5, 44(sp)
    lw      a6, 48(sp)
    lw      a7, 52(sp)
    lw      t3, 56(sp)
    lw      t4, 60(sp)
    lw      t5, 64(sp)
    lw      t6, 68(sp)
    csrr    sp, mscratch
    mret

/*
 * void board_call_jit(uint32_t entry, void *arg0, void *arg1)   -- never returns
 * Calls entry(arg0, arg1) between two reads of the cycle counter (kept in board_call_stamps),
 * then, whatever the function did to sp, gp, tp or mstatus, continues in board_jit_returned()
 * with the function's a0 on the trap stack; that unwinds to the caller's recovery point.
 */
    .section .text.board_call_jit, "ax"
    .globl board_call_jit
board_call_jit:
    mv      t0, a0
    mv      a0, a1
    mv      a1, a2
    la      t3, board_call_stamps
1:  rdcycleh t4
    rdcycle t5
    rdcycleh t6
    bne     t4, t6, 1b
    sw      t5, 0(t3)
    sw      t4, 4(t3)
    jalr    t0
2:  rdcycleh t4
    rdcycle t5
    rdcycleh t6
    bne     t4, t6, 2b
    csrci   mstatus, (1 << 3)       /* MIE off: no time-out from here on */
    li      t6, (1 << 17)
    csrc    mstatus, t6             /* MPRV off before our own stores */
    li      t6, (1 << 13)
    csrs    mstatus, t6             /* FPU on: longjmp restores fs0-fs11 */
    la      t3, board_call_stamps
    sw      t5, 8(t3)
    sw      t4, 12(t3)
    load_gp_tp
    la      sp, __trap_stack_top
    tail    board_jit_returned

/* an empty function: measures the trampoline's own cost at boot */
    .globl board_null_function
board_null_function:
    ret

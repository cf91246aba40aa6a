/**
 * x86_64 `struct pt_regs`: the context of kprobe, uprobe and perf-event
 * programs. One table for the compiler (`reg("di")`, `arg0`), the kernel
 * engine's struct layouts and the synthetic events.
 *
 * @module
 */

/**
 * Byte offsets of the registers in x86_64 `struct pt_regs`
 * (`arch/x86/include/uapi/asm/ptrace.h`).
 *
 * @example Read the first argument's offset
 * ```ts
 * import { PT_REGS } from "./pt_regs.ts";
 * console.assert(PT_REGS.di === 112);
 * ```
 */
export const PT_REGS = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  bp: 32,
  bx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  ax: 80,
  cx: 88,
  dx: 96,
  si: 104,
  di: 112,
  orig_ax: 120,
  ip: 128,
  cs: 136,
  flags: 144,
  sp: 152,
  ss: 160,
} as const;

/** Byte size of x86_64 `struct pt_regs`. */
export const PT_REGS_SIZE = 168;

/**
 * Offsets of the registers holding function arguments 0-5 in the x86_64
 * calling convention (di, si, dx, cx, r8, r9).
 *
 * @example Offset of arg1
 * ```ts
 * import { PT_REGS_ARGS } from "./pt_regs.ts";
 * console.assert(PT_REGS_ARGS[1] === 104);
 * ```
 */
export const PT_REGS_ARGS: readonly number[] = [
  PT_REGS.di,
  PT_REGS.si,
  PT_REGS.dx,
  PT_REGS.cx,
  PT_REGS.r8,
  PT_REGS.r9,
];

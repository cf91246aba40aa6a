/**
 * What the fuzzers build their inputs from, shared by the fuzz campaigns
 * (`tests/fuzz/`) and the seeded fuzz tests of the parser
 * (`tests/lang/fuzz_test.ts`) and the interpreter (`tests/vm/`): source
 * tokens worth planting, and the eBPF opcodes and immediates worth
 * drawing.
 *
 * @module
 */

/** Source tokens worth planting: headers, punctuation, builtins, literals. */
export const SOURCE_TOKENS: readonly string[] = [
  "BEGIN",
  "END",
  "tracepoint:syscalls:sys_enter_openat",
  "tracepoint:a:b",
  "uprobe:libc:getpid",
  "kprobe:f",
  "profile:hz:99",
  "interval:s:1",
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ";",
  ",",
  ":",
  "/",
  "?",
  ".",
  "->",
  "=",
  "+=",
  "<<=",
  "++",
  "--",
  "+",
  "-",
  "*",
  "&",
  "!",
  "~",
  "==",
  "<",
  "&&",
  "||",
  "@",
  "@m",
  "@x[1]",
  "$x",
  "$1",
  "$#",
  "pid",
  "comm",
  "args",
  "args->filename",
  "retval",
  "nsecs",
  "count()",
  "hist(1)",
  "lhist(1, 0, 10, 1)",
  "str(",
  "printf(",
  'printf("%d\\n", 1)',
  "exit()",
  "if",
  "else",
  "while",
  "unroll(100)",
  "return",
  "break",
  "continue",
  "sizeof",
  "offsetof",
  "struct",
  "struct task_struct *",
  "(uint8)",
  "(int64)",
  "config",
  "0",
  "1",
  "-1",
  "0x1f",
  "1e3",
  '"s"',
  '"%s %d"',
  "\n",
  " ",
  "//c\n",
  "/*c*/",
  "#include <linux/sched.h>\n",
  '"',
  "/*",
  "\\",
  "`",
  "uprobe:/bin/x:f",
  "count",
  "printf",
  "unroll",
  "u32",
  "42",
  '"\\n"',
  "#include <x.h>\n",
];

/** ALU operations (the high nibble of an ALU opcode). */
export const ALU_OPS: readonly number[] = [
  0x00,
  0x10,
  0x20,
  0x30,
  0x40,
  0x50,
  0x60,
  0x70,
  0x80,
  0x90,
  0xa0,
  0xb0,
  0xc0,
  0xd0,
];

/** Conditional jump operations (the high nibble of a JMP opcode). */
export const COND_JMP_OPS: readonly number[] = [
  0x10,
  0x20,
  0x30,
  0x40,
  0x50,
  0x60,
  0x70,
  0xa0,
  0xb0,
  0xc0,
  0xd0,
];

/** Jump operations: `ja` and the conditional ones. */
export const JMP_OPS: readonly number[] = [0x00, ...COND_JMP_OPS];

/**
 * Opcodes the kernel knows, to bias instruction streams towards
 * meaningful code: ALU64/ALU and JMP/JMP32 with K and X sources, loads and
 * stores of every size, sign-extending loads, atomics, `ld_imm64`, calls
 * and exit.
 */
export const BPF_CODES: readonly number[] = [
  ...[0x07, 0x04].flatMap((c) => ALU_OPS.flatMap((op) => [c | op, c | op | 8])),
  ...[0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a],
  ...[0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0xd3, 0xcb],
  ...[0x05, 0x06].flatMap((c) => JMP_OPS.flatMap((op) => [c | op, c | op | 8])),
  0x18,
  0x85,
  0x95,
];

/** Immediates at the edges: sizes, shifts, sign bits, atomic operations. */
export const BPF_IMMS: readonly number[] = [
  0,
  1,
  -1,
  2,
  7,
  8,
  16,
  31,
  32,
  63,
  64,
  -8,
  -16,
  -512,
  0x7fffffff,
  -0x80000000,
  0x100,
  0xe1,
  0xf1,
  0x01,
  0x40,
  0x51,
  0xa0,
  0x110,
];

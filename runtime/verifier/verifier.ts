/**
 * A static eBPF verifier, run before a program is loaded into the kernel or
 * handed to the interpreter. It follows the kernel's `kernel/bpf/verifier.c`
 * in spirit: a structural pass, then path-sensitive abstract interpretation
 * with register value tracking and state pruning.
 *
 * ## What it accepts
 *
 * **Encoding.** Every slot must be a known opcode of the current ISA with
 * reserved fields zero and registers r0-r10; no instruction writes r10.
 * `ld_imm64` takes two slots, the second with code, registers and off 0;
 * its source is 0 (a constant), `MAP_FD` (imm = index into `maps`) or
 * `MAP_VALUE` (an array map with one entry; the second imm is the offset)
 * or `BTF_ID` (a per-CPU variable of vmlinux by its BTF id, second imm 0:
 * only `bpf_per_cpu_ptr` and `bpf_this_cpu_ptr` take it; they give a kernel
 * pointer, maybe NULL for the first, that is never dereferenced, only
 * passed on, compared, offset once not NULL, or stored).
 * Legacy packet loads, kfuncs, load-acquire/store-release are refused.
 * Division or modulo by a constant 0 and constant shifts by ≥ the width are
 * refused where a path reaches them (as in the kernel, which checks only
 * the code it reaches).
 *
 * **Control flow.** Jumps stay inside their function and never land on the
 * second slot of `ld_imm64`; local calls target a slot of the program. The
 * last slot of every function is `exit` or `ja`. Every slot is reachable.
 * Back-edges are allowed: loops are checked by following them (below).
 *
 * **Abstract interpretation.** Every path is followed from the entry with,
 * per register, a kind (scalar, context, map pointer, map value, map value
 * or NULL, stack, ringbuf record, ringbuf record or NULL, per-CPU variable,
 * kernel pointer, kernel pointer or NULL) and for scalars the
 * unsigned and signed ranges `[umin, umax]`, `[smin, smax]`; pointers carry a
 * fixed offset and a bounded variable-offset range. Conditional jumps narrow
 * ranges on each side (also for registers copied from the compared one) and
 * a side that cannot happen is not followed. A loop is accepted when every
 * path through it reaches `exit` within `maxInsnsProcessed` processed
 * instructions (default 1,000,000): a bounded `for (i = 0; i < 16; i++)` is
 * unrolled; a loop that comes back to a state identical to one still being
 * explored is refused at once ("infinite loop"), any other unbounded loop when
 * the budget runs out. As in the kernel, at most 8,192 paths may wait to be
 * explored at once (`BPF_COMPLEXITY_LIMIT_JMP_SEQ`): a loop that queues the
 * other side of a branch on every turn is refused when the 8,193rd would
 * wait, where the kernel says "The sequence of 8193 jumps is too complex".
 * At jump targets, fall-throughs of conditional jumps
 * and call return points the state is remembered (not more often than every
 * 2 jumps or 8 instructions, every 20 jumps or 100 instructions inside a
 * loop, as the kernel does); a path arriving in a state covered by a fully
 * explored one is not followed again. "Covered" means: same call frames;
 * every live register of the old state uninitialized, or of the same kind
 * with the same fixed offset and a variable range containing the new one;
 * every stack byte of the old state never written, or holding the same kind
 * of data. Instead of the kernel's precision backtracking, a static backward
 * analysis finds the registers and r10-relative stack slots whose *value*
 * may flow into a compare, pointer arithmetic, an address, a checked helper
 * argument, a call or a function's return; other scalars only need to be
 * scalars on both sides. Register liveness is a static analysis too.
 *
 * **Bounded work.** As in the kernel, a remembered state that keeps failing
 * to prune (more than 3 misses per hit, plus 3) is dropped. Beyond the
 * kernel, at most 16,384 remembered states are kept at once: the oldest
 * fully explored ones are let go first, and while all are still being
 * explored no new one is made (this only costs pruning; no program of the
 * tests and fuzzers comes near it). Whether a loop came back to a state
 * still being explored is looked up by a hash of the current frame
 * (registers, stack, all 64 bits of every bound), so each visit compares
 * with the few states of the same hash. With the budget and the 8,192
 * waiting paths, verifying any program of a given size takes bounded time
 * and memory: reaching the 1,000,000-instruction budget takes 0.1-0.4 s of
 * CPU here, within 300 MB for programs of up to several hundred thousand
 * instructions (the decoded program needs about 150 bytes per
 * instruction).
 *
 * **Scalar values, never more precise than the kernel's.** A scalar is an
 * unsigned and a signed 64-bit range (`scalar.ts`); the kernel also keeps
 * known bits (tnums) and 32-bit subranges. Which side of a jump is followed
 * depends on these ranges, so a range the kernel cannot compute would let
 * us accept a program the kernel refuses. Where the kernel gives up, so do
 * we:
 * - division and modulo (`/`, `%`, signed or not, 64 or 32 bits) give any
 *   64-bit value, even of two constants (the kernel computes no range for
 *   them; its 32-bit result is not even known to be zero-extended);
 * - shifts by a register give any 64-bit value unless it holds a constant
 *   below the width; a left shift keeps a range only if no set bit can
 *   reach the top bit (`umax ≤ 2^(63-n)`, `2^(31-n)` for 32 bits);
 * - sign extension (`movsx`, `ldsx`) keeps a range when it is already in
 *   the narrow type's range, or lies in one block of 2^bits values whose
 *   ends sign-extend to the same sign; else the type's whole range;
 * - `if r & K` learns `r ≥ K` only when K is a single bit; on its other
 *   side (no bit of K set) only what the known bits of r say is kept (as
 *   the kernel, which recomputes the bounds from its tnum there): the
 *   common binary prefix of umin and umax, with K's bits cleared;
 * - a 32-bit compare of values wider than 32 bits leaves them unknown on
 *   both sides (the kernel narrows their 32-bit bounds, and on a side that
 *   cannot happen goes on with bounds unrelated to ours);
 * - a side of a jump is left out only when the bounds decide the compare
 *   (constants, disjoint or ordered intervals), as the kernel predicts
 *   branches; a side that narrowing shows impossible otherwise is followed
 *   with the compared values unknown;
 * - only pointers that cannot be NULL (map values, ringbuf records, map
 *   pointers) decide a comparison with 0; stack and context pointers are
 *   compared like unknown values, both sides followed;
 * - a map value or ringbuf record access needs a variable offset whose
 *   unsigned maximum is below 2^29, i.e. one that cannot be negative;
 * - an unsigned compare that puts a value on one side of the sign boundary
 *   replaces a signed range spanning zero by the unsigned one, unless that
 *   signed range fits in 32 bits (the kernel then keeps it through its
 *   32-bit bounds): after `if r s< 3` and `if r <= 62`, r is [0, 62].
 * Where the kernel knows more, we refuse programs it accepts (allowed, and
 * rare): bit-level facts (`r & ~3` is a multiple of 4, `x << 33` ends in
 * zeros), 32-bit subranges of wider values (a 32-bit jump narrows only
 * values that fit in 32 bits), narrow spills (a 4-byte store and load of a
 * register, stored immediates and zeros read back), deltas between linked
 * registers (`r2 = r1 + 5`), and a 32-bit move of a value wider than 32
 * bits. `tests/verifier/kernel_diff.ts` compares verdicts and results with
 * the running kernel on random programs aimed at these areas (`deno task
 * fuzz:verifier --count 5000 --seed 1`).
 *
 * What remains different: these rules follow the kernel this was measured
 * on (Linux 6.18); other versions track more (newer ones may bound some
 * divisions) or less (older ones keep no signed products or byte swaps).
 * The kernel sometimes narrows a value to bounds that contradict each
 * other, on a path that cannot happen, and then goes on with bounds
 * rebuilt from its known bits; we model the cases the differential found
 * (above), not every one, so a program whose only way to the kernel's
 * rejection is such an impossible path may still pass here (none in
 * 50,000 random programs at the time of writing).
 *
 * **Registers.** Reading an uninitialized register is refused; a call
 * clobbers r0-r5; at entry only r1 (context) and r10 are set.
 *
 * **Stack.** Each frame has 512 bytes, `[r10-512, r10)`. Bytes are tracked
 * one by one as never written, data, or part of a spilled register. A
 * register stored as 8 bytes at an 8-aligned offset is spilled and keeps its
 * kind and range when loaded back as 8 bytes; pointers may only be stored
 * that way, and a spilled pointer may only be loaded whole. Reading a byte
 * never written is refused (stricter than a privileged kernel). Loads and
 * stores must be aligned to their size, as the kernel demands for the stack
 * even on x86 (helper memory arguments need no alignment). Variable-offset
 * stack accesses are allowed within bounds for 1-byte accesses only (no
 * tnum to prove alignment); reads need every byte of the whole range
 * written; writes mark nothing as written.
 *
 * **Pointers.** Only `ptr ± scalar` and `scalar + ptr` (64-bit) are allowed,
 * with the scalar's range within ±2^29; `ptr - ptr` of the same kind gives a
 * scalar. Any other operator, 32-bit ALU or moves of pointers, and any
 * arithmetic on map pointers or maybe-NULL pointers is refused. Pointers may
 * be stored only on the stack (never into the context, map values or ringbuf
 * records); a callee's stack pointer may not be stored into a caller's frame
 * or returned.
 *
 * **Context.** r1 at entry points to `ctxSize` readable bytes. Accesses must
 * use the unmodified pointer (offset in the instruction), lie in
 * `[0, ctxSize)`, and be aligned to their size; tracepoint programs may not
 * read the 8-byte common header (offsets 0-7), as in the kernel. The
 * context is read-only.
 *
 * **Stricter than a privileged kernel** (checked against the running
 * kernel in the tests): uninitialized stack reads, returning or storing
 * pointers (into map values, or via atomics), 32-bit moves of pointers,
 * loads through map pointers, `exit` with a non-zero `off`, and the
 * 512-byte combined stack of a call chain (kernels with private stacks
 * allow more for tracing programs).
 *
 * **Maps and records.** `map_lookup_elem` returns a map value or NULL; it
 * must be compared with 0 (`if rX == 0` / `!= 0`, 64-bit) before use, which
 * turns every copy of it into a map value pointer or the scalar 0. Map value
 * and ringbuf record accesses must lie within the value or record size for
 * every possible variable offset. Atomic operations need a stack, map value
 * or record pointer, a constant offset aligned to the width, a scalar
 * operand and initialized memory.
 *
 * **Helpers.** Each helper in `Helper` has a prototype (see
 * `helper_protos.ts`) checked argument by argument: map pointers of an
 * allowed map type, keys and values as pointers to `keySize`/`valueSize`
 * initialized bytes, memory and size pairs (size a bounded non-negative
 * scalar), output buffers (marked initialized by the call), the unmodified
 * context. `ringbuf_reserve` needs a constant size and returns a record or
 * NULL that must be submitted or discarded on every path; after submit or
 * discard every copy of it is unusable. Unknown helpers are refused.
 *
 * **Functions.** bpf-to-bpf calls get a new frame with their own 512 bytes;
 * r1-r5 are passed as they are, r6-r9 start uninitialized; at most 8 frames.
 * Each function's stack depth (deepest byte used, rounded up to 16 as the
 * x86 JIT does) summed along any call chain must be ≤ 512.
 *
 * **Exit.** r0 must be set; the main program must return a scalar (a
 * pointer would leak) and hold no unreleased ringbuf record.
 *
 * **Callbacks.** `bpf_loop` and `bpf_for_each_map_elem` take a function
 * (`ld_imm64` with `BPF_PSEUDO_FUNC`); the callback is checked as one call
 * from the helper, with the arguments the helper passes (the map's key and
 * value pointers, or the index, and the context pointer), and must return
 * 0 or 1.
 *
 * Not modelled: tail calls' effects, packet pointers, BTF, kfuncs, iterators,
 * spin locks, a callback's repeated calls (it is checked once), and
 * per-program-type context field rules (the context is only bounds- and
 * alignment-checked).
 *
 * ## Files
 *
 * `verifier.ts` (this entry point), `options.ts` (its option and result
 * types), `structure.ts` (encoding, control flow, static liveness),
 * `verification.ts` (the state of one run), `explore.ts` (paths, pruning,
 * loops, stack depth), `step.ts` (one instruction; moves and ALU),
 * `branches.ts` (conditional jumps), `memory.ts` (loads, stores, atomics,
 * memory arguments), `calls.ts` (helpers, local calls, exit),
 * `helper_protos.ts` (helper prototypes), `state.ts` (registers, frames,
 * stack bytes), `scalar.ts` (ranges), `error.ts` (`VerifierError`).
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import {
  checkInsns,
  checkInt,
  checkObject,
  describeValue,
} from "../bpf/validate.ts";
import type { VerifyOptions, VerifyResult } from "./options.ts";
import { Verification } from "./verification.ts";
import { run } from "./explore.ts";

export { VerifierError } from "./error.ts";
export type { VerifyMap, VerifyOptions, VerifyResult } from "./options.ts";

/**
 * Verifies a program; throws on the first rejection.
 *
 * @throws {VerifierError} with the instruction index, its disassembly and
 * the reason.
 * @throws {import("../bpf/validate.ts").InvalidInsnError} for a slot that
 * is not an instruction (a field missing, not an integer or out of range).
 * @throws {TypeError} or {RangeError} for malformed `opts`.
 * @example Accept a program that returns 0
 * ```ts
 * import { verify } from "./verifier.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * const b = new InsnBuilder();
 * b.movImm(0, 0);
 * b.exit();
 * const res = verify(b.build().insns, { maps: [], ctxSize: 8 });
 * console.assert(res.insnsProcessed === 2);
 * ```
 * @example Reject reading an uninitialized register
 * ```ts
 * import { verify, VerifierError } from "./verifier.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * const b = new InsnBuilder();
 * b.movReg(0, 2);
 * b.exit();
 * try {
 *   verify(b.build().insns, { maps: [], ctxSize: 8 });
 * } catch (e) {
 *   console.assert(e instanceof VerifierError && e.pc === 0);
 * }
 * ```
 */
export function verify(
  insns: readonly Insn[],
  opts: VerifyOptions,
): VerifyResult {
  checkVerifyArgs(insns, opts);
  return run(new Verification(insns, opts));
}

/** Input validation of {@linkcode verify} (see `bpf/validate.ts`). */
function checkVerifyArgs(insns: unknown, opts: unknown): void {
  const where = "verify()";
  checkInsns(insns, where);
  checkObject(opts, "options", where);
  if (!Array.isArray(opts.maps)) {
    throw new TypeError(
      `verify() expects options.maps to be an array, got ${
        describeValue(opts.maps)
      }`,
    );
  }
  opts.maps.forEach((m: unknown, i: number) => {
    checkObject(m, `options.maps[${i}]`, where);
    for (const k of ["type", "keySize", "valueSize", "maxEntries"]) {
      checkInt(m, k, `verify() options.maps[${i}]`, 0, 0xffffffff);
    }
  });
  checkInt(opts, "ctxSize", "verify() options", 0, 0x7fffffff);
  checkInt(opts, "progType", "verify() options", 0, 0xffff, true);
  const o = "verify() options";
  checkInt(opts, "maxInsnsProcessed", o, 0, Number.MAX_SAFE_INTEGER, true);
}

/**
 * What the pieces of code generation share: {@linkcode Emitter}, the
 * probe compiler as the files that emit events, maps, values, scalars,
 * reads and branches see it (they take it as their first argument, since
 * `#` fields cannot cross files), and the types, constants and small
 * helpers they use. `codegen.ts` implements the interface.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { walk } from "../lang/visit.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import type { CondName, InsnBuilder, Width } from "../bpf/builder.ts";
import { Helper, STACK_SIZE } from "../bpf/opcodes.ts";
import type { Unit } from "./units.ts";
import { MAX_PROGRAM_INSNS } from "./bounds.ts";
import type { ProgramTables } from "./tables.ts";
import type { Ref, RegAlloc } from "./regs.ts";
import type { SType } from "./types.ts";
import { CTX_BUILTINS } from "./known_names.ts";
import type { CallbackLoops } from "./codegen_loops.ts";

export { breaks, chunk, literalTrue, terminates } from "./flow.ts";
export type { CallbackLoops };

/** Strings `join()` reads at most. */
export const JOIN_MAX = 16;
/** Bytes of each `join()` string. */
export const JOIN_STRLEN = 64;

/** `get_stackid` flag: the user stack rather than the kernel's. */
export const BPF_F_USER_STACK = 1 << 8;
/** `AF_INET`: `ntop` sends it with a 4-byte address it infers the family of. */
export const AF_INET = 2;
/** `AF_INET6`, for 16-byte addresses. */
export const AF_INET6 = 10;

/** Stack bytes at most kept for map keys reused within one program run. */
export const KEY_CACHE_BYTES = 64;
/** Map values at most kept for reuse within one program run. */
export const VALUE_CACHE_SLOTS = 4;

/** A memory destination: base register (`R10`: the frame) or a record value. */
export interface Dst {
  base: number | Ref;
  off: number;
}

/** The jump taken exactly when the given one is not. */
export const INVERSE: Record<CondName, CondName> = {
  JEQ: "JNE",
  JNE: "JEQ",
  JGT: "JLE",
  JLE: "JGT",
  JGE: "JLT",
  JLT: "JGE",
  JSGT: "JSLE",
  JSLE: "JSGT",
  JSGE: "JSLT",
  JSLT: "JSGE",
  JSET: "JSET",
};

/** The jump with its operands swapped (`a < b` is `b > a`). */
export const SWAPPED: Record<CondName, CondName> = {
  JEQ: "JEQ",
  JNE: "JNE",
  JGT: "JLT",
  JLT: "JGT",
  JGE: "JLE",
  JLE: "JGE",
  JSGT: "JSLT",
  JSLT: "JSGT",
  JSGE: "JSLE",
  JSLE: "JSGE",
  JSET: "JSET",
};

/** Whether `v` fits a 32-bit sign-extended immediate. */
export function fitsImm(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= -0x80000000n && s <= 0x7fffffffn;
}

export { CTX_BUILTINS };

/** Whether the probe reads its context (r1) anywhere: args, registers, stacks. */
export function needsCtx(u: Unit): boolean {
  let found = false;
  for (const root of [u.probe.predicate, u.probe.body]) {
    if (root === undefined) continue;
    walk(root, (node) => {
      if (node.kind === "builtin") {
        if (CTX_BUILTINS.has(node.name) || /^arg\d+$/.test(node.name)) {
          found = true;
        }
      } else if (
        node.kind === "call" &&
        ["kstack", "ustack", "reg", "uaddr", "override"].includes(node.name)
      ) found = true;
      return !found;
    });
  }
  return found;
}

/** Where a struct member or array element lives (`addr`). */
export interface Place {
  /** The base address. */
  base: Ref;
  /** Bytes added to it. */
  off: number;
  /** The memory it is in. */
  origin: "user" | "kernel" | undefined;
}

/**
 * The helper that reads through a pointer of type `t`: user or kernel
 * memory when the pointer says which, else the legacy helper that picks by
 * address on x86 (bpftrace's choice for pointers of unknown origin).
 */
export function readHelper(t: SType, str: boolean): number {
  return readHelperFrom(t.k === "int" ? t.ptr : undefined, str);
}

/**
 * The helper that reads memory of a known origin (a place's `origin`):
 * as {@linkcode readHelper}, without a pointer type around it.
 */
export function readHelperFrom(
  origin: "user" | "kernel" | undefined,
  str: boolean,
): number {
  if (origin === "user") {
    return str ? Helper.probe_read_user_str : Helper.probe_read_user;
  }
  if (origin === "kernel") {
    return str ? Helper.probe_read_kernel_str : Helper.probe_read_kernel;
  }
  return str ? Helper.probe_read_str : Helper.probe_read;
}

/** Per-program options of {@linkcode ProbeCompiler}. */
export interface ProbeOptions {
  /** Exit unless the current process (tgid) is this one. */
  pid?: number;
  /** The value of the `cpid` builtin. */
  cpid?: number;
  /**
   * Keep stable helper results, map keys and map values in stack slots for
   * reuse within a run (default true; see `reuse.ts`). A probe whose stack
   * would overflow with the slots is compiled again without them.
   */
  reuse?: boolean;
  /**
   * Count the updates full maps refuse (`.full`; default true). Off when
   * the counter map would take the program over the kernel's 64 maps.
   */
  countFull?: boolean;
}

/** The probe needs more stack than the kernel gives a program. */
export class StackLimitError extends RangeError {
  /** The standard message. */
  constructor() {
    super(
      `Stack limit exceeded: the probe needs more than ${STACK_SIZE} bytes`,
    );
    this.name = "StackLimitError";
  }
}

/** An `unroll` would take the program past the kernel's size limit. */
export class UnrollSizeError extends RangeError {
  /** The `unroll` statement. */
  span: ast.Span;
  /** @param span Where the `unroll` is. */
  constructor(span: ast.Span) {
    super(
      `unroll expands the probe past ${MAX_PROGRAM_INSNS} instructions, the kernel's limit for a program`,
    );
    this.name = "UnrollSizeError";
    this.span = span;
  }
}

/** The probe compiler as the code generation pieces see it. */
export interface Emitter {
  /**
   * The reuse slots that hold their value on every path reaching the code
   * being emitted (see `region`).
   */
  avail: Set<string>;
  /** The instruction builder of this program. */
  b: InsnBuilder;
  /** The `for` loops run as callbacks. */
  cb: CallbackLoops;
  /** Out-of-line blocks emitted after the final exit (cold paths). */
  cold: (() => void)[];
  /** The register holding the context (r1 on entry), or -1. */
  ctx: number;
  /** Where errors go. */
  diag: Diagnostics;
  /** The label of the program's exit. */
  exit: string;
  /** The loops around the code being emitted, innermost last. */
  loops: { head: string; end: string }[];
  /** Process filter, `cpid`, reuse. */
  opts: ProbeOptions;
  /** The register allocator. */
  ra: RegAlloc;
  /**
   * Stack slots of values computed once per run and reused: `h:ID` a
   * stable helper's result, `k:ACCESS` a map key, `v:ACCESS` a map value.
   */
  slots: Map<string, number>;
  /** The frame offset of the stack's free end (0 or negative). */
  sp: number;
  /** Program-wide maps and formats. */
  t: ProgramTables;
  /** The unit being compiled, with sema's types. */
  u: Unit;
  /** Stack offsets of scratch variables by name. */
  vars: Map<string, number>;
  /** Emits the statements of a block expression (before its value). */
  blockStmts(stmts: ast.Stmt[]): void;
  /** Emits a block; `tail`: nothing runs after it but the program's exit. */
  block(b: ast.Block, tail?: boolean): void;
  /** Forgets every cached map value (loops: a later write may come first). */
  forgetValues(): void;
  /**
   * Where a struct member, a struct value or an array element lives: a
   * base address and a constant offset (offsets of `.` and of constant
   * indexes fold; each `->` is one read of the pointer).
   */
  addr(e: ast.Expr): Place;
  /** The address of a place in a register. */
  addrReg(at: Place): Ref;
  /**
   * Reserves `size` bytes (8-aligned) of stack; returns the frame offset.
   * Throws `StackLimitError` past the 512-byte frame.
   */
  alloc(size: number): number;
  /**
   * Emits `l = l op r` for an arithmetic or bitwise operator with the
   * signedness of `t`; frees `r` unless `freeR` is false.
   */
  aluOp(
    op: ast.BinaryOp,
    l: Ref,
    r: Ref,
    t: SType,
    freeR?: boolean,
  ): void;
  /** The register a destination's base is in (`R10` for the stack). */
  baseReg(d: Dst): number;
  /** Jumps to `target` when `e` is true (`when`) or false (`!when`). */
  branch(e: ast.Expr, target: string, when: boolean): void;
  /** The value of a builtin variable (`pid`, `argN`, `retval`, `nsecs`, …). */
  builtin(e: ast.BuiltinExpr): Ref;
  /** Calls a helper: arguments go to r1-r5, the result is r0. */
  call(
    helper: number,
    args: (
      | Ref
      | { fp: number }
      | { map: number }
      | { ctx: true }
      | { ptr: Ref; off: number }
      | { func: string }
      | { btfVar: number }
    )[],
    result: boolean,
  ): Ref | undefined;
  /**
   * Queues a subprogram (a helper's callback) emitted after the program,
   * once per `id`; returns its label, for a `{ func }` argument of `call`.
   */
  subprog(id: string, emit: () => void): string;
  /** The value of a call whose result is a scalar (`ksym`, `bswap`, …). */
  callValue(e: ast.CallExpr): Ref;
  /** Copies `n` bytes from `src` to destination `d` through a scratch register. */
  copy(d: Dst, src: { base: number | Ref; off: number }, n: number): void;
  /**
   * Loads `size` bytes at offset `off` of the context (sign-extended when
   * `signed`).
   */
  ctxLoad(off: number, size: Width, signed: boolean): Ref;
  /**
   * Reads a value of type `t` (an integer, or u64) at the address `addr`
   * (a pointer of type `pt`) with the helper its memory origin calls for;
   * a failed read gives 0, as bpftrace's.
   */
  deref(addr: Ref, pt: SType, t: SType): Ref;
  /**
   * Evaluates a condition whose truth is known (`truth`) for its side
   * effects alone: nothing for a pure constant, otherwise its branches,
   * which all meet right after it.
   */
  effects(e: ast.Expr): void;
  /** Loads an integer tracepoint field (`args->field`); 0 when unknown. */
  fieldLoad(e: ast.FieldExpr): Ref;
  /** The constant value of `e`, if known at compile time (see `fold.ts`). */
  fold(e: ast.Expr): bigint | undefined;
  /** The upper (`hi`) or lower 32 bits of a stable helper's result. */
  helperHalf(h: number, hi: boolean): Ref;
  /**
   * A stable helper's result (see `reuse.ts`): called, and kept in its
   * slot when the body uses it again; read from the slot where it holds.
   */
  helperValue(h: number): Ref;
  /**
   * Writes the value of `e` into memory at `d` as a value of slot type
   * `st`. With `clean`, bytes past a string's end are zeroed (keys).
   */
  into(e: ast.Expr, d: Dst, st: SType, clean: boolean): void;
  /** Looks up `@m[keys]`: a pointer to its value, or 0 on a miss. */
  mapLookup(e: ast.MapExpr): Ref;
  /** Copies the value of `@m[keys]` into destination `d` (zeroes on a miss). */
  mapReadInto(e: ast.MapExpr, d: Dst, size: number): void;
  /**
   * Read-modify-write of an integer map value: in place on a hit (atomic
   * add where possible), `update(op(0, v))` on a miss. With `result`, the
   * old (postfix) or new (prefix) value is stored into that stack slot.
   */
  mapRmw(
    m: ast.MapExpr,
    op: ast.BinaryOp,
    v: Ref,
    result: { off: number; prefix: boolean } | undefined,
  ): void;
  /**
   * A map value as a condition (`/@start[tid]/`): a missing key jumps
   * straight to where a zero value goes, without making the 0. False when
   * the plain way must be taken: the value is in its slot already, or a
   * slot must hold it on every path and this is not the predicate's exit.
   */
  mapTruth(e: ast.MapExpr, target: string, when: boolean): boolean;
  /** A memory copy of an aggregate value (var slot or a temporary). */
  mem(e: ast.Expr): { base: number; off: number };
  /** `p->f` / `s.f`: the member's value. */
  memberLoad(e: ast.FieldExpr): Ref;
  /** A value in a register this code may overwrite. */
  own(v: Ref): Ref;
  /** Destination `d` as a pointer argument of a helper call. */
  ptrArg(d: Dst): { fp: number } | { ptr: Ref; off: number };
  /** Reads an integer (or a bit-field) of type `t` at a place. */
  readAt(
    at: Place,
    t: SType,
    bits?: { size: 1 | 2 | 4 | 8; shift: number; width: number },
  ): Ref;
  /**
   * Reads `size` bytes at a place into a fresh stack slot with `helper`,
   * the address computed straight into r3 (as bpftrace does: no copy
   * through a callee-saved register); a failed read leaves the slot as
   * the helper leaves it (zeroed).
   */
  readSlot(at: Place, helper: number, size: number, dst?: Dst): number;
  /**
   * Emits `f`, code that runs on some paths only: what it leaves in slots
   * is not known afterwards, and what it invalidates stays invalid.
   */
  region<T>(f: () => T): T;
  /** Evaluates an integer-like expression into a register or constant. */
  scalar(e: ast.Expr): Ref;
  /**
   * Before a branch whose arms both read `v`: puts it where neither arm
   * moves it (a register, or an immediate that fits 32 bits), so the
   * value is valid on both paths.
   */
  stable(v: Ref): void;
  /** Stores the `width` low bytes of scalar `v` at destination `d`. */
  storeScalar(d: Dst, v: Ref, width: Width): void;
  /**
   * The string `e` is at compile time (a literal, `probe`, a non-numeric
   * positional parameter), if known.
   */
  strConst(e: ast.Expr): string | undefined;
  /**
   * Falls through when the strings are equal (up to `limit` bytes, stopping
   * at a NUL), jumps to `ne` otherwise.
   */
  strEq(a: ast.Expr, c: ast.Expr, ne: string, limit: number): void;
  /** `v * by` (by a power of two: a shift), in a register this code owns. */
  times(v: Ref, by: number): Ref;
  /** The truth of condition `e`, if known at compile time (see `fold.ts`). */
  truth(e: ast.Expr): boolean | undefined;
  /**
   * Writes tuple elements at their offsets into destination `d`; `clean`:
   * zero the padding too.
   */
  tupleInto(
    elems: ast.Expr[],
    d: Dst,
    tt: SType & { k: "tuple" },
    clean: boolean,
  ): void;
  /** The type sema gave `e` (a 64-bit signed integer if none). */
  type(e: ast.Expr): SType;
  /** After a write to map `@name`: its cached values are stale. */
  written(name: string): void;
  /**
   * In the callback of `for ($kv : @m)` over a per-CPU aggregation: the
   * entry's value folded over the CPUs at stack offset `value`, the key
   * being at `key` (`codegen_agg_read.ts`).
   */
  loopAggValue(m: ast.MapExpr, key: number, value: number): void;
  /** Zeroes bytes `from` to `to` of destination `d`, widest stores first. */
  zero(d: Dst, from: number, to: number): void;
}

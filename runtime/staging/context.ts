/**
 * The probe context `c` a staged probe body receives: builtins as typed
 * symbolic values, tracepoint `args` typed from their format, statements
 * (`printf`, `if`, `filter`, `let`, ...), maps and emits.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import {
  and,
  type AnyLike,
  builtin,
  call,
  Expr,
  type IntLike,
  noSpan,
  not,
  type OperandOf,
  select,
  type StrLike,
  toNode,
  type TypeOf,
} from "./expr.ts";
import type { EventDecl, Shape, ShapeOf } from "./events.ts";
import { type CompoundOp, MapRef, type MapValueKind } from "./maps.ts";
import { Site, type Stager, StagingError } from "./stager.ts";
import { kernelCast, type KernelValue } from "./kernel.ts";
import type { TracepointArgs } from "./tracepoint_types.ts";
import type {
  Bool,
  Buf,
  Inet,
  Int,
  KeyType,
  KStack,
  Ksym,
  Ptr,
  Str,
  Timestamp,
  U32,
  U64,
  Untyped,
  UStack,
  Usym,
  VType,
} from "./types.ts";

/** The tracepoint name (`cat:event`) of a probe spec, if it is one. */
export type TracepointOf<S extends string> = S extends
  `${"tracepoint" | "t"}:${infer T}` ? T : never;

/** Staged `args` fields of a tracepoint whose format is not typed. */
export type UntypedArgs = {
  readonly [field: string]: Expr<Untyped>;
};

/** Staged `args` of a tracepoint with typed fields `F`. */
export type StagedArgs<F> = {
  readonly [K in keyof F]: Expr<Extract<F[K], VType>>;
};

/**
 * The type of `c.args` for probe spec `S`: typed fields for tracepoints in
 * {@linkcode TracepointArgs}, any field for other tracepoints (wildcards,
 * categories not generated), `never` for other probe types.
 *
 * @ignore
 */
export type ArgsOf<S extends string> = [TracepointOf<S>] extends [never] ? never
  : TracepointOf<S> extends keyof TracepointArgs
    ? StagedArgs<TracepointArgs[TracepointOf<S>]>
  : UntypedArgs;

/** The type of `func` for probe spec `S`: a user symbol in uprobes. */
export type FuncOf<S extends string> = S extends
  `${"uprobe" | "uretprobe" | "u" | "ur"}:${string}` ? Usym : Ksym;

/** A printf flag or length modifier, skipped when reading a conversion. */
export type Flag =
  | "-"
  | "+"
  | " "
  | "#"
  | "."
  | "0"
  | "1"
  | "2"
  | "3"
  | "4"
  | "5"
  | "6"
  | "7"
  | "8"
  | "9"
  | "l"
  | "h"
  | "j"
  | "z"
  | "t";

/** What printf conversion `C` takes: `%s` anything, `%r` a buffer, else an integer. */
export type ConvArg<C extends string> = C extends "s" ? AnyLike
  : C extends "r" ? Expr<Buf | Str>
  : IntLike;

/** The arguments of the conversion at the start of `R`, then of the rest. */
export type SpecArgs<R extends string> = R extends `${Flag}${infer R2}`
  ? SpecArgs<R2>
  : R extends `${infer C}${infer Rest}` ? [ConvArg<C>, ...FormatArgs<Rest>]
  : [];

/**
 * The arguments a printf format string takes, read from its literal type:
 * `%d`-style conversions take integers, `%s` anything, `%r` a buffer. A
 * format that is not a literal type takes any arguments.
 */
export type FormatArgs<F extends string> = string extends F ? AnyLike[]
  : F extends `${string}%${infer R}`
    ? R extends `%${infer R2}` ? FormatArgs<R2> : SpecArgs<R>
  : [];

/**
 * A scratch variable `$name` made by `c.let()`: readable as a value and
 * assignable.
 *
 * @example A variable set once and read twice
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tracer } from "../../mod.ts";
 *
 * const t = new Tracer();
 * t.probe("tracepoint:syscalls:sys_exit_read", (c) => {
 *   const ret = c.let(c.args.ret, "ret"); // a Var
 *   c.filter(ret.gt(0));
 *   c.printf("%d\n", ret);
 * });
 * assert.match(t.finish().source, /\$ret = args->ret;/);
 * ```
 */
export class Var<T extends VType = VType> extends Expr<T> {
  readonly #stager: Stager;
  /** The name without `$`. */
  readonly name: string;

  /** Use `c.let()`. */
  constructor(stager: Stager, name: string) {
    super({ kind: "var", name, span: noSpan() });
    this.#stager = stager;
    this.name = name;
  }

  #assign(op: ast.AssignOp, v: AnyLike): void {
    this.#stager.emit({
      kind: "assign",
      op,
      target: { kind: "var", name: this.name, span: noSpan() },
      value: toNode(v),
      span: noSpan(),
    });
  }

  /** `$name = v`. */
  set(v: OperandOf<T>): void {
    this.#assign("=", v as AnyLike);
  }
  /** `$name op= v` on an integer variable. */
  update(this: Var<Int>, op: CompoundOp, v: IntLike): void {
    this.#assign(op, v);
  }
  /** `$name++`. */
  inc(this: Var<Int>): void {
    this.#incdec("++");
  }
  /** `$name--`. */
  dec(this: Var<Int>): void {
    this.#incdec("--");
  }
  #incdec(op: "++" | "--"): void {
    this.#stager.emit({
      kind: "expr",
      expr: {
        kind: "incdec",
        op,
        prefix: false,
        target: { kind: "var", name: this.name, span: noSpan() },
        span: noSpan(),
      },
      span: noSpan(),
    });
  }
}

/** Shared by the probes of one staged program: maps and events by name. */
export interface ProgramScope {
  /**
   * The statement sink.
   *
   * @ignore
   */
  readonly stager: Stager;
  /** A map by name (one `MapRef` per name). */
  map(name: string): MapRef;
  /** An event by name (one `EventDecl` per name). */
  event(name: string): EventDecl;
}

/**
 * What a staged probe body gets: `c.pid`, `c.args.filename`,
 * `c.map("x").at(k).count()`, `c.if(cond, then)`, `c.printf(...)`.
 *
 * Builtins are getters returning a fresh symbolic value each time.
 *
 * @example Count openat calls of one process by file name
 * ```ts
 * import { stageProbe } from "./stage.ts";
 * const prog = stageProbe("tracepoint:syscalls:sys_enter_openat", (c) => {
 *   c.filter(c.pid.eq(1234));
 *   c.map("opens").at(c.str(c.args.filename)).count();
 * });
 * console.assert(prog.probes[0].predicate?.kind === "binary");
 * ```
 */
export class ProbeContext<S extends string = string> {
  /** The probe spec text (first attach point). */
  readonly spec: S;
  readonly #scope: ProgramScope;
  readonly #st: Stager;
  #predicate?: Expr<Int>;
  #predicateSite?: Site;

  /** Use `t.probe()` or `stageProbe()`. */
  constructor(scope: ProgramScope, spec: S) {
    this.#scope = scope;
    this.#st = scope.stager;
    this.spec = spec;
  }

  /**
   * The predicate collected by top-level `filter()` calls, if any.
   *
   * @ignore
   */
  predicate(): ast.Expr | undefined {
    const p = this.#predicate?.use();
    if (p !== undefined && this.#predicateSite !== undefined) {
      this.#st.sites.set(p, this.#predicateSite);
    }
    return p;
  }

  // ---- builtins ----

  /** Process id (tgid). */
  get pid(): Expr<U32> {
    return builtin("pid");
  }
  /** Thread id. */
  get tid(): Expr<U32> {
    return builtin("tid");
  }
  /** User id. */
  get uid(): Expr<U32> {
    return builtin("uid");
  }
  /** Group id. */
  get gid(): Expr<U32> {
    return builtin("gid");
  }
  /** Current CPU. */
  get cpu(): Expr<U32> {
    return builtin("cpu");
  }
  /** A pseudo-random u32. */
  get rand(): Expr<U32> {
    return builtin("rand");
  }
  /** Nanoseconds since boot (`bpf_ktime_get_ns`). */
  get nsecs(): Expr<U64> {
    return builtin("nsecs");
  }
  /** Nanoseconds since the program started. */
  get elapsed(): Expr<U64> {
    return builtin("elapsed");
  }
  /** Cgroup id. */
  get cgroup(): Expr<U64> {
    return builtin("cgroup");
  }
  /** Jiffies. */
  get jiffies(): Expr<U64> {
    return builtin("jiffies");
  }
  /** The current `task_struct` address. */
  get curtask(): Expr<Ptr<"kernel">> {
    return builtin("curtask");
  }
  /** Process name (16 bytes). */
  get comm(): Expr<Str> {
    return builtin("comm");
  }
  /** The attach point text. */
  get probe(): Expr<Str> {
    return builtin("probe");
  }
  /** The traced function (kprobes, uprobes). */
  get func(): Expr<FuncOf<S>> {
    return builtin("func");
  }
  /** Return value (kretprobe, uretprobe). */
  get retval(): Expr<U64> {
    return builtin("retval");
  }
  /**
   * `(cname *)ptr`: a kernel struct whose members read as properties
   * (`c.kernel("struct task_struct", c.curtask).real_parent.pid`).
   */
  kernel(cname: string, ptr: Expr): KernelValue {
    return kernelCast(cname, ptr);
  }
  /** Tracepoint fields (`args.NAME`), typed from the format. */
  get args(): ArgsOf<S> {
    return new Proxy({}, {
      get: (_t, field) => {
        if (typeof field !== "string") return undefined;
        return new Expr({
          kind: "field",
          expr: { kind: "builtin", name: "args", span: noSpan() },
          field,
          arrow: true,
          span: noSpan(),
        });
      },
    }) as ArgsOf<S>;
  }
  /** Argument `n` (kprobes, uprobes, raw tracepoints): `argN`. */
  arg(n: number): Expr<Ptr> {
    if (!Number.isInteger(n) || n < 0) {
      throw new StagingError(`Invalid argument index ${n}`);
    }
    return builtin(`arg${n}`);
  }
  /** Kernel stack (`kstack`, or `kstack(depth)`). */
  kstack(depth?: number): Expr<KStack> {
    return depth === undefined ? builtin("kstack") : call("kstack", [depth]);
  }
  /** User stack (`ustack`, or `ustack(depth)`). */
  ustack(depth?: number): Expr<UStack> {
    return depth === undefined ? builtin("ustack") : call("ustack", [depth]);
  }

  // ---- functions ----

  /** `str(ptr [, n])`: a string read from memory (or a string cut). */
  str(p: IntLike | StrLike, n?: number): Expr<Str> {
    return call("str", n === undefined ? [p] : [p, n]);
  }
  /** `buf(ptr, n)`: `n` bytes read from memory. */
  buf(p: IntLike, n: number): Expr<Buf> {
    return call("buf", [p, n]);
  }
  /** `ksym(addr)`. */
  ksym(addr: IntLike): Expr<Ksym> {
    return call("ksym", [addr]);
  }
  /** `usym(addr)`. */
  usym(addr: IntLike): Expr<Usym> {
    return call("usym", [addr]);
  }
  /** `ntop([af,] addr)`. */
  ntop(addr: IntLike, af?: IntLike): Expr<Inet> {
    return call("ntop", af === undefined ? [addr] : [af, addr]);
  }
  /** `strftime(format, ns)`. */
  strftime(format: string, ns: IntLike): Expr<Timestamp> {
    return call("strftime", [format, ns]);
  }
  /** `strncmp(a, b, n)`: 0 when the first `n` bytes are equal. */
  strncmp(a: StrLike, b: StrLike, n: number): Expr<U64> {
    return call("strncmp", [a, b, n]);
  }
  /** `kaddr(name)`: a kernel symbol's address. */
  kaddr(name: string): Expr<Ptr<"kernel">> {
    return call("kaddr", [name]);
  }
  /** `reg(name)`: a register of the probed context. */
  reg(name: string): Expr<U64> {
    return call("reg", [name]);
  }
  /** `cond ? a : b`. */
  select(cond: IntLike, a: IntLike, b: IntLike): Expr<Int>;
  /** `cond ? a : b` on strings. */
  select(cond: IntLike, a: StrLike, b: StrLike): Expr<Str>;
  select(cond: IntLike, a: AnyLike, b: AnyLike): Expr {
    return select(cond, a as IntLike, b as IntLike);
  }

  // ---- statements ----

  /**
   * Keeps only events where `cond` holds. At the top of the body, before
   * any statement, it becomes the probe predicate `/cond/` (several
   * filters are joined with `&&`); later it becomes
   * `if (!(cond)) { return; }`.
   */
  filter(cond: IntLike): void {
    const e = cond instanceof Expr ? cond : new Expr<Int>(toNode(cond));
    if (this.#st.depth === 1 && this.#st.current.length === 0) {
      this.#predicate = this.#predicate === undefined
        ? e
        : and(this.#predicate, e);
      this.#predicateSite ??= new Site();
      return;
    }
    this.#st.emit({
      kind: "if",
      cond: not(e).use(),
      then: {
        kind: "block",
        stmts: [{ kind: "return", span: noSpan() }],
        span: noSpan(),
      },
      span: noSpan(),
    });
  }

  /** `printf(format, args...)`; the format's conversions type the args. */
  printf<F extends string>(format: F, ...args: FormatArgs<F>): void {
    this.#callStmt("printf", [format, ...args as AnyLike[]]);
  }
  /** `print(value)`, or `print(@map)` for a map. */
  print(v: AnyLike | MapRef): void {
    if (v instanceof MapRef) {
      this.#stmt({
        kind: "call",
        name: "print",
        args: [v.mapNode()],
        span: noSpan(),
      });
    } else this.#callStmt("print", [v]);
  }
  /** `time(format)`: print the current time. */
  time(format?: string): void {
    this.#callStmt("time", format === undefined ? [] : [format]);
  }
  /** `exit()`: end the session. */
  exit(): void {
    this.#callStmt("exit", []);
  }
  /** `signal(sig)`: send a signal to the current process (unsafe). */
  signal(sig: string | IntLike): void {
    this.#callStmt("signal", [sig]);
  }
  /** `return;`: leave the probe. */
  return(): void {
    this.#st.emit({ kind: "return", span: noSpan() });
  }
  /** `break;` inside `c.while`. */
  break(): void {
    this.#st.emit({ kind: "break", span: noSpan() });
  }
  /** `continue;` inside `c.while`. */
  continue(): void {
    this.#st.emit({ kind: "continue", span: noSpan() });
  }

  /**
   * `if (cond) { then } else { otherwise }`. Both branches are staged
   * (their functions run once, now).
   */
  if(cond: IntLike, then: () => void, otherwise?: () => void): void {
    const stmt: ast.IfStmt = {
      kind: "if",
      cond: toNode(cond),
      then: this.#st.collect(then),
      span: noSpan(),
    };
    if (otherwise !== undefined) stmt.else = this.#st.collect(otherwise);
    this.#st.emit(stmt);
  }
  /** `while (cond) { body }` (bounded by the compiler's loop cap). */
  while(cond: IntLike, body: () => void): void {
    this.#st.emit({
      kind: "while",
      cond: toNode(cond),
      body: this.#st.collect(body),
      span: noSpan(),
    });
  }
  /** `unroll (n) { body }`. A plain JS loop unrolls at staging time too. */
  unroll(n: number, body: () => void): void {
    this.#st.emit({
      kind: "unroll",
      count: toNode(n),
      body: this.#st.collect(body),
      span: noSpan(),
    });
  }

  /**
   * `$name = init`: evaluates `init` once into a scratch variable and
   * returns it (named `v0`, `v1`, ... unless `name` is given).
   */
  let<O extends AnyLike>(init: O, name?: string): Var<TypeOf<O>> {
    const v = new Var<TypeOf<O>>(this.#st, this.#st.varName(name));
    this.#st.emit({
      kind: "assign",
      op: "=",
      target: { kind: "var", name: v.name, span: noSpan() },
      value: toNode(init),
      span: noSpan(),
    });
    return v;
  }

  /**
   * The map `@name`, typed by key types `K` and value kind `V` when given
   * (see `MapRef`). `""` is the anonymous map `@`.
   */
  map<
    K extends readonly KeyType[] = Untyped,
    V extends MapValueKind = Untyped,
  >(
    name: string,
  ): MapRef<K, V> {
    return this.#scope.map(name) as MapRef<K, V>;
  }

  /** Sends a record of a declared event to user space. */
  emit<E extends Shape>(
    event: EventDecl<E>,
    values: { [F in keyof E]: OperandOf<E[F]> },
  ): void;
  /** Sends a record of the event named `name` (shape from `values`). */
  emit<O extends Record<string, AnyLike>>(name: string, values: O): void;
  emit(event: EventDecl | string, values: Record<string, AnyLike>): void {
    const decl = typeof event === "string" ? this.#scope.event(event) : event;
    this.#stmt(decl.stageCall(values));
  }

  #callStmt(name: string, args: readonly AnyLike[]): void {
    this.#stmt({
      kind: "call",
      name,
      args: args.map(toNode),
      span: noSpan(),
    });
  }

  #stmt(expr: ast.Expr): void {
    this.#st.emit({ kind: "expr", expr, span: noSpan() });
  }
}

/** Record shape inferred from an untyped emit's values. */
export type InferredShape<O extends Record<string, AnyLike>> = ShapeOf<O>;

/** A boolean-valued staged expression. */
export type Cond = Expr<Bool>;

/**
 * Builtin variable checks: the type of every builtin (`pid`, `comm`,
 * `args`, `retval`, `argN`, `kstack`, …) for the probe type it appears in,
 * and the errors for builtins a probe type has not or that need options it
 * lacks. Function calls are checked in `sema_calls.ts`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { usdtArgType } from "./usdt_args.ts";
import { kernelTypeSource, namedType } from "./kernel_types.ts";
import { BOOL, type IntType, type SType, U32, U64 } from "./types.ts";
import { ARG_REGS } from "./call_constants.ts";
import type { SemaScope } from "./sema_scope.ts";
import { ppidExpr, probetypeText } from "./sugar.ts";
import { ncpus } from "./host_facts.ts";
import { onDemand } from "./on_demand.ts";

/** Frames a stack builtin keeps when no depth is given. */
export const STACK_DEPTH = 127;

/**
 * The type of a builtin variable (`pid`, `args`, `retval`, …); reports
 * those the probe type has not or that need options it lacks.
 */
export function checkBuiltin(c: SemaScope, e: ast.BuiltinExpr): SType {
  const u = c.u;
  const name = e.name;
  const m = /^arg(\d+)$/.exec(name);
  if (m !== null) {
    const n = Number(m[1]);
    if (u.kind === "rawtracepoint") {
      u.maxArg = Math.max(u.maxArg, n);
      u.ctx = { ...u.ctx, size: Math.max(u.ctx.size, (u.maxArg + 1) * 8) };
      return U64;
    }
    if (u.kind === "usdt") {
      const t = usdtArgType(u.attach[0], n);
      if (typeof t === "string") c.err(e.span, t);
      return typeof t === "string" ? U64 : t;
    }
    if (!["kprobe", "uprobe"].includes(u.kind)) {
      c.err(
        e.span,
        `The ${name} builtin can only be used with kprobes and uprobes`,
      );
      return U64;
    }
    if (n >= ARG_REGS.length) {
      c.err(
        e.span,
        `Only ${ARG_REGS.length} arguments are available: ${name}`,
      );
    }
    return {
      k: "int",
      size: 8,
      signed: false,
      ptr: u.kind === "uprobe" ? "user" : "kernel",
    };
  }
  switch (name) {
    case "pid":
    case "tid":
    case "uid":
    case "gid":
    case "cpu":
    case "rand":
      return U32;
    case "nsecs":
      if (e.clock === "monotonic") return { ...U64, clock: "monotonic" };
      if (e.clock !== undefined) return { ...U64, clock: "tai" };
      return U64;
    case "cgroup":
    case "jiffies":
      return U64;
    case "numaid":
      return U32;
    case "username":
      return { k: "username" };
    case "cpid":
      // Without -c: 0 and a run-time warning (codegen), as 0.26.
      return U32;
    case "has_cpid":
      return BOOL;
    case "elapsed":
      c.state.usesElapsed = true;
      return U64;
    case "curtask": {
      const t: IntType = { k: "int", size: 8, signed: false, ptr: "kernel" };
      if (kernelTypeSource() !== undefined) {
        // The script's own definition first (0.26: "redefine_btf_type").
        const found = namedType("struct task_struct", c.pre.local);
        if (typeof found !== "string" && found.rec) t.rec = found.rec;
      }
      return t;
    }
    case "comm":
      return { k: "str", size: 16 };
    case "probe":
      return { k: "str", size: u.probeText.length + 1 };
    case "probetype": {
      // A constant, as 0.26's __builtin_probetype: the first attach point's.
      const p = u.probe.attachPoints[0]?.provider ?? u.kind;
      return { k: "str", size: probetypeText(p).length + 1 };
    }
    case "retval":
      if (u.kind === "fexit") return onDemand("btf").btfRetval(c, e);
      if (u.kind !== "kretprobe" && u.kind !== "uretprobe") {
        c.err(
          e.span,
          "The retval builtin can only be used with kretprobes, uretprobes and fexit",
        );
      }
      // A returned pointer points into the probed side's memory.
      return { ...U64, ptr: u.kind === "uretprobe" ? "user" : "kernel" };
    case "func":
      if (u.kind === "fentry" || u.kind === "fexit") return { k: "ksym" };
      if (!["kprobe", "kretprobe", "uprobe", "uretprobe"].includes(u.kind)) {
        c.err(
          e.span,
          "The func builtin can only be used with kprobes and uprobes",
        );
        return { k: "ksym" };
      }
      return u.kind.startsWith("u") ? { k: "usym" } : { k: "ksym" };
    case "args":
      if (u.kind !== "tracepoint" && u.btfSig === undefined) {
        c.err(e.span, argsError(u.kind));
        return { k: "args" };
      }
      // Used whole: a record of its fields (`args.f` goes to argsBase).
      return onDemand("args").argsRecord(c, e);
    case "kstack":
    case "stack":
      return stackType("kstack", STACK_DEPTH, c.opts.stackMode);
    case "ustack":
      return stackType("ustack", STACK_DEPTH, c.opts.stackMode);
    case "ctx":
      return { k: "int", size: 8, signed: false, ptr: "kernel" };
    case "ppid": {
      // bpftrace 0.26's standard library: curtask->real_parent->pid.
      const t = c.expr(ppidExpr(e));
      return t.k === "int" ? { k: "int", size: 4, signed: false } : U32;
    }
    case "ncpus":
      ncpus();
      return U64;
    case "usermode":
      if (
        u.ctx.kind !== "none" && u.ctx.kind !== "pt_regs" &&
        u.ctx.kind !== "perf_event" && u.kind !== "fentry" &&
        u.kind !== "fexit"
      ) {
        c.err(
          e.span,
          "The usermode builtin can only be used with kprobes, uprobes, perf events, begin and end",
        );
      }
      return { k: "int", size: 1, signed: false };
    default:
      c.err(e.span, `The ${name} builtin is not supported`);
      return U64;
  }
}

/**
 * Why `args` cannot be used in a probe of kind `kind`: not a probe type
 * with arguments, or a raw tracepoint without the kernel's BTF.
 */
export function argsError(kind: string): string {
  return kind === "rawtracepoint"
    ? "The args of a rawtracepoint need the kernel's BTF: use arg0, arg1, …"
    : "The args builtin can only be used with tracepoints, rawtracepoints, fentry and fexit";
}

/**
 * A stack value. In BEGIN and END (as in bpftrace) it is the stack of
 * whatever runs the program: the test run in the kernel, none in the
 * interpreter.
 */
export function stackType(
  kind: "kstack" | "ustack",
  depth = STACK_DEPTH,
  mode?: "perf" | "raw",
): SType {
  return mode === undefined ? { k: kind, depth } : { k: kind, depth, mode };
}

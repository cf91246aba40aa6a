/**
 * Function call checks: the type of every function call (`printf`, `str`,
 * `hist`, …), the arguments each accepts and the errors for the rest.
 * Builtin variables are checked in `sema_builtins.ts`; the argument checks
 * the calls share are in `sema_call_args.ts`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { didYouMean } from "../lang/suggest.ts";
import { callStyleBuiltin } from "../lang/call_builtins.ts";
import { FUNCTIONS } from "./known_names.ts";

import { checkArg, parseFormat } from "./printf_format.ts";
import {
  BOOL,
  NONE,
  S64,
  STRING_SIZE,
  type SType,
  typeName,
  U64,
} from "./types.ts";
import { kernelAddress, PT_REGS, signalNumber } from "./call_constants.ts";
import type { SemaScope } from "./sema_scope.ts";
import { assertCode, strlenOf } from "./sugar.ts";
import type { ProgramOption } from "./getopt.ts";
import { ON_DEMAND_FUNCS, onDemand } from "./on_demand.ts";
import { addressBytes, cgroupId } from "./host_facts.ts";
import { STACK_DEPTH, stackType } from "./sema_builtins.ts";
import {
  argc,
  elementArg,
  intArg,
  litArg,
  mapArg,
  strConstant,
  strLitArg,
} from "./sema_call_args.ts";

/**
 * `uaddr("sym")`: the address of a symbol of the probe's binary, as a
 * user pointer to an integer of the symbol's size (1, 2 or 4 bytes,
 * else 8). Non-PIE binaries use the symbol's address; for PIE binaries
 * and shared libraries (loaded anywhere) a uprobe adds the load offset
 * it sees at run time (`ip` minus the probed address). A uretprobe
 * cannot see it (`ip` is the return address): PIE there is an error.
 */
function checkUaddr(c: SemaScope, e: ast.CallExpr, name: string): SType {
  const u = c.u;
  if (u.kind !== "uprobe" && u.kind !== "uretprobe") {
    c.err(e.span, "uaddr() can only be used with uprobes and uretprobes");
    return U64;
  }
  const targets = new Set(u.attach.map((a) => a.target));
  if (targets.size > 1) {
    c.err(
      e.span,
      "uaddr() needs all attach points of the probe in one binary",
    );
    return U64;
  }
  const ap = u.attach[0];
  const bin = u.binary ?? { error: "not read" };
  if ("error" in bin) {
    c.err(e.span, `uaddr(): cannot read "${ap.target}": ${bin.error}`);
    return U64;
  }
  const { info, probeAddr } = bin;
  const sym = info.symbols.find((x) =>
    x.name === name && x.section !== 0 && x.value !== 0n
  );
  if (sym === undefined) {
    c.err(
      e.args[0].span,
      `Could not resolve symbol: ${info.path}:${name}`,
    );
    return U64;
  }
  const pie = info.type !== 2;
  if (pie && u.kind === "uretprobe") {
    c.err(
      e.span,
      `uaddr() in a uretprobe needs a non-PIE binary ("${info.path}" is PIE or a shared library)`,
    );
  } else if (pie && u.attach.length > 1) {
    c.err(
      e.span,
      `uaddr() of a PIE binary needs a probe with one attach point`,
    );
  }
  (u.uaddrs ??= new Map()).set(
    e,
    pie ? { value: sym.value, relativeTo: probeAddr } : { value: sym.value },
  );
  const size = sym.size === 1 || sym.size === 2 || sym.size === 4
    ? sym.size
    : 8;
  return {
    k: "int",
    size: 8,
    signed: false,
    ptr: "user",
    deref: { k: "int", size, signed: true },
  };
}

/**
 * `getopt("name"[, default[, "description"]])`: a named parameter, typed
 * by its default (none: a boolean), its value this run's (`-- --name=v`)
 * or the default. A value of the wrong type keeps the default here; the
 * command line check (`checkNamed()`) refuses it before anything runs.
 */
function checkGetopt(c: SemaScope, e: ast.CallExpr): SType {
  if (!argc(c, e, 1, 3)) return U64;
  const name = strLitArg(c, e, 0);
  let option: ProgramOption | undefined;
  const d = e.args[1];
  if (d === undefined) {
    option = { name: name ?? "", description: "", type: "bool", default: 0n };
  } else {
    c.expr(d);
    const n = c.constInt(d);
    if (d.kind === "bool") {
      option = {
        name: name ?? "",
        description: "",
        type: "bool",
        default: d.value ? 1n : 0n,
      };
    } else if (d.kind === "str") {
      option = {
        name: name ?? "",
        description: "",
        type: "string",
        default: d.value,
      };
    } else if (n !== undefined) {
      option = {
        name: name ?? "",
        description: "",
        type: n < 0n ? "int" : "uint",
        default: n,
      };
    } else {
      c.err(
        d.span,
        "getopt() expects a literal default value (integer, string, true or false)",
      );
    }
  }
  if (e.args.length === 3 && option !== undefined) {
    option.description = strLitArg(c, e, 2) ?? "";
  }
  if (name === undefined || option === undefined) return U64;
  const given = c.opts.named;
  let value = option.default;
  if (given?.has(name)) {
    const v = onDemand("getopt").optionValue(option, given.get(name));
    if (typeof v !== "object") value = v;
  }
  (c.u.getopts ??= new Map()).set(e, { option, value, at: e.span.start });
  switch (option.type) {
    case "string":
      return {
        k: "str",
        size: Math.min(String(value).length + 1, STRING_SIZE),
      };
    case "int":
      return S64;
    case "bool":
      return BOOL;
    default:
      return U64;
  }
}

/**
 * Checks a `printf`-style call: a literal format whose conversions match
 * the arguments' types.
 */
function checkFormat(c: SemaScope, e: ast.CallExpr): void {
  if (e.args.length === 0) {
    c.err(e.span, `${e.name}() takes at least 1 argument (0 given)`);
    return;
  }
  const f = e.args[0];
  const ts = e.args.slice(1).map((a) => c.expr(a));
  // A format is no string value: as long as written (bpftrace too).
  if (f.kind !== "str") c.expr(f);
  if (f.kind !== "str") {
    c.err(f.span, `${e.name}() expects a string literal format`);
    return;
  }
  const specs = parseFormat(f.value);
  if (typeof specs === "string") {
    c.err(f.span, `${e.name}: ${specs}`);
    return;
  }
  if (specs.length > ts.length) {
    c.err(
      e.span,
      `${e.name}: Not enough arguments for format string (${ts.length} supplied, ${specs.length} expected)`,
    );
    return;
  }
  if (specs.length < ts.length) {
    c.err(
      e.span,
      `${e.name}: Too many arguments for format string (${ts.length} supplied, ${specs.length} expected)`,
    );
    return;
  }
  for (let i = 0; i < specs.length; i++) {
    const msg = checkArg(e.name, specs[i], ts[i]);
    if (msg !== undefined) c.err(e.args[i + 1].span, msg);
  }
}

/**
 * The type of a function call (`printf`, `str`, `hist`, …), checking its
 * arguments; `stmt`: whether the call is a statement of its own.
 */
export function checkCall(c: SemaScope, e: ast.CallExpr, stmt: boolean): SType {
  const name = e.name;
  const needStmt = (): void => {
    if (!stmt) c.err(e.span, `${name}() cannot be used as a value`);
  };
  switch (name) {
    case "count":
      argc(c, e, 0);
      return { k: "agg" };
    case "sum":
    case "avg":
    case "min":
    case "max":
    case "stats":
      if (argc(c, e, 1)) intArg(c, e, 0);
      return { k: "agg" };
    case "hist":
      // hist(n[, k]): 2^k buckets per power of 2, 0 <= k <= 5 (0.26).
      if (argc(c, e, 1, 2)) {
        intArg(c, e, 0);
        if (e.args.length === 2) {
          const k = litArg(c, e, 1);
          if (k !== undefined && (k < 0n || k > 5n)) {
            c.err(e.args[1].span, "hist() k must be between 0 and 5");
          }
        }
      }
      return { k: "agg" };
    case "tseries":
      // tseries(n, interval_ns, num_intervals[, "avg"|"max"|"min"|"sum"]).
      if (argc(c, e, 3, 4)) {
        intArg(c, e, 0);
        const iv = litArg(c, e, 1);
        const num = litArg(c, e, 2);
        if (iv !== undefined && iv < 1n) {
          c.err(e.args[1].span, "tseries() interval must be >= 1");
        }
        if (num !== undefined && (num < 1n || num > 1000000n)) {
          c.err(
            e.args[2].span,
            "tseries() num_intervals must be between 1 and 1000000",
          );
        }
        if (e.args.length === 4) {
          const f = strLitArg(c, e, 3);
          if (f !== undefined && !["avg", "max", "min", "sum"].includes(f)) {
            c.err(
              e.args[3].span,
              `tseries() aggregation must be "avg", "max", "min" or "sum", got "${f}"`,
            );
          }
        }
      }
      return { k: "agg" };
    case "lhist":
      if (argc(c, e, 4)) {
        intArg(c, e, 0);
        const lo = litArg(c, e, 1);
        const hi = litArg(c, e, 2);
        const step = litArg(c, e, 3);
        if (lo !== undefined && hi !== undefined && step !== undefined) {
          if (step <= 0n) {
            c.err(e.args[3].span, "lhist() step must be >= 1");
          } else if (hi <= lo) {
            c.err(e.args[2].span, "lhist() max must be greater than min");
          } else if ((hi - lo) / step > 1000n) {
            c.err(e.span, "lhist() has too many buckets (over 1000)");
          }
        }
      }
      return { k: "agg" };
    case "printf":
      needStmt();
      checkFormat(c, e);
      return NONE;
    case "system":
    case "cat":
      needStmt();
      // bpftrace 0.17 needs --unsafe for system() only (oomkill.bt
      // calls cat() without it).
      if (name === "system" && !c.opts.unsafe) {
        c.err(e.span, `${name}() is an unsafe function: use --unsafe`);
      }
      checkFormat(c, e);
      return NONE;
    case "signal":
    case "signal_thread": {
      needStmt();
      if (!c.opts.unsafe) {
        c.err(e.span, `${name}() is an unsafe function: use --unsafe`);
      }
      if (!argc(c, e, 1)) return NONE;
      const a = e.args[0];
      if (a.kind === "str") {
        c.expr(a);
        if (signalNumber(a.value) === undefined) {
          c.err(a.span, `Unknown signal "${a.value}"`);
        }
      } else intArg(c, e, 0);
      return NONE;
    }
    case "exit":
      needStmt();
      // exit([code]): the code is the process's exit status (0.26).
      if (argc(c, e, 0, 1) && e.args.length === 1) intArg(c, e, 0);
      return NONE;
    case "assert": {
      needStmt();
      if (!argc(c, e, 2)) return NONE;
      c.expr(e.args[0]);
      const m = c.expr(e.args[1]);
      if (m.k !== "str") {
        c.err(e.args[1].span, "assert() expects a string message");
      }
      c.expr(assertCode(e));
      return NONE;
    }
    case "errorf":
    case "warnf":
      needStmt();
      checkFormat(c, e);
      return NONE;
    case "getopt":
      return checkGetopt(c, e);
    case "len": {
      // len(kstack|ustack): frames; len(@map): its elements (0.26).
      if (e.args.length !== 1) {
        // 0.26's len() is a macro of one argument (base.bt), and a call
        // matching none is reported with these words.
        c.err(
          e.span,
          `Call to len() has arguments that do not match any definition. Expected: 1 but got ${e.args.length}`,
        );
        for (const a of e.args) {
          if (a.kind !== "map" || a.keys.length > 0) c.expr(a);
        }
        return S64;
      }
      const a = e.args[0];
      if (a.kind === "map" && a.keys.length === 0) {
        const m = mapArg(c, e, 0, false);
        if (m?.kind !== undefined && m.nkeys === 0) {
          c.err(
            e.span,
            "call to len() expects a map with explicit keys (non-scalar map)",
          );
        }
        return S64;
      }
      const t = c.expr(a);
      if (t.k !== "kstack" && t.k !== "ustack") {
        c.err(
          a.span,
          `call to len() expects a map, ustack, or kstack, got ${typeName(t)}`,
        );
      } else if (a.kind !== "builtin" && a.kind !== "call") {
        c.err(
          a.span,
          "len() counts the frames of kstack or ustack where it is called: pass the builtin, not a stored stack",
        );
      }
      return S64;
    }
    case "has_key": {
      if (!argc(c, e, 2)) return U64;
      elementArg(c, e);
      return BOOL;
    }
    case "is_str":
    case "is_ptr":
    case "is_array":
    case "is_integer":
    case "is_unsigned_integer":
    case "is_literal": {
      // 0.26's meta.bt: the argument's type (or form), known at compile
      // time; the argument is not evaluated.
      if (!argc(c, e, 1)) return BOOL;
      const a = e.args[0];
      const t = a.kind === "map" && a.keys.length === 0
        ? (c.mapKeys(a)?.value ?? NONE)
        : c.expr(a);
      (c.u.consts ??= new Map()).set(e, typeIs(name, a, t) ? 1n : 0n);
      return BOOL;
    }
    case "kptr":
    case "uptr": {
      // stdlib.md: marks the pointer's address space, type unchanged.
      if (!argc(c, e, 1)) return U64;
      const t = c.expr(e.args[0]);
      if (t.k !== "int") {
        c.err(
          e.args[0].span,
          `${name}() only supports integer or pointer arguments (${
            t.k === "str" ? "string" : typeName(t)
          } provided)`,
        );
        return U64;
      }
      return { ...t, ptr: name === "kptr" ? "kernel" : "user" };
    }
    case "strlen": {
      // stdlib.md: the bytes before the NUL of a string, or of the string
      // a `char *` points at (read as str() reads it).
      if (!argc(c, e, 1)) return U64;
      const t = c.expr(e.args[0]);
      if (t.k === "int" && (t.deref !== undefined || t.ptr !== undefined)) {
        c.expr(strlenOf(e, true));
      } else if (t.k !== "str") {
        c.err(
          e.args[0].span,
          `strlen() expects a string or a pointer to one, got ${typeName(t)}`,
        );
      }
      return U64;
    }
    case "cgroupid": {
      // stdlib.md: a compile-time constant, the cgroup's id.
      if (!argc(c, e, 1)) return U64;
      const path = strLitArg(c, e, 0);
      if (path === undefined) return U64;
      try {
        (c.u.consts ??= new Map()).set(e, cgroupId(path));
      } catch (err) {
        c.err(e.span, (err as Error).message);
      }
      return U64;
    }
    case "is_err": {
      if (!argc(c, e, 1)) return BOOL;
      const t = c.expr(e.args[0]);
      if (t.k !== "int") {
        c.err(
          e.args[0].span,
          `is_err() expects a pointer, got ${typeName(t)}`,
        );
      }
      return BOOL;
    }
    case "fail":
      // A compile error where codegen reaches it (stdlib.md).
      needStmt();
      checkFormat(c, e);
      return NONE;
    case "static_assert": {
      // 0.26's meta.bt: fail(msg) when the condition is false at compile
      // time (codegen folds it; a branch never emitted is not checked).
      needStmt();
      if (!argc(c, e, 2)) return NONE;
      c.expr(e.args[0]);
      strLitArg(c, e, 1);
      return NONE;
    }
    case "strcontains":
    case "strstr": {
      // strstr(): the index of the needle in the haystack, -1 if it is
      // not there (stdlib.md); strcontains() whether it is.
      const out = name === "strstr" ? S64 : BOOL;
      if (!argc(c, e, 2)) return out;
      const hay = c.expr(e.args[0]);
      const needle = c.expr(e.args[1]);
      if (hay.k !== "str" || needle.k !== "str") {
        c.err(e.span, `${name}() expects two strings`);
      } else if (strConstant(c, e.args[1]) === undefined) {
        // A needle known at run time: loops the verifier walks through.
        const why = onDemand("strstr").needleCost(hay.size, needle.size);
        if (why !== undefined) c.err(e.span, `${name}() ${why}`);
      }
      return out;
    }
    case "print": {
      needStmt();
      if (!argc(c, e, 1, 3)) return NONE;
      const a = e.args[0];
      if (a.kind === "map" && a.keys.length === 0) {
        mapArg(c, e, 0, false);
        for (let i = 1; i < e.args.length; i++) litArg(c, e, i);
        return NONE;
      }
      if (e.args.length > 1) {
        c.err(e.span, "print() takes 1 argument for a non-map value");
      }
      const t = c.expr(a);
      if (
        t.k === "none" || t.k === "args" || t.k === "agg" ||
        (a.kind === "call" && t.k === "array")
      ) {
        c.err(
          a.span,
          `print() cannot print a value of type ${typeName(t)}`,
        );
      }
      return NONE;
    }
    case "clear":
    case "zero":
      needStmt();
      if (argc(c, e, 1)) mapArg(c, e, 0, false);
      return NONE;
    case "delete": {
      // 0.26: true when the element was there (stdlib.md, delete).
      const result = stmt ? NONE : BOOL;
      if (!argc(c, e, 1, 2)) return result;
      if (e.args.length === 2) {
        elementArg(c, e);
        return result;
      }
      const a = e.args[0];
      if (a.kind !== "map") {
        c.err(a.span, "delete() expects a map element");
        return result;
      }
      const m = c.mapKeys(a);
      c.u.types.set(a, NONE);
      if (m !== undefined && m.kind === undefined && c.diag) {
        c.err(a.span, `Undefined map: ${m.name}${c.mapHint(m.name)}`);
      }
      return result;
    }
    case "time":
      needStmt();
      if (argc(c, e, 0, 1) && e.args.length === 1) strLitArg(c, e, 0);
      return NONE;
    case "str": {
      const max = c.opts.maxStrlen ?? STRING_SIZE;
      if (!argc(c, e, 1, 2)) return { k: "str", size: max };
      const t = c.expr(e.args[0]);
      let size = max;
      if (e.args.length === 2) {
        const lt = c.expr(e.args[1]);
        const n = c.constInt(e.args[1]);
        if (n !== undefined) {
          if (n < 1n) c.err(e.args[1].span, "str() length must be >= 1");
          else size = Math.min(Number(n) + 1, max);
        } else if (lt.k !== "int" || t.k !== "int") {
          c.err(
            e.args[1].span,
            "str() expects an integer length (a literal for a string)",
          );
        }
      }
      const a = e.args[0];
      if (a.kind === "positional") {
        // str($N): the parameter's text, "" when not given (bpftrace).
        const text = c.param(a) ?? "";
        return { k: "str", size: Math.min(size, text.length + 1) };
      }
      if (t.k === "str") return { k: "str", size: Math.min(size, t.size) };
      if (t.k !== "int") {
        c.err(
          e.args[0].span,
          `str() expects an integer or a string, got ${typeName(t)}`,
        );
      }
      return { k: "str", size };
    }
    case "buf": {
      if (!argc(c, e, 2)) return { k: "buf", size: 1 };
      if (c.expr(e.args[0]).k === "str") {
        // buf(string, n) (0.17's runtime tests, 0.26): the string's
        // first n bytes, zero-padded.
        const n = litArg(c, e, 1);
        if (n === undefined) return { k: "buf", size: 1 };
        if (n < 1n || n > 255n) {
          c.err(e.args[1].span, "buf() length must be between 1 and 255");
          return { k: "buf", size: 1 };
        }
        return { k: "buf", size: Number(n) + 1 };
      }
      intArg(c, e, 0);
      const n = c.constInt(e.args[1]);
      if (n === undefined) {
        // A length known only at run time: up to a string's size
        // (max_strlen).
        intArg(c, e, 1);
        return { k: "buf", size: (c.opts.maxStrlen ?? STRING_SIZE) + 1 };
      }
      c.expr(e.args[1]);
      if (n < 1n || n > 255n) {
        c.err(e.args[1].span, "buf() length must be between 1 and 255");
        return { k: "buf", size: 1 };
      }
      return { k: "buf", size: Number(n) + 1 };
    }
    case "ksym":
      if (argc(c, e, 1)) intArg(c, e, 0);
      return { k: "ksym" };
    case "strerror":
    case "signal_name":
    case "syscall_name": {
      // Named in user space (bpftrace 0.26 names them in the kernel):
      // printable everywhere, not comparable as strings in a probe.
      if (argc(c, e, 1)) intArg(c, e, 0);
      const table = name === "strerror"
        ? "errno"
        : name === "signal_name"
        ? "signal"
        : "syscall";
      return { k: "intname", table };
    }
    case "usym":
      if (argc(c, e, 1)) intArg(c, e, 0);
      return { k: "usym" };
    case "kstack":
    case "ustack": {
      if (!argc(c, e, 0, 2)) return { k: name, depth: STACK_DEPTH };
      // kstack([mode,] [depth]): mode is the bare word bpftrace, perf or
      // raw; without it, the config's stack_mode.
      let mode = c.opts.stackMode;
      let at = 0;
      const first = e.args[0];
      if (first?.kind === "ident") {
        c.u.types.set(first, NONE);
        if (first.name === "perf" || first.name === "raw") mode = first.name;
        else if (first.name === "bpftrace") mode = undefined;
        else if (first.name === "build_id") {
          c.err(first.span, `${name}(build_id) is not supported by tsbpf`);
        } else {
          c.err(
            first.span,
            `${name}() mode must be bpftrace, perf or raw, not "${first.name}"`,
          );
        }
        at = 1;
      }
      let depth = STACK_DEPTH;
      if (e.args.length === 2 && at === 0) {
        c.err(
          e.args[0].span,
          `${name}() with 2 arguments expects a mode (bpftrace, perf or raw) first`,
        );
        c.expr(e.args[0]);
        at = 1;
      }
      if (e.args.length > at) {
        const n = litArg(c, e, at);
        if (n !== undefined) {
          if (n < 1n || n > 127n) {
            c.err(
              e.args[at].span,
              `${name}() depth must be between 1 and 127`,
            );
          } else depth = Number(n);
        }
      }
      return stackType(name, depth, mode);
    }
    case "bswap": {
      // bpftrace 0.17: the bytes of an integer reversed, at its size.
      if (!argc(c, e, 1)) return U64;
      const t = intArg(c, e, 0);
      if (t.k !== "int") return U64;
      // A variable swaps at the size it was declared with ($p = u16).
      const arg = e.args[0];
      const d = arg.kind === "var" ? c.declared.get(arg.name) : undefined;
      const size = d?.k === "int" ? d.size : t.size;
      // Unsigned, as bpftrace 0.17 and 0.26 (docs/stdlib.md) return it.
      return { k: "int", size, signed: false };
    }
    case "ntop": {
      if (!argc(c, e, 1, 2)) return { k: "inet", size: 24 };
      const last = e.args.length - 1;
      for (let i = 0; i < last; i++) intArg(c, e, i);
      // An address member of a kernel struct (`u8[16]`, read as bytes).
      const a = e.args[last];
      if (a.kind === "call" && a.name === "pton") {
        c.expr(a);
        return { k: "inet", size: 24 };
      }
      if (a.kind === "field" || a.kind === "index") {
        const t = c.expr(a);
        if (
          (t.k === "str" || t.k === "array") &&
          c.u.members?.has(a) !== false &&
          (t.size === 4 || t.size === 16)
        ) {
          return { k: "inet", size: 24 };
        }
        // A tracepoint's address array (`__u8 saddr[4]`, `saddr_v6[16]`).
        if (t.k === "intarray" && (t.size === 4 || t.size === 16)) {
          return { k: "inet", size: 24 };
        }
        if (t.k !== "int") {
          c.err(
            a.span,
            `ntop() expects an integer or a 4- or 16-byte address, got ${
              typeName(t)
            }`,
          );
        }
        return { k: "inet", size: 24 };
      }
      intArg(c, e, last);
      return { k: "inet", size: 24 };
    }
    case "pton": {
      // Compile time (0.26): the address's bytes, 4 or 16 of them.
      const u8: SType = { k: "int", size: 1, signed: false };
      if (!argc(c, e, 1)) return { k: "array", elem: u8, count: 4, size: 4 };
      const text = strLitArg(c, e, 0);
      const bytes = text === undefined ? undefined : addressBytes(text);
      if (text !== undefined && bytes === undefined) {
        c.err(
          e.args[0].span,
          `pton() expects an IPv4 or IPv6 address, got "${text}"`,
        );
      }
      const n = bytes?.length ?? 4;
      return { k: "array", elem: u8, count: n, size: n };
    }
    case "strftime": {
      if (!argc(c, e, 2)) return { k: "timestamp" };
      const format = strLitArg(c, e, 0);
      const t = intArg(c, e, 1);
      // bpftrace 0.26 (type_checker.cpp): a monotonic time is no date; a
      // TAI time is one already, which the boot time is not added to.
      const clock = t.k === "int" ? t.clock : undefined;
      if (clock === "monotonic") {
        c.err(e.span, "strftime() can not take a monotonic timestamp");
      }
      if (format === undefined) return { k: "timestamp" };
      return clock === "tai"
        ? { k: "timestamp", format, epoch: true }
        : { k: "timestamp", format };
    }
    case "emit": {
      needStmt();
      if (!argc(c, e, 3, Infinity)) return NONE;
      const [ev, names] = e.args;
      if (ev.kind !== "str" || names.kind !== "str") {
        c.err(e.span, "emit() expects an event name and field names");
        return NONE;
      }
      const fields = names.value.split(",");
      if (fields.length !== e.args.length - 2) {
        c.err(
          e.span,
          `emit(): ${fields.length} field names for ${
            e.args.length - 2
          } values`,
        );
      }
      c.u.types.set(ev, NONE);
      c.u.types.set(names, NONE);
      for (const a of e.args.slice(2)) {
        const t = c.expr(a);
        if (t.k === "none" || t.k === "args" || t.k === "agg") {
          c.err(
            a.span,
            `emit() cannot send a value of type ${typeName(t)}`,
          );
        }
      }
      return NONE;
    }
    case "join": {
      needStmt();
      if (!argc(c, e, 1, 2)) return NONE;
      intArg(c, e, 0);
      if (e.args.length === 2) strLitArg(c, e, 1);
      return NONE;
    }
    case "reg": {
      if (!argc(c, e, 1)) return U64;
      const r = strLitArg(c, e, 0);
      if (
        c.u.ctx.kind !== "pt_regs" && c.u.ctx.kind !== "perf_event"
      ) {
        c.err(
          e.span,
          "reg() can only be used with kprobes, uprobes and perf events",
        );
      } else if (r !== undefined && PT_REGS[r] === undefined) {
        c.err(e.args[0].span, `Unknown register "${r}"`);
      }
      const k = c.u.kind;
      return k === "uprobe" || k === "uretprobe"
        ? { ...U64, ptr: "user" }
        : k === "kprobe" || k === "kretprobe"
        ? { ...U64, ptr: "kernel" }
        : U64;
    }
    case "kaddr": {
      if (!argc(c, e, 1)) return U64;
      const name = strLitArg(c, e, 0);
      if (name !== undefined && kernelAddress(name) === undefined) {
        c.err(e.span, `Failed to resolve kernel symbol: ${name}`);
      }
      return { k: "int", size: 8, signed: false, ptr: "kernel" };
    }
    case "uaddr": {
      if (!argc(c, e, 1)) return U64;
      const name = strLitArg(c, e, 0);
      if (name === undefined) return U64;
      return checkUaddr(c, e, name);
    }
    case "strncmp": {
      if (!argc(c, e, 3)) return U64;
      const a = c.expr(e.args[0]);
      const b = c.expr(e.args[1]);
      if (a.k !== "str" || b.k !== "str") {
        c.err(e.span, "strncmp() expects two strings");
      }
      litArg(c, e, 2);
      return U64;
    }
    default: {
      if (ON_DEMAND_FUNCS.has(name)) {
        return onDemand("funcs").checkFuncCall(c, e, name, stmt)!;
      }
      // A builtin given arguments it does not take (parse_expr.ts).
      const b = callStyleBuiltin(name, e.args, e.span);
      if (b !== undefined && "error" in b) {
        c.err(b.span, b.error);
        return U64;
      }
      c.err(
        e.span,
        `Unknown function: "${name}"${didYouMean(name, FUNCTIONS)}`,
      );
      for (const a of e.args) c.expr(a);
      return S64;
    }
  }
}

/** What `is_str()`, `is_ptr()`, ... say of an argument `a` of type `t`. */
function typeIs(name: string, a: ast.Expr, t: SType): boolean {
  const ptr = t.k === "int" &&
    (t.deref !== undefined || t.rec !== undefined || t.pointee !== undefined);
  switch (name) {
    case "is_str":
      return t.k === "str";
    case "is_ptr":
      return ptr;
    case "is_array":
      return t.k === "array" || t.k === "intarray";
    case "is_integer":
      return t.k === "int" && !ptr && !t.bool;
    case "is_unsigned_integer":
      return t.k === "int" && !ptr && !t.bool && !t.signed;
    default: // is_literal: 1, -1, true, "hello"
      return a.kind === "int" || a.kind === "bool" || a.kind === "str" ||
        (a.kind === "unary" && a.op === "-" && a.expr.kind === "int");
  }
}

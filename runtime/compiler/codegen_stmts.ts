/**
 * Statements: blocks, `if`, `while`, `unroll`, `break`/`continue`,
 * `return`, `let`, assignments to variables and maps, and expressions used
 * as statements (`printf`, `exit`, `delete`, `assert`, … and `++`). `for`
 * loops are in `codegen_loops.ts` (loaded on demand). The statements reach the probe compiler
 * through the `Emitter` interface (`emitter.ts`).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import { MAX_PROGRAM_INSNS } from "./bounds.ts";
import { signalNumber } from "./call_constants.ts";
import { pointerScale } from "./fold.ts";
import type { Ref } from "./regs.ts";
import { assertCode, keyedMap } from "./sugar.ts";
import { isScalar, sizeOf, stored, type SType } from "./types.ts";
import * as events from "./codegen_events.ts";
import { formatLiterals } from "./printf_format.ts";
import * as maps from "./codegen_maps.ts";
import * as scalars from "./codegen_scalars.ts";
import { onDemand } from "./on_demand.ts";
import {
  breaks,
  type Emitter,
  terminates,
  UnrollSizeError,
} from "./emitter.ts";

/** Whether `s` is an `assert()` whose condition is false as compiled. */
function failsAssert(cg: Emitter, s: ast.Stmt): boolean {
  return s.kind === "expr" && s.expr.kind === "call" &&
    s.expr.name === "assert" && cg.truth(s.expr.args[0]) === false;
}

/**
 * Emits the statements of a block, up to one that leaves it; `tail`:
 * nothing runs after this block but the program's exit.
 */
export function block(cg: Emitter, b: ast.Block, tail = false): void {
  const n = b.stmts.length;
  for (let i = 0; i < n; i++) {
    const s = b.stmts[i];
    const mark = cg.sp;
    stmt(cg, s, tail && i === n - 1);
    cg.sp = mark;
    if (terminates(s) || failsAssert(cg, s)) break;
    if (
      s.kind === "while" && !breaks(s.body) &&
      (cg.fold(s.cond) ?? 0n) !== 0n
    ) break;
  }
}

/** Emits one statement; `tail`: nothing but the exit runs after it. */
function stmt(cg: Emitter, s: ast.Stmt, tail = false): void {
  const b = cg.b;
  b.at(s.span);
  switch (s.kind) {
    case "block":
      block(cg, s, tail);
      return;
    case "expr":
      exprStmt(cg, s.expr, tail);
      return;
    case "assign":
      assign(cg, s);
      return;
    case "if": {
      const c = cg.truth(s.cond);
      if (c !== undefined) {
        cg.effects(s.cond);
        if (c) block(cg, s.then, tail);
        else if (s.else !== undefined) stmt(cg, s.else, tail);
        return;
      }
      const elseL = b.newLabel("else");
      cg.branch(s.cond, elseL, false);
      // With an else branch, falling off `then` must jump over it.
      cg.region(() => block(cg, s.then, tail && s.else === undefined));
      if (s.else !== undefined) {
        const end = b.newLabel("endif");
        if (!s.then.stmts.some(terminates)) b.ja(end);
        b.label(elseL);
        cg.region(() => stmt(cg, s.else!, tail));
        b.label(end);
      } else b.label(elseL);
      return;
    }
    case "unroll": {
      const n = Number(cg.fold(s.count) ?? 1n);
      // The first copy measures the body: the program must stay under
      // the kernel's limit once the rest are added (bounds.ts estimated
      // it from the tree; this is exact, before the expansion).
      const before = b.length;
      block(cg, s.body);
      if (b.length + (n - 1) * (b.length - before) > MAX_PROGRAM_INSNS) {
        throw new UnrollSizeError(s.span);
      }
      for (let i = 1; i < n; i++) block(cg, s.body);
      return;
    }
    case "while": {
      // No hidden iteration cap: the loop runs exactly as written, and
      // one the verifier cannot prove bounded is rejected (as the
      // kernel rejects bpftrace's).
      if (cg.truth(s.cond) === false) {
        cg.effects(s.cond);
        return;
      }
      const always = cg.fold(s.cond);
      if (always !== undefined && !breaks(s.body, true)) {
        cg.diag.error(
          s.span,
          "Infinite loop: the while condition is always true and the body has no break, return or exit()",
        );
        return;
      }
      const head = b.newLabel("while");
      const end = b.newLabel("wend");
      // A value read before the loop may be written by a later
      // iteration before it is read again; break and continue jump from
      // anywhere inside.
      cg.forgetValues();
      cg.region(() => {
        b.label(head);
        cg.branch(s.cond, end, false);
        cg.loops.push({ head, end });
        block(cg, s.body);
        cg.loops.pop();
        b.ja(head);
        b.label(end);
      });
      return;
    }
    case "break":
      b.ja(cg.loops[cg.loops.length - 1].end);
      return;
    case "continue":
      b.ja(cg.loops[cg.loops.length - 1].head);
      return;
    case "return":
      if (s.value !== undefined) {
        // `return EXPR;` (test and bench probes): the program's r0.
        const v = cg.scalar(s.value);
        b.movReg(0, cg.ra.reg(v));
        cg.ra.free(v);
        b.exit();
        return;
      }
      if (!tail) b.ja(cg.exit);
      return;
    case "let": {
      if (s.value !== undefined) {
        assign(cg, {
          kind: "assign",
          op: "=",
          target: s.target,
          value: s.value,
          span: s.span,
        });
        return;
      }
      // A declaration without a value: zero, each time it runs.
      const off = cg.vars.get(s.target.name);
      const t = cg.u.vars.get(s.target.name);
      if (off !== undefined && t !== undefined) {
        cg.zero({ base: R10, off }, 0, sizeOf(t));
      }
      return;
    }
    case "for":
      onDemand("loops").forStmt(cg, s);
      return;
  }
}

/** Emits the statements of a block expression (before its value). */
export function blockStmts(cg: Emitter, stmts: ast.Stmt[]): void {
  for (const s of stmts) {
    const mark = cg.sp;
    stmt(cg, s);
    cg.sp = mark;
  }
}

/** Emits an expression used as a statement (calls with effects, `++`). */
function exprStmt(cg: Emitter, e: ast.Expr, tail: boolean): void {
  if (e.kind === "call") {
    switch (e.name) {
      case "printf":
      case "system":
      case "cat":
        events.formatEvent(cg, e);
        return;
      case "emit": {
        const args = e.args.slice(2).map((a): [ast.Expr, SType] => [
          a,
          stored(cg.type(a)),
        ]);
        events.event(cg, {
          kind: "emit",
          event: (e.args[0] as ast.StrLit).value,
          fields: (e.args[1] as ast.StrLit).value.split(","),
          args: args.map(([, t]) => cg.t.desc(t)),
        }, args);
        return;
      }
      case "join":
        events.join(cg, e);
        return;
      case "exit":
        if (e.args.length === 1) {
          const t = stored(cg.type(e.args[0]));
          events.event(cg, {
            kind: "exit",
            args: [cg.t.desc(t)],
          }, [[e.args[0], t]]);
        } else events.event(cg, { kind: "exit" }, []);
        if (!tail) cg.b.ja(cg.exit);
        return;
      case "errorf":
      case "warnf":
        events.located(cg, e);
        return;
      case "fail": {
        // stdlib.md: a compile error where it is reached, its literal
        // arguments formatted as printf() does.
        const args = e.args.slice(1).map((a) => cg.fold(a) ?? cg.strConst(a));
        const bad = args.findIndex((a) => a === undefined);
        if (bad >= 0) {
          cg.diag.error(
            e.args[bad + 1].span,
            "fail() takes literal arguments only",
          );
          return;
        }
        const fmt = (e.args[0] as ast.StrLit).value;
        cg.diag.error(e.span, formatLiterals(fmt, args as (bigint | string)[]));
        return;
      }
      case "static_assert": {
        // 0.26's meta.bt: the build fails where a false one is reached.
        const v = cg.fold(e.args[0]);
        if (v === undefined) {
          cg.diag.error(
            e.args[0].span,
            "static_assert() needs a condition known at compile time",
          );
        } else if (v === 0n) {
          cg.diag.error(e.span, (e.args[1] as ast.StrLit).value);
        }
        return;
      }
      case "assert": {
        // bpftrace 0.26: if (!cond) { errorf("assert failed: %s", msg);
        // exit(1); }
        const known = cg.truth(e.args[0]);
        if (known === true) {
          cg.effects(e.args[0]);
          return;
        }
        const ok = cg.b.newLabel("asserted");
        if (known === undefined) cg.branch(e.args[0], ok, true);
        else cg.effects(e.args[0]);
        events.located(cg, e, "assert failed: %s");
        const code = assertCode(e);
        events.event(cg, {
          kind: "exit",
          args: [cg.t.desc(stored(cg.type(code)))],
        }, [[code, stored(cg.type(code))]]);
        if (known === undefined || !tail) cg.b.ja(cg.exit);
        if (known === undefined) cg.b.label(ok);
        return;
      }
      case "print":
        events.print(cg, e);
        return;
      case "clear":
      case "zero": {
        const a = e.args[0] as ast.MapExpr;
        events.event(cg, {
          kind: e.name,
          mapIndex: cg.t.userMap(`@${a.name}`),
        }, []);
        return;
      }
      case "time": {
        const f = e.args.length > 0 ? cg.strConst(e.args[0]) : undefined;
        events.event(cg, { kind: "time", format: f ?? "%H:%M:%S\n" }, []);
        return;
      }
      case "delete": {
        const m = (keyedMap(e) ?? e.args[0]) as ast.MapExpr;
        const idx = cg.t.userMap(`@${m.name}`);
        const key = maps.buildKey(cg, m, undefined);
        cg.call(
          Helper.map_delete_elem,
          [{ map: idx }, { fp: key }],
          false,
        );
        cg.written(m.name);
        return;
      }
      case "signal":
      case "signal_thread": {
        const a = e.args[0];
        const v = a.kind === "str"
          ? cg.ra.imm(signalNumber(a.value) ?? 0)
          : cg.scalar(a);
        const h = e.name === "signal"
          ? Helper.send_signal
          : Helper.send_signal_thread;
        cg.call(h, [v], false);
        return;
      }
      case "override": {
        // bpf_override_return(ctx, rc): kprobes only (sema_funcs.ts).
        const v = cg.scalar(e.args[0]);
        cg.call(Helper.override_return, [{ ctx: true }, v], false);
        return;
      }
    }
  }
  if (e.kind === "incdec") {
    scalars.incdec(cg, e, false);
    return;
  }
  const t = cg.type(e);
  if (isScalar(t)) cg.ra.free(cg.scalar(e));
  else if (e.kind === "builtin" && e.name === "args") return; // as bpftrace
  else if (t.k !== "none") cg.mem(e);
}

/** Emits an assignment to a variable or a map (aggregations included). */
function assign(cg: Emitter, s: ast.AssignStmt): void {
  const t = s.target;
  const v = s.value;
  if (v.kind === "call" && maps.isAgg(v.name) && t.kind === "map") {
    maps.aggregate(cg, t, v);
    return;
  }
  if (t.kind === "var") {
    const off = cg.vars.get(t.name)!;
    const vt = cg.u.vars.get(t.name)!;
    if (s.op === "=") {
      cg.into(v, { base: R10, off }, vt, true);
      return;
    }
    const op = s.op.slice(0, -1) as ast.BinaryOp;
    // `$p += n` on a pointer steps n elements, as `$p = $p + n`.
    const sc = pointerScale(op, vt, cg.type(v));
    let val = cg.scalar(v);
    if (sc?.side === "right") val = cg.times(val, sc.by);
    const x = cg.ra.newReg();
    cg.b.ldx(8, cg.ra.reg(x), R10, off);
    cg.aluOp(op, x, val, vt);
    cg.b.stx(8, R10, off, cg.ra.reg(x));
    cg.ra.free(x);
    return;
  }
  const info = cg.t.maps[cg.t.userMap(`@${t.name}`)];
  const vt = cg.type(t);
  if (s.op === "=") {
    let val: Ref | undefined;
    if (isScalar(vt)) val = cg.scalar(v);
    const key = maps.buildKey(cg, t, undefined);
    const vslot = cg.alloc(info.valueSize);
    if (val !== undefined) {
      cg.storeScalar({ base: R10, off: vslot }, val, 8);
      cg.ra.free(val);
    } else cg.into(v, { base: R10, off: vslot }, vt, true);
    const idx = cg.t.userMap(`@${t.name}`);
    cg.call(Helper.map_update_elem, [
      { map: idx },
      { fp: key },
      { fp: vslot },
      cg.ra.imm(0),
    ], false);
    maps.updateFailed(cg, idx);
    cg.written(t.name);
    return;
  }
  const op = s.op.slice(0, -1) as ast.BinaryOp;
  const sc = pointerScale(op, vt, cg.type(v));
  let delta = cg.scalar(v);
  if (sc?.side === "right") delta = cg.times(delta, sc.by);
  cg.mapRmw(t, op, delta, undefined);
}

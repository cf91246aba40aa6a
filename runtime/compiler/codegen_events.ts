/**
 * Event encoding: `printf`, `print`, `join`, `time`, `exit` and every
 * other record sent to user space through the `.events` ring buffer, and
 * the cold path that counts records the buffer had no room for.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import type { EventAction, TypeDesc } from "../program.ts";
import { stored, type SType } from "./types.ts";
import { parseFormat } from "./printf_format.ts";
import { type Emitter, JOIN_MAX, JOIN_STRLEN, readHelper } from "./emitter.ts";

/**
 * After a `ringbuf_reserve` call: when it failed (r0 == 0), jumps to a
 * cold block that adds 1 to `.lost` and then continues at `resume`. The
 * success path pays only the one conditional jump it always had.
 */
export function reserveFailed(cg: Emitter, resume: string): void {
  const b = cg.b;
  const cold = b.newLabel("lost");
  b.jmpImm("JEQ", 0, 0, cold);
  const map = cg.t.lostMap();
  const key = cg.alloc(8);
  cg.cold.push(() => {
    b.label(cold);
    b.st(4, R10, key, 0);
    b.ldMap(1, map);
    b.movReg(2, R10);
    b.alu64Imm("ADD", 2, key);
    b.call(Helper.map_lookup_elem);
    b.jmpImm("JEQ", 0, 0, resume);
    b.movImm(1, 1);
    b.atomic(8, "ADD", 0, 0, 1);
    b.ja(resume);
  });
}

/** Emits `print(@map[, top, div])` or `print(value)`. */
export function print(cg: Emitter, e: ast.CallExpr): void {
  const a = e.args[0];
  if (a.kind === "map" && a.keys.length === 0 && cg.type(a).k === "none") {
    const top = e.args[1] ? Number(cg.fold(e.args[1]) ?? 0n) : 0;
    const div = e.args[2] ? Number(cg.fold(e.args[2]) ?? 1n) : 1;
    event(cg, {
      kind: "print_map",
      mapIndex: cg.t.userMap(`@${a.name}`),
      top,
      div,
    }, []);
    return;
  }
  const t = stored(cg.type(a));
  event(cg, { kind: "print_value", type: cg.t.desc(t) }, [[a, t]]);
}

/**
 * join(argv [, sep]): reads up to JOIN_MAX pointers from `argv` and the
 * strings they point to into one record: a u64 count, then the strings.
 */
export function join(cg: Emitter, e: ast.CallExpr): void {
  const b = cg.b;
  const ra = cg.ra;
  const sep = e.args.length > 1 ? cg.strConst(e.args[1]) ?? " " : " ";
  const at = cg.type(e.args[0]);
  const str: SType = { k: "str", size: JOIN_STRLEN };
  const types: SType[] = [{ k: "int", size: 8, signed: false }];
  for (let i = 0; i < JOIN_MAX; i++) types.push(str);
  const { id, layout } = cg.t.format({
    kind: "join",
    separator: sep,
    args: types.map((t) => cg.t.desc(t)),
  }, types);
  const argv = cg.scalar(e.args[0]);
  const rec = cg.call(Helper.ringbuf_reserve, [
    { map: cg.t.events() },
    ra.imm(8 + layout.size),
    ra.imm(0),
  ], true)!;
  const skip = b.newLabel("nobuf");
  const done = b.newLabel("joined");
  reserveFailed(cg, skip);
  ra.pin(rec);
  b.st(8, ra.reg(rec), 0, id);
  b.st(8, ra.reg(rec), 8, 0);
  const slot = cg.alloc(8);
  const readPtr = readHelper(at, false);
  const readStr = readHelper(at, true);
  ra.pin(argv);
  for (let i = 0; i < JOIN_MAX; i++) {
    const p = ra.newReg();
    b.movReg(ra.reg(p), ra.reg(argv));
    if (i > 0) b.alu64Imm("ADD", ra.reg(p), 8 * i);
    cg.call(readPtr, [{ fp: slot }, ra.imm(8), p], false);
    const s = ra.newReg();
    b.ldx(8, ra.reg(s), R10, slot);
    b.jmpImm("JEQ", ra.reg(s), 0, done);
    cg.call(readStr, [
      { ptr: rec, off: 8 + layout.offsets[1 + i] },
      ra.imm(JOIN_STRLEN),
      s,
    ], false);
    const n = ra.newReg();
    b.movImm(ra.reg(n), i + 1);
    b.stx(8, ra.reg(rec), 8, ra.reg(n));
    ra.free(n);
  }
  b.label(done);
  argv.pinned = false;
  ra.free(argv);
  rec.pinned = false;
  cg.call(Helper.ringbuf_submit, [rec, ra.imm(0)], false);
  b.label(skip);
}

/**
 * Emits a `printf`, `system` or `cat` event: the format and the
 * arguments at their stored types.
 */
export function formatEvent(cg: Emitter, e: ast.CallExpr): void {
  const fmt = (e.args[0] as ast.StrLit).value;
  const args = e.args.slice(1).map((a): [ast.Expr, SType] => [
    a,
    stored(cg.type(a)),
  ]);
  const specs = parseFormat(fmt);
  const descs = args.map(([, t], i) =>
    formatArgDesc(
      cg.t.desc(t),
      typeof specs === "string" ? undefined : specs[i]?.conv,
    )
  );
  const kind = e.name as "printf" | "system" | "cat";
  event(cg, { kind, format: fmt, args: descs }, args);
}

/**
 * A format argument's TypeDesc: a pointer is a number there (`%p` and
 * `%x` print it in hex, `%d` in decimal), not the hex text print() shows;
 * an enum prints its name only with `%s`.
 */
function formatArgDesc(d: TypeDesc, conv: string | undefined): TypeDesc {
  if (d.kind !== "int" || d.show === undefined || d.show === "bool") return d;
  if (d.show === "enum" && conv === "s") return d;
  return { kind: "int", size: d.size, signed: d.signed };
}

/**
 * Emits `errorf()` / `warnf()`: a `printf` that user space prints on
 * stderr after the call's place in the source.
 */
export function located(
  cg: Emitter,
  e: ast.CallExpr,
  assertion?: string,
): void {
  // After the format (errorf), or the condition (assert): the same slice.
  const args = e.args.slice(1)
    .map((a): [ast.Expr, SType] => [a, stored(cg.type(a))]);
  const span = e.span;
  event(cg, {
    kind: assertion === undefined ? e.name as "errorf" | "warnf" : "errorf",
    format: assertion ?? (e.args[0] as ast.StrLit).value,
    args: args.map(([, t]) => cg.t.desc(t)),
    line: span.line,
    col: span.col,
    endCol: span.col + (span.end - span.start),
    ...(span.source !== undefined ? { file: span.source.name } : {}),
  }, args);
}

/** Reserves a record, writes id and args into it, submits it. */
export function event(
  cg: Emitter,
  action: EventAction,
  args: [ast.Expr, SType][],
): void {
  const { id, layout } = cg.t.format(action, args.map(([, t]) => t));
  const map = cg.t.events();
  const b = cg.b;
  const rec = cg.call(Helper.ringbuf_reserve, [
    { map },
    cg.ra.imm(8 + layout.size),
    cg.ra.imm(0),
  ], true)!;
  const skip = b.newLabel("nobuf");
  reserveFailed(cg, skip);
  cg.ra.pin(rec);
  const base = cg.ra.reg(rec);
  b.st(8, base, 0, id);
  // Only when the reservation succeeded.
  cg.region(() =>
    args.forEach(([a, t], i) => {
      cg.into(a, { base: rec, off: 8 + layout.offsets[i] }, t, false);
    })
  );
  rec.pinned = false;
  cg.call(Helper.ringbuf_submit, [rec, cg.ra.imm(0)], false);
  b.label(skip);
}

// ---- assignment ------------------------------------------------------

/**
 * A tracepoint's `args` as a whole value (`print(args)`, `@ = args`,
 * `@[args]`, `(1, args)`, `$a = args`): a record of the tracepoint's own
 * fields, the `common_*` header left out (bpftrace refuses to read those),
 * printed `{ .dfd = -100, .filename = 0x7ffd…, … }` as bpftrace 0.26
 * prints the `args` of the probes it lets print them.
 *
 * The record is built field by field: each field is read as `args.NAME`
 * reads it (a string for a `char` array or a `__data_loc` string, an
 * integer array as its values, a pointer as its address), into the
 * element of a named tuple, which maps, keys, tuples and `print()`
 * already carry.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { FieldLayout } from "../program.ts";
import { stored, type SType, tupleOf } from "./types.ts";

/**
 * What the record's builder uses of the analysis (`SemaScope` of
 * `sema_scope.ts`, which it satisfies; named here, as `sema_funcs.ts`
 * does, so that this module loaded on demand closes no import cycle).
 */
export interface ArgsScope {
  /** The unit being checked: its tracepoint's fields and attach point. */
  readonly u: {
    fields?: Map<string, FieldLayout>;
    argsReads?: Map<ast.Expr, ast.FieldExpr[]>;
    attach: { target: string }[];
    kind: string;
    btfSig?: { args: { name: string; ctype: string }[] };
  };
  /** Reports an error (on the final pass), once per expression. */
  err(span: ast.Span, msg: string): void;
  /** Checks an expression and records its type. */
  expr(e: ast.Expr): SType;
}

/** The BPF stack: what one value must fit to be built and copied. */
const STACK_LIMIT = 512;

/**
 * The value type of `args` used whole in a tracepoint: a named tuple of
 * its fields but the `common_*` ones. The reads that fill it are kept in
 * `c.u.argsReads` for the code generator; a record that cannot fit the
 * BPF stack is an error at `e`.
 *
 * @example Usage
 * ```ts ignore
 * const t = argsRecord(c, e); // record { int64 dfd, ... }
 * ```
 */
export function argsRecord(c: ArgsScope, e: ast.BuiltinExpr): SType {
  const u = c.u;
  // fentry/fexit and rawtracepoint: the arguments of the BTF prototype.
  const fields: { name: string; ctype: string }[] = u.btfSig?.args ??
    [...(u.fields?.values() ?? [])].filter((f) =>
      !f.name.startsWith("common_")
    );
  const what = u.btfSig === undefined
    ? "Tracepoint"
    : u.kind === "rawtracepoint"
    ? "Raw tracepoint"
    : "Function";
  let reads = u.argsReads?.get(e);
  if (reads === undefined) {
    reads = fields.map((f): ast.FieldExpr => ({
      kind: "field",
      expr: { kind: "builtin", name: "args", span: e.span },
      field: f.name,
      arrow: false,
      span: e.span,
    }));
    (u.argsReads ??= new Map()).set(e, reads);
  }
  const t = tupleOf(
    reads.map((r, i) => {
      const ft = stored(c.expr(r));
      // Any pointer prints as an address, `void *` too (0.26's records).
      return ft.k === "int" && fields[i].ctype.includes("*")
        ? { ...ft, hex: true as const }
        : ft;
    }),
    fields.map((f) => f.name),
  );
  if (fields.length === 0) {
    c.err(
      e.span,
      `${what} "${u.attach[0].target}" has no ${
        u.btfSig === undefined ? "fields of its own" : "arguments"
      } to make args of`,
    );
  } else if (t.size > STACK_LIMIT) {
    c.err(
      e.span,
      `The args of ${what.toLowerCase()} "${
        u.attach[0].target
      }" take ${t.size} bytes as a record, more than the BPF stack's ${STACK_LIMIT}: read its fields (args.${
        fields[0].name
      }) instead`,
    );
  }
  return t;
}

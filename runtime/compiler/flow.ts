/**
 * Small facts about statements and memory accesses that code generation
 * shares, in a module of its own that imports nothing of the compiler's:
 * modules loaded on demand (`codegen_loops.ts`) use them without reaching
 * `on_demand.ts` back. `emitter.ts` re-exports them.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Width } from "../bpf/builder.ts";

/**
 * The widest access of at most `rem` bytes aligned at `off`.
 *
 * @example Eight bytes at an aligned offset, then what is left
 * ```ts
 * import { chunk } from "./flow.ts";
 * console.assert(chunk(12, -16) === 8 && chunk(4, -8) === 4);
 * ```
 */
export function chunk(rem: number, off: number): Width {
  const a = off & 7;
  if (rem >= 8 && a === 0) return 8;
  if (rem >= 4 && (a & 3) === 0) return 4;
  if (rem >= 2 && (a & 1) === 0) return 2;
  return 1;
}

/**
 * Whether control never continues past this statement.
 *
 * @example A `return` ends a path
 * ```ts
 * import { terminates } from "./flow.ts";
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * console.assert(terminates({ kind: "return", span }));
 * ```
 */
export function terminates(s: ast.Stmt): boolean {
  switch (s.kind) {
    case "return":
    case "break":
    case "continue":
      return true;
    case "expr":
      return s.expr.kind === "call" && s.expr.name === "exit";
    case "block":
      return s.stmts.some(terminates);
    case "if":
      return s.else !== undefined && s.then.stmts.some(terminates) &&
        terminates(s.else);
    case "while":
      // `while (1)` without a `break`: nothing after it is reachable.
      return literalTrue(s.cond) && !breaks(s.body);
    default:
      return false;
  }
}

/**
 * Whether an expression is a nonzero literal (`1`, `true`).
 *
 * @example Usage
 * ```ts
 * import { literalTrue } from "./flow.ts";
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * console.assert(literalTrue({ kind: "bool", value: true, span }));
 * ```
 */
export function literalTrue(e: ast.Expr): boolean {
  return (e.kind === "int" && e.value !== 0n) ||
    (e.kind === "bool" && e.value);
}

/**
 * Whether a loop body contains a `break` of that loop (with `leaves`, also
 * a `return` or an `exit()` anywhere inside).
 *
 * @example An empty body never breaks
 * ```ts
 * import { breaks } from "./flow.ts";
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * console.assert(!breaks({ kind: "block", stmts: [], span }));
 * ```
 */
export function breaks(b: ast.Block, leaves = false): boolean {
  const inStmt = (s: ast.Stmt): boolean => {
    switch (s.kind) {
      case "break":
        return true;
      case "return":
        return leaves;
      case "expr":
        return leaves && s.expr.kind === "call" && s.expr.name === "exit";
      case "block":
        return breaks(s, leaves);
      case "if":
        return breaks(s.then, leaves) ||
          (s.else !== undefined && inStmt(s.else));
      case "unroll":
        return breaks(s.body, leaves);
      case "while":
        return leaves && breaks(s.body, true);
      default:
        return false;
    }
  };
  return b.stmts.some(inStmt);
}

/**
 * Checks of the 0.26 value types: `(bool)` casts, records
 * (`(a=1, b="x")`), string subscripts (`$s[0]`), integer-array casts
 * (`(uint8[4])$x`) and enum casts (`(enum tcp_state)$x`).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { BOOL, S64, type SType, typeName } from "./types.ts";
import type { SemaScope } from "./sema_scope.ts";

/**
 * `(bool)e`: an integer or pointer is true when not 0, a string when not
 * empty (as bpftrace 0.26).
 */
export function boolCast(c: SemaScope, e: ast.CastExpr, t: SType): SType {
  if (t.k !== "int" && t.k !== "str") {
    c.err(e.span, `Cannot cast from ${typeName(t)} to bool`);
  }
  return BOOL;
}

/** The value of `S64` for callers that report an error and go on. */
export const NOT_TYPED: SType = S64;

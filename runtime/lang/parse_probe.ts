/**
 * Probes: the header (attach points, scanned as raw text by
 * `attach_point.ts` since they are not made of ordinary tokens, then an
 * optional `/predicate/`) and the body.
 *
 * @module
 */

import type { AttachPointNode, Expr, Probe } from "./ast.ts";
import { buildAttachPoint, scanAttachPoint } from "./attach_point.ts";
import { describeToken } from "./lexer.ts";
import type { ParserState } from "./parse_state.ts";
import { parseExpr } from "./parse_expr.ts";
import { parseBlock } from "./parse_stmt.ts";

/** One attach point, scanned from the source at the current token. */
function parseAttachPoint(p: ParserState): AttachPointNode | undefined {
  const t = p.cur;
  p.buf = [];
  p.lx.rewind(t.span);
  p.lx.skipTrivia();
  const start = p.lx.pos;
  const line = p.lx.line;
  const lineStart = p.lx.lineStart;
  const raw = scanAttachPoint(
    p.lx.src,
    start,
    p.diag,
    p.params,
    line,
    lineStart,
  );
  if (raw.raw === "") {
    p.fail(t.span, `Expected an attach point, found ${describeToken(t)}`);
  }
  p.lx.advanceTo(raw.end);
  const span = p.lx.spanAt(start, raw.end, line, lineStart);
  p.prev = { type: "ident", text: raw.raw, span };
  return buildAttachPoint(raw, span, p.diag);
}

/** A probe: attach points, predicate, body (at its first attach point). */
export function parseProbe(p: ParserState): Probe | undefined {
  const start = p.cur.span;
  const aps: AttachPointNode[] = [];
  let ok = true;
  for (;;) {
    const ap = parseAttachPoint(p);
    if (ap) aps.push(ap);
    else ok = false;
    if (!p.at(",")) break;
    p.advance();
    if (p.at("{") || p.at("/")) {
      p.fail(
        p.cur.span,
        `Expected an attach point after ",", found ${describeToken(p.cur)}`,
      );
    }
  }
  let predicate: Expr | undefined;
  if (p.at("/")) {
    p.advance();
    p.inPredicate = true;
    try {
      predicate = parseExpr(p);
    } finally {
      p.inPredicate = false;
    }
    p.expect("/", "to end the predicate");
  }
  if (!p.at("{")) {
    const t = p.cur;
    p.fail(
      t.span,
      `Expected "{" or a predicate after the attach point, found ${
        describeToken(t)
      }`,
    );
  }
  const body = parseBlock(p);
  if (!ok || aps.length === 0) return undefined;
  return {
    kind: "probe",
    attachPoints: aps,
    ...(predicate ? { predicate } : {}),
    body,
    span: p.from(start),
  };
}

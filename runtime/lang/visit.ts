/**
 * Generic traversal of the syntax tree: the direct children of a node and
 * a pre-order walk, so passes that only care about a few node kinds (say,
 * collecting every map) need not switch over all of them.
 *
 * @module
 */

import type { Node } from "./ast.ts";

/**
 * The direct child nodes of `node`, in source order.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./parser.ts";
 * import { children } from "./visit.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("BEGIN { @x = 1 + 2; }");
 * const [assign] = ast.probes[0].body.stmts;
 * assert.deepEqual(children(assign).map((n) => n.kind), ["map", "binary"]);
 * ```
 *
 * @param node Any node.
 * @returns Its children (a new array).
 */
export function children(node: Node): Node[] {
  switch (node.kind) {
    case "program":
      return [
        ...node.includes,
        ...node.cDefinitions,
        ...(node.config ? [node.config] : []),
        ...node.probes,
      ];
    case "config":
      return [...node.entries];
    case "config_entry":
      return [node.value];
    case "probe":
      return [
        ...node.attachPoints,
        ...(node.predicate ? [node.predicate] : []),
        node.body,
      ];
    case "block":
      return [...node.stmts];
    case "expr":
      return [node.expr];
    case "assign":
      return [node.target, node.value];
    case "if":
      return node.else
        ? [node.cond, node.then, node.else]
        : [node.cond, node.then];
    case "unroll":
      return [node.count, node.body];
    case "while":
      return [node.cond, node.body];
    case "let":
      return [
        node.target,
        ...(node.type ? [node.type] : []),
        ...(node.value ? [node.value] : []),
      ];
    case "for":
      return node.map
        ? [node.target, node.map, node.body]
        : [node.target, node.from!, node.to!, node.body];
    case "map":
      return [...node.keys];
    case "call":
      return [...node.args];
    case "unary":
      return [node.expr];
    case "incdec":
      return [node.target];
    case "binary":
      return [node.left, node.right];
    case "ternary":
      return [node.cond, node.then, node.else];
    case "field":
    case "tuple_index":
      return [node.expr];
    case "index":
      return [node.expr, node.index];
    case "tuple":
      return [...node.elems];
    case "block_expr":
      return [...node.stmts, node.value];
    case "cast":
      return [node.type, node.expr];
    case "sizeof":
      return [node.arg];
    case "offsetof":
      return [node.type];
    case "include":
    case "cdef":
    case "attach":
      return [];
    case "return":
      return node.value ? [node.value] : [];
    case "break":
    case "continue":
    case "int":
    case "str":
    case "bool":
    case "var":
    case "builtin":
    case "ident":
    case "positional":
    case "positional_count":
      return [];
    case "type":
      return node.of ? [node.of] : [];
  }
}

/**
 * Visits `root` and its descendants in pre-order (parents before
 * children, children in source order). Iterative: deep trees are fine.
 * Returning `false` from `visit` skips that node's children.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./parser.ts";
 * import { walk } from "./visit.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("BEGIN { @a = count(); @b[pid] = @a; }");
 * const maps: string[] = [];
 * walk(ast, (n) => {
 *   if (n.kind === "map") maps.push(n.name);
 * });
 * assert.deepEqual(maps, ["a", "b", "a"]);
 * ```
 *
 * @param root Where to start.
 * @param visit Called once per node.
 */
export function walk(root: Node, visit: (node: Node) => void | boolean): void {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (visit(node) === false) continue;
    const kids = children(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
}

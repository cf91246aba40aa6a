import assert from "node:assert/strict";
import type { Node } from "../../runtime/lang/ast.ts";
import { parse } from "../../runtime/lang/parser.ts";
import { children, walk } from "../../runtime/lang/visit.ts";

/** Every object with a `kind`, found generically (not through `children`). */
function allNodes(root: unknown): Set<unknown> {
  const out = new Set<unknown>();
  const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === "object") {
      if ("kind" in v) out.add(v);
      for (const [k, x] of Object.entries(v)) if (k !== "span") stack.push(x);
    }
  }
  return out;
}

const PROGRAMS = [
  `#include <linux/sched.h>
struct foo { int a; };
config = { max_map_keys = 10 }
kprobe:f, uprobe:/bin/sh:main /pid > $1 && @m[tid]/ {
  $t = (1, "x", (u32)arg0, sizeof(struct foo), offsetof(struct foo, a));
  @m[$t.0, comm] += args->x[2] ? -*$p : ~retval;
  if ($t.1 == "x") { $i++; } else if (@z) { --@z; } else { return; }
  unroll(2) { while ($i < 3) { $i += 1; break; continue; } }
  { printf("%d\\n", $#); }
  @b = true || false;
}`,
];

Deno.test("visit: walk reaches every node exactly once, parents first", () => {
  for (const src of PROGRAMS) {
    const { ast } = parse(src, "stdin", ["1"]);
    const seen: Node[] = [];
    const parentOf = new Map<Node, Node>();
    walk(ast, (n) => {
      seen.push(n);
      for (const c of children(n)) parentOf.set(c, n);
    });
    assert.equal(new Set(seen).size, seen.length, "a node was visited twice");
    assert.deepEqual(new Set(seen), allNodes(ast));
    const index = new Map(seen.map((n, i) => [n, i]));
    for (const [child, parent] of parentOf) {
      assert.ok(index.get(parent)! < index.get(child)!);
    }
  }
});

Deno.test("visit: returning false skips children", () => {
  const { ast } = parse("BEGIN { @a = @b; } END { @c = 1; }");
  const maps: string[] = [];
  walk(ast, (n) => {
    if (n.kind === "probe" && n.attachPoints[0].provider === "END") {
      return false;
    }
    if (n.kind === "map") maps.push(n.name);
    return true;
  });
  assert.deepEqual(maps, ["a", "b"]);
});

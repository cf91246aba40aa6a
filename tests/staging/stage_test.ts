/**
 * Staging itself: misuse errors, compile errors placed at the TypeScript
 * line that staged the statement, the printed text of less common nodes,
 * multi-attach probes.
 */

import assert from "node:assert/strict";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { parse } from "../../runtime/lang/parser.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  compileStaged,
  stage,
  stageProbe,
} from "../../runtime/staging/stage.ts";
import { StagingError } from "../../runtime/staging/stager.ts";
import { matchEmit } from "../../runtime/staging/events.ts";
import { and, lit, or, select, tuple } from "../../runtime/staging/expr.ts";
import { printProgram } from "../../runtime/staging/print.ts";
import type { Expr } from "../../runtime/staging/expr.ts";
import type { Ptr, Str, U64 } from "../../runtime/staging/types.ts";

const OPTS = { tracefsAvailable: false };

function stripSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k !== "span") out[k] = stripSpans(v);
  }
  return out;
}

Deno.test("compile errors name the TypeScript line that staged them", () => {
  const line = Number(new Error().stack!.split("\n")[1].split(":").at(-2));
  const staged = stage((t) =>
    t.probe("tracepoint:syscalls:sys_enter_openat", (c) => {
      c.map("x").at(c.pid).count();
      c.map("x").at(c.comm).count(); // line + 4
    })
  );
  try {
    compileStaged(staged, OPTS);
    assert.fail("expected a compile error");
  } catch (e) {
    assert.ok(e instanceof CompileErrors);
    assert.equal(e.errors.length, 1);
    const text = e.format();
    assert.match(text, /^staged:3:3: ERROR: Argument mismatch for @x/);
    assert.match(text, new RegExp(`stage_test\\.ts:${line + 4}:\\d+\\)`));
    assert.match(text, /\n {2}@x\[comm\] = count\(\);\n {2}~+$/);
  }
});

Deno.test("misuse of staging is reported as StagingError", () => {
  const expectStaging = (f: () => unknown, msg: RegExp) =>
    assert.throws(
      f,
      (e: unknown) => e instanceof StagingError && msg.test(e.message),
    );
  expectStaging(
    () => stage((t) => t.map("m").at().count()),
    /only be written inside a probe body/,
  );
  expectStaging(
    () =>
      stage((t) =>
        t.probe("BEGIN", () => {
          t.probe("END", () => {});
        })
      ),
    /cannot be defined inside a probe body/,
  );
  expectStaging(
    () =>
      stage((t) => t.probe("BEGIN", (async () => {}) as unknown as () => void)),
    /must be synchronous/,
  );
  expectStaging(() => stage((t) => t.map("bad-name")), /Invalid map name/);
  expectStaging(
    () => stageProbe("BEGIN", (c) => c.let(1, "no way")),
    /Invalid scratch variable name/,
  );
  assert.throws(() => lit(1.5), RangeError);
  assert.throws(
    () => stageProbe("tracepoint:nocolon", () => {}),
    (e: unknown) => e instanceof CompileErrors,
  );
});

Deno.test("a filter after statements becomes an early return", () => {
  const tree = stageProbe("tracepoint:skb:kfree_skb", (c) => {
    c.map("all").at().count();
    c.filter(c.pid.gt(100));
    c.map("big").at().count();
  });
  const bt = "tracepoint:skb:kfree_skb { @all = count(); " +
    "if (!(pid > 100)) { return; } @big = count(); }";
  assert.deepEqual(stripSpans(tree), stripSpans(parse(bt).ast));
});

Deno.test("printed text of less common nodes parses back to the same tree", () => {
  const staged = stage((t) =>
    t.probe("tracepoint:sched:sched_switch", (c) => {
      const pair = c.let(tuple(c.pid, c.comm));
      const s: Expr<Str> = pair.get(1);
      c.printf(
        'q"\\ %s %d %d %s\t\x01é\n',
        s,
        c.pid.as("u8").neg().bitNot(),
        select(c.cpu.eq(0), -5, c.nsecs.shr(3).bitXor(0xff)),
        c.select(or(c.uid.eq(0), and(c.gid.eq(0), true)), c.comm, "x"),
      );
      c.unroll(2, () => c.map<[], U64>("n").at().update("<<=", 1));
      c.map("m").at(c.kstack(), c.ustack(3)).count();
    })
  );
  const round = parse(staged.source);
  assert.equal(round.diagnostics.hasErrors, false, staged.source);
  assert.deepEqual(stripSpans(round.ast), stripSpans(staged.program));
  const a = compileStaged(staged, OPTS);
  const b = compile(staged.source, OPTS);
  assert.deepEqual(a.probes[0].insns, b.probes[0].insns);
  // The é is UTF-8 encoded, as the parser encodes source text.
  const fmt = a.formats[0].action;
  assert.ok(fmt.kind === "printf" && fmt.format.endsWith("\x01\xc3\xa9\n"));
  // printProgram is stable on its own output.
  assert.equal(printProgram(round.ast), staged.source);
});

Deno.test("several attach points share one body; common args are typed", () => {
  const staged = stage((t) =>
    t.probe(
      [
        "tracepoint:syscalls:sys_enter_openat",
        "tracepoint:syscalls:sys_enter_openat2",
      ],
      (c) => {
        const f: Expr<Ptr<"user">> = c.args.filename;
        c.map("opens").at(c.probe, c.str(f)).count();
      },
    )
  );
  assert.equal(staged.program.probes[0].attachPoints.length, 2);
  const prog = compileStaged(staged, OPTS);
  assert.equal(prog.probes.length, 2); // split: args differ per tracepoint
});

Deno.test("bpftrace text and staged probes mix in one program", () => {
  const text = `#include <linux/sched.h>
config = { max_map_keys = 100; }
BEGIN { @start = nsecs; }`;
  const staged = stage((t) => {
    t.bpftrace(text);
    t.probe("tracepoint:skb:kfree_skb", (c) => {
      c.map<[], U64>("start").at().set(0);
      c.map("drops").at(c.comm).count();
    });
    t.bpftrace("END { clear(@start); }");
  });
  const whole = text +
    "\ntracepoint:skb:kfree_skb { @start = 0; @drops[comm] = count(); }" +
    "\nEND { clear(@start); }";
  assert.deepEqual(
    stripSpans(staged.program),
    stripSpans(parse(whole).ast),
  );
  const a = compileStaged(staged, OPTS);
  const b = compile(whole, OPTS);
  assert.deepEqual(a.probes.map((p) => p.insns), b.probes.map((p) => p.insns));
  assert.deepEqual(a.maps, b.maps);
  assert.ok(staged.source.startsWith("#include <linux/sched.h>\nconfig = {"));
  assert.throws(
    () => stage((t) => t.bpftrace("BEGIN { @x = ; }")),
    (e: unknown) => e instanceof CompileErrors,
  );
});

Deno.test("c.emit() stages emit(name, fields, values...)", () => {
  const staged = stage((t) => {
    const ev = t.event<{ pid: U64; comm: Str }>("drop");
    t.probe("tracepoint:skb:kfree_skb", (c) => {
      c.emit(ev, { comm: c.comm, pid: c.pid });
      c.emit(ev, { pid: 0, comm: "x" });
    });
  });
  const bt =
    'tracepoint:skb:kfree_skb { emit("drop", "comm,pid", comm, pid); ' +
    'emit("drop", "comm,pid", "x", 0); }';
  assert.deepEqual(stripSpans(staged.program), stripSpans(parse(bt).ast));
  assert.deepEqual(staged.events, [{ name: "drop", fields: ["comm", "pid"] }]);
  // matchEmit reads an `emit` action back as a record.
  const action = {
    kind: "emit",
    event: "drop",
    fields: ["comm", "pid"],
    args: [],
  } as unknown as import("../../runtime/program.ts").EventAction;
  assert.deepEqual(
    matchEmit({ id: 0, action, args: ["sh", 7] }),
    {
      event: "drop",
      record: { comm: "sh", pid: 7 },
    },
  );
});

Deno.test("bpftrace text with macros is staged expanded; import is refused", () => {
  const staged = stage((t) =>
    t.bpftrace(
      "macro inc($x) { $x += 1; $x }\nbegin { $a = 1; $b = inc($a); }",
    )
  );
  const a = compileStaged(staged, OPTS);
  const b = compile("begin { $a = 1; $a += 1; $b = $a; }", OPTS);
  assert.deepEqual(a.probes.map((p) => p.insns), b.probes.map((p) => p.insns));
  assert.doesNotMatch(staged.source, /macro/);
  assert.throws(
    () => stage((t) => t.bpftrace('import "x.bt";\nbegin { }')),
    (e: unknown) =>
      e instanceof CompileErrors && /import is not supported/.test(e.message),
  );
});

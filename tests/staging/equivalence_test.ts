/**
 * The same program written in the bpftrace language and as a staged
 * TypeScript body compiles to identical instruction slots, maps and
 * formats; the staged tree equals the parsed tree (spans aside), and the
 * staged program's printed text parses back to it.
 */

import assert from "node:assert/strict";
import type * as ast from "../../runtime/lang/ast.ts";
import { parse } from "../../runtime/lang/parser.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import type { Program } from "../../runtime/program.ts";
import {
  compileStaged,
  stage,
  type StagedProgram,
  type Tracer,
} from "../../runtime/staging/stage.ts";
import type { Str, U32, U64 } from "../../runtime/staging/types.ts";

/** Bundled formats: the same program on every machine. */
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

function bytecode(p: Program): unknown {
  return {
    probes: p.probes.map((x) => ({
      name: x.name,
      attach: x.attach,
      progType: x.progType,
      insns: x.insns,
      ctx: x.ctx,
    })),
    maps: p.maps,
    formats: p.formats,
    eventsMap: p.eventsMap,
  };
}

interface Case {
  name: string;
  bt: string;
  ts: (t: Tracer) => void;
}

const CASES: Case[] = [
  {
    name: "count by pid and comm",
    bt: "tracepoint:skb:kfree_skb { @drops[pid, comm] = count(); }",
    ts: (t) =>
      t.probe("tracepoint:skb:kfree_skb", (c) => {
        c.map<[U32, Str], "count">("drops").at(c.pid, c.comm).count();
      }),
  },
  {
    name: "predicate",
    bt:
      "tracepoint:syscalls:sys_enter_openat /pid == 1234 && uid != 0/ { @[comm] = count(); }",
    ts: (t) =>
      t.probe("tracepoint:syscalls:sys_enter_openat", (c) => {
        c.filter(c.pid.eq(1234));
        c.filter(c.uid.ne(0));
        c.map("").at(c.comm).count();
      }),
  },
  {
    name: "printf with str() of a tracepoint field",
    bt:
      'tracepoint:syscalls:sys_enter_openat { printf("%s %s %d\\n", comm, str(args->filename), args->flags); }',
    ts: (t) =>
      t.probe("tracepoint:syscalls:sys_enter_openat", (c) => {
        c.printf("%s %s %d\n", c.comm, c.str(c.args.filename), c.args.flags);
      }),
  },
  {
    name: "hist under a predicate",
    bt:
      "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }",
    ts: (t) =>
      t.probe("tracepoint:syscalls:sys_exit_read", (c) => {
        c.filter(c.args.ret.gt(0));
        c.map<[], "hist">("bytes").hist(c.args.ret);
      }),
  },
  {
    name: "if/else, scratch variable, sum and lhist",
    bt: `tracepoint:sched:sched_switch {
      $p = args->prev_pid;
      if ($p > 0 && args->prev_comm != "swapper/0") {
        @s[args->prev_comm] = sum($p);
      } else {
        @l = lhist(args->next_pid, 0, 1000, 100);
      }
    }`,
    ts: (t) =>
      t.probe("tracepoint:sched:sched_switch", (c) => {
        const p = c.let(c.args.prev_pid, "p");
        c.if(
          p.gt(0).and(c.args.prev_comm.ne("swapper/0")),
          () => c.map("s").at(c.args.prev_comm).sum(p),
          () => c.map("l").at().lhist(c.args.next_pid, 0, 1000, 100),
        );
      }),
  },
  {
    name: "two probes sharing a typed value map (latency)",
    bt: `tracepoint:sched:sched_wakeup { @start[args->pid] = nsecs; }
    tracepoint:sched:sched_switch /@start[args->next_pid] != 0/ {
      @lat = hist(nsecs - @start[args->next_pid]);
      delete(@start[args->next_pid]);
    }`,
    ts: (t) => {
      const start = t.map<[U32], U64>("start");
      t.probe("tracepoint:sched:sched_wakeup", (c) => {
        start.at(c.args.pid).set(c.nsecs);
      });
      t.probe("tracepoint:sched:sched_switch", (c) => {
        const t0 = start.at(c.args.next_pid);
        c.filter(t0.get().ne(0));
        c.map("lat").at().hist(c.nsecs.sub(t0.get()));
        t0.delete();
      });
    },
  },
  {
    name: "BEGIN with a while loop, ++, compound assignment, exit",
    bt: `BEGIN {
      $i = 0;
      while ($i < 10) { $i++; if ($i == 5) { break; } }
      @x += $i * 2;
      printf("%d\\n", $i);
      exit();
    }`,
    ts: (t) =>
      t.begin((c) => {
        const i = c.let(0, "i");
        c.while(i.lt(10), () => {
          i.inc();
          c.if(i.eq(5), () => c.break());
        });
        c.map<[], U64>("x").at().update("+=", i.mul(2));
        c.printf("%d\n", i);
        c.exit();
      }),
  },
];

for (const k of CASES) {
  Deno.test(`staged and bpftrace source compile alike: ${k.name}`, () => {
    const staged: StagedProgram = stage(k.ts);
    const parsed = parse(k.bt);
    assert.equal(parsed.diagnostics.hasErrors, false);
    assert.deepEqual(stripSpans(staged.program), stripSpans(parsed.ast));
    const a = compileStaged(staged, OPTS);
    const b = compile(k.bt, OPTS);
    assert.deepEqual(bytecode(a), bytecode(b));
    assert.ok(a.probes.every((p) => p.insns.length > 0));
    // The printed text parses back to the staged tree.
    const round = parse(staged.source);
    assert.equal(round.diagnostics.hasErrors, false, staged.source);
    assert.deepEqual(stripSpans(round.ast), stripSpans(staged.program));
  });
}

Deno.test("a JS loop in a body unrolls at staging time", () => {
  const staged = stage((t) =>
    t.probe("tracepoint:skb:kfree_skb", (c) => {
      for (const n of [1, 2, 3]) c.map(`m${n}`).at(c.pid.mod(n)).count();
    })
  );
  const bt = "tracepoint:skb:kfree_skb { @m1[pid % 1] = count(); " +
    "@m2[pid % 2] = count(); @m3[pid % 3] = count(); }";
  assert.deepEqual(
    bytecode(compileStaged(staged, OPTS)),
    bytecode(compile(bt, OPTS)),
  );
});

Deno.test("printed staged source sets spans that point at each node", () => {
  const staged = stage((t) =>
    t.probe("tracepoint:skb:kfree_skb", (c) => {
      c.map("drops").at(c.pid).count();
    })
  );
  const stmt = staged.program.probes[0].body.stmts[0] as ast.AssignStmt;
  const text = staged.source.slice(stmt.span.start, stmt.span.end);
  assert.equal(text, "@drops[pid] = count();");
  assert.equal(stmt.span.line, 2);
  assert.equal(stmt.span.col, 3);
});

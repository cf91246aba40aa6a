/**
 * Type tests of staged probe bodies. Every `// @ts-expect-error` below must
 * be a real type error: `deno check` (and `deno test`, which checks first)
 * fails on an unused one. Where the compiler would also reject the staged
 * program, the test checks that too, so the type error stands for a real
 * mistake; the other cases are mistakes only the declared types reveal.
 */

import assert from "node:assert/strict";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import {
  compileStaged,
  stage,
  type Tracer,
} from "../../runtime/staging/stage.ts";
import { StagingError } from "../../runtime/staging/stager.ts";
import type { Expr } from "../../runtime/staging/expr.ts";
import type {
  Ptr,
  S32,
  S64,
  Str,
  U32,
  U64,
} from "../../runtime/staging/types.ts";

const OPTS = { tracefsAvailable: false };

interface Case {
  name: string;
  build: (t: Tracer) => void;
  /** Whether compiling the staged program fails too. */
  compilerRejects: boolean;
}

const OPENAT = "tracepoint:syscalls:sys_enter_openat";

const CASES: Case[] = [
  {
    name: "map key of the wrong type (string where u32 declared)",
    compilerRejects: false,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        const drops = c.map<[U32, Str], "count">("drops");
        // @ts-expect-error: keys are [U32, Str], not [Str, U32]
        drops.at(c.comm, c.pid).count();
      }),
  },
  {
    name: "map used with a different key type than in another probe",
    compilerRejects: true,
    build: (t) => {
      const m = t.map<[U32], "count">("m");
      t.probe(OPENAT, (c) => m.at(c.pid).count());
      t.probe("tracepoint:skb:kfree_skb", (c) => {
        // @ts-expect-error: a Str key on a [U32] map
        m.at(c.comm).count();
      });
    },
  },
  {
    name: "map used with too few keys",
    compilerRejects: false,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: two keys declared
        c.map<[U32, Str], "count">("drops").at(c.pid).count();
      }),
  },
  {
    name: "a tracepoint pointer field used as a string key",
    compilerRejects: false,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: filename is Ptr<"user">; wrap it in c.str()
        c.map<[Str], "count">("files").at(c.args.filename).count();
      }),
  },
  {
    name: "hist of a string",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: hist needs an integer
        c.map("h").at().hist(c.comm);
      }),
  },
  {
    name: "sum of a string",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: sum needs an integer
        c.map("s").at(c.pid).sum(c.str(c.args.filename));
      }),
  },
  {
    name: "an aggregation the map was not declared with",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        const n = c.map<[U32], "count">("n");
        n.at(c.pid).count();
        // @ts-expect-error: the map holds count(), not hist()
        n.at(c.pid).hist(c.args.flags);
      }),
  },
  {
    name: "a value of the wrong type stored in a value map",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        const last = c.map<[U32], U64>("last");
        last.at(c.pid).set(c.nsecs);
        // @ts-expect-error: the map holds U64 values
        last.at(c.pid).set(c.comm);
      }),
  },
  {
    name: "reading a histogram map as a value",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        const n = c.map<[], "hist">("n");
        n.at().hist(c.pid);
        // @ts-expect-error: hist maps cannot be read in an expression
        c.printf("%d\n", n.at().get());
      }),
  },
  {
    name: "keyless shortcut on a keyed map",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        const n = c.map<[U32], "count">("n");
        n.at(c.pid).count();
        // @ts-expect-error: n has one key
        n.count();
      }),
  },
  {
    name: "unknown tracepoint field",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: sys_enter_openat has no field nosuch
        c.map("x").at().sum(c.args.nosuch);
      }),
  },
  {
    name: "args outside a tracepoint",
    compilerRejects: true,
    build: (t) =>
      t.begin((c) => {
        // @ts-expect-error: BEGIN has no args
        c.printf("%d\n", c.args.flags);
      }),
  },
  {
    name: "emit missing a declared field",
    compilerRejects: false,
    build: (t) => {
      const ev = t.event<{ pid: U32; comm: Str }>("ev");
      // @ts-expect-error: comm is missing
      t.probe(OPENAT, (c) => c.emit(ev, { pid: c.pid }));
    },
  },
  {
    name: "emit with a field not declared",
    compilerRejects: false,
    build: (t) => {
      const ev = t.event<{ pid: U32 }>("ev");
      t.probe(OPENAT, (c) =>
        // @ts-expect-error: extra is not a field of ev
        c.emit(ev, { pid: c.pid, extra: c.tid }));
    },
  },
  {
    name: "emit with a field of the wrong type",
    compilerRejects: false,
    build: (t) => {
      const ev = t.event<{ pid: U32; comm: Str }>("ev");
      // @ts-expect-error: comm must be a string
      t.probe(OPENAT, (c) => c.emit(ev, { pid: c.pid, comm: c.pid }));
    },
  },
  {
    name: "printf %d of a string",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: %d takes an integer
        c.printf("%d\n", c.comm);
      }),
  },
  {
    name: "printf with too many arguments",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: one conversion, two arguments
        c.printf("%s\n", c.comm, c.pid);
      }),
  },
  {
    name: "printf with too few arguments",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: two conversions, one argument
        c.printf("%-8s %5llu\n", c.comm);
      }),
  },
  {
    name: "arithmetic on a string",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: add() is for integers
        c.map("x").at().sum(c.comm.add(1));
      }),
  },
  {
    name: "comparing an integer with a string",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: pid is an integer
        c.filter(c.pid.eq("bash"));
        c.exit();
      }),
  },
  {
    name: "a string as a filter condition",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        // @ts-expect-error: conditions are integers
        c.filter(c.comm);
        c.exit();
      }),
  },
  {
    name: "assigning a number to a string variable",
    compilerRejects: true,
    build: (t) =>
      t.probe(OPENAT, (c) => {
        const v = c.let(c.comm);
        // @ts-expect-error: v holds a string
        v.set(5);
        c.printf("%s\n", v);
      }),
  },
];

for (const k of CASES) {
  Deno.test(`type error: ${k.name}`, () => {
    const run = () => compileStaged(stage(k.build), OPTS);
    if (k.compilerRejects) {
      assert.throws(run, (e: unknown) => e instanceof CompileErrors);
    } else {
      // Only the declared types know this is wrong: it still stages.
      run();
    }
  });
}

Deno.test("correctly typed bodies check and compile", () => {
  const prog = compileStaged(
    stage((t) => {
      const drop = t.event<{ pid: U32; comm: Str; flags: U64 }>("open");
      const files = t.map<[Str], "count">("files");
      t.probe(OPENAT, (c) => {
        const f: Expr<Ptr<"user">> = c.args.filename;
        const flags: Expr<U64> = c.args.flags;
        const mode: Expr<U64> = c.args.mode;
        files.at(c.str(f)).count();
        c.map<[], "hist">("modes").hist(mode);
        c.emit(drop, { pid: c.pid, comm: c.comm, flags });
        c.printf("%s %d %5llu\n", c.comm, flags, mode);
      });
      t.probe("tracepoint:sched:sched_switch", (c) => {
        const next: Expr<Str> = c.args.next_comm;
        const prio: Expr<S32> = c.args.next_prio;
        c.map<[Str], "max">("prio").at(next).max(prio);
      });
      t.probe("tracepoint:syscalls:sys_exit_read", (c) => {
        const ret: Expr<S64> = c.args.ret;
        c.map<[], "stats">("ret").at().stats(ret);
      });
    }),
    OPTS,
  );
  assert.equal(prog.probes.length, 3);
});

Deno.test("an event emitted with another field set fails staging", () => {
  assert.throws(
    () =>
      stage((t) => {
        t.probe(OPENAT, (c) => c.emit("e", { a: c.pid }));
        t.probe(OPENAT, (c) => c.emit("e", { b: c.pid }));
      }),
    (e: unknown) =>
      e instanceof StagingError &&
      e.message === 'Event "e" emitted with fields [b], expected [a]',
  );
});

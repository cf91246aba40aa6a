/**
 * Native emits: `c.emit()` stages an `emit("name", "f1,f2", values...)`
 * call, which compiles to an event with the `emit` action. Its records
 * decode to typed objects, print nothing, and count in `.lost` when the
 * ring buffer is full.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import type { Program } from "../../runtime/program.ts";
import { verify } from "../../runtime/verifier/verifier.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import { createMap, type RingBufMap } from "../../runtime/vm/maps.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { decodeEvent } from "../../runtime/output/decode.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import type { DecodedEvent } from "../../runtime/output/types.ts";
import {
  compileStaged,
  stage,
  type StagedProgram,
} from "../../runtime/staging/stage.ts";
import { matchEmit } from "../../runtime/staging/events.ts";
import type { Str, U32, U64 } from "../../runtime/staging/types.ts";

const OPTS = { tracefsAvailable: false };

/** Runs BEGIN `times` times; returns the decoded events and `.lost`. */
function runBegin(
  prog: Program,
  times: number,
  ringBytes?: number,
): { events: DecodedEvent[]; lost: bigint } {
  if (ringBytes !== undefined) {
    prog.maps[prog.eventsMap!].maxEntries = ringBytes;
  }
  const p = prog.probes[0];
  verify(p.insns, { maps: prog.maps, ctxSize: 0, progType: p.progType });
  const maps = prog.maps.map((m) => createMap(m, 1));
  const vm = new VmProgram(p.insns, maps);
  const env = createEnvironment({ pid: 42, comm: "tsbpf" });
  for (let i = 0; i < times; i++) vm.run(new Uint8Array(0), env);
  const events: DecodedEvent[] = [];
  (maps[prog.eventsMap!] as RingBufMap).drain((rec) =>
    events.push(decodeEvent(prog, rec))
  );
  let lost = 0n;
  const li = prog.maps.findIndex((m) => m.name === ".lost");
  for (const e of maps[li].entries()) {
    for (const v of e.values) {
      lost += new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    }
  }
  return { events, lost };
}

function emitting(): StagedProgram {
  return stage((t) => {
    const e = t.event<{ pid: U32; comm: Str; n: U64 }>("hello");
    t.begin((c) => c.emit(e, { pid: c.pid, comm: c.comm, n: c.nsecs.mul(0) }));
  });
}

Deno.test("the Tracer stages native emits by default", () => {
  const staged = emitting();
  assert.match(staged.source, /emit\("hello", "pid,comm,n", pid, comm, /);
  const prog = compileStaged(staged, OPTS);
  const f = prog.formats.find((x) => x.action.kind === "emit");
  assert.ok(f !== undefined);
  assert.deepEqual(f.action, {
    kind: "emit",
    event: "hello",
    fields: ["pid", "comm", "n"],
    args: [
      { kind: "int", size: 8, signed: false },
      { kind: "string", size: 16 },
      { kind: "int", size: 8, signed: false },
    ],
  });
  assert.ok(!prog.formats.some((x) => x.action.kind === "printf"));
});

Deno.test("a native emit decodes to a typed record and prints nothing", () => {
  const staged = emitting();
  const { events } = runBegin(compileStaged(staged, OPTS), 1);
  assert.equal(events.length, 1);
  assert.deepEqual(matchEmit(events[0]), {
    event: "hello",
    record: { pid: 42, comm: "tsbpf", n: 0 },
  });
  assert.equal(formatEventOutput(events[0], "text"), undefined);
  assert.equal(formatEventOutput(events[0], "json"), undefined);
});

Deno.test("emits the ring buffer has no room for are counted in .lost", () => {
  // A record is 8 (id) + 8 + 16 + 8 bytes: 2048 bytes hold a few dozen.
  const { events, lost } = runBegin(compileStaged(emitting(), OPTS), 200, 2048);
  assert.ok(events.length > 0 && lost > 0n);
  assert.equal(BigInt(events.length) + lost, 200n);
});

Deno.test("emit() in bpftrace text: arity and value checks", () => {
  const errors = (src: string): string[] => {
    try {
      compile(src, OPTS);
    } catch (e) {
      if (e instanceof CompileErrors) return e.errors.map((x) => x.message);
      throw e;
    }
    return [];
  };
  assert.deepEqual(errors('BEGIN { emit("e", "a,b", 1, comm); }'), []);
  assert.deepEqual(errors('BEGIN { emit("e", "a,b", 1); }'), [
    "emit(): 2 field names for 1 values",
  ]);
  assert.deepEqual(errors('BEGIN { $x = emit("e", "a", 1); }'), [
    "emit() cannot be used as a value",
    "Cannot assign a value of type none",
  ]);
});

import assert from "node:assert/strict";
import { decodeEvent } from "../../runtime/output/decode.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import type { Program } from "../../runtime/program.ts";

const program: Program = {
  probes: [],
  maps: [],
  formats: [
    {
      id: 0,
      action: {
        kind: "printf",
        format: "%-6s %5d\n",
        args: [{ kind: "string", size: 16 }, {
          kind: "int",
          size: 4,
          signed: true,
        }],
      },
      layout: { offsets: [0, 16], size: 20 },
    },
    {
      id: 1,
      action: {
        kind: "print_value",
        type: { kind: "int", size: 8, signed: true },
      },
      layout: { offsets: [0], size: 8 },
    },
    {
      id: 2,
      action: { kind: "time", format: "%Y %H:%M:%S\n" },
      layout: { offsets: [], size: 0 },
    },
    { id: 3, action: { kind: "exit" }, layout: { offsets: [], size: 0 } },
  ],
};

function record(id: number, body: Uint8Array): Uint8Array {
  const r = new Uint8Array(8 + body.length);
  new DataView(r.buffer).setBigUint64(0, BigInt(id), true);
  r.set(body, 8);
  return r;
}

Deno.test("formatEventOutput renders printf, print and time events", () => {
  const body = new Uint8Array(20);
  body.set(new TextEncoder().encode("sshd"));
  new DataView(body.buffer).setInt32(16, -12, true);
  const ev = decodeEvent(program, record(0, body));
  assert.equal(formatEventOutput(ev, "text"), "sshd     -12\n");
  assert.equal(
    formatEventOutput(ev, "json"),
    '{"type": "printf", "data": "sshd     -12\\n"}\n',
  );

  const v = new Uint8Array(8);
  new DataView(v.buffer).setBigInt64(0, -3n, true);
  const pv = decodeEvent(program, record(1, v));
  assert.equal(formatEventOutput(pv, "text"), "-3\n");
  assert.equal(
    formatEventOutput(pv, "json"),
    '{"type": "value", "data": -3}\n',
  );

  const now = new Date(2024, 5, 7, 8, 9, 10);
  const t = decodeEvent(program, record(2, new Uint8Array(0)));
  assert.equal(formatEventOutput(t, "text", now), "2024 08:09:10\n");
  assert.equal(
    formatEventOutput(t, "json", now),
    '{"type": "time", "data": "2024 08:09:10\\n"}\n',
  );

  assert.equal(
    formatEventOutput(
      decodeEvent(program, record(3, new Uint8Array(0))),
      "text",
    ),
    undefined,
  );
});

/** A join format as the compiler lays it out: a u64 count, then strings. */
function joinProgram(separator: string, n: number, strlen: number): Program {
  const args: Program["formats"][0]["action"] & { kind: "join" } = {
    kind: "join",
    separator,
    args: [{ kind: "int", size: 8, signed: false }],
  };
  const offsets = [0];
  for (let i = 0; i < n; i++) {
    args.args.push({ kind: "string", size: strlen });
    offsets.push(8 + i * strlen);
  }
  return {
    probes: [],
    maps: [],
    formats: [{
      id: 0,
      action: args,
      layout: { offsets, size: 8 + n * strlen },
    }],
  };
}

function joinRecord(count: number, strings: string[], strlen: number) {
  const body = new Uint8Array(8 + strings.length * strlen);
  new DataView(body.buffer).setBigUint64(0, BigInt(count), true);
  strings.forEach((s, i) =>
    body.set(new TextEncoder().encode(s), 8 + i * strlen)
  );
  return record(0, body);
}

Deno.test("decodeEvent: a join record's args are its first count strings", () => {
  const prog = joinProgram(" ", 4, 16);
  // Slots past `count` hold stale bytes that must not appear.
  const ev = decodeEvent(prog, joinRecord(3, ["/bin/echo", "a", "b", "x"], 16));
  assert.deepEqual(ev.args, ["/bin/echo", "a", "b"]);
  // A count larger than the slots is clamped; an empty string ends the list.
  assert.deepEqual(
    decodeEvent(prog, joinRecord(99, ["a", "b", "c", "d"], 16)).args,
    ["a", "b", "c", "d"],
  );
  assert.deepEqual(
    decodeEvent(prog, joinRecord(4, ["a", "", "c", "d"], 16)).args,
    ["a"],
  );
  assert.deepEqual(decodeEvent(prog, joinRecord(0, ["a"], 16)).args, []);
});

Deno.test("formatEventOutput renders join as bpftrace 0.17 does", () => {
  // Reference (bpftrace 0.17, `/bin/echo a b` exec'd):
  //   text: "/bin/echo a b\n" and "/bin/echo,a,b\n"
  //   json: {"type": "join", "data": "/bin/echo a b"}
  const strings = ["/bin/echo", "a", "b"];
  const space = decodeEvent(
    joinProgram(" ", 16, 64),
    joinRecord(3, strings, 64),
  );
  assert.equal(formatEventOutput(space, "text"), "/bin/echo a b\n");
  assert.equal(
    formatEventOutput(space, "json"),
    '{"type": "join", "data": "/bin/echo a b"}\n',
  );
  const comma = decodeEvent(
    joinProgram(",", 16, 64),
    joinRecord(3, strings, 64),
  );
  assert.equal(formatEventOutput(comma, "text"), "/bin/echo,a,b\n");
  assert.equal(
    formatEventOutput(comma, "json"),
    '{"type": "join", "data": "/bin/echo,a,b"}\n',
  );
  const quote = decodeEvent(
    joinProgram(" ", 2, 64),
    joinRecord(2, ['say "hi"', "x"], 64),
  );
  assert.equal(
    formatEventOutput(quote, "json"),
    '{"type": "join", "data": "say \\"hi\\" x"}\n',
  );
  const empty = decodeEvent(joinProgram(" ", 2, 64), joinRecord(0, [], 64));
  assert.equal(formatEventOutput(empty, "text"), "\n");
});

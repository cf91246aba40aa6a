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

/**
 * `-o FILE` of synthetic events says so in the file: its first line is
 * the notice standard error shows; the rest is what standard output would
 * hold. The kernel's events and a replay of recorded ones are written as
 * they are (JSON says `"synthetic": true` on its attach record instead).
 */
import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { event, headerFor, recordingBytes } from "../record/helpers.ts";
import { kernelSkipReason, runCli } from "./helpers.ts";

const NOTE =
  "tsbpf: running in the interpreter on synthetic events (--backend interp)\n";
const PROGRAM =
  'tracepoint:syscalls:sys_enter_getppid { printf("%s\\n", comm); @[comm] = count(); }';

/** Runs the CLI with `-o FILE` added; the file's text and the run. */
async function toFile(args: string[]) {
  const file = Deno.makeTempFileSync({ suffix: ".txt" });
  try {
    const r = await runCli([...args, "-o", file]);
    assert.equal(r.code, 0, r.stderr);
    return { ...r, text: Deno.readTextFileSync(file) };
  } finally {
    Deno.removeSync(file);
  }
}

Deno.test("-o FILE of synthetic events begins with the notice, then the output", async () => {
  const args = ["--backend", "interp", "--seed", "5", "-e", PROGRAM];
  const r = await toFile([...args, "--duration", "0.2"]);
  assert.ok(r.text.startsWith(NOTE), r.text.slice(0, 200));
  // The same notice on standard error, once; the file's other lines are
  // the program's output.
  assert.equal(r.stderr.split(NOTE).length, 2, r.stderr);
  const rest = r.text.slice(NOTE.length).split("\n");
  assert.ok(rest.some((l) => /^@\[.+\]: \d+$/.test(l)), r.text);
  assert.ok(!rest.some((l) => l.includes("synthetic")));
  // JSON: the attach record says so, and no other line is added.
  const json = await toFile([...args, "--duration", "0.2", "-f", "json"]);
  assert.ok(
    json.text.startsWith(
      '{"type": "attached_probes", "count": 1, "data": {"probes": 1, "synthetic": true}}\n',
    ),
    json.text.slice(0, 200),
  );
  assert.ok(!json.text.includes("tsbpf:"));
});

Deno.test("-o FILE of a replayed recording holds the output alone (recorded events are real)", async () => {
  const recorder = compile(PROGRAM);
  const rec = Deno.makeTempFileSync({ suffix: ".tsrec" });
  Deno.writeFileSync(
    rec,
    recordingBytes(headerFor(recorder), [
      event({ timeNs: 1_000_000 }),
      event({ timeNs: 2_000_000 }),
    ]),
  );
  try {
    const r = await toFile(["-e", PROGRAM, "--replay", rec]);
    assert.equal(r.text, "nginx\nnginx\n\n\n@[nginx]: 2\n");
    assert.match(r.stderr, /^Attached 1 probe\n/m);
  } finally {
    Deno.removeSync(rec);
  }
});

Deno.test({
  name: "-o FILE of the kernel's events holds the output alone",
  ignore: kernelSkipReason() !== undefined,
  async fn() {
    const r = await toFile([
      "--backend",
      "kernel",
      "-e",
      'BEGIN { printf("hello\\n"); exit(); }',
    ]);
    assert.equal(r.text, "hello\n\n\n");
  },
});

import assert from "node:assert/strict";
import { hasStackTrace, runCli, tempFile } from "./helpers.ts";

Deno.test("--help prints the usage and exits 0", async (t) => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0);
  await t.assertSnapshot(r.stdout);
});

Deno.test("an unknown option is one sentence and status 2", async () => {
  const r = await runCli(["--frobnicate"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tsbpf: Unknown option '--frobnicate'/);
  assert.equal(hasStackTrace(r.stderr), false);
});

Deno.test("bad option values are reported", async () => {
  const f = await runCli(["-f", "yaml", "-e", "BEGIN {}"]);
  assert.equal(f.code, 2);
  assert.match(f.stderr, /Output format must be "text" or "json", got "yaml"/);
  const b = await runCli(["--backend", "gpu", "-e", "BEGIN {}"]);
  assert.equal(b.code, 2);
  assert.match(
    b.stderr,
    /Backend must be "auto", "kernel" or "interp", got "gpu"/,
  );
});

Deno.test("compile errors print FILE:LINE:COL, the line and a mark; status 2", async () => {
  const r = await runCli([
    "--dry-run",
    "-e",
    "tracepoint:syscalls:sys_enter_getppid { @[comm] = cont(); }",
  ]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'stdin:1:51: ERROR: Unknown function: "cont"; did you mean "count"?\n' +
      "tracepoint:syscalls:sys_enter_getppid { @[comm] = cont(); }\n" +
      "                                                  ~~~~~~\n",
  );
});

Deno.test("compile errors in a file name the file", async () => {
  const file = tempFile("BEGIN {\n  $x = ;\n}\n", ".bt");
  const r = await runCli(["--dry-run", file]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.startsWith(`${file}:2:`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false);
});

Deno.test("--dry-run -d prints attach specs and numbered bytecode", async () => {
  const r = await runCli([
    "--dry-run",
    "-d",
    "-e",
    "tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /attach: tracepoint:syscalls:sys_enter_getppid/);
  assert.match(r.stdout, /^ +0: /m);
  assert.match(r.stdout, /call bpf_get_current_comm#16/);
  assert.match(r.stdout, /exit$/m);
});

Deno.test("--dry-run alone is silent on success", async () => {
  const r = await runCli(["--dry-run", "-e", 'BEGIN { printf("hi\\n"); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
});

Deno.test("-l lists tracepoints matching a pattern", async () => {
  const r = await runCli(["-l", "tracepoint:skb:kfree*"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^tracepoint:skb:kfree_skb$/m);
});

Deno.test("tsbpf's verifier judges the interpreter's programs and --dry-run", async () => {
  // On the kernel engine the kernel's verifier judges (tests/kernel); the
  // interpreter and --dry-run use tsbpf's own, mapped to the script line.
  const program = "BEGIN {\n  $i = 0;\n  while ($i < 100000) {\n    $j = 0;\n" +
    "    while ($j < 100000) { $j++; @x = $j; }\n    $i++;\n  }\n}";
  for (const args of [["--backend", "interp"], ["--dry-run"]]) {
    const r = await runCli([...args, "-e", program]);
    // Refused before it ran: status 2, as a compile error.
    assert.equal(r.code, 2, args.join(" "));
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^ERROR: Probe "BEGIN" rejected by tsbpf's verifier at instruction \d+ \(script line 5, column \d+\): the program is too complex/,
    );
    assert.equal(
      lines.at(-1),
      "  5 |     while ($j < 100000) { $j++; @x = $j; }",
    );
    assert.equal(hasStackTrace(r.stderr), false);
  }
});

Deno.test("--duration takes seconds or a unit", async () => {
  const ok = await runCli([
    "--backend",
    "interp",
    "--duration",
    "300ms",
    "-e",
    "interval:ms:100 { @n = count(); }",
  ]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^@n: [1-4]$/m);
  const bad = await runCli(["--duration", "3x", "-e", "BEGIN {}"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^tsbpf: Option --duration needs a duration such as 10, 1\.5s, 500ms or 2m, got "3x"/,
  );
});

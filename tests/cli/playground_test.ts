import assert from "node:assert/strict";
import { hasStackTrace, runCli, tempFile } from "./helpers.ts";

Deno.test("playground runs a program on --mem bytes and prints r0 last", async () => {
  const file = tempFile(
    "# r0 = mem[1] + len\nldxb r0, [r1+1]\nadd r0, r2\nexit\n",
    ".asm",
  );
  const r = await runCli(["--asm", file, "--mem", "01 fe 03"]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "0x101\n");
});

Deno.test("playground -d prints the disassembly before r0", async (t) => {
  const file = tempFile(
    "mov r0, 1\nlddw r1, 0x1122334455667788\nstxdw [r10-8], r1\nldxw r0, [r10-8]\njeq r0, 0, +1\nexit\nexit\n",
    ".asm",
  );
  const r = await runCli(["--asm", file, "-d"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split("\n").at(-1), "0x55667788");
  await t.assertSnapshot(r.stdout);
});

Deno.test("playground writes to --mem bytes and reads both syntaxes", async () => {
  const file = tempFile(
    "stb [r1+0], 0x11\nr0 = *(u8 *)(r1 +0)\nr0 <<= 8\nexit\n",
    ".asm",
  );
  const r = await runCli(["--asm", file, "--mem", "00"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "0x1100\n");
});

Deno.test("playground reports assembly errors with status 2, no stack trace", async () => {
  const file = tempFile("mov r0, 1\nfrob r1\nexit\n", ".asm");
  const r = await runCli(["--asm", file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /:2:1: .*frob/);
  assert.equal(hasStackTrace(r.stderr), false);
  assert.equal(r.stdout, "");
});

Deno.test("playground reports verifier rejections with status 2, as --dry-run", async () => {
  const file = tempFile("ldxdw r0, [r10+8]\nexit\n", ".asm");
  const r = await runCli(["--asm", file]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^ERROR: Instruction 0 \(r0 = \*\(u64 \*\)\(r10 \+8\)\)/,
  );
  assert.equal(hasStackTrace(r.stderr), false);
});

Deno.test("playground with --no-verify reports runtime faults with status 1", async () => {
  const file = tempFile("ldxdw r0, [r1+64]\nexit\n", ".asm");
  const r = await runCli(["--asm", file, "--no-verify", "--mem", "00 01"]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^ERROR: Out-of-bounds read of 8 bytes at offset 64 of ctx \(2 bytes\) at pc 0: /,
  );
  assert.equal(hasStackTrace(r.stderr), false);
});

Deno.test("playground rejects bad --mem and missing files", async () => {
  const file = tempFile("exit\n", ".asm");
  const bad = await runCli(["--asm", file, "--mem", "0g"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^tsbpf: Invalid --mem "0g"/);
  const missing = await runCli(["--asm", "/nonexistent/x.asm"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read "\/nonexistent\/x.asm"/);
});

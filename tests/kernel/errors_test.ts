/**
 * Acceptance 8: failures on the kernel path end with one clear message and
 * a non-zero status, never a stack trace: kprobes on a kernel without
 * them (naming the tracepoint to use instead), unknown tracepoints and
 * uprobe targets, and a program the kernel verifier rejects (its log's
 * failing instruction mapped back to the script line).
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { Session } from "../../runtime/session.ts";
import { Class, Helper, JmpOp } from "../../runtime/bpf/opcodes.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { VerifierRejection } from "../../ffi/errors.ts";
import {
  hasStackTrace,
  runTsbpf,
  skip,
  skipReason,
  workloadPath,
} from "./helpers.ts";

const ignore = skip("kernel error tests", skipReason);

/** The stderr lines that are not the backend note. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) =>
    l.trim() !== "" && !l.startsWith("tsbpf: running")
  );
}

async function failsWith(
  program: string,
  code: number,
  pattern: RegExp,
): Promise<string[]> {
  const r = await runTsbpf(["-e", program]);
  assert.equal(r.code, code, `status ${r.code}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.ok(!/Attach(ing|ed) /.test(r.stdout + r.stderr), r.stdout);
  const lines = errorLines(r.stderr);
  assert.match(lines[0] ?? "", pattern, r.stderr);
  return lines;
}

Deno.test({
  name: "error: kprobe names the tracepoint to use instead, in one sentence",
  ignore,
  async fn() {
    for (
      const [probe, alt] of [
        ["kprobe:kfree_skb", "tracepoint:skb:kfree_skb"],
        ["kretprobe:vfs_read", "tracepoint:syscalls:sys_exit_read"],
      ]
    ) {
      const lines = await failsWith(
        `${probe} { @ = count(); }`,
        1,
        new RegExp(`^ERROR: Cannot attach "${probe}": .*\\b${alt}\\b`),
      );
      // The reason in one sentence, then bpftrace 0.26's fixed line for a
      // probe that fails to attach (src/bpftrace.cpp).
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.equal(lines[0].match(/[.;] [A-Z]/g), null, "one sentence");
      assert.match(lines[1], /^ERROR: Unable to attach probe: /);
    }
    // No specific alternative: still says what to use.
    const lines = await failsWith(
      "kprobe:do_nanosleep { @ = count(); }",
      1,
      /^ERROR: Cannot attach "kprobe:do_nanosleep": .*\btracepoint\b/,
    );
    assert.equal(lines.length, 2, lines.join("\n"));
  },
});

Deno.test({
  name: "error: an unknown tracepoint is a clear compile error",
  ignore,
  async fn() {
    const lines = await failsWith(
      "tracepoint:nosuch:thing { @ = count(); }",
      2,
      /^stdin:1:1: ERROR: No matches for tracepoint nosuch:thing\.$/,
    );
    assert.equal(lines[1], "tracepoint:nosuch:thing { @ = count(); }");
    await failsWith(
      "tracepoint:syscalls:sys_enter_openat { @[args->nosuch] = count(); }",
      2,
      /^stdin:1:\d+: ERROR: Tracepoint "syscalls:sys_enter_openat" has no field "nosuch"$/,
    );
  },
});

Deno.test({
  name: "error: unknown uprobe binary or function, unknown raw tracepoint",
  ignore,
  async fn() {
    const bin = await workloadPath();
    // Before loading anything, in bpftrace 0.26's words.
    await failsWith(
      `uprobe:${bin}:no_such_fn { @ = count(); }`,
      2,
      /^stdin:1:1: ERROR: No matches for uprobe \/.*:no_such_fn\.$/,
    );
    await failsWith(
      "uprobe:/nonexistent/bin:foo { @ = count(); }",
      1,
      /^ERROR: Cannot attach "uprobe:\/nonexistent\/bin:foo": .*\/nonexistent\/bin/,
    );
    // Looked up in the kernel's BTF (as 0.26) where it is readable; else
    // the kernel answers at attach.
    const btf = (() => {
      try {
        return Deno.statSync("/sys/kernel/btf/vmlinux").isFile;
      } catch {
        return false;
      }
    })();
    await failsWith(
      "rawtracepoint:nosuch_tp { @ = count(); }",
      btf ? 2 : 1,
      btf
        ? /^stdin:1:1: ERROR: No matches for rawtracepoint nosuch_tp\.$/
        : /^ERROR: Cannot attach "rawtracepoint:nosuch_tp": .*[Nn]o such raw tracepoint/,
    );
  },
});

Deno.test({
  name: "error: a too complex program is rejected with its script line",
  ignore,
  async fn() {
    // The kernel's verifier is the judge on the kernel path: it gives up
    // after a million instructions, and the failing instruction is mapped
    // back to the inner loop's line; then comes the tail of its log.
    const lines = await failsWith(
      "BEGIN {\n  $i = 0;\n  while ($i < 100000) {\n    $j = 0;\n" +
        "    while ($j < 100000) { $j++; @x = $j; }\n    $i++;\n  }\n}",
      2,
      /^ERROR: Probe "BEGIN" rejected by the kernel's verifier at instruction \d+ \(script line 5, column \d+\): BPF program is too large/,
    );
    // The instruction and the script's line, as tsbpf's verifier shows
    // them, then the log's tail.
    assert.match(lines[1] ?? "", /^ {2}\d+: [^;]+$/);
    assert.equal(lines[2], "  5 |     while ($j < 100000) { $j++; @x = $j; }");
    assert.match(
      lines[3] ?? "",
      /^Verifier log \(last 12 of \d+ lines; -v shows all\):$/,
    );
    assert.ok(lines.length <= 17, lines.join("\n"));
  },
});

Deno.test({
  name: "error: a kernel verifier rejection maps to the script line",
  ignore,
  async fn() {
    // Our compiler and verifier emit only code the kernel accepts, so take
    // a good program and invert the null check after its map lookup: the
    // fall-through path now dereferences NULL.
    const program = compile("BEGIN {\n  @x[1] = 5;\n  @n[2] = count();\n}");
    const probe = program.probes[0];
    let lookups = 0, at = -1;
    probe.insns.forEach((i, pc) => {
      if (
        i.code === (Class.JMP | JmpOp.CALL) && i.imm === Helper.map_lookup_elem
      ) {
        if (++lookups === 1) at = pc + 1;
      }
    });
    assert.ok(at > 0, "a map lookup");
    const check = probe.insns[at];
    assert.equal(check.code, Class.JMP | JmpOp.JEQ, "null check follows");
    probe.insns[at] = { ...check, code: Class.JMP | JmpOp.JNE };
    const line = probe.locs?.[at + 1]?.line;
    assert.equal(line, 3, "count() is on line 3");

    let out = "";
    const session = new Session(program, new KernelEngine(), {
      write: (s) => out += s,
    });
    try {
      await assert.rejects(session.start(), (e: unknown) => {
        assert.ok(e instanceof VerifierRejection, String(e));
        assert.equal(e.insnIndex, at + 1);
        assert.equal(e.line, 3);
        assert.match(e.reason, /R0 invalid mem access/);
        assert.match(e.message, /\bline 3\b/);
        assert.ok(e.log.split("\n").length > 3, "the log is kept");
        return true;
      });
      assert.equal(out, "", "nothing attached, nothing printed");
    } finally {
      await session.finish().catch(() => {});
    }
  },
});

/**
 * A uprobe on a function its binary does not define fails before
 * anything loads, as in bpftrace 0.26 (src/ast/passes/
 * ap_probe_expansion.cpp: `No matches for uprobe PATH:FUNC.`), located at
 * the attach point, on both engines; `missing_probes = warn` and
 * `ignore` skip it instead. A binary that cannot be read is not judged
 * at compile time: the interpreter runs its probe on synthetic events.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { findBinary } from "../../runtime/probes/find_binary.ts";
import { kernelSkipReason, runCli } from "../cli/helpers.ts";
import { failure } from "./harness.ts";

const LIBC = findBinary("libc");

Deno.test("a uprobe on a function the binary lacks: 0.26's error at the attach point", () => {
  const line = "uprobe:libc:getpid, uprobe:libc:tsbpf_no_such_function { }";
  assert.equal(
    failure(`BEGIN { }\n${line}`),
    `stdin:2:21: ERROR: No matches for uprobe ${LIBC}:tsbpf_no_such_function.\n` +
      `${line}\n${" ".repeat(20)}${"~".repeat(34)}`,
  );
  // A binary named with a `/` is shown as written; a uretprobe by its name.
  assert.equal(
    failure(`uretprobe:${LIBC}:tsbpf_nope { }`).split("\n")[0],
    `stdin:1:1: ERROR: No matches for uretprobe ${LIBC}:tsbpf_nope.`,
  );
});

Deno.test("a binary that cannot be read, a wildcard: left to the engine (synthetic events, or the attach)", () => {
  const p = compile("uprobe:/nonexistent/tsbpf:main { }");
  assert.equal(p.probes[0].attach[0].text, "uprobe:/nonexistent/tsbpf:main");
  // So is a wildcard (tsbpf expands it only for -l).
  assert.equal(compile("uprobe:libc:getp?d { }").probes.length, 1);
});

Deno.test("missing_probes = warn or ignore skips the uprobe instead", () => {
  const probes = "uprobe:libc:getpid, uprobe:libc:tsbpf_no_such_function { }";
  for (const mode of ["warn", "ignore"]) {
    const p = compile(`config = { missing_probes = ${mode} } ${probes}`);
    assert.deepEqual(p.probes[0].attach.map((a) => a.symbol), ["getpid"]);
  }
  const warn = compile(`config = { missing_probes = warn } ${probes}`);
  assert.equal(
    warn.config?.warnings[0].split("\n")[0],
    `stdin:1:56: WARNING: No matches for uprobe ${LIBC}:tsbpf_no_such_function. Skipping.`,
  );
});

const kernelSkip = kernelSkipReason();
for (const backend of ["kernel", "interp"]) {
  Deno.test({
    name:
      `${backend}: the CLI exits 2 with the located error, attaching nothing`,
    ignore: backend === "kernel" && kernelSkip !== undefined,
    async fn() {
      const ap = "uprobe:libc:tsbpf_no_such_function";
      const src = `BEGIN { printf("begun\\n"); } ${ap} { exit(); }`;
      const col = src.indexOf(ap) + 1;
      const r = await runCli(["--backend", backend, "-e", src]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        `stdin:1:${col}: ERROR: No matches for uprobe ${LIBC}:tsbpf_no_such_function.\n` +
          `${src}\n${" ".repeat(col - 1)}${"~".repeat(ap.length)}\n`,
      );
    },
  });
}

/**
 * The compiler and output fixes checked end to end: the tsbpf CLI (kernel
 * engine, and the interpreter where engines must agree) against the
 * installed bpftrace 0.17 — `sizeof` widths, short-circuit constants,
 * `strftime()` dates, printf argument checks, and the order of map entries
 * with equal values.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import {
  afterAttachLine,
  bpftraceSkipReason,
  runBpftrace,
  runTsbpf,
  skip,
  skipReason,
} from "../kernel/helpers.ts";

const noBpftrace = skip("bpftrace comparisons", bpftraceSkipReason);
const noKernel = skip("kernel engine runs", skipReason);

/** Runs the same one-liner in tsbpf (kernel) and bpftrace; both stdouts. */
async function both(prog: string): Promise<[string, string]> {
  const [ours, ref] = await Promise.all([
    runTsbpf(["--backend", "kernel", "-e", prog]),
    runBpftrace(["-e", prog]),
  ]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ref.code, 0, ref.stderr);
  return [afterAttachLine(ours.stdout), afterAttachLine(ref.stdout)];
}

Deno.test({
  name: "vs bpftrace: sizeof widths and short-circuit constants print the same",
  ignore: noBpftrace,
  async fn() {
    const prog = "BEGIN { $x = (uint16)1; $t = ((uint16)1, (uint8)2); " +
      "$s = (int32)-1; $s2 = $s; $c = comm; " +
      'printf("%d %d %d %d %d %d %d\\n", sizeof($x), sizeof($t), sizeof($s2), ' +
      "sizeof($c), sizeof(((uint8)1, comm)), sizeof(pid), sizeof($x + 1)); " +
      'if (1 || @w++ > 0) { printf("a\\n"); } ' +
      'if (0 && @w++) { printf("b\\n"); } else { printf("c\\n"); } ' +
      'if (@q++ && 0) { printf("dead\\n"); } else { printf("live\\n"); } ' +
      "$y = @q++ && 0; $z = (@q++ || 1) ? 5 : 6; " +
      'printf("%d %d\\n", $y, $z); @w = 7; exit(); }';
    const [ours, ref] = await both(prog);
    assert.equal(ours, ref);
    assert.equal(ours, "2 4 4 16 17 8 8\na\nc\nlive\n0 5\n\n\n@q: 3\n@w: 7\n");
  },
});

Deno.test({
  name: "vs bpftrace: strftime() prints the same wall-clock time",
  ignore: noBpftrace,
  async fn() {
    const prog = 'BEGIN { printf("%s %s %s\\n", strftime("%s", nsecs), ' +
      'strftime("%s", 0), strftime("%Y-%m-%d", nsecs)); exit(); }';
    const [ours, ref] = await both(prog);
    const [nowA, bootA, dayA] = ours.trim().split(" ");
    const [nowB, bootB, dayB] = ref.trim().split(" ");
    // Two runs a few seconds apart, each adding its boot time offset.
    assert.ok(Math.abs(Number(nowA) - Number(nowB)) <= 10, `${ours} vs ${ref}`);
    assert.ok(Math.abs(Number(nowA) - Date.now() / 1000) <= 30, ours);
    // The boot time itself is the same to the second (bpftrace reads the
    // clocks, tsbpf /proc/uptime).
    assert.ok(
      Math.abs(Number(bootA) - Number(bootB)) <= 1,
      `${ours} vs ${ref}`,
    );
    assert.match(dayA, /^\d{4}-\d\d-\d\d$/);
    if (Number(nowA) % 86400 > 60) assert.equal(dayA, dayB);
  },
});

Deno.test({
  name: "vs bpftrace: printf argument type errors carry bpftrace's message",
  ignore: noBpftrace,
  async fn() {
    for (
      const prog of [
        'BEGIN { printf("%-5s|\\n", 1); exit(); }',
        'BEGIN { printf("%s\\n", (1, 2)); exit(); }',
        'BEGIN { printf("%d\\n", comm); exit(); }',
      ]
    ) {
      let ours = "";
      try {
        compile(prog);
      } catch (e) {
        if (!(e instanceof CompileErrors)) throw e;
        ours = e.errors.map((d) => d.message).join("\n");
      }
      const ref = await runBpftrace(["-e", prog]);
      assert.notEqual(ref.code, 0);
      assert.ok(ours !== "", `tsbpf accepted ${prog}`);
      assert.ok(
        ref.stderr.includes(`ERROR: ${ours}\n`),
        `${ours}\nvs\n${ref.stderr}`,
      );
    }
  },
});

Deno.test({
  name: "kernel and interpreter print maps with equal values in key order",
  ignore: noKernel,
  async fn() {
    const prog =
      "BEGIN { @c[3] = count(); @c[1] = count(); @c[20] = count(); " +
      "@c[2] = count(); @c[2] = count(); " +
      '@s["b"] = sum(5); @s["a"] = sum(5); @s["c"] = sum(1); ' +
      '@m[2, "x"] = max(4); @m[1, "y"] = max(4); ' +
      "@v[9] = 1; @v[4] = 1; exit(); }";
    const runs = await Promise.all(
      ["kernel", "interp"].map((b) => runTsbpf(["--backend", b, "-e", prog])),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const [kernel, interp] = runs.map((r) => afterAttachLine(r.stdout));
    assert.equal(kernel, interp);
    assert.equal(
      kernel,
      "\n\n@c[1]: 1\n@c[3]: 1\n@c[20]: 1\n@c[2]: 2\n" +
        "@m[1, y]: 4\n@m[2, x]: 4\n" +
        "@s[c]: 1\n@s[a]: 5\n@s[b]: 5\n" +
        "@v[4]: 1\n@v[9]: 1\n",
    );
    if (!noBpftrace) {
      // bpftrace prints the same lines, ties in its hash order.
      const ref = await runBpftrace(["-e", prog]);
      const lines = (t: string) => t.split("\n").sort();
      assert.deepEqual(lines(afterAttachLine(ref.stdout)), lines(kernel));
    }
  },
});

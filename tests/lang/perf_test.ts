import assert from "node:assert/strict";
import { parse } from "../../runtime/lang/parser.ts";

/** A realistic 100-line script: several probes with varied statements. */
function script100(): string {
  const lines = [
    "#include <linux/sched.h>",
    "config = { max_map_keys = 4096 }",
    'BEGIN { printf("Tracing... Hit Ctrl-C to end.\\n"); @start = nsecs; }',
  ];
  const bodies = [
    "  @reads[comm, pid] = count();",
    "  @bytes[comm] = sum(args->count);",
    "  $lat = (nsecs - @start[tid]) / 1000;",
    '  if ($lat > 100 && comm != "bash") { @slow[comm] = hist($lat); }',
    "  else if ($lat > 10) { @mid = lhist($lat, 0, 100, 10); } else { @fast++; }",
    "  $t = (pid, comm, (uint32)retval);",
    "  @by_cpu[cpu] = stats($t.2 * 2 + 1);",
    "  delete(@start[tid]);",
    "  unroll(4) { $i = $i + 1; @u[$i] += 1 << 2; }",
    "  while ($j < 8) { $j++; if ($j == 5) { break; } }",
    '  printf("%-16s %6d %s\\n", comm, pid, str(args->filename, 64));',
    "  @stack[kstack(8), ustack(perf, 4)] = max(sizeof(struct task_struct));",
  ];
  let probe = 0;
  while (lines.length < 88) {
    lines.push(
      `tracepoint:syscalls:sys_enter_read${probe}, t:syscalls:sys_enter_pread64 /pid != $1 && @start[tid]/ {`,
    );
    for (let k = 0; k < 6; k++) {
      lines.push(bodies[(probe * 6 + k) % bodies.length]);
    }
    lines.push("}");
    probe++;
  }
  while (lines.length < 96) lines.push(`// padding comment ${lines.length}`);
  lines.push("interval:s:5 { print(@reads, 10); clear(@reads); }");
  lines.push("END { clear(@start); zero(@bytes);");
  lines.push("  exit();");
  lines.push("}");
  return lines.join("\n");
}

Deno.test("perf: a 100-line script parses in well under 10 ms", () => {
  const src = script100();
  assert.equal(src.split("\n").length, 100);
  const f0 = performance.now();
  const { ast } = parse(src, "perf.bt", ["1"]);
  const first = performance.now() - f0;
  assert.ok(ast.probes.length >= 10);
  for (let i = 0; i < 30; i++) parse(src, "perf.bt", ["1"]); // warm up
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    parse(src, "perf.bt", ["1"]);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[100];
  const p95 = times[190];
  const cold = (() => {
    // A fresh source text (different probe name) to avoid string caching.
    const other = src.replace("sys_enter_read0", "sys_enter_write0");
    const t0 = performance.now();
    parse(other, "perf.bt", ["1"]);
    return performance.now() - t0;
  })();
  console.log(
    `perf: 100 lines / ${src.length} bytes: first (cold JIT) ${
      first.toFixed(2)
    } ms, median ${median.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms, ` +
      `fresh text ${cold.toFixed(3)} ms`,
  );
  assert.ok(median < 10, `median ${median} ms`);
});

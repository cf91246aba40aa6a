import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";

/** A 100-line script mixing probes, maps, strings, printf and loops. */
function script(): string {
  const lines: string[] = [];
  for (let i = 0; lines.length + 8 <= 96; i++) {
    lines.push(
      `tracepoint:syscalls:sys_enter_openat /pid != ${i}/ {`,
      `  $f${i} = str(args->filename);`,
      `  @open${i}[comm, $f${i}] = count();`,
      `  @flags${i} = hist(args->flags);`,
      `  if ($f${i} == "/etc/passwd") { printf("%s %d %s\\n", comm, pid, $f${i}); }`,
      `  $j = 0; while ($j < 4) { @loop${i}[$j] = sum($j); $j++; }`,
      `}`,
      `tracepoint:sched:sched_switch { @sw${i}[args->prev_comm] = lhist(args->prev_pid, 0, 1000, 50); }`,
    );
  }
  lines.push("BEGIN {", '  printf("start\\n");', "  @start = nsecs;", "}");
  return lines.join("\n");
}

Deno.test("a 100-line script compiles in under 50 ms after warm-up", () => {
  const src = script();
  assert.equal(src.split("\n").length, 100);
  compile(src); // warm-up: JIT, tracepoint formats
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const p = compile(src);
    runs.push(performance.now() - t0);
    assert.ok(p.probes.length >= 24);
  }
  runs.sort((a, b) => a - b);
  const median = runs[2];
  console.log(`100-line compile: median ${median.toFixed(1)} ms`);
  assert.ok(median < 50, `median ${median} ms`);
});

/**
 * Seeded fuzzing of the lexer and parser: random bytes, token soup,
 * truncations and mutations of valid programs, and pathological inputs.
 * Every outcome must be a tree or CompileErrors with sane spans, never any
 * other exception, and every case must finish quickly. (The whole
 * compiler is fuzzed in tests/fuzz/; this file checks the parser's spans.)
 */
import assert from "node:assert/strict";
import type { Span } from "../../runtime/lang/ast.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { tokenize } from "../../runtime/lang/lexer.ts";
import { parse, parseRecovering } from "../../runtime/lang/parser.ts";
import { Rand } from "../fuzz/engine.ts";
import { SOURCE_TOKENS } from "../fuzz/vocabulary.ts";

/** The shared engine's seeded source, as a function of [0, 1). */
function rng(seed: number): () => number {
  const r = new Rand(seed);
  return () => r.next();
}

const VALID = [
  "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }",
  `tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
tracepoint:syscalls:sys_exit_read /@start[tid]/ {
  @ns[comm] = hist(nsecs - @start[tid]);
  delete(@start[tid]);
}`,
  'uretprobe:/bin/bash:readline { printf("%-6d %s\\n", pid, str(retval)); }',
  "profile:hz:99 /pid == $1/ { @[kstack(5), ustack(perf, 3)] = count(); }",
  "interval:s:1 { print(@x, 10); clear(@x); exit(); }",
  `BEGIN {
  $x = (uint32)rand % 3;
  if ($x == 0) { @z++; } else if ($x == 1) { @o += 1; } else { @t = 2 }
}`,
  `BEGIN { $i = 0; while ($i < 5) { $i++; if ($i > 3) { break; } } unroll(2) { @u[$i] = lhist($i, 0, 10, 1); } }`,
  `BEGIN { $t = (1, "two", pid); @m[$t.0] = $t.1 == "two" ? sum($t.2) : max(0); }`,
  "kprobe:do_nanosleep { $task = (struct task_struct *)curtask; @[$task->comm, *(uint8*)arg0] = stats(sizeof(struct timespec)); }",
  `#include <linux/sched.h>
struct foo { int a; };
config = { max_map_keys = 10 }
BEGIN, END { printf("hi\\n"); } // done
/* trailing */`,
  "software:page-faults:100, hardware:cache-misses:1000000 { @[probe] = count(); }",
  `i:ms:100 { @a <<= 1; @b ^= ~arg0; $c = -(1 + 2) * !0; $d = 0x7f & $c | 1_000; }`,
  `t:sched:sched_switch { @[args->prev_comm, args.next_pid] = sum(1e3); $s = "\\x41\\101\\t"; return; }`,
  "u:./a.out:main+4, ur:/lib/libc.so.6:mall?c { @x[$#, $2] -= offsetof(struct sk_buff, dev.name); --@y; }",
];

/** Offset → 1-based line/col, computed independently of the lexer. */
const lineStarts = new Map<string, number[]>();
function lineCol(src: string, offset: number): [number, number] {
  let starts = lineStarts.get(src);
  if (!starts) {
    starts = [0];
    for (let i = 0; i < src.length; i++) {
      if (src.charCodeAt(i) === 10) starts.push(i + 1);
    }
    lineStarts.clear();
    lineStarts.set(src, starts);
  }
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return [lo + 1, offset - starts[lo] + 1];
}

function checkSpan(src: string, sp: Span, what: string): void {
  assert.ok(
    Number.isInteger(sp.start) && Number.isInteger(sp.end) &&
      sp.start >= 0 && sp.start <= sp.end && sp.end <= src.length,
    `${what}: bad span ${JSON.stringify(sp)} for length ${src.length}`,
  );
  const [line, col] = lineCol(src, sp.start);
  assert.deepEqual([sp.line, sp.col], [line, col], `${what}: line/col`);
}

/** Checks every node's span; iterative so deep trees are fine. */
function checkTree(src: string, root: unknown): number {
  const stack: unknown[] = [root];
  let nodes = 0;
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if ("kind" in o) {
        nodes++;
        assert.ok(o.span, `node ${o.kind} has no span`);
        checkSpan(src, o.span as Span, String(o.kind));
      }
      for (const [k, x] of Object.entries(o)) if (k !== "span") stack.push(x);
    }
  }
  return nodes;
}

let slowest = 0;

/** Runs one input through tokenize, parseRecovering and parse. */
function check(src: string): "ok" | "errors" {
  const t0 = performance.now();
  const tk = tokenize(src);
  for (const t of tk.tokens) checkSpan(src, t.span, `token ${t.type}`);
  const r = parseRecovering(src, "fuzz.bt", ["/bin/sh", "7"]);
  for (const e of [...r.diagnostics.errors, ...tk.diagnostics.errors]) {
    checkSpan(src, e.span, `error "${e.message}"`);
    assert.ok(
      !e.message.startsWith("Internal parser error"),
      `escaped exception: ${e.message} for ${JSON.stringify(src)}`,
    );
    assert.ok(e.message.length > 0 && !e.message.includes("\n"));
  }
  r.diagnostics.format(); // never throws
  let outcome: "ok" | "errors";
  try {
    const { ast } = parse(src, "fuzz.bt", ["/bin/sh", "7"]);
    checkTree(src, ast);
    outcome = "ok";
  } catch (e) {
    if (!(e instanceof CompileErrors)) {
      throw new Error(`non-CompileErrors for ${JSON.stringify(src)}: ${e}`);
    }
    assert.ok(e.errors.length > 0);
    const text = e.format();
    assert.ok(text.startsWith("fuzz.bt:"));
    outcome = "errors";
  }
  checkTree(src, r.ast);
  const dt = performance.now() - t0;
  if (dt > slowest) slowest = dt;
  // Generous: this catches hangs, not speed (the machine is shared).
  assert.ok(
    dt < 3000,
    `case took ${dt.toFixed(1)} ms: ${JSON.stringify(src.slice(0, 80))}`,
  );
  return outcome;
}

Deno.test("fuzz: valid corpus parses", () => {
  for (const src of VALID) assert.equal(check(src), "ok", src);
});

Deno.test("fuzz: 3,500 seeded cases never escape, never hang", () => {
  const rand = rng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const n = (k: number) => Math.floor(rand() * k);
  const t0 = performance.now();
  const counts = { ok: 0, errors: 0 };
  let cases = 0;
  const run = (src: string) => {
    counts[check(src)]++;
    cases++;
  };
  // 1. Random bytes (as Latin-1 text), some biased to ASCII punctuation.
  for (let i = 0; i < 800; i++) {
    const len = n(120);
    let s = "";
    for (let j = 0; j < len; j++) {
      s += String.fromCharCode(i % 2 ? n(256) : 32 + n(95));
    }
    run(s);
  }
  // 2. Random token soup.
  for (let i = 0; i < 800; i++) {
    let s = "";
    const len = 1 + n(40);
    for (let j = 0; j < len; j++) {
      s += pick(SOURCE_TOKENS) + (rand() < 0.5 ? " " : "");
    }
    run(s);
  }
  // 3. Every truncation point of every valid program (bounded).
  for (const src of VALID) {
    for (let k = 0; k < 60; k++) run(src.slice(0, n(src.length + 1)));
  }
  // 4. Mutations of valid programs: delete, insert, replace, duplicate.
  for (let i = 0; i < 1100; i++) {
    let s = pick(VALID);
    const edits = 1 + n(4);
    for (let e = 0; e < edits; e++) {
      const at = n(s.length + 1);
      switch (n(5)) {
        case 0:
          s = s.slice(0, at) + s.slice(at + 1 + n(6));
          break;
        case 1:
          s = s.slice(0, at) + pick(SOURCE_TOKENS) + s.slice(at);
          break;
        case 2:
          s = s.slice(0, at) + String.fromCharCode(n(128)) + s.slice(at + 1);
          break;
        case 3: {
          const b = n(s.length + 1);
          s = s.slice(0, at) + s.slice(Math.min(at, b), Math.max(at, b)) +
            s.slice(at);
          break;
        }
        default: {
          const b = n(s.length + 1);
          s = s.slice(Math.min(at, b), Math.max(at, b));
        }
      }
    }
    run(s);
  }
  const elapsed = performance.now() - t0;
  console.log(
    `fuzz: ${cases} cases (${counts.ok} parsed, ${counts.errors} with errors) in ${
      elapsed.toFixed(0)
    } ms, slowest case ${slowest.toFixed(1)} ms`,
  );
  assert.ok(cases >= 3000);
  assert.ok(counts.ok > 0 && counts.errors > 0);
  assert.ok(elapsed < 15000, `fuzz took ${elapsed} ms`);
});

Deno.test("fuzz: pathological inputs are reported, not crashed on", () => {
  const cases = [
    "BEGIN { $x = " + "(".repeat(20000) + " }",
    "BEGIN { $x = " + "-".repeat(20000) + "1; }",
    "BEGIN " + "{".repeat(20000),
    "BEGIN { $x = " + "1 + ".repeat(20000) + "1; }",
    "BEGIN { " + "if (1) { } else ".repeat(3000) + "{ } }",
    "BEGIN { $x = " + "$t.0".repeat(1) + ".0".repeat(5000) + "; }",
    "BEGIN { @x = " + "a->".repeat(5000) + "b; }",
    "BEGIN { @x[" + "1,".repeat(5000) + "1] = 1; }",
    'BEGIN { printf("' + "x".repeat(100000) + '"); }',
    "k:" + "a".repeat(50000) + " { }",
    ",".repeat(10000),
    "}".repeat(10000),
    ";".repeat(10000),
    "/".repeat(10000),
    '"'.repeat(10001),
    "BEGIN { " + "@x = ;".repeat(5000) + " }",
    "struct " + "{".repeat(10000),
    "BEGIN { $x = (" + "u32)(".repeat(3000) + "1)",
    "\0".repeat(1000),
    "\u{1F600}".repeat(1000),
  ];
  const t0 = performance.now();
  for (const src of cases) check(src);
  const dt = performance.now() - t0;
  console.log(`pathological: ${cases.length} inputs in ${dt.toFixed(0)} ms`);
  assert.ok(dt < 15000);
  // The deep else-if chain is valid and parses without recursion limits.
  const chain = "BEGIN { " + "if ($x) { } else ".repeat(3000) + "{ } }";
  assert.equal(check(chain), "ok");
});

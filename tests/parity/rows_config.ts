/**
 * Parity rows for the `config = { ... }` block of bpftrace 0.26:
 * `max_strlen`, `stack_mode` and `missing_probes`. Expected behaviour
 * follows bpftrace v0.26.1's docs/language.md ("Config Variables") and
 * tests/runtime (config, builtin, call, probe).
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, mapOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";
import type { StackValue } from "../../runtime/output/types.ts";

function stacks(r: { maps: { name: string }[] }, name: string): StackValue[] {
  return mapOf(r as never, name).entries.map((e) => e.key[0] as StackValue);
}

/** The rows of this area. */
export const CONFIG_ROWS: Row[] = [
  {
    name: "config_max_strlen_truncates",
    features: [
      "max_strlen",
      "str() at max_strlen",
      "str(s, n) capped by max_strlen",
    ],
    source: `config = { max_strlen = 8 }
tracepoint:syscalls:sys_enter_openat {
  @p[str(args->filename)] = count();
  @n[str(args->filename, 30)] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      for (const name of ["@p", "@n"]) {
        assert.equal(total(r, name), N);
        // 8 bytes: 7 characters and the NUL.
        for (const [k] of entries(r, name)) assert.ok(k.length <= 7, k);
      }
      if (r.engine === "kernel") {
        assert.deepEqual(entries(r, "@p"), [["/nonexi", N]]);
        assert.deepEqual(entries(r, "@n"), [["/nonexi", N]]);
      }
    },
  },
  {
    name: "config_stack_mode_raw",
    features: [
      "stack_mode = raw",
      "ustack without a mode follows stack_mode",
      "ustack(perf)/ustack(bpftrace) override it",
      "raw frames are unindented hex addresses",
    ],
    source: (t) =>
      `config = { stack_mode = raw }
uprobe:${t.bin}:parity_target {
  @r[ustack(2)] = count(); @p[ustack(perf, 1)] = count();
  @b[ustack(bpftrace, 1)] = count();
}`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@r"), N);
      const raw = stacks(r, "@r");
      const perf = stacks(r, "@p");
      for (const s of raw) {
        assert.equal(s.mode, "raw");
        assert.ok(s.frames.length >= 1 && s.frames.length <= 2);
        for (const f of s.frames) assert.match(f, /^[0-9a-f]+$/);
      }
      // The raw address of the first frame is perf mode's.
      assert.deepEqual(
        raw.map((s) => s.frames[0]),
        perf.map((s) => s.addresses![0].toString(16)),
      );
      assert.deepEqual(stacks(r, "@b").map((s) => s.frames), [[
        "parity_target+0",
      ]]);
      const text = r.exitOutput.split("\n");
      const at = text.indexOf("@r[");
      assert.ok(at >= 0, r.exitOutput);
      assert.match(text[at + 1], /^[0-9a-f]+$/, r.exitOutput);
    },
  },
  {
    name: "config_stack_mode_perf_kstack",
    features: ["stack_mode = perf", "kstack follows stack_mode"],
    source: `config = { stack_mode = perf }
tracepoint:syscalls:sys_enter_getppid { @k[kstack(2)] = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@k"), N);
      for (const s of stacks(r, "@k")) assert.equal(s.mode, "perf");
      const lines = r.exitOutput.split("\n").filter((l) => l.startsWith("\t"));
      assert.ok(lines.length > 0, r.exitOutput);
      for (const l of lines) assert.match(l, /^\t[0-9a-f]+ \S+$/, l);
    },
  },
  {
    name: "config_missing_probes_ignore",
    features: [
      "missing_probes = ignore",
      "a tracepoint the kernel lacks is skipped",
      "a probe on a missing uprobe symbol is dropped",
    ],
    source: (t) =>
      `config = { missing_probes = ignore }
tracepoint:syscalls:sys_enter_getppid,tracepoint:syscalls:tsbpf_no_such_event { @c = count(); }
uprobe:${t.bin}:tsbpf_no_such_function { @u = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@c"), N);
      assert.ok(!r.maps.some((m) => m.name === "@u"), r.engine);
    },
  },
  {
    name: "config_missing_probes_warn_wildcard",
    features: [
      "missing_probes = warn",
      "a wildcard matching nothing is skipped",
    ],
    source: `config = { missing_probes = warn }
tracepoint:tsbpf_no_such_group:* { @x = count(); }
tracepoint:syscalls:sys_enter_getppid { @c = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@c"), N);
      assert.ok(!r.maps.some((m) => m.name === "@x"), r.engine);
    },
  },
];

/**
 * Parity rows for probes typed by the kernel's BTF, as bpftrace v0.26.1
 * has them (docs/language.md "fentry and fexit", "rawtracepoint";
 * tests/runtime/probe, builtin): `rawtracepoint[:module]:event` with
 * `args.NAME` and `args` whole from the event's prototype, and
 * `fentry`/`fexit` (`kfunc`/`kretfunc`) with `args.NAME` from the
 * function's prototype, `retval` typed by its return type and `func`.
 *
 * The fentry/fexit rows need a kernel that runs BPF trampolines: their
 * kernel half is skipped, with the reason, where it cannot (see
 * tests/support/fentry.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertShape, entries, linesOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The sizes the workload's `read` mode reads: 1 << (i % 8). */
function readSizes(n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = String(1 << (i % 8));
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** The rows of this area. */
export const FENTRY_ROWS: Row[] = [
  {
    name: "rawtracepoint_btf_args",
    features: ["rawtracepoint args.NAME", "BTF-typed args", "signed long"],
    source: "rawtracepoint:sys_enter { @id[args.id] = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@id", {
        kind: "count",
        keyed: true,
        keys: ["int"],
        values: ["int"],
      });
      assert.ok(total(r, "@id") >= N);
      if (r.engine === "kernel") {
        // x86_64 getppid is system call 110.
        assert.equal(new Map(entries(r, "@id")).get("110"), N);
      }
    },
  },
  {
    name: "rawtracepoint_btf_ret",
    features: [
      "rawtracepoint:vmlinux:event",
      "args.ret (long)",
      "args.regs pointer",
    ],
    source:
      "rawtracepoint:vmlinux:sys_exit { @ret[args.ret] = count(); @regs[args.regs != 0] = count(); }",
    workload: ["read", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@ret", {
        kind: "count",
        keyed: true,
        keys: ["int"],
        values: ["int"],
      });
      if (r.engine === "kernel") {
        // Each read of /dev/zero returns the size it asked for.
        const got = new Map(entries(r, "@ret"));
        for (const [size, n] of readSizes(N)) {
          assert.ok(Number(got.get(size) ?? 0) >= n, `${size}: ${r.output}`);
        }
        assert.deepEqual(entries(r, "@regs").map(([k]) => k), ["true"]);
      }
    },
  },
  {
    name: "rawtracepoint_btf_wildcard_module",
    features: ["rawtracepoint:vmlinu*:event", "probe of an expanded name"],
    source: "rawtracepoint:vmlinu*:sys_ent?r { @[probe] = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const got = entries(r, "@");
      assert.deepEqual(got.map(([k]) => k), [
        "rawtracepoint:vmlinux:sys_enter",
      ]);
      assert.ok(Number(got[0][1]) >= N);
    },
  },
  {
    name: "rawtracepoint_btf_args_record",
    features: ["print(args) of a rawtracepoint", "args record"],
    source: "rawtracepoint:sys_exit { print(args); @n = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const lines = linesOf(r);
      assert.equal(lines.length, Number(only(r, "@n")), r.output);
      assert.ok(lines.length >= N);
      for (const l of lines) {
        assert.match(l, /^\{ \.regs = 0x[0-9a-f]+, \.ret = -?\d+ \}$/);
      }
    },
  },
  {
    name: "fentry_args_count",
    features: ["fentry args.NAME", "size_t argument"],
    source: "fentry:vfs_read { @[args.count] = count(); }",
    workload: ["read", String(N)],
    pidFilter: true,
    needs: "fentry",
    expect(r) {
      assertShape(r, "@", {
        kind: "count",
        keyed: true,
        keys: ["int"],
        values: ["int"],
      });
      if (r.engine === "kernel") {
        const got = new Map(entries(r, "@"));
        for (const [size, n] of readSizes(N)) {
          assert.equal(got.get(size), n, r.output);
        }
      }
    },
  },
  {
    name: "fexit_retval_and_args",
    features: ["fexit retval (ssize_t)", "fexit args", "kretfunc alias"],
    source:
      "kretfunc:vfs_read { @same[retval == (int64)args.count] = count(); @neg[retval < 0] = count(); }",
    workload: ["read", String(N)],
    pidFilter: true,
    needs: "fentry",
    expect(r) {
      assertShape(r, "@neg", {
        kind: "count",
        keyed: true,
        keys: ["boolean"],
        values: ["int"],
      });
      if (r.engine === "kernel") {
        assert.deepEqual(entries(r, "@same"), [["true", N]]);
        assert.deepEqual(entries(r, "@neg"), [["false", N]]);
      }
    },
  },
  {
    name: "fentry_func_and_args_record",
    features: ["fentry func", "print(args) of fentry", "fentry:vmlinux:fn"],
    source:
      "fentry:vmlinux:vfs_read { @[func, probe] = count(); print(args); }",
    workload: ["read", String(N)],
    pidFilter: true,
    needs: "fentry",
    expect(r) {
      const got = entries(r, "@");
      assert.equal(got.length, 1, r.output);
      assert.equal(got[0][0], "vfs_read|fentry:vmlinux:vfs_read");
      for (const l of linesOf(r)) {
        assert.match(
          l,
          /^\{ \.file = 0x[0-9a-f]+, \.buf = 0x[0-9a-f]+, \.count = \d+, \.pos = 0x[0-9a-f]+ \}$/,
        );
      }
    },
  },
];

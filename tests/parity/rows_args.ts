/**
 * Parity rows for a tracepoint's `args` used whole: printed, stored in a
 * map, a map key, inside a tuple, in a variable, and in JSON. The record
 * holds the tracepoint's own fields (no `common_*` header) and prints as
 * bpftrace v0.26.1 prints a record (tests/runtime/builtin "print args in
 * fentry", "args in fentry store in map", "args in fentry as a map key",
 * "args in a tuple in map"): `{ .name = value, ... }`, pointers in hex.
 *
 * bpftrace 0.26.1 itself lets only fentry, uprobe and rawtracepoint args
 * be printed (its tracepoint args are a context struct, "not printable");
 * here tracepoints, the probes whose args this compiler knows, get the
 * same record.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RecordValue, Value } from "../../runtime/output/types.ts";
import { entries, linesOf, mapOf, only } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The field names of a decoded record. */
function names(v: unknown): string[] {
  const rec = v as RecordValue;
  assert.equal(rec?.type, "record", `not a record: ${JSON.stringify(v)}`);
  return rec.fields.map(([n]) => n);
}

/** A decoded record's field `name`. */
function field(v: unknown, name: string): Value | undefined {
  return (v as RecordValue).fields.find(([n]) => n === name)?.[1];
}

/** sys_enter_openat's own fields, in record order. */
const OPENAT_FIELDS = ["__syscall_nr", "dfd", "filename", "flags", "mode"];

/**
 * `dfd` of the workload's `openat(AT_FDCWD, ...)` on the kernel: the int
 * -100 as the 64-bit register the call passed, zero-extended (the field
 * is 8 bytes; bpftrace reads the same). The interpreter's synthetic
 * events carry any descriptor.
 */
const AT_FDCWD = "4294967196";

/** The rows of this area. */
export const ARGS_ROWS: Row[] = [
  {
    name: "args_print_record",
    features: ["print(args)", "args record text"],
    source: "tracepoint:syscalls:sys_enter_openat { print(args); }",
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      const lines = linesOf(r);
      assert.equal(lines.length, N, r.output);
      const shape =
        /^\{ \.__syscall_nr = 257, \.dfd = (-?\d+), \.filename = 0x[0-9a-f]+, \.flags = (\d+), \.mode = (\d+) \}$/;
      for (const l of lines) {
        const m = shape.exec(l);
        assert.ok(m !== null, `${r.engine}: ${l}`);
        // The workload opens with O_RDONLY and no mode.
        if (r.engine === "kernel") {
          assert.deepEqual([m[1], m[2], m[3]], [AT_FDCWD, "0", "0"]);
        }
      }
    },
  },
  {
    name: "args_in_map_and_variable",
    features: ["@ = args", "@.field of a stored args", "$a = args", "$a.field"],
    source: `tracepoint:syscalls:sys_enter_openat {
  @ = args;
  @nr = @.__syscall_nr;
  $a = args;
  @same[$a.flags == args.flags, $a.filename == args.filename,
    $a.dfd == args.dfd, str($a.filename) == str(args->filename)] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      const v = only(r, "@");
      assert.deepEqual(names(v), OPENAT_FIELDS);
      assert.equal(String(field(v, "__syscall_nr")), "257");
      assert.match(String(field(v, "filename")), /^0x[0-9a-f]+$/);
      assert.equal(String(only(r, "@nr")), "257");
      assert.deepEqual(entries(r, "@same"), [["true|true|true|true", N]]);
    },
  },
  {
    name: "args_as_key_and_in_tuples",
    features: ["@[args]", "@[(1, args)]", "(args, str) value"],
    source: `tracepoint:syscalls:sys_enter_openat {
  @[args] = count();
  @t[(1, args)] = (args, "bye");
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      let n = 0;
      for (const e of mapOf(r, "@").entries) {
        const k = (e as { key: Value[] }).key;
        assert.deepEqual(names(k[0]), OPENAT_FIELDS);
        if (r.engine === "kernel") {
          assert.equal(String(field(k[0], "dfd")), AT_FDCWD);
        }
        n += Number((e as { value: unknown }).value);
      }
      assert.equal(n, N);
      const t = mapOf(r, "@t").entries as { key: Value[]; value: Value }[];
      assert.ok(t.length > 0);
      for (const e of t) {
        assert.equal(String(e.key[0]), "1");
        const [rec, bye] = e.value as Value[];
        // Key and value were made of the same event's args.
        assert.deepEqual(rec, e.key[1]);
        assert.equal(bye, "bye");
      }
    },
  },
  {
    name: "args_no_common_fields",
    features: ["print(args) of sys_exit", "args without common_*"],
    source: "tracepoint:syscalls:sys_exit_openat { print(args); }",
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      const lines = linesOf(r);
      assert.equal(lines.length, N, r.output);
      for (const l of lines) {
        assert.match(l, /^\{ \.__syscall_nr = 257, \.ret = -?\d+ \}$/);
        // The workload's paths do not exist: ENOENT.
        if (r.engine === "kernel") {
          assert.equal(l, "{ .__syscall_nr = 257, .ret = -2 }");
        }
      }
    },
  },
  {
    name: "args_data_loc_string",
    features: ["print(args) with a __data_loc string"],
    source: "tracepoint:sched:sched_process_exec { print(args); }",
    workload: ["exec", "0"],
    pidFilter: true,
    // The synthetic world execs seldom: a longer virtual run sees some.
    interpMs: 200,
    expect(r) {
      const lines = linesOf(r);
      assert.ok(lines.length >= 1, r.output);
      for (const l of lines) {
        const m = /^\{ \.filename = (\S+), \.pid = (\d+), \.old_pid = (\d+) \}$/
          .exec(l);
        assert.ok(m !== null, `${r.engine}: ${l}`);
        assert.equal(m[2], String(r.target.pid), l);
        if (r.engine === "kernel") {
          assert.equal(
            l,
            `{ .filename = /bin/true, .pid = ${r.target.pid}, .old_pid = ${r.target.pid} }`,
          );
        }
      }
    },
  },
  {
    name: "args_json",
    features: ["print(args) -f json", "@ = args -f json"],
    source: "tracepoint:syscalls:sys_exit_openat { print(args); @ = args; }",
    workload: ["open", String(N)],
    pidFilter: true,
    format: "json",
    expect(r) {
      const lines = linesOf(r);
      assert.equal(lines.length, N, r.output);
      for (const l of lines) {
        assert.match(
          l,
          /^\{"type": "value", "data": \{"__syscall_nr": 257, "ret": -?\d+\}\}$/,
        );
      }
      if (r.engine === "kernel") {
        assert.equal(
          lines[0],
          '{"type": "value", "data": {"__syscall_nr": 257, "ret": -2}}',
        );
      }
    },
  },
];

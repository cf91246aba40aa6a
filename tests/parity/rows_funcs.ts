/**
 * Parity rows for functions of bpftrace 0.17 that tsbpf lacked until
 * issue 17: `macaddr()` (printed as bpftrace prints it, upper-case hex
 * bytes joined by `:`) in printf, `print()`, map keys, values and tuples,
 * and of a user pointer in a tracepoint; `cgroup_path()` (named in user
 * space from the cgroup hierarchies mounted); 0.26's `memcmp()`,
 * `strcap()`, `default_str_length()`, `assert_str()` and `find()`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, linesOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

const MAC = /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/;

/** Whether a cgroup2 hierarchy is mounted (`cgroup_path()`'s "unified"). */
function cgroup2Mounted(): boolean {
  return Deno.readTextFileSync("/proc/mounts").split("\n")
    .some((l) => l.startsWith("cgroup2 "));
}

/** This process's cgroup2 path ("0::/..."); the workload shares it. */
function ownCgroup2Path(): string | undefined {
  const line = Deno.readTextFileSync("/proc/self/cgroup").split("\n")
    .find((l) => l.startsWith("0::"));
  return line?.slice(3);
}

/** The rows of this file, spread into `ROWS` (`table.ts`). */
export const FUNCS_ROWS: Row[] = [
  {
    name: "fn_macaddr_values",
    features: [
      "macaddr() of an array variable",
      "macaddr() of a cast",
      "macaddr() of a pointer (&$x)",
      "macaddr() as map key, value and in a tuple",
    ],
    source: `begin {
  $a = (uint8[8])(uint64)0x0000665544332211;
  $m = macaddr($a);
  printf("%s %s\\n", $m, macaddr((uint8[8])(uint64)0xffeeddccbbaa));
  $p = (uint64)0x0a0b0c0d0e0f;
  printf("%s\\n", macaddr(&$p));
  @m[macaddr($a)] = count();
  @v = macaddr($a);
  @t = (1, macaddr($a));
  exit();
}`,
    expect(r) {
      assert.deepEqual(linesOf(r).slice(0, 2), [
        "11:22:33:44:55:66 AA:BB:CC:DD:EE:FF",
        "0F:0E:0D:0C:0B:0A",
      ]);
      assert.deepEqual(entries(r, "@m"), [["11:22:33:44:55:66", 1]]);
      assert.equal(only(r, "@v"), "11:22:33:44:55:66");
      assert.deepEqual(only(r, "@t"), [1, "11:22:33:44:55:66"]);
    },
  },
  {
    name: "fn_macaddr_user_pointer",
    features: ["macaddr() of a char * tracepoint field (user memory)"],
    source: `tracepoint:syscalls:sys_enter_openat {
  @[macaddr(args->filename)] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      const e = entries(r, "@");
      assert.ok(e.length > 0, "no openat seen");
      for (const [k] of e) assert.match(k, MAC);
      if (r.engine === "kernel") {
        // The workload opens "/nonexistent/tsbparity/I": "/nonex".
        const hit = e.find(([k]) => k === "2F:6E:6F:6E:65:78");
        assert.equal(hit?.[1], N, JSON.stringify(e));
      }
    },
  },
  {
    name: "fn_cgroup_path",
    features: [
      "cgroup_path(id, filter) printed with %s",
      "cgroup_path(cgroup) as a map key",
    ],
    source: `begin { printf("[%s]\\n", cgroup_path(1, "unified")); }
tracepoint:syscalls:sys_enter_getppid {
  @[cgroup_path(cgroup, "unified")] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const v2 = cgroup2Mounted();
      // The root of a hierarchy has inode 1, the root cgroup's id.
      assert.equal(linesOf(r)[0], v2 ? "[unified:/]" : "[]");
      assert.equal(total(r, "@"), N);
      if (r.engine === "kernel" && v2) {
        const own = ownCgroup2Path();
        assert.deepEqual(entries(r, "@"), [[`unified:${own}`, N]]);
      }
    },
  },
  {
    name: "fn_memcmp_strcap",
    features: [
      "memcmp() of strings and arrays (signed bytes)",
      "strcap() of a string, an array and a char pointer",
      "default_str_length()",
      "assert_str()",
    ],
    source: `begin {
  $a = "hello"; $b = "help!";
  printf("%d %d %d %d\\n", memcmp($a, $b, 3), memcmp($a, $b, 4),
    memcmp($b, $a, 4), memcmp($a, "hello", 6));
  $x = (uint8[4])(uint32)0x80000001; $y = (uint8[4])(uint32)0x00000001;
  printf("%d %d %d %d\\n", memcmp($x, $y, 4), default_str_length(),
    strcap($a), strcap($x));
  assert_str($a);
}
tracepoint:syscalls:sys_enter_openat {
  assert_str(args->filename);
  @[strcap(args->filename) == strlen(args->filename)] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(linesOf(r).slice(0, 2), ["0 -4 4 0", "-128 64 6 4"]);
      assert.deepEqual(entries(r, "@"), [["true", total(r, "@")]]);
      assert.ok(total(r, "@") >= (r.engine === "kernel" ? N : 1));
    },
  },
  {
    name: "fn_find",
    features: [
      "find(@m, k, $v) of a present and a missing key",
      "find() of a string-valued map",
      "find() with a tuple key and a tuple value",
    ],
    source: `begin {
  @m[2] = 5; @s["a"] = "xyz"; @t[1, "k"] = (3, "q");
  let $v; let $s: string; $w = 0;
  if (find(@m, 2, $v)) { printf("found %d\\n", $v); }
  if (!find(@m, 9, $w)) { printf("missing, w=%d\\n", $w); }
  $r = find(@s, "a", $s);
  printf("%d %s\\n", $r, $s);
  let $tv;
  if (find(@t, (1, "k"), $tv)) { printf("%d %s\\n", $tv.0, $tv.1); }
}`,
    expect(r) {
      assert.deepEqual(linesOf(r).slice(0, 4), [
        "found 5",
        "missing, w=0",
        "1 xyz",
        "3 q",
      ]);
    },
  },
];

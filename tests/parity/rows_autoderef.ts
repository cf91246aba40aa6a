/**
 * Parity rows for `.` on a pointer (bpftrace v0.26.1 docs/language.md,
 * "Structs": "If the `.` is used on a pointer, it is automatically
 * dereferenced. The legacy `->` operator may be used, but is purely an
 * alias for the `.` operator"): chains through kernel pointers as 0.26's
 * own tools write them, each compared in the same program with its `->`
 * form, and the values the workload makes on the kernel.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** What the workload's `curtask.fs.pwd.dentry.d_name.name` is: its cwd. */
function cwdName(): string {
  const cwd = Deno.cwd();
  return cwd === "/" ? "/" : cwd.slice(cwd.lastIndexOf("/") + 1);
}

/** The `.`-on-a-pointer rows. */
export const AUTODEREF_ROWS: Row[] = [
  {
    name: "autoderef_curtask",
    features: [
      "curtask.pid, curtask.real_parent.pid (. on a struct pointer)",
      'the same as "->"',
    ],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @ok[curtask.pid == tid, curtask.tgid == pid, curtask.comm == comm,
    curtask.real_parent.tgid == curtask->real_parent->tgid,
    curtask.group_leader.comm == comm] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@ok"), [["true|true|true|true|true", N]]);
    },
  },
  {
    name: "autoderef_args_pointer",
    features: [
      "args.rqtp.tv_nsec (a tracepoint's struct pointer field)",
      "$t = args.rqtp; $t.tv_sec",
      '"->" on a struct value',
    ],
    source: `tracepoint:syscalls:sys_enter_clock_nanosleep {
  $t = args.rqtp;
  @[$t.tv_sec, args.rqtp.tv_nsec] = count();
  $v = *args.rqtp;
  @same[$t.tv_nsec == args->rqtp->tv_nsec, $v->tv_nsec == $v.tv_nsec] =
    count();
}`,
    workload: ["nanosleep", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@"), N);
      assert.deepEqual(entries(r, "@same"), [["true|true", N]]);
      const keys = entries(r, "@").map(([k]) => k);
      // What the workload passed: 12.3 ms.
      if (r.engine === "kernel") assert.deepEqual(keys, ["0|12300000"]);
      for (const k of keys) {
        const [sec, nsec] = k.split("|").map(Number);
        assert.ok(sec >= 0 && nsec >= 0 && nsec < 1e9, k);
      }
    },
  },
  {
    name: "autoderef_fs_pwd",
    features: [
      "curtask.fs.pwd.dentry.d_name.name (opensnoop's chain)",
      "pointers and struct values in one chain",
    ],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @cwd[str(curtask.fs.pwd.dentry.d_name.name)] = count();
  @same[str(curtask.fs.pwd.dentry.d_name.name) ==
    str(curtask->fs->pwd.dentry->d_name.name)] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@same"), [["true", N]]);
      assert.equal(total(r, "@cwd"), N);
      // The interpreter's synthetic tasks have no fs: an empty name.
      const want = r.engine === "kernel" ? cwdName() : "";
      assert.deepEqual(entries(r, "@cwd"), [[want, N]]);
    },
  },
  {
    name: "autoderef_kfree_skb",
    features: [
      "((struct sk_buff *)args.skbaddr).dev.name",
      "a cast pointer in a variable: $skb.len",
    ],
    source: `tracepoint:skb:kfree_skb {
  $skb = (struct sk_buff *)args.skbaddr;
  @dev[$skb.dev.name] = count();
  @len[$skb.len] = count();
  @same[((struct sk_buff *)args.skbaddr).dev.name == $skb->dev->name,
    $skb.len == $skb->len] = count();
}`,
    workload: ["udp", String(N)],
    pidFilter: true,
    expect(r) {
      const n = total(r, "@dev");
      assert.deepEqual(entries(r, "@same"), [["true|true", n]]);
      if (r.engine === "kernel") {
        // N datagrams of 100 bytes to a closed port of 127.0.0.1, dropped
        // on loopback with the UDP header on (as kfree_skb_struct_sk_buff).
        assert.deepEqual(entries(r, "@dev"), [["lo", N]]);
        assert.deepEqual(entries(r, "@len"), [["108", N]]);
      } else {
        assert.equal(n, N);
        for (const [k] of entries(r, "@dev")) assert.match(k, /^\w+$/);
        for (const [k] of entries(r, "@len")) assert.ok(Number(k) > 0, k);
      }
    },
  },
  {
    name: "autoderef_record_pointer",
    features: [
      "$p = &$r; $p.y (. on a pointer to a record)",
      '"->" on a record',
    ],
    source: `begin {
  $r = (x = 1, y = "two");
  $p = &$r;
  print(($p.y, $p->x, (*$p).y, $r->y));
  @[$p.x, $p.y] = count();
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "(two, 1, two, two)\n");
      assert.deepEqual(entries(r, "@"), [["1|two", 1]]);
    },
  },
];

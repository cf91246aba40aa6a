import assert from "node:assert/strict";
import {
  syscallName,
  syscallNumber,
  syscallTable,
} from "../../runtime/probes/syscalls.ts";
import { listTracepoints } from "../../runtime/probes/tracepoint_format.ts";

Deno.test("syscall numbers of x86_64", () => {
  assert.equal(syscallNumber("getppid"), 110);
  assert.equal(syscallName(110), "getppid");
  assert.equal(syscallNumber("read"), 0);
  assert.equal(syscallName(0), "read");
  assert.equal(syscallNumber("sys_openat"), 257);
  assert.equal(syscallNumber("sys_enter_openat"), 257);
  assert.equal(syscallNumber("sys_exit_openat"), 257);
  assert.equal(syscallNumber("no_such_syscall"), undefined);
  assert.equal(syscallName(100000), undefined);
  const table = syscallTable();
  for (let i = 1; i < table.length; i++) {
    assert.ok(table[i - 1][1] <= table[i][1]);
  }
  for (const [name, nr] of table) assert.equal(syscallNumber(name), nr);
});

Deno.test("most sys_enter_* tracepoints name a known syscall", () => {
  const enters = listTracepoints().filter((n) =>
    n.startsWith("syscalls:sys_enter_")
  );
  const unknown = enters.filter((n) =>
    syscallNumber(n.slice("syscalls:".length)) === undefined
  );
  console.log(
    `${
      enters.length - unknown.length
    }/${enters.length} sys_enter_* have a number; without: ${
      unknown.map((n) => n.slice("syscalls:sys_enter_".length)).join(" ")
    }`,
  );
  assert.ok(enters.length > 0);
  // Tracepoint names follow the kernel's SYSCALL_DEFINE names, which
  // differ from __NR names for a few (newstat, …); the bulk must match.
  assert.ok(unknown.length < enters.length / 10);
});

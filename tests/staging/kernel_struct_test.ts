/**
 * Kernel structs in staged TypeScript bodies: `c.kernel("struct
 * task_struct", c.curtask)` reads members as properties, `->` through
 * pointers and `.` into nested structs as the kernel's types say; run on
 * the interpreter and in the kernel, where the task read agrees with the
 * probe's own pid and comm, and its parent is this process's parent.
 */

import assert from "node:assert/strict";
import { probeKernel } from "../../runtime/engines/kernel_engine.ts";
import { trace } from "../../mod.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { stage } from "../../runtime/staging/stage.ts";
import type { KernelValue } from "../../runtime/staging/kernel.ts";

await prepareKernelTypes("struct");

Deno.test("members as properties: -> through pointers, . into nested structs", () => {
  const s = stage((t) => {
    t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
      const task = c.kernel("struct task_struct", c.curtask);
      c.map("pp").at(task.real_parent.pid).count();
      c.map("w").at(task.se.load.weight).count();
      c.map("n").at(task.field("comm")).count();
    });
  });
  assert.match(
    s.source,
    /@pp\[\(\(struct task_struct \*\)\(curtask\)\)->real_parent->pid\] = count\(\);/,
  );
  assert.match(s.source, /->se\.load\.weight\] = count\(\);/);
  assert.match(s.source, /->comm\] = count\(\);/);
});

Deno.test("unknown types and members, members of a non-struct: staging errors that say which", () => {
  const body = (read: (task: KernelValue) => unknown) => () =>
    stage((t) =>
      t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
        read(c.kernel("struct task_struct", c.curtask));
      })
    );
  assert.throws(
    () =>
      stage((t) =>
        t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
          c.kernel("struct task_structt", c.curtask);
        })
      ),
    /Unknown type "struct task_structt"; did you mean "struct task_struct"\?/,
  );
  assert.throws(
    body((task) => task.real_parnt),
    /struct task_struct has no field named "real_parnt"; did you mean "real_parent"/,
  );
  assert.throws(
    body((task) => task.pid.x),
    /Cannot read member "x": the value is not a struct or a pointer to one/,
  );
});

const kernel = probeKernel();

for (const backend of ["interp", "kernel"] as const) {
  Deno.test({
    name: `${backend}: the staged task agrees with pid and comm; its parent`,
    ignore: backend === "kernel" && !kernel.ok,
    async fn() {
      const me = Deno.pid;
      await using s = await trace((t) => {
        t.probe("tracepoint:syscalls:sys_enter_openat", (c) => {
          const task = c.kernel("struct task_struct", c.curtask);
          c.if(backend === "interp" ? c.pid.ne(0) : c.pid.eq(me), () => {
            c.map("same").at(task.pid.eq(c.tid), task.comm.eq(c.comm))
              .count();
            c.map("pp").at(task.real_parent.tgid).count();
          });
        });
      }, { backend, durationMs: 400 });
      for await (const _ of s.every(50)) {
        if (backend === "kernel") await Deno.readTextFile("/proc/self/stat");
      }
      const same = [...s.map<[number, number], number>("same").entries()];
      assert.equal(same.length, 1, JSON.stringify(same));
      assert.deepEqual(same[0][0], [true, true]);
      assert.ok(same[0][1] > 0);
      if (backend === "kernel") {
        const pp = [...s.map<[number], number>("pp").entries()];
        assert.deepEqual(pp.map(([k]) => k), [Deno.ppid]);
      }
    },
  });
}
if (!kernel.ok) console.log(`skipped kernel: ${kernel.reason}`);

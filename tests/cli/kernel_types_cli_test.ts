import assert from "node:assert/strict";
import { hasStackTrace, runCli, tempFile } from "./helpers.ts";

/**
 * Kernel types at the command line: a struct-reading tool compiles under
 * --dry-run; mistakes with types are compile errors (FILE:LINE:COL, the
 * source line, a mark under the span, exit 2), never a stack trace.
 */

Deno.test("--dry-run compiles a script reading kernel structs", async () => {
  const file = tempFile(
    "#include <linux/sched.h>\n" +
      "tracepoint:syscalls:sys_enter_nanosleep /args->rqtp->tv_nsec/ {\n" +
      "  $t = (struct task_struct *)curtask;\n" +
      '  printf("%d %s\\n", $t->real_parent->pid, $t->real_parent->comm);\n' +
      "}\n",
    ".bt",
  );
  const r = await runCli(["--dry-run", file]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("type errors: unknown struct and field, a field of an integer, a #define, with marks, exit 2", async (t) => {
  const file = tempFile(
    "kprobe:tcp_connect {\n" +
      "  $sk = (struct sockk *)arg0;\n" +
      "  @a = ((struct sock *)arg0).__sk_common.skc_family.x;\n" +
      "  @b = ((struct sock *)arg0)->sk_famly;\n" +
      "  @c = TASK_RUNNING;\n" +
      "}\n",
    ".bt",
  );
  const r = await runCli(["--dry-run", file]);
  assert.equal(r.code, 2);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  await t.assertSnapshot(r.stderr.replaceAll(file, "FILE.bt"));
});

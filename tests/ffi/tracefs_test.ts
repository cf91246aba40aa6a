import assert from "node:assert/strict";
import {
  availableTracepoints,
  tracefsDir,
  tracepointId,
} from "../../ffi/tracefs.ts";
import { AttachError } from "../../ffi/errors.ts";
import { skipReason } from "./kernel_helpers.ts";
import { skip } from "../support/skip.ts";

const canUnshare = await (async () => {
  if (skipReason !== undefined) return false;
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-m", "--propagation", "private", "true"],
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "tracepoint ids and the list of tracepoints come from tracefs",
  ignore: skipReason !== undefined,
  fn: () => {
    const dir = tracefsDir();
    const all = availableTracepoints();
    assert.ok(all.includes("syscalls:sys_enter_getppid"));
    assert.ok(all.includes("skb:kfree_skb"));
    const a = tracepointId("syscalls", "sys_enter_getppid");
    const b = tracepointId("syscalls", "sys_exit_getppid");
    assert.ok(Number.isInteger(a) && a > 0);
    assert.notEqual(a, b);
    assert.equal(
      a,
      Number(
        Deno.readTextFileSync(
          `${dir}/events/syscalls/sys_enter_getppid/id`,
        ),
      ),
    );
    assert.throws(() => tracepointId("syscalls", "nope"), AttachError);
    assert.throws(() => tracepointId("../..", "x"), AttachError);
  },
});

Deno.test({
  name: "tracefs is mounted when missing (private mount namespace)",
  ignore: skip(
    "the tracefs-unmounted test",
    canUnshare ? undefined : skipReason ?? "unshare -m does not work here",
  ),
  fn: async () => {
    const url = new URL("../../ffi/tracefs.ts", import.meta.url).href;
    const script = `import { tracefsDir, tracepointId } from "${url}";
      console.log(JSON.stringify({ dir: tracefsDir(), id: tracepointId("syscalls", "sys_enter_getppid") }));`;
    // Unmount tracefs in a private namespace only, then let tsbpf mount it.
    const out = await new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        `umount /sys/kernel/tracing && ! test -e /sys/kernel/tracing/events && ` +
        `"${Deno.execPath()}" eval --no-check '${script}'`,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const got = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(got.dir, "/sys/kernel/tracing");
    assert.equal(got.id, tracepointId("syscalls", "sys_enter_getppid"));
  },
});

Deno.test("TSBPF_TRACEFS names the tracefs that tracepoint ids come from; one that is not a tracefs falls back to the usual places", async () => {
  const root = Deno.makeTempDirSync({ prefix: "tsbpf_tracefs_" });
  try {
    Deno.mkdirSync(`${root}/events/demo/demo_event`, { recursive: true });
    Deno.writeTextFileSync(`${root}/events/header_page`, "");
    Deno.writeTextFileSync(`${root}/events/demo/demo_event/id`, "4242\n");
    const url = new URL("../../ffi/tracefs.ts", import.meta.url).href;
    const run = async (env: Record<string, string>, script: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          "--no-check",
          `import { tracefsDir, tracepointId } from "${url}"; ${script}`,
        ],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", ...env },
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout).trim();
    };
    assert.equal(
      await run(
        { TSBPF_TRACEFS: root },
        `console.log(tracefsDir(), tracepointId("demo", "demo_event"));`,
      ),
      `${root} 4242`,
    );
    if (skipReason === undefined) {
      assert.equal(
        await run(
          { TSBPF_TRACEFS: `${root}/nonexistent` },
          `console.log(tracefsDir());`,
        ),
        Deno.realPathSync(tracefsDir()),
      );
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

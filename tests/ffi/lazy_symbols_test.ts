/**
 * `ffi/libbpf.ts` binds the functions a kernel run does not always call on
 * first use (binding costs start-up ≈ 70 µs each). These tests check that
 * such a function works and stays bound, that a closed library refuses to
 * bind more, and that a library missing a required function still fails
 * when it is opened, naming the function.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NativeLibs } from "../../ffi/libbpf.ts";
import { skipReason } from "./kernel_helpers.ts";

Deno.test({
  name: "a function bound on first use works and stays bound",
  ignore: skipReason !== undefined,
  fn: () => {
    using n = new NativeLibs();
    // getpid, geteuid and libbpf_version_string are not bound up front.
    const getpid = n.libc.getpid;
    assert.equal(getpid(), Deno.pid);
    assert.equal(n.libc.getpid, getpid);
    assert.equal(n.libc.geteuid(), Deno.uid());
    assert.match(n.version(), /^v?\d+\.\d+/);
  },
});

Deno.test({
  name: "a closed library binds no more functions",
  ignore: skipReason !== undefined,
  fn: () => {
    const n = new NativeLibs();
    n[Symbol.dispose]();
    assert.throws(
      () => n.libc.getpid(),
      { message: "Cannot call getpid: libc.so.6 is closed" },
    );
  },
});

Deno.test({
  name: "a library missing a required function fails when it opens",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // libc has none of libbpf's functions: opening it as libbpf fails at
    // once, not at the first call of a function bound on first use.
    const url = new URL("../../ffi/libbpf.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "-A", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", TSBPF_LIBBPF: "libc.so.6" },
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(
        `import { NativeLibs } from "${url}";
         try { new NativeLibs(); console.log("opened"); }
         catch (e) { console.log(e.constructor.name, e.message); }`,
      ),
    );
    await w.close();
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(
      text,
      /^FfiUnavailableError .*cannot open libc\.so\.6: .*undefined symbol: bpf_\w+\n/,
      new TextDecoder().decode(out.stderr),
    );
  },
});

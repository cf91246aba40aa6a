/**
 * `tsbpf serve` of a script that reads kernel structs: its compiler gets
 * the kernel's types as the CLI's does (it once got none: "Cannot access
 * field "tv_nsec" of a value of type uint64"). On the interpreter.
 */
import assert from "node:assert/strict";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

Deno.test({
  name: "serve: a struct-reading script compiles and serves its metric",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf_serve_btf_" });
  Deno.writeTextFileSync(
    `${dir}/ns.bt`,
    "tracepoint:syscalls:sys_enter_clock_nanosleep { @sleeps = count(); @ns = sum(args->rqtp->tv_nsec); }\n",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MOD,
      "serve",
      "--backend",
      "interp",
      "--metrics",
      "127.0.0.1:0",
      `${dir}/ns.bt`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let err = "";
  const reading = (async () => {
    const d = new TextDecoder();
    for await (const c of child.stderr) err += d.decode(c, { stream: true });
  })();
  try {
    const end = Date.now() + 30_000;
    while (!/serving metrics at/.test(err) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /serving metrics at (\S+)/.exec(err)?.[1];
    assert.ok(url !== undefined, err);
    let text = "";
    while (Date.now() < end) {
      text = await (await fetch(url)).text();
      if (
        /^tsbpf_sleeps_total\{program="ns\.bt",synthetic="true"\} [1-9]/m.test(
          text,
        )
      ) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.doesNotMatch(err, /ERROR/);
    assert.match(text, /^tsbpf_program_up\{program="ns\.bt"\} 1$/m);
    assert.match(
      text,
      /^tsbpf_ns(_total)?\{program="ns\.bt",synthetic="true"\} \d+$/m,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
    Deno.removeSync(dir, { recursive: true });
  }
});

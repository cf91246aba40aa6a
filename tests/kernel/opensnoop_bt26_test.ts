/**
 * bpftrace 0.26.1's own opensnoop.bt (a copy in `tests/fixtures/bt26/`,
 * Apache-2.0, bpftrace's) loads in the kernel and runs: for a relative
 * path it prints the full path, walking the cwd's dentries in a
 * `bpf_loop` callback (the probe and the callback fit the kernel's 512
 * bytes of stack for a call chain). The workload opens known paths from a
 * known directory; the run traces only its pid.
 */

import assert from "node:assert/strict";
import { skip, skipReason, Tracer, Workload } from "./helpers.ts";

const ignore = skip("kernel opensnoop.bt tests", skipReason);
const TOOL = new URL("../fixtures/bt26/opensnoop.bt", import.meta.url)
  .pathname;

/** One PID/COMM/FD/ERR/PATH row of opensnoop.bt's output. */
interface Row {
  pid: number;
  comm: string;
  fd: number;
  err: number;
  path: string;
}

/** The rows of opensnoop.bt's output (`%-6d %-16s %4d %3d %s`). */
function rowsOf(stdout: string): Row[] {
  const out: Row[] = [];
  for (
    const m of stdout.matchAll(/^(\d+) +(\S+) +(-?\d+) +(\d+) (.*)$/gm)
  ) {
    out.push({
      pid: Number(m[1]),
      comm: m[2],
      fd: Number(m[3]),
      err: Number(m[4]),
      path: m[5],
    });
  }
  return out;
}

Deno.test({
  name: "opensnoop.bt (bpftrace 0.26.1) prints the full path of relative opens",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tsb_opensnoop_" });
    try {
      const cwd = await Deno.realPath(dir);
      await Deno.mkdir(`${cwd}/sub`);
      await Deno.writeTextFile(`${cwd}/sub/known.txt`, "known\n");
      const w = await Workload.start(
        ["open", "sub/known.txt", "sub/missing.txt", "/etc/hostname"],
        cwd,
      );
      const t = Tracer.tsbpf(["-p", String(w.pid), TOOL]);
      try {
        await t.attached();
        await w.run();
        await t.waitFor("/etc/hostname\n", 10_000);
        const r = await t.stop();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^Tracing open syscalls\.\.\. Hit Ctrl-C/m);
        assert.match(r.stdout, /^PID +COMM +FD +ERR PATH$/m);
        const rows = rowsOf(r.stdout);
        assert.deepEqual(
          rows.map(({ pid, comm, err, path }) => ({ pid, comm, err, path })),
          [
            {
              pid: w.pid,
              comm: "tsbwork",
              err: 0,
              path: `${cwd}/sub/known.txt`,
            },
            {
              pid: w.pid,
              comm: "tsbwork",
              err: 2,
              path: `${cwd}/sub/missing.txt`,
            },
            { pid: w.pid, comm: "tsbwork", err: 0, path: "/etc/hostname" },
          ],
          r.stdout,
        );
        assert.ok(rows[0].fd >= 0 && rows[2].fd >= 0, r.stdout);
        assert.equal(rows[1].fd, -1, r.stdout);
      } finally {
        await w.kill();
        await t.kill();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * `cgroupid(path)` (bpftrace 0.26's docs/stdlib.md; 0.17 has it too) is a
 * compile-time constant: the id of the cgroup at `path`, which kernfs
 * gives as the directory's inode number. Checked against `stat()` on a
 * cgroup file system this machine mounts (v2 or v1); skipped where none
 * is mounted.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { load, run, valueOf } from "./harness.ts";

/**
 * A directory of a mounted cgroup file system, if there is one: a child
 * cgroup where there is one (its id is not the root's 1).
 */
function cgroupDir(): string | undefined {
  let root: string | undefined;
  try {
    for (const line of Deno.readTextFileSync("/proc/mounts").split("\n")) {
      const [, dir, fs] = line.split(" ");
      if (fs !== "cgroup2" && fs !== "cgroup") continue;
      root ??= dir;
      for (const e of Deno.readDirSync(dir)) {
        if (e.isDirectory) return `${dir}/${e.name}`;
      }
    }
  } catch {
    // No /proc: no cgroups to name.
  }
  return root;
}

const dir = cgroupDir();
if (dir === undefined) {
  console.log("Skipping cgroupid(): no cgroup file system is mounted");
}

Deno.test({
  name: "cgroupid() is the cgroup directory's id, a constant",
  ignore: dir === undefined,
  fn() {
    const l = load(`BEGIN { @id = cgroupid("${dir}"); }`);
    run(l, "BEGIN");
    assert.equal(valueOf(l, "@id"), BigInt(Deno.statSync(dir!).ino!));
    // No helper call: the value is written into the program.
    const p = compile(`BEGIN { @id = cgroupid("${dir}"); }`);
    assert.ok(!p.probes[0].insns.some((i) => i.code === 0x85 && i.imm === 80));
  },
});

Deno.test("cgroupid() of a path that is not there or not a cgroup", () => {
  const messages = (src: string) => {
    try {
      compile(src);
    } catch (e) {
      if (e instanceof CompileErrors) return e.errors.map((x) => x.message);
      throw e;
    }
    return [];
  };
  assert.deepEqual(messages('BEGIN { print(cgroupid("/nonexistent/x")); }'), [
    'Failed to get `cgroupid` for path: "/nonexistent/x": No such file or directory',
  ]);
  const [m] = messages(`BEGIN { print(cgroupid("${Deno.cwd()}")); }`);
  assert.match(m, /^Failed to get `cgroupid` for path: ".*": not a cgroup \(/);
});

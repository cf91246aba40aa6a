import assert from "node:assert/strict";
import {
  expandKernelFunctions,
  matchKernelFunctions,
  parseFilterFunctions,
  parseKallsymsFunctions,
  readKernelFunctions,
} from "../../runtime/probes/kernel_functions.ts";

/**
 * The kernel functions kprobe wildcards expand to: kallsyms's text
 * symbols, else available_filter_functions, less what bpftrace leaves out,
 * else an error saying what each file gave.
 */

function temp(text: string): string {
  const path = Deno.makeTempFileSync({ prefix: "tsbpf_kfuncs_" });
  Deno.writeTextFileSync(path, text);
  return path;
}

const MISSING = "/nonexistent/tsbpf/kallsyms";

Deno.test("kallsyms: text symbols only; .part., .cold, padding, section bounds and hazards left out", () => {
  const text = [
    "ffffffff81000000 T _stext",
    "ffffffff81000010 t __pfx_vfs_read",
    "ffffffff81000020 T vfs_read",
    "ffffffff81000030 t vfs_kern_mount.part.0",
    "ffffffff81000040 t vfs_get_tree.cold",
    "ffffffff81000050 t vfs_statfs.isra.0",
    "ffffffff81000060 D vfs_dentry_cache",
    "ffffffff81000070 T default_idle",
    "ffffffff81000080 T rcu_note_context_switch",
    "ffffffff81000090 T __entry_text_start",
    "ffffffffc0000000 t ext4_file_read_iter\t[ext4]",
    "",
  ].join("\n");
  assert.deepEqual(parseKallsymsFunctions(text), [
    { name: "vfs_read" },
    { name: "vfs_statfs.isra.0" },
    { name: "ext4_file_read_iter", module: "ext4" },
  ]);
  // Boot-time functions are freed after boot.
  assert.deepEqual(
    parseKallsymsFunctions(
      "ffffffff81000020 T vfs_read\n" +
        "ffffffff83576000 T _sinittext\n" +
        "ffffffff835be760 T vfs_caches_init\n" +
        "ffffffff835ec7b0 T _einittext\n" +
        "ffffffff835ec7c0 T after_init\n",
    ),
    [{ name: "vfs_read" }, { name: "after_init" }],
  );
  // An unprivileged reader sees zero addresses: the names still count.
  assert.deepEqual(
    parseKallsymsFunctions("0000000000000000 T vfs_read\n"),
    [{ name: "vfs_read" }],
  );
});

Deno.test("available_filter_functions: name [module] lines", () => {
  assert.deepEqual(
    parseFilterFunctions(
      "vfs_read\nvfs_kern_mount.part.0\narch_cpu_idle\next4_sync_fs [ext4]\n",
    ),
    [{ name: "vfs_read" }, { name: "ext4_sync_fs", module: "ext4" }],
  );
});

Deno.test("readKernelFunctions: kallsyms first, else available_filter_functions, less the blocklist", () => {
  const kallsyms = temp("ffffffff81000020 T vfs_read\n");
  const filter = temp("vfs_write\nvfs_open\n");
  const data = temp("ffffffff81000060 D vfs_dentry_cache\n");
  const block = temp(
    "0xffffffff81000000-0xffffffff81000100\tvfs_open\n",
  );
  try {
    const a = readKernelFunctions({
      kallsyms,
      filterFunctions: [filter],
      blocklist: MISSING,
    });
    assert.equal(a.source, kallsyms);
    assert.deepEqual(a.functions, [{ name: "vfs_read" }]);
    // kallsyms unreadable, or without text symbols: the tracefs list.
    for (const k of [MISSING, data]) {
      const b = readKernelFunctions({
        kallsyms: k,
        filterFunctions: [MISSING, filter],
        blocklist: block,
      });
      assert.equal(b.source, filter);
      assert.deepEqual(b.functions, [{ name: "vfs_write" }]);
    }
  } finally {
    for (const p of [kallsyms, filter, data, block]) Deno.removeSync(p);
  }
});

Deno.test("readKernelFunctions: no readable list is an error saying what each file gave", () => {
  const data = temp("ffffffff81000060 D vfs_dentry_cache\n");
  try {
    assert.throws(
      () =>
        readKernelFunctions({
          kallsyms: data,
          filterFunctions: [MISSING],
          blocklist: MISSING,
        }),
      {
        message: `No list of kernel functions is readable (${data} lists ` +
          `no functions; ${MISSING}: no such file)`,
      },
    );
  } finally {
    Deno.removeSync(data);
  }
});

Deno.test("matchKernelFunctions: a name once over modules, sorted; module patterns", () => {
  const fns = [
    { name: "vfs_write" },
    { name: "vfs_read" },
    { name: "tcp_connect" },
    { name: "vfs_read", module: "shadow" },
    { name: "nf_read", module: "nf_tables" },
  ];
  assert.deepEqual(matchKernelFunctions("vfs_*", fns), [
    "vfs_read",
    "vfs_write",
  ]);
  assert.deepEqual(matchKernelFunctions("v?s_r*", fns), ["vfs_read"]);
  assert.deepEqual(matchKernelFunctions("nf_*:*", fns), [
    "nf_tables:nf_read",
  ]);
  assert.deepEqual(matchKernelFunctions("vmlinux:*read", fns), [
    "vmlinux:vfs_read",
  ]);
  assert.deepEqual(matchKernelFunctions("nothing_*", fns), []);
});

let why: string | undefined;
let kallsyms = "";
try {
  kallsyms = Deno.readTextFileSync("/proc/kallsyms");
  if (!/^[0-9a-f]+ [tT] vfs_read$/m.test(kallsyms)) {
    why = "/proc/kallsyms has no vfs_read text symbol";
  }
} catch (e) {
  why = `/proc/kallsyms is not readable: ${e instanceof Error ? e.message : e}`;
}
if (why !== undefined) {
  console.log(`kernel_functions_test: live test skipped: ${why}`);
}

Deno.test({
  name: "expandKernelFunctions on this machine: vfs_* as kallsyms lists them",
  ignore: why !== undefined,
  fn() {
    const t0 = performance.now();
    const got = expandKernelFunctions("vfs_*");
    console.log(
      `vfs_*: ${got.length} functions in ${
        (performance.now() - t0).toFixed(0)
      } ms`,
    );
    // An independent scan of the text: text symbols named vfs_*, less the
    // pieces that are no function entries.
    const bound = (name: string) => {
      const m = new RegExp(`^(\\w+) T ${name}$`, "m").exec(kallsyms);
      return m === null ? 0n : BigInt("0x" + m[1]);
    };
    const init = bound("_sinittext");
    const initEnd = bound("_einittext");
    const want = new Set<string>();
    for (const m of kallsyms.matchAll(/^([0-9a-f]+) [tT] (vfs_\S+)/gm)) {
      const a = BigInt("0x" + m[1]);
      if (a >= init && a < initEnd) continue;
      if (!/\.part\.|\.cold$/.test(m[2])) want.add(m[2]);
    }
    // vfs_caches_init is boot-time code, where addresses show it.
    if (init > 0n) assert.ok(!got.includes("vfs_caches_init"));
    assert.deepEqual(got, [...want].sort());
    assert.ok(got.includes("vfs_read") && got.includes("vfs_write"));
  },
});

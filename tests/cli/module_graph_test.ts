/**
 * Start-up cost is mostly the code Deno loads before the first line runs.
 * These tests keep `mod.ts`'s static module graph (what `deno run mod.ts`
 * loads before it can do anything) free of what a tracing run does not
 * need: Deno's Node compatibility layer, the engines (imported once one is
 * chosen), the interpreter, the assembler, the playground, the probe
 * lister, and what `runtime/compiler/on_demand.ts` loads for the scripts
 * that use it (macros, imports, config blocks, ELF, USDT, kallsyms).
 */
import assert from "node:assert/strict";

interface GraphModule {
  specifier: string;
  size?: number;
  dependencies?: {
    specifier: string;
    code?: { specifier?: string };
    isDynamic?: boolean;
  }[];
}

async function staticGraph(entry: string): Promise<Map<string, number>> {
  // `deno info` resolves a relative path against the working directory,
  // not this file: give it the absolute one.
  const root = new URL(entry, import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success, "deno info failed");
  const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: (GraphModule & { error?: string })[];
  };
  const bySpecifier = new Map(modules.map((m) => [m.specifier, m]));
  assert.equal(bySpecifier.get(root)?.error, undefined, root);
  assert.ok((bySpecifier.get(root)?.size ?? 0) > 0, `${root} not in the graph`);
  const seen = new Map<string, number>();
  const stack = [root];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    const m = bySpecifier.get(s);
    seen.set(s, m?.size ?? 0);
    for (const d of m?.dependencies ?? []) {
      // `import type` never loads; dynamic imports load when reached.
      if (d.isDynamic || d.code?.specifier === undefined) continue;
      stack.push(d.code.specifier);
    }
  }
  return seen;
}

const rel = (s: string) =>
  s.replace(new URL("../../", import.meta.url).href, "");

Deno.test("mod.ts loads no Node built-in and no engine before it runs", async () => {
  const graph = await staticGraph("../../mod.ts");
  const names = [...graph.keys()].map(rel);
  const unwanted = names.filter((n) =>
    n.startsWith("node:") ||
    n.startsWith("ffi/") ||
    n.startsWith("runtime/engines/kernel_") ||
    n === "runtime/engines/interp_engine.ts" ||
    n.startsWith("runtime/vm/") ||
    n.startsWith("runtime/synthetic/") ||
    n.startsWith("runtime/btf/") ||
    n === "runtime/bpf/assembler.ts" ||
    n === "runtime/playground.ts" ||
    n === "runtime/probes/list_probes.ts" ||
    // The metrics exporter loads only with --metrics.
    n === "runtime/metrics/server.ts" ||
    n === "runtime/metrics/exposition.ts" ||
    n === "runtime/metrics/remote_write.ts" ||
    n === "runtime/metrics/serve.ts" ||
    // Loaded by on_demand.ts for the scripts that need them.
    n === "runtime/lang/macros.ts" ||
    n === "runtime/lang/imports.ts" ||
    n === "runtime/lang/config.ts" ||
    n === "runtime/probes/elf.ts" ||
    n === "runtime/probes/find_binary.ts" ||
    n === "runtime/probes/uprobe_target.ts" ||
    n === "runtime/probes/user_symbols.ts" ||
    n === "runtime/probes/usdt.ts" ||
    n === "runtime/probes/kallsyms.ts" ||
    n === "runtime/compiler/usdt_units.ts" ||
    n === "runtime/compiler/getopt.ts" ||
    n === "runtime/compiler/sema_args.ts" ||
    n === "runtime/compiler/codegen_strstr.ts" ||
    n === "runtime/lang/gfp_flags.ts" ||
    n === "runtime/compiler/codegen_loops.ts" ||
    // trace() imports it only when an exporter is asked for.
    n === "runtime/api/trace_metrics.ts" ||
    // The CLI imports it only for a script file (-e reads none).
    n === "runtime/script_file.ts" ||
    n.startsWith("npm:")
  );
  assert.deepEqual(unwanted, [], "modules mod.ts should import lazily");
  // A budget on the source loaded at start-up, about 5% over its size
  // (990 kB on 2026-12-07, after the 0.26 language grew the parser and the
  // compiler by 175 kB; 982 kB once getopt.ts, trace_metrics.ts and
  // script_file.ts loaded lazily): raise it knowingly, since every 100 kB
  // costs this machine ≈ 7 ms of start-up. Something new that a plain one-liner
  // does not need is imported where it is first used, or on demand. Raised to
  // 1,040 kB on 2026-12-08 (1,033 kB: the loaders of find(), strlen() and
  // args records, trace()'s pid filter and last partial tick); the bundled
  // command (`deno task bundle`) is the fast start, whatever this graph is.
  // Raised to 1,065 kB on 2026-12-08 (1,059 kB: the parsing and typing of
  // bpftrace 0.26.1's own tools: "." through pointers, tuple keys, bare
  // conditions and periods, aggregation reads, enums, builtin forms; each
  // feature's bulk loads on demand).
  const bytes = [...graph.values()].reduce((a, b) => a + b, 0);
  assert.ok(bytes < 1_065_000, `mod.ts's static graph is ${bytes} bytes`);
});

Deno.test("the kernel engine's graph stays free of the interpreter", async () => {
  const graph = await staticGraph("../../runtime/engines/kernel_engine.ts");
  const names = [...graph.keys()].map(rel);
  assert.deepEqual(
    names.filter((n) =>
      n.startsWith("node:") || n.startsWith("runtime/vm/") ||
      n.startsWith("runtime/synthetic/") ||
      // The ELF reader loads when a program has uprobes (attach()).
      n === "runtime/probes/elf.ts" ||
      n === "runtime/probes/find_binary.ts" ||
      n === "runtime/probes/uprobe_target.ts"
    ),
    [],
  );
});

Deno.test("a run fetches no npm package unless it uses one", async () => {
  // A fresh Deno cache, as on a new machine: a literal dynamic import of a
  // module with npm dependencies would make every run download them.
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [file, arg] of [["mod.ts", "--version"], [
        "scripts/profile.ts",
        "--help",
      ]]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(`../../${file}`, import.meta.url).pathname,
          arg,
        ],
        env: { DENO_DIR: dir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, stderr);
      assert.doesNotMatch(stderr, /Download/, file);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

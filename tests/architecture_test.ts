/**
 * The module graph of `runtime/`, `ffi/`, `mod.ts` and `bpf.ts` keeps its
 * shape: no import cycles, and no module imports from a layer above its own.
 *
 * The layers, top first (a module may import its own layer and those below):
 *
 * 1. entry: `mod.ts`, the package's entry for both the API and the CLI.
 * 2. CLI: `runtime/cli*.ts`, `completions.ts`, `script_file.ts`,
 *    `output_file.ts`, `playground.ts` (the `--asm` playground).
 * 3. API: `bpf.ts`, `runtime/api/`, `runtime/metrics/` (the exporters),
 *    `runtime/args.ts` (the flag parser the CLI, `tool()` and the exporters
 *    share), `runtime/version.ts`.
 * 4. engines: `runtime/engines/` (the `Engine` interface, the engine
 *    choice, the kernel engine and the interpreter engine), `ffi/` (the
 *    native bindings the kernel engine is built on), `runtime/synthetic/`
 *    (the interpreter's events), `runtime/vm/`, `runtime/session.ts`,
 *    `host_symbols.ts`, `probe_limit.ts`, `probe_filter.ts`,
 *    `process_watch.ts`, `test_mode.ts`, `verify_program.ts`,
 *    `runtime/record/`, `runtime/output/`, `runtime/aggregate/`.
 * 5. compiler: `runtime/compiler/`, `runtime/staging/` (TypeScript scripts).
 * 6. language: `runtime/lang/`, and what programs are checked against:
 *    `runtime/probes/` (probe names, tracepoint formats, tracefs),
 *    `runtime/btf/` (kernel types), `runtime/verifier/`.
 * 7. instruction set: `runtime/bpf/`, `runtime/program.ts` (the `Program`
 *    every engine runs).
 *
 * Type-only imports count too. Also: `ffi/` and `runtime/vm/` depend on the
 * instruction set and the `Program` type, never on each other; `ffi/` holds
 * bindings only and never imports the engines built on it; the kernel
 * engine never imports the interpreter's modules nor the interpreter engine
 * `ffi/`; and only `ffi/` calls `Deno.dlopen`.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

/** Layers, top first: path prefixes (a trailing `/` is a folder). */
const LAYERS: readonly (readonly [string, readonly string[]])[] = [
  ["entry", ["mod.ts", "runtime/cli_bundle.ts"]],
  ["CLI", [
    "runtime/cli.ts",
    "runtime/cli_args.ts",
    "runtime/cli_targets.ts",
    "runtime/completions.ts",
    "runtime/script_file.ts",
    "runtime/output_file.ts",
    "runtime/playground.ts",
  ]],
  ["API", [
    "bpf.ts",
    "runtime/api/",
    "runtime/metrics/",
    "runtime/testing/",
    "runtime/args.ts",
    "runtime/version.ts",
  ]],
  ["engines", [
    "runtime/engines/",
    "runtime/session.ts",
    "runtime/host_symbols.ts",
    "runtime/probe_limit.ts",
    "runtime/probe_filter.ts",
    "runtime/process_watch.ts",
    "runtime/test_mode.ts",
    "runtime/verify_program.ts",
    "ffi/",
    "runtime/synthetic/",
    "runtime/record/",
    "runtime/vm/",
    "runtime/output/",
    "runtime/aggregate/",
  ]],
  ["compiler", ["runtime/compiler/", "runtime/staging/"]],
  ["language", [
    "runtime/lang/",
    "runtime/probes/",
    "runtime/btf/",
    "runtime/verifier/",
  ]],
  ["instruction set", ["runtime/bpf/", "runtime/program.ts"]],
];

/**
 * Imports that go up a layer today, `"from -> to"`, each with its reason.
 * Remove an entry when its import goes.
 */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  [
    "runtime/staging/events.ts -> runtime/output/types.ts",
    "type only: a staged script's events are the decoded values the output " +
    "makes; goes when the value types move below the compiler with the " +
    "engines folder",
  ],
]);

function layerOf(path: string): number {
  for (let i = 0; i < LAYERS.length; i++) {
    for (const p of LAYERS[i][1]) {
      if (p.endsWith("/") ? path.startsWith(p) : path === p) return i;
    }
  }
  return -1;
}

function sourceFiles(): string[] {
  const out = ["mod.ts", "bpf.ts"];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) out.push(path);
    }
  };
  walk("runtime");
  walk("ffi");
  return out.sort();
}

/** Drops comments (doc examples import too), keeping strings. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function normalize(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/** Every module's relative imports (static, type-only and literal dynamic). */
function moduleGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const text = stripComments(Deno.readTextFileSync(`${ROOT}${file}`));
    const deps = new Set<string>();
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith(".")) deps.add(normalize(file, spec));
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

const graph = moduleGraph();

Deno.test("the import scanner sees the module graph", () => {
  assert.ok(graph.size > 100, `${graph.size} modules`);
  assert.ok(graph.get("mod.ts")!.includes("runtime/api/trace.ts"));
  assert.ok(
    graph.get("runtime/metrics/remote_write.ts")!.includes(
      "runtime/metrics/series.ts",
    ),
    "type-only imports count",
  );
  for (const [file, deps] of graph) {
    for (const d of deps) {
      if (d.endsWith(".json")) continue;
      assert.ok(graph.has(d), `${file} imports ${d}, not a scanned module`);
    }
  }
});

Deno.test("every module of runtime/ and ffi/ belongs to a layer", () => {
  const unplaced = [...graph.keys()].filter((f) => layerOf(f) < 0);
  assert.deepEqual(unplaced, [], "add them to LAYERS");
});

Deno.test("no module imports from a layer above its own", () => {
  const up: string[] = [];
  const used = new Set<string>();
  for (const [file, deps] of graph) {
    for (const d of deps) {
      if (layerOf(d) < 0 || layerOf(d) >= layerOf(file)) continue;
      const edge = `${file} -> ${d}`;
      if (EXCEPTIONS.has(edge)) used.add(edge);
      else {
        up.push(
          `${edge} (${LAYERS[layerOf(file)][0]} -> ${LAYERS[layerOf(d)][0]})`,
        );
      }
    }
  }
  assert.deepEqual(up, []);
  assert.deepEqual(
    [...EXCEPTIONS.keys()].filter((e) => !used.has(e)),
    [],
    "exceptions that no longer happen: remove them",
  );
});

Deno.test("no import cycles among runtime/ and ffi/ modules", () => {
  // Tarjan's strongly connected components; a component of two or more
  // modules, or a module importing itself, is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (w === v) cycles.push([v]);
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});

Deno.test("ffi/ and runtime/vm/ never import each other", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    for (const d of deps) {
      if (
        (file.startsWith("ffi/") && d.startsWith("runtime/vm/")) ||
        (file.startsWith("runtime/vm/") && d.startsWith("ffi/"))
      ) bad.push(`${file} -> ${d}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("ffi/ holds bindings only: it never imports an engine", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    if (!file.startsWith("ffi/")) continue;
    for (const d of deps) {
      if (d.startsWith("runtime/engines/")) bad.push(`${file} -> ${d}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("the kernel engine and the interpreter engine never import each other's parts", () => {
  const interpParts = ["runtime/vm/", "runtime/synthetic/"];
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    const kernel = file.startsWith("runtime/engines/kernel_");
    const interp = file === "runtime/engines/interp_engine.ts";
    for (const d of deps) {
      if (
        kernel && (interpParts.some((p) => d.startsWith(p)) ||
          d === "runtime/engines/interp_engine.ts")
      ) bad.push(`${file} -> ${d}`);
      if (
        interp &&
        (d.startsWith("ffi/") || d.startsWith("runtime/engines/kernel_"))
      ) bad.push(`${file} -> ${d}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("only ffi/ calls Deno.dlopen", () => {
  const callers = [...graph.keys()].filter((f) =>
    !f.startsWith("ffi/") &&
    stripComments(Deno.readTextFileSync(`${ROOT}${f}`)).includes(
      "Deno.dlopen",
    )
  );
  assert.deepEqual(callers, []);
});

/** Source folders: `runtime/` and its folders (not `data/`), `ffi/`, `tools/`. */
function sourceFolders(): string[] {
  const out = ["runtime", "ffi", "tools"];
  for (const e of Deno.readDirSync(`${ROOT}runtime`)) {
    if (e.isDirectory) out.push(`runtime/${e.name}`);
  }
  return out.sort();
}

Deno.test("every source folder has a README saying what it owns", () => {
  const missing = sourceFolders().filter((d) => {
    try {
      return !Deno.statSync(`${ROOT}${d}/README.md`).isFile;
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing, []);
});

Deno.test("README's Layout section names every folder and only folders that exist", () => {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const layout = readme.slice(
    readme.indexOf("## Layout\n"),
    readme.indexOf("\n## ", readme.indexOf("## Layout\n") + 1),
  );
  const named = [...layout.matchAll(/^- `([\w./]+)\/`/gm)].map((m) => m[1]);
  const topLevel = [...Deno.readDirSync(ROOT)]
    .filter((e) =>
      e.isDirectory && !e.name.startsWith(".") && e.name !== "docs" &&
      e.name !== "node_modules" && e.name !== "dist"
    )
    .map((e) => e.name);
  const folders = [...new Set([...topLevel, ...sourceFolders()])].sort();
  assert.deepEqual([...named].sort(), folders);
});

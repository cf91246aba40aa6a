/**
 * `import "file.bt";`: the imported scripts' probes, `#include`s and C
 * definitions merged into the importing program, imported ones first
 * (so an imported script's `begin` runs before its importer's). Paths are
 * resolved relative to the importing file's directory (the working
 * directory for `-e` programs); each file is imported once; a directory
 * imports its `.bt` files in name order. Every node of an imported file
 * carries its source, so errors point into that file.
 *
 * @module
 */

import type { Program, SourceText, Span } from "./ast.ts";
import { type Diagnostics, quote } from "./diagnostics.ts";
import { parseRecovering } from "./parser.ts";

const NO_PROBES = "Program has no probes";

/** File access the loader needs (tests substitute their own). */
export interface ImportHost {
  /** The file's text. */
  readTextFile(path: string): string;
  /** Whether the path is a directory. */
  isDirectory(path: string): boolean;
  /** The path with links resolved (identifies a file). */
  realPath(path: string): string;
  /** The names in a directory. */
  readDir(path: string): string[];
}

const DENO_HOST: ImportHost = {
  readTextFile: (p) => Deno.readTextFileSync(p),
  isDirectory: (p) => Deno.statSync(p).isDirectory,
  realPath: (p) => Deno.realPathSync(p),
  readDir: (p) => [...Deno.readDirSync(p)].map((e) => e.name),
};

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

function join(dir: string, path: string): string {
  if (path.startsWith("/")) return path;
  return dir === "." ? path : `${dir}/${path}`;
}

/** Why a file could not be read, in one phrase. */
function why(e: unknown, path: string): string {
  if (e instanceof Deno.errors.NotFound) return `no file "${path}"`;
  if (e instanceof Deno.errors.PermissionDenied) {
    return `permission denied reading "${path}"`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * Why a package of bpftrace 0.26's embedded standard library cannot be
 * imported (undefined for other paths): each is C that bpftrace compiles
 * with clang (`stdlib/test` is `test.bpf.c`, defining `__always_true()`
 * to test that C interop works), and tsbpf compiles no C.
 */
function stdlibPackage(path: string): string | undefined {
  const m = /^stdlib(?:\/(\w+))?\/?$/.exec(path);
  if (m === null) return undefined;
  const c = m[1] === undefined ? "stdlib/*.bpf.c" : `${path}/*.bpf.c`;
  return `a package of bpftrace's standard library, C code (${c}) that bpftrace compiles with clang; tsbpf compiles no C, and its builtins and functions need no import`;
}

/** Marks every span in `node` as pointing into `source`. */
function markSource(node: unknown, source: SourceText): void {
  const stack: unknown[] = [node];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== "object" || seen.has(n)) continue;
    seen.add(n);
    if (Array.isArray(n)) {
      stack.push(...n);
      continue;
    }
    for (const [k, v] of Object.entries(n)) {
      if (k === "span" && v !== null && typeof v === "object") {
        (v as Span).source = source;
      } else if (k !== "source") stack.push(v);
    }
  }
}

/**
 * Resolves the program's imports, recursively, into one program; errors
 * (a missing file, a syntax error in an imported file, a config block in
 * one) go to `diag`, located in the file they are about.
 *
 * @example Usage
 * ```ts
 * import { resolveImports } from "./imports.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import { parse } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const files: Record<string, string> = {
 *   "lib/a.bt": 'begin { printf("a\\n"); }',
 * };
 * const host = {
 *   readTextFile: (p: string) => files[p],
 *   isDirectory: () => false,
 *   realPath: (p: string) => p,
 *   readDir: () => [],
 * };
 * const src = 'import "a.bt"; begin { printf("main\\n"); }';
 * const diag = new Diagnostics("lib/main.bt", src);
 * const out = resolveImports(parse(src, "lib/main.bt").ast, diag, host);
 * assert.equal(out.probes.length, 2);
 * assert.equal(out.probes[0].span.source?.name, "lib/a.bt");
 * ```
 *
 * @param program The root program.
 * @param diag Its diagnostics (`diag.file` names the root file).
 * @param host File access (default: Deno's).
 * @returns The merged program (the root unchanged when it imports nothing).
 */
export function resolveImports(
  program: Program,
  diag: Diagnostics,
  host: ImportHost = DENO_HOST,
): Program {
  if (!program.imports?.length) return program;
  const root = diag.file === "stdin" ? "." : dirname(diag.file);
  const done = new Set<string>();
  try {
    done.add(host.realPath(diag.file));
  } catch {
    // -e or stdin: no file to import twice
  }
  const merged: Program = {
    ...program,
    includes: [],
    cDefinitions: [],
    probes: [],
  };
  delete merged.imports;
  delete merged.macros;
  delete merged.mapDecls;
  const load = (p: Program, dir: string) => {
    for (const imp of p.imports ?? []) {
      const path = join(dir, imp.path);
      let files: string[];
      try {
        files = host.isDirectory(path)
          ? host.readDir(path).filter((n) => n.endsWith(".bt")).sort()
            .map((n) => join(path, n))
          : [path];
      } catch (e) {
        diag.error(
          imp.span,
          `Cannot import ${quote(imp.path)}: ${
            stdlibPackage(imp.path) ?? why(e, path)
          }`,
        );
        continue;
      }
      for (const file of files) {
        if (!file.endsWith(".bt")) {
          diag.error(
            imp.span,
            `Cannot import ${
              quote(imp.path)
            }: only bpftrace scripts (.bt) can be imported yet`,
          );
          continue;
        }
        let text: string;
        let id: string;
        try {
          id = host.realPath(file);
          text = host.readTextFile(file);
        } catch (e) {
          diag.error(
            imp.span,
            `Cannot import ${quote(imp.path)}: ${why(e, file)}`,
          );
          continue;
        }
        if (done.has(id)) continue;
        done.add(id);
        const source = { name: file, text };
        const parsed = parseRecovering(text, file);
        // A script of helpers may have no probes of its own.
        const errors = parsed.diagnostics.errors.filter((err) =>
          err.message !== NO_PROBES
        );
        for (const err of errors) {
          diag.error({ ...err.span, source }, err.message);
        }
        if (errors.length > 0) continue;
        const sub = parsed.ast;
        markSource(sub, source);
        if (sub.config) {
          diag.error(
            sub.config.span,
            "An imported script cannot have a config block: only the main script can",
          );
        }
        load(sub, dirname(file));
        merged.includes.push(...sub.includes);
        merged.cDefinitions.push(...sub.cDefinitions);
        merged.probes.push(...sub.probes);
        merged.macros = [...merged.macros ?? [], ...sub.macros ?? []];
        merged.mapDecls = [...merged.mapDecls ?? [], ...sub.mapDecls ?? []];
      }
    }
  };
  load(program, root);
  merged.includes.push(...program.includes);
  merged.cDefinitions.push(...program.cDefinitions);
  merged.probes.push(...program.probes);
  merged.macros = [...merged.macros ?? [], ...program.macros ?? []];
  if (merged.macros.length === 0) delete merged.macros;
  merged.mapDecls = [...merged.mapDecls ?? [], ...program.mapDecls ?? []];
  if (merged.mapDecls.length === 0) delete merged.mapDecls;
  if (merged.probes.length === 0 && !diag.hasErrors) {
    // A program of macros and imports must still have a probe somewhere.
    diag.error(program.span, NO_PROBES);
  }
  return merged;
}

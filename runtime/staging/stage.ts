/**
 * TS-native probe bodies: a probe body written as a TypeScript function is
 * STAGED — run once, at compile time, over symbolic values — into the same
 * syntax tree the bpftrace parser produces, then compiled by the same
 * compiler into the same bytecode.
 *
 * ```ts ignore
 * const staged = stage((t) => {
 *   const drops = t.map<[U32, Str], "count">("drops");
 *   t.probe("tracepoint:skb:kfree_skb", (c) => drops.at(c.pid, c.comm).count());
 * });
 * const program = compileStaged(staged);   // same Program as compile(text)
 * ```
 *
 * JavaScript control flow in a body runs at staging time: a JS `if`
 * chooses what is staged, a JS `for` loop unrolls. Probe-time decisions use
 * `c.if()`, `c.filter()`, `c.while()`, `c.select()`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { buildAttachPoint, scanAttachPoint } from "../lang/attach_point.ts";
import {
  CompileError,
  CompileErrors,
  Diagnostics,
} from "../lang/diagnostics.ts";
import { parse } from "../lang/parser.ts";
import { onDemand } from "../compiler/on_demand.ts";
import { compileAst, type CompileOptions } from "../compiler/compile.ts";
import { MAX_NESTING, tooDeep } from "../compiler/bounds.ts";
import type { Program } from "../program.ts";
import { ProbeContext, type ProgramScope } from "./context.ts";
import { EventDecl, type EventInfo, type Shape } from "./events.ts";
import { noSpan } from "./expr.ts";
import { MapRef, type MapValueKind } from "./maps.ts";
import { printProgram } from "./print.ts";
import { type Site, Stager, StagingError } from "./stager.ts";
import type { KeyType, Untyped } from "./types.ts";

/** A staged program: its tree, the bpftrace text it prints as, its events. */
export interface StagedProgram {
  /**
   * The syntax tree; spans point into `source`.
   *
   * @ignore
   */
  program: ast.Program;
  /** The program as bpftrace source text. */
  source: string;
  /** Declared or emitted events, by their index in emit formats. */
  events: EventInfo[];
  /**
   * Metrics settings of maps declared with them (`t.map(name, { labels,
   * help })`), by map name with its `@`.
   */
  maps?: Record<string, MapMetrics>;
  /**
   * Where statements and predicates were written in TypeScript
   * (`file:line:col`); compile errors name the place.
   *
   * @ignore
   */
  sites?: ReadonlyMap<ast.Node, Site>;
}

/** How a map shows as a metric (see `runtime/metrics/exposition.ts`). */
export interface MapMetrics {
  /** One label name per key, in key order (default: from the keys). */
  labels?: string[];
  /** The metric's HELP text. */
  help?: string;
}

/** A probe body: runs once at staging time. */
export type ProbeBody<S extends string> = (c: ProbeContext<S>) => void;

/**
 * Builds a staged program: declare maps and events, add probes.
 *
 * @example Two probes sharing a typed map
 * ```ts
 * import { stage } from "./stage.ts";
 * import type { U64 } from "./types.ts";
 * const staged = stage((t) => {
 *   const start = t.map<[U64], U64>("start");
 *   t.probe("tracepoint:sched:sched_wakeup", (c) => {
 *     start.at(c.args.pid).set(c.nsecs);
 *   });
 *   t.probe("tracepoint:sched:sched_switch", (c) => {
 *     const t0 = c.let(start.at(c.args.next_pid).get());
 *     c.if(t0.gt(0), () => {
 *       c.map("lat").at().hist(c.nsecs.sub(t0));
 *     });
 *   });
 * });
 * console.assert(staged.program.probes.length === 2);
 * ```
 */
export class Tracer implements ProgramScope {
  /**
   * The statement sink shared by every probe of this program.
   *
   * @ignore
   */
  readonly stager: Stager = new Stager();
  readonly #maps = new Map<string, MapRef>();
  readonly #mapMetrics: Record<string, MapMetrics> = {};
  readonly #events = new Map<string, EventDecl>();
  readonly #probes: ast.Probe[] = [];
  readonly #preamble: Pick<ast.Program, "includes" | "cDefinitions"> = {
    includes: [],
    cDefinitions: [],
  };
  #config?: ast.ConfigBlock;

  /**
   * Adds a probe on one attach point or several (`["tracepoint:a:b",
   * "tracepoint:c:d"]`), staging `body` now.
   *
   * @throws {import("../lang/diagnostics.ts").CompileErrors} for an
   *   invalid attach point.
   * @throws {StagingError} when called inside another probe body.
   */
  probe<S extends string>(spec: S | readonly S[], body: ProbeBody<S>): void {
    if (this.stager.active) {
      throw new StagingError("A probe cannot be defined inside a probe body");
    }
    const specs: readonly S[] = typeof spec === "string" ? [spec] : spec;
    if (specs.length === 0) {
      throw new StagingError("A probe needs at least one attach point");
    }
    const attachPoints = specs.map(parseAttach);
    this.stager.resetVars();
    const c = new ProbeContext<S>(this, specs[0]);
    const block = this.stager.collect(() => body(c));
    const probe: ast.Probe = {
      kind: "probe",
      attachPoints,
      body: block,
      span: noSpan(),
    };
    const pred = c.predicate();
    if (pred !== undefined) probe.predicate = pred;
    this.#probes.push(probe);
  }

  /**
   * Adds probes written in the bpftrace language (and their `#include`s, C
   * definitions and `config` block), in order with the staged ones: both
   * styles mix in one program and share maps by name.
   *
   * @throws {import("../lang/diagnostics.ts").CompileErrors} on syntax
   *   errors (file name `bpftrace`).
   */
  bpftrace(source: string): void {
    const { ast: parsed, diagnostics } = parse(source, "bpftrace");
    if (parsed.imports !== undefined) {
      diagnostics.error(
        parsed.imports[0].span,
        "import is not supported in bpftrace text given to stage(): it has no file to be relative to",
      );
    }
    // Macros are expanded here: the staged program holds their bodies.
    const tree = parsed.macros?.length
      ? onDemand("macros").expandMacros(parsed, diagnostics)
      : parsed;
    diagnostics.throwIfErrors();
    this.#probes.push(...tree.probes);
    this.#preamble.includes.push(...tree.includes);
    this.#preamble.cDefinitions.push(...tree.cDefinitions);
    if (tree.config !== undefined) {
      if (this.#config !== undefined) {
        throw new StagingError("Only one config block is allowed");
      }
      this.#config = tree.config;
    }
  }

  /** Adds a `BEGIN` probe. */
  begin(body: ProbeBody<"BEGIN">): void {
    this.probe("BEGIN", body);
  }

  /** Adds an `END` probe. */
  end(body: ProbeBody<"END">): void {
    this.probe("END", body);
  }

  /**
   * The map `@name`, typed by key types `K` and value kind `V`. `metrics`
   * says how it shows when the session exports metrics: its label names
   * (one per key) and HELP text.
   */
  map<
    K extends readonly KeyType[] = Untyped,
    V extends MapValueKind = Untyped,
  >(
    name: string,
    metrics?: MapMetrics,
  ): MapRef<K, V> {
    let m = this.#maps.get(name);
    if (m === undefined) {
      m = new MapRef(this.stager, name);
      this.#maps.set(name, m);
    }
    if (metrics !== undefined) {
      const key = "@" + name;
      this.#mapMetrics[key] = { ...this.#mapMetrics[key], ...metrics };
    }
    return m as MapRef<K, V>;
  }

  /** The event `name` with fields typed by `S`. */
  event<S extends Shape>(name: string): EventDecl<S> {
    let e = this.#events.get(name);
    if (e === undefined) {
      e = new EventDecl(name, this.#events.size);
      this.#events.set(name, e);
    }
    return e as EventDecl<S>;
  }

  /** The staged program so far, printed. */
  finish(): StagedProgram {
    const program: ast.Program = {
      kind: "program",
      includes: [...this.#preamble.includes],
      cDefinitions: [...this.#preamble.cDefinitions],
      probes: [...this.#probes],
      span: noSpan(),
    };
    if (this.#config !== undefined) program.config = this.#config;
    // The printer recurses: a tree the compiler would refuse stops here.
    if (tooDeep(program) !== undefined) {
      throw new StagingError(
        `The staged program is nested more than ${MAX_NESTING} levels deep`,
      );
    }
    const source = printProgram(program);
    const events = [...this.#events.values()].map((e) => ({
      name: e.name,
      fields: [...e.fields ?? []],
    }));
    const out: StagedProgram = {
      program,
      source,
      events,
      sites: this.stager.sites,
    };
    if (Object.keys(this.#mapMetrics).length > 0) {
      out.maps = structuredClone(this.#mapMetrics);
    }
    return out;
  }
}

function parseAttach(spec: string): ast.AttachPointNode {
  const diag = new Diagnostics("probe", spec);
  const raw = scanAttachPoint(spec, 0, diag, [], 1, 0);
  let node: ast.AttachPointNode | undefined;
  const span = { start: 0, end: spec.length, line: 1, col: 1 };
  if (raw.end !== spec.trimEnd().length || spec.length === 0) {
    diag.error(span, `Invalid attach point "${spec}"`);
  } else {
    node = buildAttachPoint(raw, span, diag);
  }
  diag.throwIfErrors();
  if (node === undefined) {
    throw new StagingError(`Invalid attach point "${spec}"`);
  }
  return node;
}

/**
 * Stages a program: runs `build` with a {@linkcode Tracer}, returns the
 * tree, its bpftrace text and its events.
 *
 * @example Usage
 * ```ts
 * import { stage } from "./stage.ts";
 * const s = stage((t) => {
 *   t.probe("tracepoint:skb:kfree_skb", (c) => {
 *     c.map("drops").at(c.pid, c.comm).count();
 *   });
 * });
 * console.assert(s.source.includes("@drops[pid, comm] = count();"));
 * ```
 */
export function stage(build: (t: Tracer) => void): StagedProgram {
  const t = new Tracer();
  build(t);
  return t.finish();
}

/**
 * Stages a program and returns its syntax tree (spans point into its
 * printed bpftrace text), ready for `compileAst`.
 *
 * @example Usage
 * ```ts
 * import { defineProbes } from "./stage.ts";
 * import { compileAst } from "../compiler/compile.ts";
 * const tree = defineProbes((t) => {
 *   t.begin((c) => { c.printf("hello %d\n", 42); c.exit(); });
 * });
 * console.assert(compileAst(tree).formats.length === 2);
 * ```
 */
export function defineProbes(build: (t: Tracer) => void): ast.Program {
  return stage(build).program;
}

/**
 * Stages one probe into a program tree.
 *
 * @example Usage
 * ```ts
 * import { stageProbe } from "./stage.ts";
 * const tree = stageProbe("tracepoint:skb:kfree_skb", (c) => {
 *   c.map("drops").at(c.pid, c.comm).count();
 * });
 * console.assert(tree.probes[0].attachPoints[0].target === "skb:kfree_skb");
 * ```
 */
export function stageProbe<S extends string>(
  spec: S | readonly S[],
  body: ProbeBody<S>,
): ast.Program {
  return stage((t) => t.probe(spec, body)).program;
}

/**
 * Compiles a staged program. Errors are reported against its printed
 * bpftrace text (file name `staged` unless `opts.fileName` is given), and
 * `Program.source` holds that text.
 *
 * @throws {import("../lang/diagnostics.ts").CompileErrors} on errors.
 * @example Usage
 * ```ts
 * import { compileStaged, stage } from "./stage.ts";
 * const prog = compileStaged(stage((t) => {
 *   t.probe("tracepoint:skb:kfree_skb", (c) => c.map("drops").at(c.pid).count());
 * }));
 * console.assert(prog.maps[0].name === "@drops");
 * ```
 */
export function compileStaged(
  staged: StagedProgram,
  opts: CompileOptions = {},
): Program {
  const name = opts.fileName ?? "staged";
  let prog: Program;
  try {
    prog = compileAst(
      staged.program,
      new Diagnostics(name, staged.source),
      opts,
    );
  } catch (e) {
    if (e instanceof CompileErrors && staged.sites !== undefined) {
      throw withSites(e, staged.sites);
    }
    throw e;
  }
  prog.source = { name, text: staged.source };
  return prog;
}

/** Adds to each error the TypeScript place of the innermost statement. */
function withSites(
  e: CompileErrors,
  sites: ReadonlyMap<ast.Node, Site>,
): CompileErrors {
  const placed = (err: CompileError): CompileError => {
    let best: [number, Site] | undefined;
    for (const [node, site] of sites) {
      const s = node.span;
      if (s.start <= err.span.start && err.span.end <= s.end) {
        const len = s.end - s.start;
        if (best === undefined || len < best[0]) best = [len, site];
      }
    }
    const where = best?.[1].toString();
    if (where === undefined || where === "") return err;
    return new CompileError(
      `${err.message} (staged at ${where})`,
      err.span,
      err.file,
      err.severity,
    );
  };
  return new CompileErrors(
    e.errors.map(placed),
    e.file,
    e.source,
    e.warnings.map(placed),
  );
}

/**
 * The statement sink of staging: the stack of blocks a probe body writes
 * into while its TypeScript function runs once at compile time.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { noSpan } from "./expr.ts";

/** Raised when staged code is used outside of the body that owns it. */
export class StagingError extends TypeError {
  /** Makes the error. */
  constructor(message: string) {
    super(message);
    this.name = "StagingError";
  }
}

/**
 * Collects statements into nested blocks. One stager belongs to one
 * `defineProbes` call; probe bodies, `if` branches and loop bodies each
 * open a block.
 *
 * @example Usage
 * ```ts
 * import { Stager } from "./stager.ts";
 * import { noSpan } from "./expr.ts";
 * const s = new Stager();
 * const b = s.collect(() => {
 *   s.emit({ kind: "return", span: noSpan() });
 * });
 * console.assert(b.stmts.length === 1);
 * ```
 */
export class Stager {
  #blocks: ast.Stmt[][] = [];
  #vars = 0;
  /** Names taken by scratch variables of the probe being staged. */
  readonly varNames: Set<string> = new Set();
  /**
   * Where each staged statement (and predicate) was written in the
   * caller's TypeScript, as `file:line:col`, for error messages.
   */
  readonly sites: Map<ast.Node, Site> = new Map();

  /** Whether a probe body is being staged. */
  get active(): boolean {
    return this.#blocks.length > 0;
  }

  /** Nesting depth: 1 at the top of a probe body. */
  get depth(): number {
    return this.#blocks.length;
  }

  /** Statements in the innermost open block so far. */
  get current(): readonly ast.Stmt[] {
    const b = this.#blocks.at(-1);
    if (b === undefined) throw outside();
    return b;
  }

  /** Appends a statement to the innermost open block. */
  emit(stmt: ast.Stmt): void {
    const b = this.#blocks.at(-1);
    if (b === undefined) throw outside();
    b.push(stmt);
    this.mark(stmt);
  }

  /** Records the caller's source location for `node`. */
  mark(node: ast.Node): void {
    this.sites.set(node, new Site());
  }

  /** Runs `body` with a new open block and returns it. */
  collect(body: () => void): ast.Block {
    const stmts: ast.Stmt[] = [];
    this.#blocks.push(stmts);
    try {
      const r: unknown = body();
      if (r instanceof Promise) {
        throw new StagingError(
          "A probe body must be synchronous: it runs once at compile time",
        );
      }
    } finally {
      this.#blocks.pop();
    }
    return { kind: "block", stmts, span: noSpan() };
  }

  /** A fresh scratch variable name (`v0`, `v1`, ...) or checks `name`. */
  varName(name?: string): string {
    if (name !== undefined) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new StagingError(`Invalid scratch variable name "${name}"`);
      }
      this.varNames.add(name);
      return name;
    }
    let n: string;
    do n = `v${this.#vars++}`; while (this.varNames.has(n));
    this.varNames.add(n);
    return n;
  }

  /** Forgets the scratch variables (a new probe starts). */
  resetVars(): void {
    this.varNames.clear();
    this.#vars = 0;
  }
}

const HERE = new URL(".", import.meta.url).href;

/**
 * A place in the caller's code, captured cheaply (the stack is formatted
 * only when {@linkcode Site.toString} is called, for an error message).
 */
export class Site {
  readonly #e: Error = new Error();
  #text?: string | null;

  /** The first stack frame outside this folder, `file:line:col`, or `""`. */
  toString(): string {
    if (this.#text === undefined) this.#text = callSite(this.#e) ?? null;
    return this.#text ?? "";
  }
}

/** The first frame of `e`'s stack outside this folder, `file:line:col`. */
export function callSite(e: Error = new Error()): string | undefined {
  const stack = e.stack;
  if (stack === undefined) return undefined;
  for (const line of stack.split("\n").slice(1)) {
    const m = /\(?((?:file|https?|data):[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(
      line,
    );
    if (m === null || m[1].startsWith(HERE)) continue;
    let file = m[1];
    if (file.startsWith("file://")) {
      file = decodeURIComponent(new URL(file).pathname);
    }
    return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

function outside(): StagingError {
  return new StagingError(
    "Staged statements can only be written inside a probe body",
  );
}

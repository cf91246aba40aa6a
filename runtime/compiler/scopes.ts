/**
 * Scratch variable scopes, resolved before semantic analysis.
 *
 * Since bpftrace 0.22 a `$variable` lives in the block that declares it:
 * by `let $x`, as a `for` loop's variable, or by its first assignment
 * when no enclosing block has it. It is not visible after that block, and
 * a declaration may not shadow a visible variable of the same name.
 *
 * bpftrace 0.17 scoped variables by probe. Scripts written for it keep
 * working: a variable that is never declared with `let` or by a `for` in
 * its probe keeps one slot for the whole probe, and a use outside the
 * block that assigns it gets bpftrace's migration hint as a warning. Where
 * a name is declared with `let` or `for` somewhere in the probe, 0.26's
 * rules apply in full, and such a use is the error "Undefined or
 * undeclared variable" with the same hint.
 *
 * The rest of the compiler keeps one slot per name and probe: when one
 * name is declared more than once in a probe (two loops over `$kv`, one
 * `let $x` in each branch of an `if`), each later declaration's variables
 * are renamed `x'2`, `x'3`, … ({@linkcode shownName} gives the name back
 * for messages). A use that resolves to no declaration is renamed `x'?`
 * (no assignment ever has that name), so that sema reports it.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { children, walk } from "../lang/visit.ts";

/** Suffix of a use that resolves to no declaration in its scope. */
const UNDECLARED = "'?";

/**
 * The name a variable is written with: `x` for the slot names `x'2` and
 * `x'?` this pass gives.
 *
 * @example Usage
 * ```ts
 * import { shownName } from "./scopes.ts";
 * console.assert(shownName("x'2") === "x");
 * ```
 */
export function shownName(name: string): string {
  const q = name.indexOf("'");
  return q < 0 ? name : name.slice(0, q);
}

/**
 * `name` (a slot name from this pass) with every `$x'N` in a message shown
 * as `$x`.
 *
 * @example Usage
 * ```ts
 * import { shownNames } from "./scopes.ts";
 * console.assert(shownNames("Type mismatch for $x'2") === "Type mismatch for $x");
 * ```
 */
export function shownNames(message: string): string {
  return message.replace(/(\$[A-Za-z_0-9]+)'(\d+|\?)/g, "$1");
}

/**
 * Whether sema should report variable `name` as used outside the scope
 * that declares it (its message then carries the migration hint).
 *
 * @example Usage
 * ```ts
 * import { isOutOfScope } from "./scopes.ts";
 * console.assert(isOutOfScope("x'?"));
 * ```
 */
export function isOutOfScope(name: string): boolean {
  return name.endsWith(UNDECLARED);
}

/**
 * The hint added to "Undefined or undeclared variable" for a variable
 * that is assigned, but only in a block the use is not inside.
 *
 * @example Usage
 * ```ts
 * import { scopeHint } from "./scopes.ts";
 * console.assert(scopeHint("x").includes("let $x;"));
 * ```
 */
export function scopeHint(name: string): string {
  return `; $${name} is only visible in the block that declares it (bpftrace 0.22 and later): declare it with "let $${name};" before that block`;
}

/** One declaration: the slot name its variables get. */
interface Decl {
  slot: string;
}

/** The resolver of one probe. */
class ProbeScopes {
  #diag: Diagnostics;
  /** Names declared by `let` or `for` somewhere in the probe. */
  #modern = new Set<string>();
  /** Innermost last. */
  #stack: Map<string, Decl>[] = [];
  /** Declarations so far, per name. */
  #count = new Map<string, number>();
  /** Names assigned so far (for the legacy warning). */
  #assigned = new Set<string>();
  /** Legacy names already warned about. */
  #warned = new Set<string>();

  constructor(diag: Diagnostics) {
    this.#diag = diag;
  }

  run(p: ast.Probe): void {
    walk(p.body, (n) => {
      if (n.kind === "let" || n.kind === "for") {
        this.#modern.add(n.target.name);
      }
    });
    this.#stack.push(new Map());
    if (p.predicate !== undefined) this.#expr(p.predicate);
    this.#block(p.body);
    this.#stack.pop();
  }

  #find(name: string): Decl | undefined {
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const d = this.#stack[i].get(name);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  /** Declares `v` in the innermost scope; renames it when not the first. */
  #declare(v: ast.VarExpr): void {
    const n = (this.#count.get(v.name) ?? 0) + 1;
    this.#count.set(v.name, n);
    const d = { slot: n === 1 ? v.name : `${v.name}'${n}` };
    this.#stack[this.#stack.length - 1].set(v.name, d);
    this.#assigned.add(v.name);
    v.name = d.slot;
  }

  /** A read of `v`. */
  #use(v: ast.VarExpr): void {
    const d = this.#find(v.name);
    if (d !== undefined) {
      v.name = d.slot;
      return;
    }
    if (!this.#assigned.has(v.name)) return; // sema: never assigned
    if (this.#modern.has(v.name)) {
      v.name += UNDECLARED;
      return;
    }
    // 0.17 style: one slot per probe still serves; say what 0.22 changed.
    if (!this.#warned.has(v.name)) {
      this.#warned.add(v.name);
      this.#diag.warning(
        v.span,
        `Variable $${v.name} is used outside the block that assigns it: bpftrace 0.22 and later reject this ("Undefined or undeclared variable")${
          scopeHint(v.name)
        }`,
      );
    }
  }

  /** An assignment's target `v`: declares it where not visible. */
  #assign(v: ast.VarExpr): void {
    const d = this.#find(v.name);
    if (d !== undefined) v.name = d.slot;
    else if (this.#modern.has(v.name) || !this.#assigned.has(v.name)) {
      this.#declare(v);
    }
  }

  #block(b: ast.Block): void {
    this.#stack.push(new Map());
    for (const s of b.stmts) this.#stmt(s);
    this.#stack.pop();
  }

  #stmt(s: ast.Stmt): void {
    switch (s.kind) {
      case "block":
        this.#block(s);
        return;
      case "let": {
        if (s.value !== undefined) this.#expr(s.value);
        if (this.#find(s.target.name) !== undefined) {
          this.#diag.error(
            s.target.span,
            `Variable $${s.target.name} was already declared. Variable shadowing is not allowed.`,
          );
          return;
        }
        this.#declare(s.target);
        return;
      }
      case "for": {
        if (s.map !== undefined) this.#expr(s.map);
        if (s.from !== undefined) this.#expr(s.from);
        if (s.to !== undefined) this.#expr(s.to);
        if (this.#find(s.target.name) !== undefined) {
          this.#diag.error(
            s.target.span,
            `Loop declaration shadows existing variable: $${s.target.name}`,
          );
        }
        this.#stack.push(new Map());
        this.#declare(s.target);
        this.#block(s.body);
        this.#stack.pop();
        return;
      }
      case "assign":
        this.#expr(s.value);
        if (s.target.kind === "var") {
          if (s.op === "=") this.#assign(s.target);
          else this.#use(s.target);
        } else this.#expr(s.target);
        return;
      default:
        for (const c of children(s)) {
          if (c.kind === "block") this.#block(c);
          else if (c.kind === "if") this.#stmt(c);
          else this.#expr(c as ast.Expr);
        }
    }
  }

  #expr(e: ast.Node): void {
    if (e.kind === "var") {
      this.#use(e);
      return;
    }
    if (e.kind === "block_expr") {
      this.#stack.push(new Map());
      for (const s of e.stmts) this.#stmt(s);
      this.#expr(e.value);
      this.#stack.pop();
      return;
    }
    for (const c of children(e)) this.#expr(c);
  }
}

/**
 * Resolves the scratch variables of every probe in place (see the module
 * documentation); errors and warnings go to `diag`. Recursive: run it
 * after `checkBounds` (`bounds.ts`) has limited the tree's depth. A probe body shared by
 * several probes is resolved once.
 *
 * @example Two loops over the same name get two slots
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { Diagnostics } from "../lang/diagnostics.ts";
 * import { resolveScopes } from "./scopes.ts";
 * const { ast } = parse("BEGIN { let $a = 1; { let $b = 2; } { let $b = \"s\"; } }");
 * resolveScopes(ast, new Diagnostics());
 * const [, first, second] = ast.probes[0].body.stmts as any[];
 * console.assert(first.stmts[0].target.name === "b");
 * console.assert(second.stmts[0].target.name === "b'2");
 * ```
 *
 * @param prog The program (changed in place).
 * @param diag Where errors and warnings go.
 */
export function resolveScopes(prog: ast.Program, diag: Diagnostics): void {
  const done = new WeakSet<ast.Block>();
  for (const p of prog.probes) {
    if (done.has(p.body)) continue;
    done.add(p.body);
    new ProbeScopes(diag).run(p);
  }
}

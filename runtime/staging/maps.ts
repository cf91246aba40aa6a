/**
 * Staged maps: `@name[keys]` typed by key types `K` and value kind `V` (an
 * aggregation name such as `"count"`, or a value type for plain maps).
 *
 * ```ts ignore
 * const drops = c.map<[U32, Str], "count">("drops");
 * drops.at(c.pid, c.comm).count();        // @drops[pid, comm] = count();
 * c.map("lat").at(c.comm).hist(delta);    // untyped: checked per call
 * ```
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import {
  type AnyLike,
  cloneNode,
  Expr,
  type IntLike,
  noSpan,
  type OperandOf,
  toNode,
} from "./expr.ts";
import { type Stager, StagingError } from "./stager.ts";
import type { AggKind, Int, KeyType, Tuple, Untyped, VType } from "./types.ts";

/** What a map holds: an aggregation, or plain values of a type. */
export type MapValueKind = AggKind | VType;

/** Whether `T` is `any` (an untyped map or event). */
export type IsAny<T> = 0 extends (1 & T) ? true : false;

/**
 * The key operands of a map with key types `K` (anything when untyped):
 * one operand per key, or for several keys one tuple of them, as bpftrace
 * 0.26 reads `@m[a, b]` and `@m[(a, b)]` as the same element.
 */
export type KeyArgs<K> = IsAny<K> extends true ? AnyLike[]
  :
    | { -readonly [I in keyof K]: OperandOf<K[I]> }
    | (K extends readonly [VType, VType, ...VType[]] ? [Expr<Tuple<K>>]
      : never);

/** Compound assignment operators for plain integer map values. */
export type CompoundOp = Exclude<ast.AssignOp, "=">;

const MAP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One map element `@name[keys]`: aggregate into it, store, read or delete.
 * Methods are checked against the map's value kind `V`.
 *
 * @example A slot per process, from `map.at(key)`
 * ```ts
 * import assert from "node:assert/strict";
 * import { type S64, Tracer, type U32 } from "../../mod.ts";
 *
 * const t = new Tracer();
 * const bytes = t.map<[U32], S64>("bytes");
 * t.probe("tracepoint:syscalls:sys_exit_read", (c) => {
 *   bytes.at(c.pid).set(c.args.ret); // bytes.at(c.pid) is a MapSlot
 * });
 * assert.match(t.finish().source, /@bytes\[pid\] = args->ret;/);
 * ```
 */
export class MapSlot<V extends MapValueKind = MapValueKind> {
  /** Phantom: the map's value kind. */
  declare readonly valueKind: V;
  readonly #stager: Stager;
  readonly #node: ast.MapExpr;

  /** Use `MapRef.at()`. */
  constructor(stager: Stager, node: ast.MapExpr) {
    this.#stager = stager;
    this.#node = node;
  }

  /**
   * The `@name[keys]` node (a fresh copy).
   *
   * @ignore
   */
  mapNode(): ast.MapExpr {
    return cloneNode(this.#node);
  }

  #assign(value: ast.Expr, op: ast.AssignOp = "="): void {
    this.#stager.emit({
      kind: "assign",
      op,
      target: this.mapNode(),
      value,
      span: noSpan(),
    });
  }

  #agg(name: AggKind, args: AnyLike[]): void {
    this.#assign({
      kind: "call",
      name,
      args: args.map(toNode),
      span: noSpan(),
    });
  }

  /** `@m[k] = count()`. */
  count(this: MapSlot<"count">): void {
    this.#agg("count", []);
  }
  /** `@m[k] = sum(v)`. */
  sum(this: MapSlot<"sum">, v: IntLike): void {
    this.#agg("sum", [v]);
  }
  /** `@m[k] = avg(v)`. */
  avg(this: MapSlot<"avg">, v: IntLike): void {
    this.#agg("avg", [v]);
  }
  /** `@m[k] = min(v)`. */
  min(this: MapSlot<"min">, v: IntLike): void {
    this.#agg("min", [v]);
  }
  /** `@m[k] = max(v)`. */
  max(this: MapSlot<"max">, v: IntLike): void {
    this.#agg("max", [v]);
  }
  /** `@m[k] = stats(v)`. */
  stats(this: MapSlot<"stats">, v: IntLike): void {
    this.#agg("stats", [v]);
  }
  /** `@m[k] = hist(v)`: a power-of-two histogram. */
  hist(this: MapSlot<"hist">, v: IntLike): void {
    this.#agg("hist", [v]);
  }
  /** `@m[k] = lhist(v, min, max, step)`: a linear histogram. */
  lhist(
    this: MapSlot<"lhist">,
    v: IntLike,
    min: number,
    max: number,
    step: number,
  ): void {
    this.#agg("lhist", [v, min, max, step]);
  }
  /** `@m[k] = v`. */
  set(this: MapSlot<VType>, v: OperandOf<V>): void {
    this.#assign(toNode(v as AnyLike));
  }
  /** `@m[k] op= v` on an integer value (`+=`, `-=`, `|=`, ...). */
  update(this: MapSlot<Int>, op: CompoundOp, v: IntLike): void {
    this.#assign(toNode(v), op);
  }
  /** `@m[k]++`. */
  inc(this: MapSlot<Int>): void {
    this.#incdec("++");
  }
  /** `@m[k]--`. */
  dec(this: MapSlot<Int>): void {
    this.#incdec("--");
  }
  #incdec(op: "++" | "--"): void {
    this.#stager.emit({
      kind: "expr",
      expr: {
        kind: "incdec",
        op,
        prefix: false,
        target: this.mapNode(),
        span: noSpan(),
      },
      span: noSpan(),
    });
  }
  /** The stored value `@m[k]` (0 or empty when absent). */
  get(this: MapSlot<VType>): Expr<Extract<V, VType>> {
    return new Expr(this.mapNode());
  }
  /** `delete(@m[k])`. */
  delete(): void {
    this.#stager.emit({
      kind: "expr",
      expr: {
        kind: "call",
        name: "delete",
        args: [this.mapNode()],
        span: noSpan(),
      },
      span: noSpan(),
    });
  }
}

/**
 * A map `@name` with key types `K` and value kind `V`. Without type
 * arguments (`K`, `V` = `any`) every use is checked only against the
 * operation itself (`hist` still needs an integer).
 *
 * @example Count drops by pid and command
 * ```ts
 * import { stageProbe } from "./stage.ts";
 * import type { Str, U32 } from "./types.ts";
 * const prog = stageProbe("tracepoint:skb:kfree_skb", (c) => {
 *   c.map<[U32, Str], "count">("drops").at(c.pid, c.comm).count();
 * });
 * console.assert(prog.probes[0].body.stmts.length === 1);
 * ```
 */
export class MapRef<
  K extends readonly KeyType[] = Untyped,
  V extends MapValueKind = Untyped,
> {
  /** Phantom: the key types. */
  declare readonly keyTypes: K;
  /** Phantom: the value kind. */
  declare readonly valueKind: V;
  /** The map name without `@` (`""` for `@`). */
  readonly name: string;
  readonly #stager: Stager;

  /**
   * Use `c.map()` or `t.map()`.
   *
   * @throws {StagingError} for an invalid map name.
   */
  constructor(stager: Stager, name: string) {
    if (name !== "" && !MAP_NAME.test(name)) {
      throw new StagingError(`Invalid map name "${name}"`);
    }
    this.#stager = stager;
    this.name = name;
  }

  /** The element `@name[keys]` (`@name` with no keys). */
  at(...keys: KeyArgs<K>): MapSlot<V> {
    const node: ast.MapExpr = {
      kind: "map",
      name: this.name,
      keys: (keys as AnyLike[]).map(toNode),
      span: noSpan(),
    };
    return new MapSlot<V>(this.#stager, node);
  }

  /**
   * The bare `@name` node, for `clear`, `zero`, `print`.
   *
   * @ignore
   */
  mapNode(): ast.MapExpr {
    return { kind: "map", name: this.name, keys: [], span: noSpan() };
  }

  /** `@name = count()` on a map without keys. */
  count(this: MapRef<readonly [], "count">): void {
    this.at().count();
  }
  /** `@name = sum(v)` on a map without keys. */
  sum(this: MapRef<readonly [], "sum">, v: IntLike): void {
    this.at().sum(v);
  }
  /** `@name = hist(v)` on a map without keys. */
  hist(this: MapRef<readonly [], "hist">, v: IntLike): void {
    this.at().hist(v);
  }
  /** `@name = v` on a map without keys. */
  set(this: MapRef<readonly [], VType>, v: OperandOf<V>): void {
    (this.at() as MapSlot<VType>).set(v as never);
  }
  /** `@name` read, on a map without keys. */
  get(this: MapRef<readonly [], VType>): Expr<Extract<V, VType>> {
    return new Expr(this.mapNode());
  }
  /** `clear(@name)`: delete every element. */
  clear(): void {
    this.#call("clear");
  }
  /** `zero(@name)`: zero every element. */
  zero(): void {
    this.#call("zero");
  }
  /** `print(@name)`: print the map now. */
  print(): void {
    this.#call("print");
  }
  #call(name: string): void {
    this.#stager.emit({
      kind: "expr",
      expr: { kind: "call", name, args: [this.mapNode()], span: noSpan() },
      span: noSpan(),
    });
  }
}

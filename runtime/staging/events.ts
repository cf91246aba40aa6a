/**
 * Typed events: `c.emit(event, { field: expr, ... })` sends one record to
 * user space, which reads it back as a typed object.
 *
 * An emit is staged as an `emit("name", "f1,f2", v1, v2)` call, which
 * the compiler turns into an event with the `emit` action (`{ kind:
 * "emit", event, fields, args }`): typed, and never printed by the CLI or
 * a session. {@linkcode matchEmit} reads such an event back as a record.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import {
  type AnyLike,
  noSpan,
  type OperandOf,
  toNode,
  type TypeOf,
} from "./expr.ts";
import { StagingError } from "./stager.ts";
import type { DecodedEvent } from "../output/types.ts";
import type { JsOf, VType } from "./types.ts";

/** The fields of an event: name → value type. */
export type Shape = Record<string, VType>;

/** The operands an emit of shape `S` takes. */
export type EmitArgs<S extends Shape> = { [F in keyof S]: OperandOf<S[F]> };

/** The record user space reads for an event of shape `S`. */
export type EventRecord<S extends Shape> = { [F in keyof S]: JsOf<S[F]> };

/** The staged type of each field of an emit object. */
export type ShapeOf<O extends Record<string, AnyLike>> = {
  [F in keyof O]: TypeOf<O[F]>;
};

/** What user space needs to know about one event. */
export interface EventInfo {
  /** The event name. */
  name: string;
  /** Field names in record order. */
  fields: string[];
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A declared event with a typed shape, made by `t.event<Shape>(name)`.
 * Pass it to `c.emit()` in probes and to the session to read records.
 *
 * @example Declare and emit
 * ```ts
 * import { stage } from "./stage.ts";
 * import type { Str, U32 } from "./types.ts";
 * const staged = stage((t) => {
 *   const drop = t.event<{ pid: U32; comm: Str }>("drop");
 *   t.probe("tracepoint:skb:kfree_skb", (c) => {
 *     c.emit(drop, { pid: c.pid, comm: c.comm });
 *   });
 * });
 * console.assert(staged.events[0].name === "drop");
 * ```
 */
export class EventDecl<S extends Shape = Shape> {
  /** Phantom: the shape. */
  declare readonly shape: S;
  /** The event name. */
  readonly name: string;
  /** Index in the staged program's event table. */
  readonly index: number;
  /** Field names in record order, fixed by the first emit. */
  fields?: string[];

  /** Use `t.event()`. */
  constructor(name: string, index: number) {
    this.name = name;
    this.index = index;
  }

  /**
   * The call of one emit: `emit("name", "f1,f2", values...)` (the
   * compiler's `emit` action).
   *
   * @throws {StagingError} when the fields differ from the first emit's.
   *
   * @ignore
   */
  stageCall(values: Record<string, AnyLike>): ast.CallExpr {
    const names = Object.keys(values);
    for (const n of names) {
      if (!FIELD_NAME.test(n)) {
        throw new StagingError(
          `Invalid field name "${n}" in event "${this.name}"`,
        );
      }
    }
    if (this.fields === undefined) {
      if (names.length === 0) {
        throw new StagingError(`Event "${this.name}" needs at least one field`);
      }
      this.fields = names;
    } else {
      const want = [...this.fields].sort().join(", ");
      const got = [...names].sort().join(", ");
      if (want !== got) {
        throw new StagingError(
          `Event "${this.name}" emitted with fields [${got}], expected [${want}]`,
        );
      }
    }
    const fields = this.fields;
    return {
      kind: "call",
      name: "emit",
      args: [
        { kind: "str", value: this.name, span: noSpan() },
        { kind: "str", value: fields.join(","), span: noSpan() },
        ...fields.map((f) => toNode(values[f])),
      ],
      span: noSpan(),
    };
  }
}

/**
 * Builds the typed record of a decoded emit: field names zipped with the
 * printf arguments (as `runtime/output/decode.ts` decodes them).
 *
 * @throws {RangeError} when the argument count does not match.
 * @example Usage
 * ```ts
 * import { emitRecord } from "./events.ts";
 * import assert from "node:assert/strict";
 * const r = emitRecord({ name: "drop", fields: ["pid", "comm"] }, [7, "sh"]);
 * assert.deepEqual(r, { pid: 7, comm: "sh" });
 * ```
 */
export function emitRecord(
  info: EventInfo,
  args: readonly unknown[],
): Record<string, unknown> {
  if (args.length !== info.fields.length) {
    throw new RangeError(
      `Event "${info.name}" has ${info.fields.length} fields, record has ${args.length} values`,
    );
  }
  const out: Record<string, unknown> = {};
  info.fields.forEach((f, i) => out[f] = args[i]);
  return out;
}

/**
 * The event name and typed record of a decoded ring-buffer event, when it
 * is an emit (an event with the `emit` action, `{ kind: "emit", event,
 * fields, args }`); `undefined` for every other event (printf, exit, ...).
 *
 * @example Usage
 * ```ts
 * import { matchEmit } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev = {
 *   id: 0,
 *   action: {
 *     kind: "emit" as const,
 *     event: "e",
 *     fields: ["pid"],
 *     args: [{ kind: "int" as const, size: 4 as const, signed: false }],
 *   },
 *   args: [42],
 * };
 * assert.deepEqual(matchEmit(ev), { event: "e", record: { pid: 42 } });
 * ```
 */
export function matchEmit(
  ev: DecodedEvent,
): { event: string; record: Record<string, unknown> } | undefined {
  const action = ev.action;
  if (action.kind !== "emit") return undefined;
  const info = { name: action.event, fields: action.fields };
  return { event: info.name, record: emitRecord(info, ev.args) };
}

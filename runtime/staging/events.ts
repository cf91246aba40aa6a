/**
 * Typed events: `c.emit(event, { field: expr, ... })` sends one record to
 * user space, which reads it back as a typed object.
 *
 * ## Wire forms
 *
 * Native (the default): an `emit("name", "f1,f2", v1, v2)` call, which the
 * compiler turns into an event with the `emit` action (`{ kind: "emit",
 * event, fields, args }`): typed, and never printed by the CLI or a
 * session.
 *
 * Printf (`{ emit: "printf" }`): an emit is staged as a `printf` whose
 * format string starts with the
 * record separator byte `\x1e`, then the event's index in
 * {@linkcode StagedProgram.events}, then `\x1f`, then one `%s` per field
 * (the compiler accepts `%s` for every value type, and user space decodes
 * each argument by its `TypeDesc`, never by the text). When it fits in the
 * 63-byte format limit the fields are named (`pid=%s comm=%s\n`), so a
 * session that does not know about emits still prints something readable.
 * {@linkcode emitIndex} recognizes such a format; {@linkcode emitRecord}
 * zips the decoded arguments with the field names; {@linkcode matchEmit}
 * reads both forms.
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

/**
 * How emits are staged: `"native"` (an `emit(...)` call: the compiler's
 * `emit` event action; the `Tracer` default) or `"printf"` (a
 * printf with a marked format).
 */
export type EmitStyle = "printf" | "native";

/** The first byte of every emit format. */
export const EMIT_MARK = "\x1e";
const FIELD_SEP = "\x1f";
const MAX_FORMAT = 63;
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
   * The call of one emit: `printf("\x1eN\x1f...", values...)`, or with
   * `style` `"native"` the call `emit("name", "f1,f2", values...)` (the
   * compiler's `emit` action).
   *
   * @throws {StagingError} when the fields differ from the first emit's.
   *
   * @ignore
   */
  stageCall(
    values: Record<string, AnyLike>,
    style: EmitStyle = "printf",
  ): ast.CallExpr {
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
    if (style === "native") {
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
    const prefix = `${EMIT_MARK}${this.index}${FIELD_SEP}`;
    let format = prefix + fields.map((f) => `${f}=%s`).join(" ") + "\n";
    if (format.length > MAX_FORMAT) {
      format = prefix + fields.map(() => "%s").join(FIELD_SEP);
    }
    if (format.length > MAX_FORMAT) {
      throw new StagingError(
        `Event "${this.name}" has too many fields (${fields.length}): at most ${
          Math.floor((MAX_FORMAT - prefix.length + 1) / 3)
        }`,
      );
    }
    return {
      kind: "call",
      name: "printf",
      args: [
        { kind: "str", value: format, span: noSpan() },
        ...fields.map((f) => toNode(values[f])),
      ],
      span: noSpan(),
    };
  }
}

/**
 * The event index an emit format carries, or `undefined` for any other
 * printf format.
 *
 * @example Usage
 * ```ts
 * import { emitIndex } from "./events.ts";
 * console.assert(emitIndex("\x1e3\x1fpid=%s\n") === 3);
 * console.assert(emitIndex("%d\n") === undefined);
 * ```
 */
export function emitIndex(format: string): number | undefined {
  if (!format.startsWith(EMIT_MARK)) return undefined;
  const sep = format.indexOf(FIELD_SEP);
  const digits = format.slice(1, sep);
  return sep > 1 && /^\d+$/.test(digits) ? Number(digits) : undefined;
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
 * is an emit of `events` (a staged program's event table); `undefined` for
 * every other event (printf, exit, ...). Both wire forms are understood:
 * the printf form and a native `emit` action (`{ kind: "emit", event,
 * fields, args }`).
 *
 * @example Usage
 * ```ts
 * import { matchEmit } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev = {
 *   id: 0,
 *   action: { kind: "printf" as const, format: "\x1e0\x1fpid=%s\n", args: [] },
 *   args: [42],
 * };
 * assert.deepEqual(matchEmit([{ name: "e", fields: ["pid"] }], ev), {
 *   event: "e",
 *   record: { pid: 42 },
 * });
 * ```
 */
export function matchEmit(
  events: readonly EventInfo[],
  ev: DecodedEvent,
): { event: string; record: Record<string, unknown> } | undefined {
  const action = ev.action as {
    kind: string;
    event?: string;
    fields?: string[];
  };
  if (action.kind === "emit" && action.fields !== undefined) {
    const info = { name: action.event ?? "", fields: action.fields };
    return { event: info.name, record: emitRecord(info, ev.args) };
  }
  if (ev.action.kind !== "printf") return undefined;
  const i = emitIndex(ev.action.format);
  if (i === undefined || events[i] === undefined) return undefined;
  return { event: events[i].name, record: emitRecord(events[i], ev.args) };
}

/**
 * Kernel structures in staged probe bodies: `c.kernel("struct
 * task_struct", c.curtask)` is `(struct task_struct *)curtask`, and its
 * members read as TypeScript properties (`.real_parent.pid`), each one
 * `->` through a pointer or `.` into a nested struct, as the kernel's
 * types say. Needs the kernel's types when staging (`trace()` loads them
 * for a builder whose text names `kernel(`; else
 * `prepareKernelTypes()` first).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import {
  kernelTypeSource,
  member,
  recordRef,
} from "../compiler/kernel_types.ts";
import type { RecordRef } from "../compiler/types.ts";
import { Expr, noSpan } from "./expr.ts";
import { StagingError } from "./stager.ts";
import type { Int, Str } from "./types.ts";

/**
 * A kernel value in a staged body: an integer (or, for a `char[N]`
 * member, string) expression whose struct members (when it is a struct or
 * a pointer to one) are its properties. Which it is, the kernel's types
 * say when staging; statically it is both. A member named like a method
 * of `Expr` is read with `.field("name")`.
 */
export type KernelValue = Expr<Int> & Expr<Str> & {
  /** Member `name`, for names an `Expr` method takes. */
  field(name: string): KernelValue;
} & { readonly [member: string]: KernelValue };

/** What a staged kernel value is: a struct pointer, a struct, or neither. */
interface Shape {
  rec?: RecordRef;
  pointer: boolean;
}

/**
 * `(cname *)ptr` with its members as properties.
 *
 * @example curtask's parent pid
 * ```ts ignore
 * import { kernelCast } from "./kernel.ts";
 * import { builtin } from "./expr.ts";
 * const t = kernelCast("struct task_struct", builtin("curtask"));
 * console.log(t.real_parent.pid.node.kind); // "field"
 * ```
 */
export function kernelCast(cname: string, ptr: Expr): KernelValue {
  const source = kernelTypeSource();
  if (source === undefined) {
    throw new StagingError(
      `Cannot read ${cname}: kernel types are not loaded; pass the builder to trace(), or call "await prepareKernelTypes('struct')" before staging`,
    );
  }
  const found = source.find(cname);
  const rec = found === undefined
    ? undefined
    : recordRef(found.types, found.id);
  if (rec === undefined) {
    const name = source.types().suggestTypes(cname)[0];
    throw new StagingError(
      `Unknown type "${cname}"${
        name === undefined ? "" : `; did you mean "${name}"?`
      }`,
    );
  }
  const node: ast.Expr = {
    kind: "cast",
    type: { kind: "type", name: cname, pointer: 1, span: noSpan() },
    expr: ptr.use(),
    span: noSpan(),
  };
  return wrap(node, { rec, pointer: true });
}

function wrap(node: ast.Expr, shape: Shape): KernelValue {
  const expr = new Expr<Int>(node);
  const read = (name: string): KernelValue => {
    const rec = shape.rec;
    if (rec === undefined) {
      throw new StagingError(
        `Cannot read member "${name}": the value is not a struct or a pointer to one`,
      );
    }
    const m = member(rec, name, "kernel");
    if (typeof m === "string") throw new StagingError(m);
    const t = m.type;
    const next: ast.Expr = {
      kind: "field",
      expr: expr.use(),
      field: name,
      arrow: shape.pointer,
      span: noSpan(),
    };
    if (t.k === "int" && t.rec !== undefined) {
      return wrap(next, { rec: t.rec, pointer: true });
    }
    if (t.k === "record") return wrap(next, { rec: t.rec, pointer: false });
    return wrap(next, { pointer: false });
  };
  return new Proxy(expr, {
    get(target, prop, receiver) {
      if (typeof prop !== "string" || prop in target) {
        return Reflect.get(target, prop, receiver);
      }
      if (prop === "field") return read;
      return read(prop);
    },
  }) as KernelValue;
}

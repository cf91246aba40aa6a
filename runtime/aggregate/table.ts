/**
 * Aligned text tables, BCC style: a header line, then one line per row,
 * columns padded to a common width.
 *
 * @module
 */

/** One column of {@linkcode formatTable}. */
export interface Column<R> {
  /** The field of a row object (or index of a row array) shown. */
  key: keyof R & (string | number);
  /** Header text (default: the key). */
  title?: string;
  /** Minimum width (the header and the longest cell widen it). */
  width?: number;
  /** `left` (default) or `right`. */
  align?: "left" | "right";
  /** Renders a cell (default: `String(value)`). */
  format?: (value: R[keyof R], row: R) => string;
}

/**
 * Formats rows as an aligned table: the header, then the rows, columns
 * separated by one space, every line ending in a newline. The last column
 * is not padded when left-aligned, so lines carry no trailing spaces.
 *
 * @example The kfree_skb table
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTable } from "./table.ts";
 *
 * const rows = [{ pid: 812, comm: "nc", drops: 12 }, { pid: 9, comm: "sh", drops: 3 }];
 * const text = formatTable(rows, [
 *   { key: "pid", title: "PID", width: 10 },
 *   { key: "comm", title: "COMM", width: 12 },
 *   { key: "drops", title: "DROP_COUNTS" },
 * ]);
 * assert.equal(text,
 *   "PID        COMM         DROP_COUNTS\n" +
 *   "812        nc           12\n" +
 *   "9          sh           3\n");
 * ```
 */
export function formatTable<R extends object>(
  rows: readonly R[],
  columns: readonly Column<R>[],
): string {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const v = row[c.key as keyof R];
      return c.format ? c.format(v, row) : String(v);
    })
  );
  const titles = columns.map((c) => c.title ?? String(c.key));
  const widths = columns.map((c, i) =>
    Math.max(
      c.width ?? 0,
      titles[i].length,
      ...cells.map((r) => r[i].length),
    )
  );
  const line = (parts: string[]) =>
    parts.map((p, i) => {
      const c = columns[i];
      if (c.align === "right") return p.padStart(widths[i]);
      return i === parts.length - 1 ? p : p.padEnd(widths[i]);
    }).join(" ") + "\n";
  return line(titles) + cells.map(line).join("");
}

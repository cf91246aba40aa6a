/**
 * The version of tsbpf, for `--version`, the man page and the exporters'
 * build-info metric.
 *
 * @module
 */

/**
 * The version `--version` prints.
 *
 * @example Print it
 * ```ts
 * import { VERSION } from "./version.ts";
 *
 * console.log(VERSION); // "tsbpf 0.1.0"
 * ```
 */
export const VERSION = "tsbpf 0.1.0";

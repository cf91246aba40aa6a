/**
 * The verifier's public option and result types.
 *
 * @module
 */

/** A map as the verifier needs it. */
export interface VerifyMap {
  /** `MapType` id. */
  type: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes. */
  valueSize: number;
  /** Capacity. */
  maxEntries: number;
}

/** What the verifier needs to know besides the instructions. */
export interface VerifyOptions {
  /** Maps; index = imm of `ld_imm64` with src `PseudoSrc.MAP_FD`. */
  maps: readonly VerifyMap[];
  /** Bytes readable through r1 (0 = no context). */
  ctxSize: number;
  /** `ProgType` id. */
  progType?: number;
  /** Budget of processed instructions; default 1,000,000. */
  maxInsnsProcessed?: number;
  /**
   * Let the program write its context (the `--asm` playground's memory);
   * storing a pointer there is still refused. Default false.
   */
  ctxWritable?: boolean;
  /** r2 holds an unknown scalar at entry (the playground's length). */
  r2Scalar?: boolean;
}

/** Figures about an accepted program. */
export interface VerifyResult {
  /** Instructions processed over all explored paths. */
  insnsProcessed: number;
  /**
   * Most stack bytes in use at once: the deepest byte used per function,
   * summed along the deepest call chain.
   */
  maxStackDepth: number;
}

/**
 * The eBPF interpreter: a program translated once to JavaScript (see
 * translate.ts) and run against in-memory maps and an environment.
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import { formatInsn } from "../bpf/disasm.ts";
import { MAX_INSNS_PROCESSED } from "../bpf/opcodes.ts";
import { checkInsns, checkObject, describeValue } from "../bpf/validate.ts";
import * as alu from "./alu64.ts";
import type { VmEnvironment } from "./environment.ts";
import { type HelperFn, HELPERS, settle } from "./helpers.ts";
import { ArrayMap, type VmMap } from "./maps.ts";
import {
  CTX_REGION,
  Machine,
  RegionKind,
  TAG,
  type VmOutput,
} from "./memory.ts";
import { translate } from "./translate.ts";
import { VmError } from "./vm_error.ts";

export type { VmOutput } from "./memory.ts";

/** Options of {@linkcode VmProgram}. */
export interface VmProgramOptions {
  /** Executed-instruction budget per run (default 1,000,000). */
  budget?: number;
  /** Where trace_printk lines and signals go (default: a new sink). */
  output?: VmOutput;
  /** Helpers replacing the built-in ones, by id (replay serves recorded values). */
  helpers?: ReadonlyMap<number, HelperFn>;
}

/** Options of one {@linkcode VmProgram.run}. */
export interface RunOptions {
  /** Value of r2 at entry (default 0). */
  r2?: bigint;
  /** Let the program write its context (default false: read-only). */
  writableCtx?: boolean;
  /** Executed-instruction budget of this run. */
  budget?: number;
}

interface Runner {
  run(
    a1l: number,
    a1h: number,
    a2l: number,
    a2h: number,
    budget: number,
  ): number;
  executed(): number;
}

let epochs = 0;

/**
 * A program ready to run: its slots translated once into JavaScript.
 *
 * At entry r1 points at the context (read-only unless `writableCtx`), r2
 * holds `options.r2`, r10 the top of a zeroed 512-byte stack frame; each
 * bpf-to-bpf call gets a frame of its own, up to 8 deep. The result is r0.
 * A run that faults throws {@linkcode VmError}; map updates made before the
 * fault stay, as in the kernel.
 *
 * Maps are referenced by `ld_imm64` with `src = PseudoSrc.MAP_FD` and `imm`
 * = an index into `maps` (or `MAP_VALUE` and an offset into an array map's
 * first value).
 *
 * @example Count runs per pid in a hash map
 * ```ts
 * import { VmProgram } from "./interpreter.ts";
 * import { createMap } from "./maps.ts";
 * import { createEnvironment } from "./environment.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * import { Helper, MapType } from "../bpf/opcodes.ts";
 *
 * const counts = createMap(
 *   { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 },
 *   1,
 * );
 * const b = new InsnBuilder();
 * b.call(Helper.get_current_pid_tgid);
 * b.alu64Imm("RSH", 0, 32);
 * b.stx(4, 10, -4, 0);
 * b.ldMap(1, 0).movReg(2, 10).alu64Imm("ADD", 2, -4);
 * b.call(Helper.map_lookup_elem);
 * b.jmpImm("JEQ", 0, 0, "new");
 * b.movImm(1, 1).atomic(8, "ADD", 0, 0, 1).movImm(0, 0).exit();
 * b.label("new");
 * b.st(8, 10, -16, 1);
 * b.ldMap(1, 0).movReg(2, 10).alu64Imm("ADD", 2, -4);
 * b.movReg(3, 10).alu64Imm("ADD", 3, -16).movImm(4, 0);
 * b.call(Helper.map_update_elem);
 * b.movImm(0, 0).exit();
 *
 * const prog = new VmProgram(b.build().insns, [counts]);
 * const env = createEnvironment({ pid: 7 });
 * for (let i = 0; i < 3; i++) prog.run(new Uint8Array(0), env);
 * const [entry] = counts.entries();
 * console.assert(new DataView(entry.values[0].buffer).getBigUint64(0, true) === 3n);
 * ```
 */
export class VmProgram {
  /** The slots this program was made from. */
  readonly insns: readonly Insn[];
  /** The maps, by the index `ld_imm64` uses. */
  readonly maps: readonly VmMap[];
  /** trace_printk lines and signals of every run. */
  readonly output: VmOutput;
  /** Default budget per run. */
  readonly budget: number;
  readonly #m: Machine;
  readonly #runner: Runner;
  readonly #maxCpu: number;

  /**
   * Translates the program. Never fails for odd slots: an invalid
   * instruction throws VmError only when a run reaches it.
   *
   * @throws {RangeError} for an invalid budget.
   * @throws {import("../bpf/validate.ts").InvalidInsnError} for a slot that
   *   is not an instruction.
   * @throws {TypeError} when `maps` or `options` are not what they say.
   */
  constructor(
    insns: readonly Insn[],
    maps: readonly VmMap[],
    options: VmProgramOptions = {},
  ) {
    checkInsns(insns, "new VmProgram()");
    if (!Array.isArray(maps)) {
      throw new TypeError(
        `new VmProgram() expects an array of maps, got ${describeValue(maps)}`,
      );
    }
    maps.forEach((m, i) => checkObject(m, `maps[${i}]`, "new VmProgram()"));
    checkObject(options, "options", "new VmProgram()");
    this.insns = insns;
    this.maps = maps;
    this.budget = options.budget ?? MAX_INSNS_PROCESSED;
    if (!Number.isSafeInteger(this.budget) || this.budget < 0) {
      throw new RangeError(`Invalid instruction budget ${this.budget}`);
    }
    this.output = options.output ?? { trace: [], signals: [] };
    const m = new Machine((pc) => formatInsn(insns, pc), this.output);
    this.#m = m;
    const empty = new Uint8Array(0);
    const emptyView = new DataView(empty.buffer);
    const mapHandle = maps.map((map) =>
      m.add(empty, emptyView, RegionKind.MAP_HANDLE, map, false)
    );
    const mapValue = maps.map((map) => {
      if (!(map instanceof ArrayMap) || map.perCpu) return -1;
      const slot = map.at(0);
      if (slot === undefined) return -1;
      const b = slot.vals[0];
      return m.add(
        b,
        new DataView(b.buffer, b.byteOffset, b.byteLength),
        RegionKind.MAP_VALUE,
        slot,
        true,
      );
    });
    m.base = m.n;
    let maxCpu = Infinity;
    for (const map of maps) {
      if (map.perCpu) maxCpu = Math.min(maxCpu, map.numCpus);
    }
    this.#maxCpu = maxCpu;
    const helpers = options.helpers === undefined
      ? HELPERS
      : new Map([...HELPERS, ...options.helpers]);
    const t = translate(insns, {
      mapHandle,
      mapValue,
      helpers: new Set(helpers.keys()),
    });
    const factory = new Function("M", "HO", "HF", "A", "U", t.source);
    this.#runner = factory(m, alu.hi, helpers, alu, t.unitOf) as Runner;
  }

  /** Instructions the last run executed (counted per basic block). */
  get executed(): number {
    return this.#runner.executed();
  }

  /**
   * Runs the program once and returns r0 as an unsigned 64-bit bigint.
   *
   * @throws {VmError} when the run faults or exceeds its budget.
   * @throws {RangeError} when `env.cpu` has no per-CPU slot in a map.
   * @throws {TypeError} when `ctx` is not a Uint8Array or `env` no object.
   */
  run(ctx: Uint8Array, env: VmEnvironment, options?: RunOptions): bigint {
    if (!(ctx instanceof Uint8Array)) {
      throw new TypeError(
        `run() expects ctx to be a Uint8Array, got ${describeValue(ctx)}`,
      );
    }
    checkObject(env, "env", "run()");
    const m = this.#m;
    const cpu = env.cpu;
    if (!(cpu >= 0 && cpu < this.#maxCpu && Number.isInteger(cpu))) {
      throw new RangeError(`Invalid CPU ${cpu} for the program's per-CPU maps`);
    }
    m.reset();
    m.env = env;
    m.cpu = cpu;
    m.epoch = ++epochs;
    let r2l = 0, r2h = 0, budget = this.budget;
    if (options !== undefined) {
      m.setCtx(ctx, options.writableCtx === true);
      if (options.r2 !== undefined) {
        const r2 = BigInt.asUintN(64, options.r2);
        r2l = Number(r2 & 0xffffffffn) | 0;
        r2h = Number(r2 >> 32n) | 0;
      }
      if (options.budget !== undefined) budget = options.budget;
    } else {
      m.setCtx(ctx, false);
    }
    let lo: number;
    try {
      lo = this.#runner.run(0, TAG + CTX_REGION, r2l, r2h, budget);
    } catch (e) {
      if (m.pending.length > 0) this.#discardPending();
      throw e;
    }
    if (m.pending.length > 0) {
      const pc = this.#discardPending();
      throw m.faultAt(
        pc,
        "Ring buffer record reserved here was neither submitted nor discarded",
      );
    }
    return alu.toBigU(lo, alu.hi.v);
  }

  /** Discards reserved records; returns the pc of the first reservation. */
  #discardPending(): number {
    const m = this.#m;
    const pc = m.pendingPc[0];
    for (const id of [...m.pending]) settle(m, id, true);
    m.pendingPc.length = 0;
    return pc;
  }
}

export { VmError };

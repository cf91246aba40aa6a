/**
 * Synthetic USDT events: an x86_64 `pt_regs` context at the probe's
 * address whose argument operands, read as the note says (registers,
 * stack or data memory, constants), give plausible values for the probe:
 * known probes (Python's `gc__start` generation, function names and line
 * numbers, …) get values of their kind, others values fitting their size
 * and sign (small integers, pointers to user strings).
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import { PT_REGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import type { UsdtArg, UsdtProbe } from "../probes/usdt.ts";
import type { SyntheticThread } from "./processes.ts";
import { EventSource } from "./event_source.ts";
import { USER_TEXT } from "./symbols.ts";
import type { World } from "./world.ts";

type Gen = (world: World) => bigint;

const PY_FILES = [
  "/usr/lib/python3.11/json/decoder.py",
  "/usr/lib/python3.11/re/_parser.py",
  "/srv/app/handlers.py",
  "/usr/lib/python3.11/logging/__init__.py",
  "/usr/lib/python3.11/asyncio/events.py",
];
const PY_FUNCS = [
  "decode",
  "raw_decode",
  "handle_request",
  "emit",
  "_run",
  "get",
  "<module>",
];
const PY_MODULES = ["json", "re", "asyncio", "logging", "email.utils"];
const PY_AUDIT = ["open", "import", "exec", "socket.connect", "os.listdir"];

function str(choices: readonly string[]): Gen {
  return (w) => BigInt(w.memory.string(w.rng.pick([...choices])));
}

function below(n: number, from = 0): Gen {
  return (w) => BigInt(from + w.rng.below(n));
}

/** Values of known probes' arguments, by `provider:name`. */
const KNOWN: Readonly<Record<string, readonly Gen[]>> = {
  "python:gc__start": [(w) => BigInt(w.rng.pick([0, 0, 0, 0, 0, 1, 1, 2]))],
  "python:gc__done": [below(120)],
  "python:function__entry": [str(PY_FILES), str(PY_FUNCS), below(400, 1)],
  "python:function__return": [str(PY_FILES), str(PY_FUNCS), below(400, 1)],
  "python:line": [str(PY_FILES), str(PY_FUNCS), below(400, 1)],
  "python:import__find__load__start": [str(PY_MODULES)],
  "python:import__find__load__done": [str(PY_MODULES), below(2)],
  "python:audit": [str(PY_AUDIT), (w) => BigInt(w.rng.pick(w.bufferAddrs))],
};

/** A value fitting an argument's size and sign. */
function generic(w: World, a: UsdtArg): bigint {
  const rng = w.rng;
  if (a.size === 8 && !a.signed) {
    return rng.float() < 0.5
      ? BigInt(rng.pick(w.bufferAddrs))
      : BigInt(rng.below(4096));
  }
  if (a.signed) return BigInt(rng.below(200) - 20);
  return BigInt(rng.below(a.size === 1 ? 256 : 1000));
}

function le(v: bigint, size: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b.subarray(0, size);
}

/** Where an argument's value goes: the context, user memory, or nowhere. */
type Slot =
  | { kind: "ctx"; off: number }
  | { kind: "mem"; addr: bigint }
  | { kind: "none" };

/**
 * The source of one USDT attach point.
 *
 * @example Python's gc__start
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsdtSource } from "./usdt_source.ts";
 * import { World } from "./world.ts";
 *
 * const usdt = {
 *   path: "/usr/bin/python3.11", provider: "python", name: "gc__start",
 *   address: 0x426fc1, fileOffset: 0x26fc1, semaphore: 0, semaphoreOffset: 0,
 *   argText: "-4@%edi", pie: false,
 *   args: [{ size: 4 as const, signed: true, text: "-4@%edi", kind: "reg" as const,
 *     reg: { reg: "di", byte: 0, width: 4 as const } }],
 * };
 * const w = new World(1, 2);
 * const s = new UsdtSource(w, {
 *   kind: "usdt", target: usdt.path, symbol: "python:gc__start",
 *   text: "usdt:/usr/bin/python3.11:python:gc__start", usdt,
 * }, 0, 1000);
 * s.start(w, 0);
 * s.fire(w);
 * assert.ok([0, 1, 2].includes(s.view.getInt32(112, true)));
 * ```
 */
export class UsdtSource extends EventSource {
  /** The context before the arguments are written. */
  readonly #template: Uint8Array;
  /** Per argument, where its value goes (none for constants). */
  readonly #slots: Slot[] = [];
  readonly #gens: readonly Gen[] | undefined;
  readonly #args: readonly UsdtArg[];
  readonly #threads: SyntheticThread[];
  readonly #ip: bigint;

  constructor(world: World, attach: AttachPoint, probe: number, rate: number) {
    super(attach, probe, PT_REGS_SIZE, 1e9 / rate, true);
    const site = attach.usdt as UsdtProbe;
    const rng = world.rng;
    // A PIE binary or library runs at a load address; its notes' addresses
    // are relative to it.
    const bias = site.pie ? BigInt(USER_TEXT) : 0n;
    this.#ip = BigInt(site.address) + bias;
    this.#gens = KNOWN[`${site.provider}:${site.name}`];
    this.#args = site.args;
    const sp = 0x7ffce0f00000 + rng.below(0x10000) * 16;
    const b = new Uint8Array(this.ctx.length);
    const v = new DataView(b.buffer);
    v.setBigUint64(PT_REGS.sp, BigInt(sp), true);
    v.setBigUint64(PT_REGS.bp, BigInt(sp + 0x40), true);
    v.setBigUint64(PT_REGS.ip, this.#ip, true);
    v.setBigUint64(PT_REGS.cs, 0x33n, true);
    v.setBigUint64(PT_REGS.ss, 0x2bn, true);
    v.setBigUint64(PT_REGS.flags, 0x246n, true);
    v.setBigInt64(PT_REGS.orig_ax, -1n, true);
    // Registers memory operands use: bases point into fresh user memory
    // (disp ranges covered), indexes are small.
    const bases = new Map<string, { lo: number; hi: number }>();
    const indexes = new Set<string>();
    for (const a of site.args) {
      if (a.kind !== "mem" || a.symbol !== undefined) continue;
      if (a.index !== undefined) indexes.add(a.index.reg);
      if (a.base === undefined) continue;
      const r = bases.get(a.base.reg) ?? { lo: a.disp, hi: a.disp };
      r.lo = Math.min(r.lo, a.disp);
      r.hi = Math.max(r.hi, a.disp + 8 + (a.index ? 3 * a.scale : 0));
      bases.set(a.base.reg, r);
    }
    const regs = new Map<string, bigint>();
    for (const reg of indexes) {
      if (!bases.has(reg)) regs.set(reg, BigInt(rng.below(4)));
    }
    // An index without a base (`0x10(,%rcx,4)`): the index register
    // itself reaches into fresh memory.
    for (const a of site.args) {
      if (
        a.kind !== "mem" || a.base !== undefined || a.symbol !== undefined ||
        a.index === undefined || bases.has(a.index.reg)
      ) continue;
      const at = BigInt(world.memory.reserve(16 + a.scale));
      const scale = BigInt(a.scale);
      const disp = BigInt(a.disp);
      regs.set(a.index.reg, (at - disp + scale - 1n) / scale);
    }
    for (const [reg, r] of bases) {
      const at = world.memory.reserve(r.hi - r.lo);
      regs.set(reg, BigInt(at - r.lo));
    }
    for (const [reg, value] of regs) {
      const off = (PT_REGS as Record<string, number>)[reg];
      if (off !== undefined) {
        v.setBigUint64(off, BigInt.asUintN(64, value), true);
      }
    }
    for (const a of site.args) {
      switch (a.kind) {
        case "const":
          this.#slots.push({ kind: "none" });
          break;
        case "reg": {
          const off = (PT_REGS as Record<string, number>)[a.reg.reg];
          // A register that also addresses memory keeps its address.
          this.#slots.push(
            off === undefined || regs.has(a.reg.reg)
              ? { kind: "none" }
              : { kind: "ctx", off: off + a.reg.byte },
          );
          break;
        }
        case "mem": {
          let addr: bigint;
          if (a.symbol !== undefined) {
            addr = BigInt(a.symbolAddress ?? 0) + bias + BigInt(a.disp);
            world.memory.map(addr, 8);
          } else {
            addr = (a.base ? regs.get(a.base.reg)! : 0n) + BigInt(a.disp) +
              (a.index ? regs.get(a.index.reg)! * BigInt(a.scale) : 0n);
          }
          this.#slots.push({ kind: "mem", addr });
        }
      }
    }
    this.#template = b;
    const base = site.path.split("/").pop() ?? "";
    let threads = world.procs.eligible.filter((t) =>
      t.exe === site.path ||
      (base !== "" && (t.comm === base || t.exe.endsWith("/" + base)))
    );
    if (threads.length === 0) {
      threads = world.procs.eligible.filter((t) => t.kind !== "kernel");
      if (threads.length === 0) threads = [...world.procs.eligible];
      if (world.pidFilter && !/\.so(\.|$)/.test(base)) {
        for (const t of threads) world.setExe(t.pid, site.path);
      }
    }
    this.#threads = threads;
  }

  fire(world: World): void {
    const r = world.rng.next();
    this.ctx.set(this.#template);
    // Fresh values every event, where the note's operands read them.
    this.#args.forEach((a, i) => {
      const slot = this.#slots[i];
      if (slot.kind === "none") return;
      const value = this.#gens?.[i]?.(world) ?? generic(world, a);
      const bytes = le(value, a.size);
      if (slot.kind === "ctx") this.ctx.set(bytes, slot.off);
      else world.memory.write(slot.addr, bytes);
    });
    const ts = this.#threads;
    const t = ts.length === world.procs.eligible.length
      ? world.pickThread()
      : ts[(r >>> 8) % ts.length];
    const env = world.env;
    env.set(t, world.cpuFor(t, r >>> 16), world.baseNs + this.next);
    env.kstack = [];
    env.ustack = [this.#ip];
    env.funcIp = this.#ip;
  }
}

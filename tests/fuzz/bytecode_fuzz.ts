/**
 * The bytecode fuzzer: random instruction streams (biased towards real
 * opcodes, or plain garbage), compiled programs with mutated fields, and
 * mutated assembly text go through the assembler, the encoder/decoder,
 * the disassembler, our verifier and the interpreter. The oracle: the
 * assembler throws only `AsmError`, encode/decode round-trips, the
 * disassembler never throws, our verifier throws only `VerifierError`, and
 * a program our verifier accepted runs in the interpreter without any
 * fault.
 *
 * @module
 */

import { AsmError, assemble } from "../../runtime/bpf/assembler.ts";
import { disassemble } from "../../runtime/bpf/disasm.ts";
import { decode, encode, type Insn } from "../../runtime/bpf/insn.ts";
import { Helper, MapType } from "../../runtime/bpf/opcodes.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import { VerifierError } from "../../runtime/verifier/error.ts";
import { verify } from "../../runtime/verifier/verifier.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import { createMap, type MapShape } from "../../runtime/vm/maps.ts";
import { describe, type Fuzzer, type Rand, type Verdict } from "./engine.ts";
import { BPF_CODES, BPF_IMMS } from "./vocabulary.ts";
import { ONE_LINERS } from "./seeds.ts";

/** One case: slots as [code, dst, src, off, imm], or assembly text. */
interface Case {
  insns?: [number, number, number, number, number][];
  asm?: string;
  /** Context bytes. */
  ctx: number;
  /** `ProgType`, for compiled programs. */
  progType?: number;
  /** The playground's entry: writable context, r2 its length. */
  playground?: boolean;
  /** Maps: the fixed set (undefined) or a compiled program's. */
  maps?: MapShape[];
}

/** Maps of random programs (`ld_imm64 rX, map N` picks one). */
const MAPS: MapShape[] = [
  { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 },
  { type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 },
  { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 },
  { type: MapType.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 8 },
];

const HELPERS = Object.values(Helper) as number[];

type Slot = [number, number, number, number, number];

function randomStream(r: Rand, len: number, ctx = 0): Slot[] {
  const out: Slot[] = [
    [0xbf, 2, 10, 0, 0], // r2 = r10
    [0x07, 2, 0, 0, -8 * (1 + r.int(8))], // r2 += -N
    [0x18, 3, 1, 0, r.int(MAPS.length)], // r3 = map
    [0, 0, 0, 0, 0],
  ];
  // Unknown scalars from the context: ranges, not just constants.
  for (let k = 0; ctx >= 8 && k < 4; k++) {
    if (r.chance(0.5)) {
      out.push([r.pick([0x79, 0x61, 0x71, 0x69]), 6 + k, 1, 0, 0]);
    }
  }
  while (out.length < len - 1) {
    const code = r.pick(BPF_CODES);
    const dst = r.int(11);
    const src = r.int(11);
    const cls = code & 7;
    if (code === 0x85) {
      out.push(
        r.chance(0.8)
          ? [code, 0, 0, 0, r.pick(HELPERS)]
          : [code, 0, 1, 0, r.int(20) - 5],
      );
      continue;
    }
    if (code === 0x18) {
      const kind = r.pick([0, 0, 1, 2]);
      out.push([code, dst, kind, 0, kind === 0 ? r.u32() | 0 : r.int(5)]);
      out.push([0, 0, 0, 0, r.chance(0.5) ? 0 : r.u32() | 0]);
      continue;
    }
    const off = cls === 5 || cls === 6
      ? r.int(12) - 4
      : cls >= 1 && cls <= 3
      ? r.pick([0, -8, -16, -24, -64, -512, 0, 4, 8, r.int(65536) - 32768])
      : cls === 4 || cls === 7
      ? (r.chance(0.1) ? r.pick([1, 8, 16, 32]) : 0)
      : 0;
    const imm = r.chance(0.7) ? r.pick(BPF_IMMS) : r.u32() | 0;
    out.push([code, dst, src, off, imm]);
  }
  out.push([0x95, 0, 0, 0, 0]);
  if (r.chance(0.3)) out.unshift([0xb7, 0, 0, 0, 0]);
  return out;
}

function garbage(r: Rand, len: number): Slot[] {
  return Array.from(
    { length: len },
    () => [r.int(256), r.int(16), r.int(16), r.int(65536) - 32768, r.u32() | 0],
  );
}

function toSlot(i: Insn): Slot {
  return [i.code, i.dst, i.src, i.off, i.imm];
}

function toInsn(s: Slot): Insn {
  return { code: s[0], dst: s[1], src: s[2], off: s[3], imm: s[4] };
}

/** Compiled seed programs, one probe each (lazily, once). */
let compiled: Case[] | undefined;
function compiledSeeds(): Case[] {
  if (compiled !== undefined) return compiled;
  compiled = [];
  for (const src of ONE_LINERS) {
    try {
      const p = compile(src, { tracefsAvailable: false, params: ["1"] });
      for (const probe of p.probes) {
        compiled.push({
          insns: probe.insns.map(toSlot),
          ctx: probe.ctx.size,
          progType: probe.progType,
          maps: p.maps.map((m) => ({
            type: m.type,
            keySize: m.keySize,
            valueSize: m.valueSize,
            maxEntries: m.maxEntries,
          })),
        });
      }
    } catch {
      // a seed this machine cannot compile (no such tracepoint): skip
    }
  }
  return compiled;
}

function mutateSlots(r: Rand, slots: Slot[]): void {
  const n = 1 + r.int(3);
  for (let k = 0; k < n && slots.length > 0; k++) {
    const at = r.int(slots.length);
    const s = slots[at];
    switch (r.int(8)) {
      case 0:
        s[0] = r.chance(0.5) ? r.pick(BPF_CODES) : r.int(256);
        break;
      case 1:
        s[1] = r.int(r.chance(0.9) ? 11 : 16);
        break;
      case 2:
        s[2] = r.int(r.chance(0.9) ? 11 : 16);
        break;
      case 3:
        s[3] = r.chance(0.5) ? s[3] + r.int(17) - 8 : r.int(65536) - 32768;
        s[3] = Math.max(-32768, Math.min(32767, s[3]));
        break;
      case 4:
        s[4] = r.chance(0.5) ? r.pick(BPF_IMMS) : r.u32() | 0;
        break;
      case 5:
        slots.splice(at, 1);
        break;
      case 6:
        slots.splice(at, 0, [...slots[r.int(slots.length)]] as Slot);
        break;
      default: {
        const b = r.int(slots.length);
        [slots[at], slots[b]] = [slots[b], slots[at]];
      }
    }
  }
}

/** The bytecode fuzzer, in-process. */
export class BytecodeFuzzer implements Fuzzer {
  readonly name = "bytecode";

  /** One case as JSON. */
  generate(r: Rand): string {
    let c: Case;
    switch (r.int(5)) {
      case 0:
        c = { insns: garbage(r, 1 + r.int(40)), ctx: r.pick([0, 8, 64]) };
        break;
      case 1:
      case 2: {
        const ctx = r.pick([0, 8, 16, 64]);
        c = {
          insns: randomStream(r, 6 + r.int(60), ctx),
          ctx,
          playground: r.chance(0.5),
        };
        if (r.chance(0.3)) mutateSlots(r, c.insns!);
        break;
      }
      case 3: {
        const seeds = compiledSeeds();
        const s = r.pick(seeds);
        c = { ...s, insns: s.insns!.map((x) => [...x] as Slot) };
        mutateSlots(r, c.insns!);
        break;
      }
      default: {
        // Assembly text: a listing of a random or compiled program, its
        // lines shuffled, cut or edited.
        const src = r.chance(0.5)
          ? randomStream(r, 5 + r.int(30))
          : r.pick(compiledSeeds()).insns!;
        let lines = disassemble(src.map(toInsn)).map((l) =>
          l.replace(/^\s*\d+: /, "")
        );
        const edits = 1 + r.int(3);
        for (let k = 0; k < edits; k++) {
          const at = r.int(lines.length);
          const pieces = (lines[at] ?? "").split(/(\s+|,|\[|\]|\+|-)/);
          const p = r.int(pieces.length);
          switch (r.int(5)) {
            case 0:
              pieces[p] = r.pick([
                "r11",
                "r0",
                "0x",
                "-1",
                "+",
                "exit",
                "goto",
                "call",
                "99999999999999999999",
                "",
                "lddw",
                "*(u64 *)",
              ]);
              break;
            case 1:
              lines.splice(at, 1);
              break;
            case 2:
              lines.splice(at, 0, lines[r.int(lines.length)] ?? "");
              break;
            case 3:
              pieces.splice(p, 1);
              break;
            default:
              lines = lines.slice(0, at);
          }
          if (lines[at] !== undefined) lines[at] = pieces.join("");
        }
        c = {
          asm: lines.join("\n"),
          ctx: r.pick([0, 8, 64]),
          playground: true,
        };
      }
    }
    return JSON.stringify(c);
  }

  /** Runs the case through every stage. */
  check(input: string): Verdict {
    const c = JSON.parse(input) as Case;
    let insns: Insn[];
    if (c.asm !== undefined) {
      try {
        insns = assemble(c.asm, "fuzz.s");
      } catch (e) {
        if (e instanceof AsmError) return { outcome: "asm-error" };
        return crash("assemble", e);
      }
    } else insns = c.insns!.map(toInsn);
    try {
      disassemble(insns);
      const back = decode(encode(insns));
      for (let i = 0; i < insns.length; i++) {
        const a = insns[i];
        const b = back[i];
        if (
          a.code !== b.code || a.dst !== b.dst || a.src !== b.src ||
          a.off !== b.off || a.imm !== b.imm
        ) {
          return {
            outcome: "crash",
            finding: {
              kind: "crash",
              detail: `encode/decode changed slot ${i}`,
            },
          };
        }
      }
    } catch (e) {
      return crash("disassemble/encode/decode", e);
    }
    const shapes = c.maps ?? MAPS;
    try {
      verify(insns, {
        maps: shapes,
        ctxSize: c.ctx,
        ...(c.progType !== undefined ? { progType: c.progType } : {}),
        ...(c.playground ? { ctxWritable: true, r2Scalar: true } : {}),
      });
    } catch (e) {
      if (e instanceof VerifierError) return { outcome: "rejected" };
      return crash("verify", e);
    }
    // Accepted: the interpreter must run it without a fault.
    let prog: VmProgram;
    try {
      prog = new VmProgram(insns, shapes.map((s) => createMap(s, 2)));
    } catch (e) {
      return crash("new VmProgram", e);
    }
    const env = createEnvironment({ numCpus: 2, cpu: 1, seed: 7 });
    for (const fill of [0, 0xff]) {
      const ctx = new Uint8Array(c.ctx).fill(fill);
      try {
        prog.run(ctx, env, {
          writableCtx: c.playground === true,
          r2: c.playground ? BigInt(c.ctx) : 0n,
        });
      } catch (e) {
        return {
          outcome: "fault",
          finding: {
            kind: "fault",
            detail: `accepted by our verifier, faulted: ${describe(e)}`,
          },
        };
      }
    }
    return { outcome: "accepted" };
  }
}

function crash(stage: string, e: unknown): Verdict {
  return {
    outcome: "crash",
    finding: { kind: "crash", detail: `${stage}: ${describe(e)}` },
  };
}

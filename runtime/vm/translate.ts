/**
 * Translates eBPF slots once into JavaScript source: the interpreter's
 * compiled form.
 *
 * Registers are (low, high) int32 pairs. A subprogram (the main program and
 * every bpf-to-bpf callee) is cut into units of at most {@linkcode UNIT_MAX}
 * slots; each unit is one JS function with its own `switch (pc)` loop, which
 * copies the registers it touches from shared closure variables into locals
 * on entry and back on exit. Small units keep every function within V8's
 * optimizing limits, so long straight-line programs still run optimized.
 * Every basic block adds its length to the executed-instruction counter and
 * checks the budget; every load and store checks its region (see
 * memory.ts). Anything invalid becomes code that throws a VmError when (and
 * only if) it is reached, so translation itself never fails.
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import {
  AluOp,
  AtomicOp,
  CallSrc,
  Class,
  JmpOp,
  Mode,
  PseudoSrc,
  Size,
  Source,
} from "../bpf/opcodes.ts";
import { FRAME_SIZE, FUNC_TAG, MAX_FRAMES, PERCPU_TAG, TAG } from "./memory.ts";
import {
  alu32,
  alu64,
  atomic,
  cond32,
  cond64,
  load,
  sizeOf,
  type Slot,
  store,
} from "./translate_ops.ts";

/** Most slots per generated unit function. */
export const UNIT_MAX = 40;

/** What the translator needs to know besides the slots. */
export interface TranslateConfig {
  /** Region id of each map's handle, by map index. */
  mapHandle: readonly number[];
  /** Region id of each map's direct value (array maps), else -1. */
  mapValue: readonly number[];
  /** Helper ids that exist. */
  helpers: ReadonlySet<number>;
}

/** The generated source and the pc → unit table it indexes. */
export interface Translation {
  /** Body of `new Function("M", "HO", "HF", "A", "U", source)`. */
  source: string;
  /** Unit index per slot. */
  unitOf: Int32Array;
}

const LD_IMM64 = Class.LD | Mode.IMM | Size.DW;
const CALL = Class.JMP | JmpOp.CALL;
const EXIT = Class.JMP | JmpOp.EXIT;

function norm(i: Insn | undefined): Slot {
  if (i === undefined || i === null || typeof i !== "object") {
    return { code: 0, dst: 0, src: 0, off: 0, imm: 0 };
  }
  return {
    code: (i.code | 0) & 0xff,
    dst: (i.dst | 0) & 0xf,
    src: (i.src | 0) & 0xf,
    off: ((i.off | 0) << 16) >> 16,
    imm: i.imm | 0,
  };
}

function isLdImm64Pair(s: Slot[], pc: number): boolean {
  return s[pc].code === LD_IMM64 && pc + 1 < s.length && s[pc + 1].code === 0;
}

/** Jump target of a slot, or undefined for non-jumps. */
function jumpTarget(i: Slot, pc: number): number | undefined {
  const cls = i.code & 7;
  if (cls !== Class.JMP && cls !== Class.JMP32) return undefined;
  const op = i.code & 0xf0;
  if (op === JmpOp.CALL || op === JmpOp.EXIT) return undefined;
  if (op === JmpOp.JA) {
    return cls === Class.JMP32 ? pc + 1 + i.imm : pc + 1 + i.off;
  }
  return pc + 1 + i.off;
}

const fits = (r: number) => r <= 10;

/**
 * Translates a program's slots.
 *
 * @example Translate `r0 = 1; exit`
 * ```ts
 * import { translate } from "./translate.ts";
 * const t = translate([
 *   { code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 },
 *   { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
 * ], { mapHandle: [], mapValue: [], helpers: new Set() });
 * console.assert(t.source.includes("function s0"));
 * ```
 */
export function translate(
  insns: readonly Insn[],
  cfg: TranslateConfig,
): Translation {
  const s = Array.from({ length: insns.length }, (_, i) => norm(insns[i]));
  const n = s.length;
  const unitOf = new Int32Array(Math.max(n, 1));
  if (n === 0) {
    return {
      source:
        `return { run() { throw M.faultAt(0, "Empty program"); }, executed() { return 0; } };`,
      unitOf,
    };
  }

  // Subprograms: pc 0 and every in-range bpf-to-bpf call target.
  const starts = new Set<number>([0]);
  for (let pc = 0; pc < n; pc++) {
    const i = s[pc];
    if (i.code === CALL && i.src === CallSrc.PSEUDO_CALL) {
      const t = pc + 1 + i.imm;
      if (t >= 0 && t < n) starts.add(t);
    }
    if (isLdImm64Pair(s, pc) && i.src === PseudoSrc.FUNC) {
      const t = pc + 1 + i.imm; // a callback's first slot
      if (t >= 0 && t < n) starts.add(t);
    }
  }
  const subStarts = [...starts].sort((a, b) => a - b);
  const subOf = new Int32Array(n);
  subStarts.forEach((st, k) => {
    const end = k + 1 < subStarts.length ? subStarts[k + 1] : n;
    for (let pc = st; pc < end; pc++) subOf[pc] = k;
  });
  const subEnd = (k: number) => k + 1 < subStarts.length ? subStarts[k + 1] : n;

  // Leaders: subprogram starts, jump targets, slots after jumps and exits.
  const leader = new Uint8Array(n + 1);
  for (const st of subStarts) leader[st] = 1;
  for (let pc = 0; pc < n; pc++) {
    const i = s[pc];
    const t = jumpTarget(i, pc);
    if (t !== undefined) {
      if (t >= 0 && t < n) leader[t] = 1;
      leader[pc + 1] = 1;
    } else if (i.code === EXIT) {
      leader[pc + 1] = 1;
    }
  }
  // A jump into the middle of ld_imm64 lands on the second slot; the slot
  // after the pair must then be a leader too.
  for (let pc = 0; pc + 1 < n; pc++) {
    if (isLdImm64Pair(s, pc) && leader[pc + 1]) leader[pc + 2] = 1;
  }

  // Units: cut each subprogram every UNIT_MAX slots, never inside a pair.
  const units: { start: number; end: number; sub: number }[] = [];
  for (let k = 0; k < subStarts.length; k++) {
    const end = subEnd(k);
    let start = subStarts[k];
    let pc = start;
    while (pc < end) {
      const step = isLdImm64Pair(s, pc) && pc + 1 < end ? 2 : 1;
      if (pc - start >= UNIT_MAX && pc !== start) {
        units.push({ start, end: pc, sub: k });
        start = pc;
        leader[pc] = 1;
      }
      pc += step;
    }
    units.push({ start, end, sub: k });
  }
  units.forEach((u, ui) => {
    for (let pc = u.start; pc < u.end; pc++) unitOf[pc] = ui;
  });

  // Executed-instruction count of the block starting at each leader.
  const blockLen = new Int32Array(n + 1);
  {
    let cur = -1;
    for (let pc = 0; pc < n; pc++) {
      if (leader[pc]) cur = pc;
      const second = pc > 0 && isLdImm64Pair(s, pc - 1) && !leader[pc];
      if (!second && cur >= 0) blockLen[cur]++;
    }
  }

  const out: string[] = [];
  out.push(`"use strict";`);
  out.push(`const V = M.views;`);
  out.push(
    `const mul64 = A.mul64, udiv64 = A.udiv64, umod64 = A.umod64, sdiv64 = A.sdiv64, smod64 = A.smod64, lsh64 = A.lsh64, rsh64 = A.rsh64, arsh64 = A.arsh64, bswap32 = A.bswap32;`,
  );
  for (const id of cfg.helpers) out.push(`const HF${id} = HF.get(${id});`);
  const regDecl: string[] = [];
  for (let r = 0; r <= 10; r++) regDecl.push(`L${r} = 0, H${r} = 0`);
  out.push(`var ${regDecl.join(", ")}, N = 0, B = 0, D = 0;`);
  out.push(`function f(pc, msg) { return M.faultAt(pc, msg); }`);
  out.push(
    `function af(pc, l, h, off, size, w) { return M.accessFault(pc, l, h, off, size, w); }`,
  );
  out.push(
    `function bf(pc) { return M.faultAt(pc, "Instruction budget of " + B + " exceeded"); }`,
  );

  units.forEach((u, ui) => {
    out.push(
      unitSource(s, u, ui, leader, blockLen, cfg, subStarts, subOf, subEnd),
    );
  });

  subStarts.forEach((st, k) => {
    const mine = units.map((u, ui) => [u, ui] as const).filter(([u]) =>
      u.sub === k
    );
    let body = `M.bufs[D].fill(0); L10 = ${FRAME_SIZE}; H10 = ${TAG} + D; `;
    if (mine.length === 1) {
      body += `u${mine[0][1]}(${st});`;
    } else {
      body += `let pc = ${st}; for (;;) { switch (U[pc]) { `;
      for (const [, ui] of mine) body += `case ${ui}: pc = u${ui}(pc); break; `;
      body +=
        `default: throw f(pc, "Internal error: no unit"); } if (pc < 0) return; }`;
    }
    out.push(`function s${st}() { ${body} }`);
  });

  // A helper calling back into the program (bpf_loop, for_each_map_elem):
  // the callee gets a new frame; the caller's registers are kept. A call's
  // instructions count against the budget only while it runs: the helper
  // bounds the calls (as the kernel's run time is not budgeted either).
  const regs = [...Array(11).keys()].flatMap((r) => [`L${r}`, `H${r}`]);
  out.push(`function CB(t, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h) {
  if (D >= ${
    MAX_FRAMES - 1
  }) throw f(M.pc, "Call stack deeper than ${MAX_FRAMES} frames");
  const sv = [${regs.join(", ")}], spc = M.pc, sn = N;
  L1 = a1l; H1 = a1h; L2 = a2l; H2 = a2h; L3 = a3l; H3 = a3h; L4 = a4l; H4 = a4h; L5 = 0; H5 = 0;
  D++;
  switch (t) { ${
    subStarts.map((st) => `case ${st}: s${st}(); break;`).join(" ")
  } default: throw f(M.pc, "Callback to invalid target " + t); }
  D--;
  const rl = L0, rh = H0;
  [${regs.join(", ")}] = sv;
  M.pc = spc; HO.v = rh; N = sn;
  return rl;
}`);
  out.push(`return {
  run(a1l, a1h, a2l, a2h, budget) {
    N = 0; B = budget; D = 0; M.callback = CB;
    L0 = 0; H0 = 0; L1 = a1l; H1 = a1h; L2 = a2l; H2 = a2h;
    L3 = 0; H3 = 0; L4 = 0; H4 = 0; L5 = 0; H5 = 0;
    L6 = 0; H6 = 0; L7 = 0; H7 = 0; L8 = 0; H8 = 0; L9 = 0; H9 = 0;
    s0();
    HO.v = H0;
    return L0;
  },
  executed() { return N; },
};`);
  return { source: out.join("\n"), unitOf };
}

function unitSource(
  s: Slot[],
  u: { start: number; end: number; sub: number },
  ui: number,
  leader: Uint8Array,
  blockLen: Int32Array,
  cfg: TranslateConfig,
  subStarts: number[],
  subOf: Int32Array,
  subEnd: (k: number) => number,
): string {
  const n = s.length;
  const used = new Set<number>();
  const written = new Set<number>();
  let hasCall = false;
  const body: string[] = [];
  const sub = u.sub;
  const sEnd = subEnd(sub);

  const reads = (...rs: number[]) => rs.forEach((r) => used.add(r));
  const writes = (...rs: number[]) =>
    rs.forEach((r) => {
      used.add(r);
      written.add(r);
    });

  // Placeholder for the register store, filled in at the end.
  const STORE = "\u0000STORE\u0000";
  const STORE0 = "L0 = l0; H0 = h0; ";

  const jump = (pc: number, t: number): string => {
    if (t < subStarts[sub] || t >= sEnd) {
      return `throw f(${pc}, "Jump out of function to ${t}");`;
    }
    if (t >= u.start && t < u.end) return `pc = ${t}; continue;`;
    return `${STORE}return ${t};`;
  };
  const invalid = (pc: number, why = "Invalid instruction") =>
    `throw f(${pc}, ${JSON.stringify(why)});`;

  for (let pc = u.start; pc < u.end; pc++) {
    const i = s[pc];
    const pairSecond = pc > 0 && isLdImm64Pair(s, pc - 1) && pc - 1 >= u.start;
    if (pairSecond && !leader[pc]) continue;
    if (leader[pc]) {
      body.push(
        `case ${pc}: if ((N += ${blockLen[pc]}) > B) throw bf(${pc});`,
      );
    }
    if (pairSecond) {
      body.push(invalid(pc));
      continue;
    }
    const code = i.code;
    const cls = code & 7;
    const d = i.dst, sr = i.src;
    const ld = `l${d}`, hd = `h${d}`, ls = `l${sr}`, hs = `h${sr}`;
    let c = "";
    switch (cls) {
      case Class.ALU64:
      case Class.ALU: {
        const is64 = cls === Class.ALU64;
        const op = code & 0xf0;
        const x = (code & Source.X) !== 0;
        if (!fits(d) || (x && !fits(sr))) {
          c = invalid(pc);
          break;
        }
        c = is64 ? alu64(op, x, i, pc) : alu32(op, x, i, pc);
        if (!c.startsWith("throw")) {
          writes(d);
          if (x && op !== AluOp.END) reads(sr);
        }
        break;
      }
      case Class.LDX: {
        const mode = code & 0xe0;
        const size = sizeOf(code);
        if (
          !fits(d) || !fits(sr) ||
          !(mode === Mode.MEM || (mode === Mode.MEMSX && size !== 8))
        ) {
          c = invalid(pc);
          break;
        }
        reads(sr);
        writes(d);
        c = load(pc, d, sr, i.off, size, mode === Mode.MEMSX);
        break;
      }
      case Class.ST:
      case Class.STX: {
        const mode = code & 0xe0;
        const size = sizeOf(code);
        if (!fits(d) || (cls === Class.STX && !fits(sr))) {
          c = invalid(pc);
          break;
        }
        if (mode === Mode.MEM) {
          reads(d);
          if (cls === Class.STX) {
            reads(sr);
            c = store(pc, d, i.off, size, ls, hs);
          } else {
            c = store(pc, d, i.off, size, `${i.imm}`, i.imm < 0 ? "-1" : "0");
          }
        } else if (mode === Mode.ATOMIC && cls === Class.STX) {
          const r = atomic(pc, i, size);
          if (r === null) c = invalid(pc);
          else {
            c = r;
            if (i.imm === AtomicOp.LOAD_ACQ) {
              reads(sr);
              writes(d);
            } else {
              reads(d);
              writes(sr, 0);
            }
          }
        } else c = invalid(pc);
        break;
      }
      case Class.LD: {
        if (code !== LD_IMM64 || !isLdImm64Pair(s, pc) || !fits(d)) {
          c = invalid(pc);
          break;
        }
        const lo = i.imm, hiImm = s[pc + 1].imm;
        writes(d);
        switch (i.src) {
          case 0:
            c = `${ld} = ${lo}; ${hd} = ${hiImm};`;
            break;
          case PseudoSrc.MAP_FD:
          case PseudoSrc.MAP_IDX: {
            const rid = lo >= 0 ? cfg.mapHandle[lo] : undefined;
            c = rid === undefined
              ? invalid(pc, `Unknown map index ${lo}`)
              : `${ld} = 0; ${hd} = ${TAG + rid};`;
            break;
          }
          case PseudoSrc.MAP_VALUE:
          case PseudoSrc.MAP_IDX_VALUE: {
            const rid = lo >= 0 ? cfg.mapValue[lo] : undefined;
            c = rid === undefined
              ? invalid(pc, `Unknown map index ${lo}`)
              : rid < 0
              ? invalid(pc, `Map ${lo} has no direct value access`)
              : `${ld} = ${hiImm}; ${hd} = ${TAG + rid};`;
            break;
          }
          case PseudoSrc.FUNC: {
            const t = pc + 1 + lo;
            c = t < 0 || t >= n || subStarts[subOf[t]] !== t
              ? invalid(pc, `Callback at invalid target ${t}`)
              : `${ld} = ${t}; ${hd} = ${FUNC_TAG};`;
            break;
          }
          case PseudoSrc.BTF_ID:
            c = hiImm !== 0
              ? invalid(pc, "Module BTF variables are not supported")
              : `${ld} = ${lo}; ${hd} = ${PERCPU_TAG};`;
            break;
          default:
            c = invalid(pc, `Unsupported ld_imm64 source ${i.src}`);
        }
        if (leader[pc + 1]) c += " " + jump(pc, pc + 2);
        break;
      }
      case Class.JMP:
      case Class.JMP32: {
        const op = code & 0xf0;
        const x = (code & Source.X) !== 0;
        if (op === JmpOp.EXIT) {
          c = code === EXIT ? `${STORE0}return -1;` : invalid(pc);
          if (code === EXIT) used.add(0);
          break;
        }
        if (op === JmpOp.CALL) {
          if (code !== CALL) {
            c = invalid(pc);
          } else if (i.src === CallSrc.HELPER) {
            if (!cfg.helpers.has(i.imm)) {
              c = invalid(pc, `Unknown helper ${i.imm}`);
            } else {
              reads(1, 2, 3, 4, 5);
              writes(0);
              c =
                `M.pc = ${pc}; l0 = HF${i.imm}(M, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5); h0 = HO.v; RL = M.rl; WL = M.wl;`;
            }
          } else if (i.src === CallSrc.PSEUDO_CALL) {
            const t = pc + 1 + i.imm;
            if (t < 0 || t >= n || subStarts[subOf[t]] !== t) {
              c = invalid(pc, `Call to invalid target ${t}`);
            } else {
              hasCall = true;
              c = `if (D >= ${
                MAX_FRAMES - 1
              }) throw f(${pc}, "Call stack deeper than ${MAX_FRAMES} frames"); ${STORE}D++; s${t}(); D--; l0 = L0; h0 = H0; RL = M.rl; WL = M.wl;`;
            }
          } else {
            c = invalid(pc, "Kernel function calls are not supported");
          }
          break;
        }
        const t = jumpTarget(i, pc)!;
        if (op === JmpOp.JA) {
          c = (x || (cls === Class.JMP32 && i.off !== 0))
            ? invalid(pc)
            : jump(pc, t);
          break;
        }
        if (!fits(d) || (x && !fits(sr)) || op > JmpOp.JSLE) {
          c = invalid(pc);
          break;
        }
        reads(d);
        if (x) reads(sr);
        const cond = cls === Class.JMP32
          ? cond32(op, ld, x ? ls : `${i.imm}`)
          : cond64(
            op,
            ld,
            hd,
            x ? ls : `${i.imm}`,
            x ? hs : i.imm < 0 ? "-1" : "0",
          );
        c = `if (${cond}) { ${jump(pc, t)} }`;
        break;
      }
      default:
        c = invalid(pc);
    }
    body.push(c);
  }
  // Fall through past the unit's end.
  if (u.end < sEnd) body.push(`${STORE}return ${u.end};`);
  else {body.push(
      `throw f(${u.end - 1}, "Execution falls off the end of the function");`,
    );}

  const regs = hasCall
    ? [...Array(11).keys()]
    : [...used].sort((a, b) => a - b);
  const stored = hasCall ? regs : [...written].sort((a, b) => a - b);
  const loads = regs.map((r) => `l${r} = L${r}, h${r} = H${r}`);
  const storeText = stored.map((r) => `L${r} = l${r}; H${r} = h${r}; `).join(
    "",
  );
  const decl = [
    ...loads,
    "t = 0",
    "t2 = 0",
    "o = 0",
    "id = 0",
    "RL = M.rl",
    "WL = M.wl",
  ].join(", ");
  const code = body.join("\n").replaceAll(STORE, storeText);
  return `function u${ui}(pc) {
let ${decl};
for (;;) switch (pc) {
${code}
default: throw f(pc, "Internal error: bad entry");
}
}`;
}

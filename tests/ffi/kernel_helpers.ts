/**
 * Shared setup for the kernel engine tests: why a test must be skipped,
 * hand-built programs, a leak check, and a small C helper binary.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { Helper, MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import type {
  AttachPoint,
  ContextLayout,
  MapSpec,
  ProbeProgram,
} from "../../runtime/program.ts";
import { kernelSkipReason } from "../support/skip.ts";
import { loadedPrograms } from "../../ffi/introspect.ts";

/** Why kernel tests cannot run here, or undefined when they can. */
export const skipReason: string | undefined = kernelSkipReason();
if (skipReason !== undefined) {
  console.log(`Skipping kernel engine tests: ${skipReason}`);
}

/** A per-run prefix for program names, so leak checks see only ours. */
export const PREFIX = `t${
  Math.floor(Math.random() * 0xffff).toString(16).padStart(4, "0")
}_`;

/** A program name with this run's prefix. */
export function pname(s: string): string {
  return (PREFIX + s).slice(0, 15);
}

// Deno's first UnsafeCallback opens the deno executable once for the
// life of the process (libffi trampolines): do it before counting fds.
if (skipReason === undefined) {
  new Deno.UnsafeCallback({ parameters: [], result: "void" }, () => {})
    .close();
}

function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

/** Lists open fds with their targets (for diagnosing leaks). */
export function fdTargets(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      out.push(`${e.name} -> ${Deno.readLinkSync(`/proc/self/fd/${e.name}`)}`);
    } catch {
      // the directory's own fd
    }
  }
  return out;
}

/**
 * Runs `fn`, then asserts that no program of ours stays loaded and no fd
 * leaked.
 */
export async function noLeaks(fn: () => Promise<void>): Promise<void> {
  const before = openFds();
  const beforeList = fdTargets();
  await fn();
  // The kernel frees a detached program after an RCU grace period.
  let ours = loadedPrograms().filter((p) => p.name.startsWith(PREFIX));
  for (let i = 0; i < 100 && ours.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    ours = loadedPrograms().filter((p) => p.name.startsWith(PREFIX));
  }
  assert.deepEqual(ours.map((p) => p.name), [], "programs left loaded");
  if (openFds() !== before) {
    const now = fdTargets().filter((x) => !beforeList.includes(x));
    assert.fail(`file descriptors leaked: ${now.join(", ")}`);
  }
}

/** A map spec with defaults. */
export function mapSpec(
  name: string,
  type: number,
  keySize: number,
  valueSize: number,
  maxEntries: number,
): MapSpec {
  return {
    name,
    type,
    keySize,
    valueSize,
    maxEntries,
    key: keySize === 0
      ? { kind: "none", size: 0 }
      : { kind: "int", size: keySize as 4 | 8, signed: false },
    internal: name.startsWith("."),
  };
}

/** A u64 counter array map with one slot. */
export const counterMap: MapSpec = mapSpec("@n", MapType.ARRAY, 4, 8, 1);

/** A parsed attach point from text like `tracepoint:syscalls:sys_enter_x`. */
export function point(
  kind: AttachPoint["kind"],
  target: string,
  extra: Partial<AttachPoint> = {},
): AttachPoint {
  return { kind, target, text: `${kind}:${target}`, ...extra };
}

const CTX: Record<string, ContextLayout> = {
  tracepoint: { kind: "tracepoint", size: 64 },
  rawtracepoint: { kind: "raw_tp", size: 16 },
  uprobe: { kind: "pt_regs", size: 168 },
  perf: { kind: "perf_event", size: 184 },
};

/** A probe from a built body. */
export function probeOf(
  name: string,
  progType: number,
  attach: AttachPoint[],
  b: InsnBuilder,
): ProbeProgram {
  const { insns, locs } = b.build();
  const ctx = progType === ProgType.TRACEPOINT
    ? CTX.tracepoint
    : progType === ProgType.RAW_TRACEPOINT
    ? CTX.rawtracepoint
    : progType === ProgType.KPROBE
    ? CTX.uprobe
    : progType === ProgType.PERF_EVENT
    ? CTX.perf
    : { kind: "none" as const, size: 0 };
  return { name: pname(name), attach, progType, insns, locs, ctx };
}

/**
 * Emits `if (tgid != tgid) goto out` using r0-r5; leaves r6 (ctx) alone.
 * The caller binds `out`.
 */
export function filterTgid(b: InsnBuilder, tgid: number, out: string): void {
  b.call(Helper.get_current_pid_tgid);
  b.alu64Imm("RSH", 0, 32);
  b.jmpImm("JNE", 0, tgid, out);
}

/** Emits `map[key 0] += r7` (array map `mapIndex`); clobbers r0-r5. */
export function addToSlot0(b: InsnBuilder, mapIndex: number, out: string) {
  b.st(4, 10, -4, 0);
  b.movReg(2, 10);
  b.alu64Imm("ADD", 2, -4);
  b.ldMap(1, mapIndex);
  b.call(Helper.map_lookup_elem);
  b.jmpImm("JEQ", 0, 0, out);
  b.atomic(8, "ADD", 0, 0, 7);
}

/** Reads the u64 in slot 0 of an array map read as raw entries. */
export function slot0(
  entries: { key: Uint8Array; values: Uint8Array[] }[],
): bigint {
  const e = entries.find((x) =>
    new DataView(x.key.buffer, x.key.byteOffset).getUint32(0, true) === 0
  );
  assert.ok(e, "slot 0 present");
  let sum = 0n;
  for (const v of e.values) {
    sum += new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
  }
  return sum;
}

/**
 * Spawns python3 calling getppid() `n` times after reading one byte from
 * stdin, pinned to `cpu` when given (with taskset). Returns the child and a function that starts the loop and waits.
 */
export function spawnGetppid(n: number, cpu?: number): {
  pid: number;
  run: () => Promise<Deno.CommandStatus>;
  kill: () => Promise<void>;
} {
  const py = [
    "/usr/bin/python3",
    "-c",
    `import os, sys\nsys.stdin.buffer.read(1)\nfor _ in range(${n}): os.getppid()\n`,
  ];
  // taskset execs python3 in place: the pid stays the same.
  const argv = cpu === undefined ? py : ["taskset", "-c", String(cpu), ...py];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let done = false;
  return {
    pid: child.pid,
    run: async () => {
      const w = child.stdin.getWriter();
      await w.write(new Uint8Array([0x0a]));
      await w.close();
      done = true;
      return await child.status;
    },
    kill: async () => {
      if (done) return;
      done = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.stdin.abort().catch(() => {});
      await child.status;
    },
  };
}

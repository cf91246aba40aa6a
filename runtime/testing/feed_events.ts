/**
 * The testing API: run a script's program over events you write, in the
 * interpreter, with no privileges, and assert on what it printed, its maps
 * and its emits. Each event names its probe and may fix the task facts
 * (pid, tid, uid, gid, comm, CPU), the clock (`timeNs`, which `nsecs` and
 * `elapsed` read) and the numbers `rand` returns; tracepoint arguments are
 * given by field name, strings included. The events become an in-memory
 * recording replayed as `--replay` replays a file (docs/recording.md).
 *
 * @module
 */

import type { TraceOptions, TraceSource } from "../api/trace.ts";
import type { MapData } from "../output/types.ts";
import {
  readTracepointFormat,
  tracepointContext,
  type TracepointFormat,
} from "../probes/tracepoint_format.ts";
import type {
  RecordedCall,
  RecordedEvent,
  RecordingHeader,
  SymbolTable,
} from "../record/format.ts";
import {
  emptySymbols,
  memorySource,
  readRecording,
  type Recording,
} from "../record/reader.ts";
import { RecordingWriter } from "../record/writer.ts";
import { PT_REGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import {
  kernelTypeSource,
  prepareKernelTypes,
} from "../compiler/kernel_types.ts";

/** One event fed to a probe. */
export interface TestEvent {
  /** The attach point, as the program writes it: "tracepoint:skb:kfree_skb". */
  probe: string;
  /** Process id (default 1000). */
  pid?: number;
  /** Thread id (default: pid). */
  tid?: number;
  /** User and group ids (default 0). */
  uid?: number;
  gid?: number;
  /** Task name (default "test"). */
  comm?: string;
  /** CPU (default 0). */
  cpu?: number;
  /** Monotonic nanoseconds (default: the previous event's + 1 ms; 1 s first). */
  timeNs?: number;
  /**
   * Tracepoint fields by name: integers, or strings for `char *` (the
   * string is made readable at the pointer), `char[N]` and `__data_loc`
   * fields, or lists of strings for `char **` fields such as `argv` (a
   * NULL-terminated array of pointers to them, as `join()` reads it).
   */
  args?: Record<string, number | bigint | string | readonly string[]>;
  /** What `rand` (bpf_get_prandom_u32) returns, call by call. */
  random?: number[];
  /**
   * The kernel stack of the run, innermost frame first, as addresses
   * (`kstack`, `get_stackid`); named from {@linkcode TestSymbols}.
   */
  kstack?: readonly (number | bigint)[];
  /** The user stack of the run, innermost frame first (`ustack`). */
  ustack?: readonly (number | bigint)[];
  /**
   * Registers of a `profile`/`interval` sample or a uprobe hit, by x86-64
   * `pt_regs` name (`reg("ip")`, `arg0` from `di`, …); the rest are 0.
   */
  regs?: Partial<Record<keyof typeof PT_REGS, number | bigint>>;
  /**
   * The parent's process id: the current task (`curtask`) is readable,
   * its `real_parent` a task whose `tgid` and `pid` are this (execsnoop's
   * PPID). Laid out by the kernel types the compiler reads.
   */
  ppid?: number;
}

/**
 * Symbols for the addresses of the events' stacks: function start
 * addresses (hex or decimal text) to names. A frame is named after the
 * nearest function at or below its address, `name+offset` as bpftrace
 * prints it; an address below every function stays hex.
 */
export interface TestSymbols {
  /** Kernel functions: `{ "0xffffffff81000000": "do_syscall_64" }`. */
  kernel?: Record<string, string>;
  /** User functions (every process). */
  user?: Record<string, string>;
  /** The object user frames are in (`ustack(perf)` shows it; default none). */
  userObject?: string;
}

/** Options of {@linkcode feedEvents}. */
export interface FeedOptions {
  /** Output format of printed text (default "text"). */
  format?: "text" | "json";
  /** CPUs of the test machine (default 2). */
  numCpus?: number;
  /** Positional parameters `$1`, … */
  params?: string[];
  /** Names of the stacks' addresses. */
  symbols?: TestSymbols;
}

/** What a program did with the events. */
export interface FeedResult {
  /** Everything printed, as the CLI prints it (attach line, printf, maps at exit). */
  output: string;
  /** printf lines (and other printed events), in order. */
  lines: string[];
  /** Every map, decoded, at the end (before END cleared any). */
  maps: MapData[];
  /** Records sent with `c.emit()` / `emit()`, in order. */
  emits: { event: string; record: Record<string, unknown> }[];
}

const enc = new TextEncoder();
const USER_STRINGS = 0x7ff0_0000_0000n;

/**
 * Builds the in-memory recording of `events`.
 *
 * @throws {TypeError} for an unknown tracepoint or argument.
 */
export function eventsRecording(
  events: readonly TestEvent[],
  numCpus = 2,
  symbols: TestSymbols = {},
): Recording {
  return readRecording(
    memorySource(encodeEvents(events, numCpus, symbols)),
    "test events",
  );
}

/** Where the tasks of events with a `ppid` are (one pair per pid). */
const TASKS = 0xffff888100000000n;

/**
 * The recorded calls that make `curtask->real_parent->tgid` (and `->pid`)
 * read `ppid`: get_current_task's result and the two tasks' bytes.
 */
function parentCalls(ppid: number, pid: number): RecordedCall[] {
  const types = kernelTypeSource()?.types();
  const task = types?.lookup("struct task_struct");
  if (types === undefined || task === undefined) {
    throw new TypeError(
      `An event's ppid needs kernel types (BTF); none are loaded`,
    );
  }
  const at = (path: string) => types.fieldPath(task, path)!.offset;
  const self = TASKS + BigInt(pid) * 0x10000n;
  const parent = self + 0x8000n;
  const word = (size: number, v: bigint) => {
    const b = new Uint8Array(size);
    const view = new DataView(b.buffer);
    if (size === 8) view.setBigUint64(0, v, true);
    else view.setUint32(0, Number(v), true);
    return b;
  };
  const read = (addr: bigint, bytes: Uint8Array): RecordedCall => ({
    helper: 113,
    capture: true,
    r0: 0n,
    addr,
    bytes,
  });
  return [
    { helper: 35, capture: false, r0: self, addr: 0n },
    read(self + BigInt(at("real_parent")), word(8, parent)),
    read(parent + BigInt(at("tgid")), word(4, BigInt(ppid))),
    read(parent + BigInt(at("pid")), word(4, BigInt(ppid))),
  ];
}

/** Loads the kernel types when an event has a `ppid` to lay out. */
async function typesFor(events: readonly TestEvent[]): Promise<void> {
  if (events.some((e) => e.ppid !== undefined)) {
    await prepareKernelTypes("curtask");
  }
}

/**
 * The bytes of a recording of `events` (a file `--replay` reads). Events
 * with a `ppid` need the kernel types loaded (`feedEvents` and
 * `runScript` load them).
 *
 * @throws {TypeError} for an unknown tracepoint or argument.
 * @example Write a recording file
 * ```ts ignore
 * import { encodeEvents } from "./feed_events.ts";
 * Deno.writeFileSync("drops.tsrec", encodeEvents([
 *   { probe: "tracepoint:skb:kfree_skb", pid: 42, comm: "nginx" },
 * ]));
 * ```
 */
export function encodeEvents(
  events: readonly TestEvent[],
  numCpus = 2,
  symbols: TestSymbols = {},
): Uint8Array {
  const probes: RecordingHeader["probes"] = [];
  const formats: TracepointFormat[] = [];
  const index = new Map<string, number>();
  const formatOf = new Map<string, TracepointFormat | undefined>();
  for (const e of events) {
    if (index.has(e.probe)) continue;
    let f: TracepointFormat | undefined;
    const m = /^(?:tracepoint|t):([^:]+):([^:]+)$/.exec(e.probe);
    if (m !== null) {
      f = readTracepointFormat(m[1], m[2]);
      formats.push(f);
    }
    formatOf.set(e.probe, f);
    const text = m !== null ? `tracepoint:${m[1]}:${m[2]}` : e.probe;
    index.set(e.probe, probes.length);
    probes.push({
      name: text,
      attach: [text],
      ctx: f === undefined ? { kind: "none", size: 0 } : tracepointContext(f),
    });
  }
  const header: RecordingHeader = {
    version: 1,
    producer: "tsbpf",
    created: new Date(0).toISOString(),
    kernelRelease: "test",
    bootTimeNs: "0",
    numCpus,
    probes,
    stringCapture: 256,
    formats,
    complete: false,
  };
  const chunks: Uint8Array[] = [];
  const w = new RecordingWriter({
    writeSync: (b) => (chunks.push(b.slice()), b.length),
  }, header);
  let t = 1e9 - 1e6;
  let strings = 0;
  const table = emptySymbols();
  const stacks = new StackTable(symbols, table);
  for (const e of events) {
    t = e.timeNs ?? t + 1e6;
    const f = formatOf.get(e.probe);
    const calls: RecordedCall[] = [];
    if (f !== undefined && e.regs !== undefined) {
      throw new TypeError(
        `Probe "${e.probe}" is a tracepoint: its events have no registers`,
      );
    }
    const ctx = f !== undefined
      ? tracepointRecord(f, e, calls, () => strings++)
      : e.regs !== undefined
      ? registers(e.regs)
      : new Uint8Array(0);
    for (const r of e.random ?? []) {
      calls.push({ helper: 7, capture: false, r0: BigInt(r >>> 0), addr: 0n });
    }
    const pid = e.pid ?? 1000;
    // The run's stacks, as ids get_stackid gives out (kernel even, user
    // odd): replay hands each to the get_stackid call of its kind.
    if (e.kstack !== undefined) {
      calls.push(stacks.call(e.kstack, true, pid));
    }
    if (e.ustack !== undefined) {
      calls.push(stacks.call(e.ustack, false, pid));
    }
    if (e.ppid !== undefined) calls.push(...parentCalls(e.ppid, pid));
    const comm = new Uint8Array(16);
    comm.set(enc.encode(e.comm ?? "test").subarray(0, 15));
    const ev: RecordedEvent = {
      probe: index.get(e.probe)!,
      cpu: e.cpu ?? 0,
      timeNs: t,
      pid,
      tid: e.tid ?? pid,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      cgroupId: 1n,
      comm,
      flags: 0,
      ctx,
      calls,
    };
    w.event(ev);
  }
  w.finish(table, 0);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/** `bpf_perf_event_data` (pt_regs, sample period, address) with `regs` set. */
function registers(
  regs: Partial<Record<string, number | bigint>>,
): Uint8Array {
  const ctx = new Uint8Array(PT_REGS_SIZE + 16);
  const dv = new DataView(ctx.buffer);
  for (const [name, value] of Object.entries(regs)) {
    const at = (PT_REGS as Record<string, number>)[name];
    if (at === undefined || !Object.hasOwn(PT_REGS, name)) {
      throw new TypeError(
        `Unknown register "${name}" (registers: ${
          Object.keys(PT_REGS).join(", ")
        })`,
      );
    }
    dv.setBigUint64(at, BigInt.asUintN(64, BigInt(value ?? 0)), true);
  }
  return ctx;
}

/** Stack ids of the events' stacks, and their names in the symbol table. */
class StackTable {
  readonly #ids = new Map<string, number>();
  readonly #kernel: [bigint, string][];
  readonly #user: [bigint, string][];
  readonly #object?: string;
  readonly #table: SymbolTable;
  #next = [0, 0];

  constructor(symbols: TestSymbols, table: SymbolTable) {
    this.#kernel = sortedSymbols(symbols.kernel);
    this.#user = sortedSymbols(symbols.user);
    this.#object = symbols.userObject;
    this.#table = table;
  }

  /** The captured get_stackid result of `stack`, named in the table. */
  call(
    stack: readonly (number | bigint)[],
    kernel: boolean,
    pid: number,
  ): RecordedCall {
    const addrs = stack.map((a) => BigInt.asUintN(64, BigInt(a)));
    const hex = (a: bigint) => a.toString(16);
    const key = `${kernel ? "k" : "u"}:${addrs.map(hex).join(",")}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      const k = kernel ? 0 : 1;
      id = 2 * this.#next[k]++ + k;
      this.#ids.set(key, id);
      this.#table.stackAddresses[`*:${id}`] = addrs.map(hex);
    }
    const t = this.#table;
    const names = addrs.map((a) =>
      nameOf(kernel ? this.#kernel : this.#user, a)
    );
    t.stack[`*:${id}:${kernel ? 1 : 0}:${kernel ? "" : pid}`] = names.map((
      n,
      i,
    ) => n === undefined ? `0x${hex(addrs[i])}` : `${n.name}+${n.offset}`);
    addrs.forEach((a, i) => {
      const name = names[i]?.name ?? `0x${hex(a)}`;
      if (kernel) t.ksym[hex(a)] = name;
      else {
        t.usym[`${pid}:${hex(a)}`] = name;
        if (this.#object !== undefined) {
          t.userModule[`${pid}:${hex(a)}`] = this.#object;
        }
      }
    });
    return { helper: 27, capture: true, r0: BigInt(id), addr: 0n };
  }
}

function sortedSymbols(
  table: Record<string, string> | undefined,
): [bigint, string][] {
  return Object.entries(table ?? {}).map(([a, name]): [bigint, string] => {
    let addr: bigint;
    try {
      addr = BigInt(a);
    } catch {
      throw new TypeError(`Symbol address "${a}" of "${name}" is not a number`);
    }
    return [addr, name];
  }).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

function nameOf(
  table: [bigint, string][],
  addr: bigint,
): { name: string; offset: bigint } | undefined {
  let best: [bigint, string] | undefined;
  for (const s of table) {
    if (s[0] > addr) break;
    best = s;
  }
  return best === undefined
    ? undefined
    : { name: best[1], offset: addr - best[0] };
}

function tracepointRecord(
  f: TracepointFormat,
  e: TestEvent,
  calls: RecordedCall[],
  nextString: () => number,
): Uint8Array {
  const layout = tracepointContext(f);
  const tail: Uint8Array[] = [];
  let tailAt = layout.size;
  const ctx = new Uint8Array(layout.size + 1024);
  const dv = new DataView(ctx.buffer);
  const common = f.fields.find((x) => x.name === "common_type");
  if (common !== undefined) dv.setUint16(common.offset, f.id, true);
  const pidField = f.fields.find((x) => x.name === "common_pid");
  if (pidField !== undefined) dv.setInt32(pidField.offset, e.pid ?? 1000, true);
  for (const [name, value] of Object.entries(e.args ?? {})) {
    const field = f.fields.find((x) => x.name === name);
    if (field === undefined) {
      throw new TypeError(
        `Tracepoint "${f.category}:${f.name}" has no field "${name}" (fields: ${
          f.fields.filter((x) => !x.common).map((x) => x.name).join(", ")
        })`,
      );
    }
    if (Array.isArray(value)) {
      if (field.size !== 8) {
        throw new TypeError(`Field "${name}" does not hold a string array`);
      }
      // The array of pointers, NULL-terminated, then each string: all
      // readable memory of the event.
      const base = USER_STRINGS + BigInt(nextString()) * 0x1000n;
      dv.setBigUint64(field.offset, base, true);
      const ptrs = new Uint8Array(8 * (value.length + 1));
      const pv = new DataView(ptrs.buffer);
      value.forEach((arg: string, i: number) => {
        const addr = USER_STRINGS + BigInt(nextString()) * 0x1000n;
        pv.setBigUint64(8 * i, addr, true);
        const bytes = new Uint8Array(256);
        const s = enc.encode(arg);
        bytes.set(s.subarray(0, 255));
        calls.push({
          helper: 114,
          capture: true,
          r0: BigInt(Math.min(s.length, 255) + 1),
          addr,
          bytes,
        });
      });
      calls.push({
        helper: 112,
        capture: true,
        r0: 0n,
        addr: base,
        bytes: ptrs,
      });
      continue;
    }
    if (typeof value === "string") {
      const s = enc.encode(value);
      if (field.dataLoc) {
        const bytes = new Uint8Array(s.length + 1);
        bytes.set(s);
        dv.setUint32(field.offset, (bytes.length << 16) | tailAt, true);
        tail.push(bytes);
        ctx.set(bytes, tailAt);
        tailAt += bytes.length;
      } else if (field.arrayLen !== undefined) {
        ctx.set(s.subarray(0, field.size - 1), field.offset);
      } else if (field.size === 8) {
        // A `char *`: the string lives at a made-up address, captured.
        const addr = USER_STRINGS + BigInt(nextString()) * 0x1000n;
        dv.setBigUint64(field.offset, addr, true);
        const bytes = new Uint8Array(256);
        bytes.set(s.subarray(0, 255));
        calls.push({
          helper: f.category === "syscalls" ? 114 : 115,
          capture: true,
          r0: BigInt(Math.min(s.length, 255) + 1),
          addr,
          bytes,
        });
      } else {
        throw new TypeError(`Field "${name}" does not hold a string`);
      }
      continue;
    }
    const v = BigInt(value as number | bigint);
    switch (field.size) {
      case 1:
        dv.setUint8(field.offset, Number(BigInt.asUintN(8, v)));
        break;
      case 2:
        dv.setUint16(field.offset, Number(BigInt.asUintN(16, v)), true);
        break;
      case 4:
        dv.setUint32(field.offset, Number(BigInt.asUintN(32, v)), true);
        break;
      case 8:
        dv.setBigUint64(field.offset, BigInt.asUintN(64, v), true);
        break;
      default:
        throw new TypeError(`Field "${name}" is not an integer`);
    }
  }
  return ctx.slice(0, Math.max(tailAt, layout.size));
}

/**
 * Runs `source` (bpftrace text or a staged `Tracer`) over `events` in the
 * interpreter and returns what it printed, its maps and its emits.
 *
 * @throws {import("../record/replay_feed.ts").ReplayError} when the
 *   program reads something the events do not give (e.g. `rand` without
 *   `random`), naming the probe and the read.
 *
 * @example Test the kfree_skb one-liner
 * ```ts
 * import assert from "node:assert/strict";
 * import { feedEvents } from "./feed_events.ts";
 * const r = await feedEvents(
 *   "tracepoint:skb:kfree_skb /pid != 0/ { @drops[pid, comm] = count(); }",
 *   [
 *     { probe: "tracepoint:skb:kfree_skb", pid: 42, comm: "nginx", args: { reason: 2 } },
 *     { probe: "tracepoint:skb:kfree_skb", pid: 42, comm: "nginx" },
 *     { probe: "tracepoint:skb:kfree_skb", pid: 0, comm: "swapper/0" },
 *   ],
 * );
 * assert.equal(r.output, "Attached 1 probe\n\n\n@drops[42, nginx]: 2\n");
 * ```
 */
export async function feedEvents(
  source: TraceSource,
  events: readonly TestEvent[],
  options: FeedOptions = {},
): Promise<FeedResult> {
  const { trace } = await import("../api/trace.ts");
  await typesFor(events);
  let output = "";
  const lines: string[] = [];
  const recording = eventsRecording(
    events,
    options.numCpus ?? 2,
    options.symbols,
  );
  let failure: Error | undefined;
  recording.onReplayError = (e) => failure = e;
  const traceOptions: TraceOptions = {
    replay: recording,
    print: true,
    format: options.format ?? "text",
    params: options.params,
    write: (t) => (output += t),
  };
  const s = await trace(source, traceOptions);
  const emits: FeedResult["emits"] = [];
  const collect = (async () => {
    for await (const ev of s.events()) {
      if (ev.emit !== undefined) {
        emits.push({ event: ev.emit.event, record: ev.emit.record });
      } else if (ev.text !== undefined) lines.push(ev.text);
    }
  })();
  await s.run();
  const maps = s.maps();
  await s.close();
  await collect;
  // A read the events do not provide (say `rand` with no `random`).
  if (failure !== undefined) throw failure;
  return { output, lines, maps, emits };
}

/** Options of {@linkcode runScript}. */
export interface RunScriptOptions {
  /** Names of the stacks' addresses. */
  symbols?: TestSymbols;
}

/** What a script printed over the events. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a script of `scripts/` (any script built on `runtime/api/tool.ts`,
 * which all take `--replay FILE`) over `events`, in a child Deno, and
 * returns what it printed. The clock is the events' (`timeNs`, from a boot
 * at the epoch) and the time zone UTC: the first event's default time,
 * 1 s, prints as `[00:00:01]`.
 *
 * @example Run kfree_skb.ts over two drops
 * ```ts ignore
 * import { runScript } from "./feed_events.ts";
 * const r = await runScript("scripts/kfree_skb.ts", [
 *   { probe: "tracepoint:skb:kfree_skb", pid: 42, comm: "nginx" },
 *   { probe: "tracepoint:skb:kfree_skb", pid: 42, comm: "nginx", timeNs: 2.5e9 },
 * ]);
 * console.log(r.stdout);
 * ```
 */
export async function runScript(
  script: string | URL,
  events: readonly TestEvent[],
  args: string[] = [],
  options: RunScriptOptions = {},
): Promise<ScriptRun> {
  await typesFor(events);
  const file = await Deno.makeTempFile({ suffix: ".tsrec" });
  try {
    await Deno.writeFile(file, encodeEvents(events, 2, options.symbols));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-lock",
        script instanceof URL ? script.pathname : script,
        "--replay",
        file,
        ...args,
      ],
      // UTC: the recorded clock of the events prints the same everywhere.
      env: { NO_COLOR: "1", TZ: "UTC" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    await Deno.remove(file);
  }
}

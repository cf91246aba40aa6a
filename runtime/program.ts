/**
 * The `Program`: the one contract between the compiler and both engines.
 *
 * Per probe: where it attaches and its instruction slots. Per map: its kernel
 * shape (type, key and value sizes) and how user space decodes and prints it.
 * The format table says how to render each event a probe sends to user space.
 *
 * Map references inside instructions are `ld_imm64` with
 * `src = PseudoSrc.MAP_FD` and `imm` = the map's index in `Program.maps`;
 * each engine patches in its own handle (kernel fd, interpreter map id).
 *
 * @module
 */

import type { SourceLoc } from "./bpf/builder.ts";
import type { Insn } from "./bpf/insn.ts";

/** Kinds of probe the language knows. */
export type ProbeKind =
  | "BEGIN"
  | "END"
  | "tracepoint"
  | "rawtracepoint"
  | "fentry"
  | "fexit"
  | "kprobe"
  | "kretprobe"
  | "uprobe"
  | "uretprobe"
  | "usdt"
  | "profile"
  | "interval"
  | "software"
  | "hardware"
  | "test"
  | "bench";

/** One concrete attach point (wildcards already expanded). */
export interface AttachPoint {
  /** The probe type. */
  kind: ProbeKind;
  /**
   * tracepoint: "category:name"; rawtracepoint: "name";
   * kprobe: function; uprobe: binary path; software/hardware: event name.
   */
  target: string;
  /** uprobe: symbol name. */
  symbol?: string;
  /** kprobe/uprobe: offset added to the symbol address. */
  offset?: number;
  /** profile/interval: period unit; software/hardware: unused. */
  unit?: "hz" | "s" | "ms" | "us";
  /** profile/interval: the number after the unit; software/hardware: count. */
  period?: number;
  /** Canonical text, e.g. "tracepoint:skb:kfree_skb". */
  text: string;
  /**
   * fentry/fexit and rawtracepoint: the BTF type the kernel attaches by
   * (the function's `FUNC`, the event's `btf_trace_NAME` typedef) and the
   * module whose BTF defines it (undefined: vmlinux).
   */
  btf?: { id: number; module?: string };
  /**
   * usdt: the probe location (one per attach point; `target` is the
   * binary, `symbol` is `provider:name`): where the uprobe and its
   * semaphore go, and how the arguments are read.
   */
  usdt?: UsdtProbe;
}

/** One compiled probe body, possibly shared by several attach points. */
export interface ProbeProgram {
  /** A stable name, usable as the kernel program name (≤ 15 chars). */
  name: string;
  /** Where the program is attached; several for `a, b { ... }`. */
  attach: AttachPoint[];
  /** Kernel program type (`ProgType`). */
  progType: number;
  /** The bytecode. */
  insns: Insn[];
  /** Per slot, the script location it was compiled from. */
  locs?: (SourceLoc | undefined)[];
  /**
   * The context the program reads through r1: for tracepoints the record
   * layout, for kprobe/uprobe `pt_regs`, for perf events
   * `bpf_perf_event_data`. Engines use it to size synthetic contexts.
   */
  ctx: ContextLayout;
}

/** The shape of a probe's context (what r1 points at). */
export interface ContextLayout {
  /** What r1 points at. */
  kind: "tracepoint" | "pt_regs" | "raw_tp" | "perf_event" | "none";
  /** Bytes readable through r1. */
  size: number;
  /** Tracepoint fields with offsets, when known. */
  fields?: FieldLayout[];
  /**
   * fentry/fexit and rawtracepoint (`raw_tp`, one u64 slot each): the
   * arguments' types, as synthetic events fill them; for fexit the
   * return value's slot follows the arguments.
   */
  args?: { name: string; size: number; signed: boolean; pointer: boolean }[];
}

/** A field of a tracepoint record. */
export interface FieldLayout {
  /** The field's name (`args->NAME`). */
  name: string;
  /** The C type text from the format file, e.g. "const char *". */
  ctype: string;
  /** Byte offset in the record. */
  offset: number;
  /** Size in bytes. */
  size: number;
  /** Whether the integer is signed. */
  signed: boolean;
  /** `__data_loc` field: the u32 holds (length << 16 | offset). */
  dataLoc?: boolean;
  /** Array element count for `char comm[16]`-style fields. */
  arrayLen?: number;
}

/**
 * A value's type as user space must decode it.
 *
 * Layouts the compiler uses: `buf` is one length byte then the data
 * (`size` = 1 + capacity); `inet` is a u64 address family then 16 address
 * bytes (IPv4 in the first 4); `ksym` holds the address; `usym` the
 * address, then (size 16, as bpftrace) the tgid as a u64 so user space can
 * symbolize in that process (size 8: the address alone); `kstack`
 * holds the stack id from `mapIndex` (negative on failure); `ustack` holds
 * `tgid << 32 | (stack id as u32)`; `timestamp` holds boot-clock
 * nanoseconds (`nsecs`, `bpf_ktime_get_boot_ns`); with a `format` user
 * space adds the boot time and prints it as strftime does; `username`
 * holds a uid.
 */
export type TypeDesc =
  | {
    kind: "int";
    size: 1 | 2 | 4 | 8;
    signed: boolean;
    /**
     * How the integer prints (0.26): `bool` as `true`/`false`, `hex` (a
     * typed pointer) as `0x1000`, `enum` as the name `enumerators` gives
     * its value (the number when none does).
     */
    show?: "bool" | "hex" | "enum";
    /** For `show: "enum"`: value (decimal text) and name pairs. */
    enumerators?: [string, string][];
  }
  | { kind: "string"; size: number }
  | { kind: "buf"; size: number }
  | {
    kind: "tuple";
    fields: TypeDesc[];
    offsets: number[];
    size: number;
    /** A record's field names (0.26 `(a=1, b="x")`): decoded as a record. */
    names?: string[];
  }
  /**
   * An array: an integer array (0.26 `(uint8[4])x`, an array member
   * copied) or a kernel struct's array member: `count` elements of `elem`,
   * packed; printed `[1,2,3,4]`.
   */
  | {
    kind: "array";
    elem: TypeDesc;
    count: number;
    size: number;
  }
  /**
   * A struct or union copied from memory (`print(*p)`): its members,
   * anonymous ones flattened, at their byte offsets; a bit-field keeps
   * `width` bits from bit `shift` of its bytes.
   */
  | {
    kind: "record";
    size: number;
    fields: {
      name: string;
      offset: number;
      type: TypeDesc;
      bits?: { shift: number; width: number };
    }[];
  }
  | { kind: "ksym"; size: 8 }
  | { kind: "usym"; size: 8 | 16 }
  | {
    kind: "kstack";
    size: 8;
    mapIndex: number;
    depth: number;
    /** How frames print: bpftrace's (default), perf's, or raw addresses. */
    mode?: "bpftrace" | "perf" | "raw";
  }
  | {
    kind: "ustack";
    size: 8;
    mapIndex: number;
    depth: number;
    /** How frames print: bpftrace's (default), perf's, or raw addresses. */
    mode?: "bpftrace" | "perf" | "raw";
  }
  | { kind: "inet"; size: number }
  /** `epoch`: nanoseconds since the epoch (`nsecs(tai)`), no boot time added. */
  | { kind: "timestamp"; size: 8; format?: string; epoch?: true }
  /** A uid (`username`): user space prints the name /etc/passwd gives it. */
  | { kind: "username"; size: 8 }
  /**
   * A number printed as its name (`strerror()`, `signal_name()`,
   * `syscall_name()`): user space looks it up in `table`; a cgroup id
   * (`cgroup_path()`) is looked up in the hierarchies `filter` matches.
   */
  | {
    kind: "intname";
    size: 8;
    table: "errno" | "signal" | "syscall" | "cgroup";
    filter?: string;
  }
  | { kind: "none"; size: 0 };

/** How a map's per-key value is aggregated and printed. */
export type Aggregation =
  | { kind: "count" }
  /**
   * `signed` (default true) says how user space reads the 64-bit sum:
   * bpftrace prints sums of unsigned expressions as unsigned.
   */
  | { kind: "sum"; signed?: boolean }
  /**
   * min/max value: the s64 value, then a u64 that is 1 when this CPU's slot
   * holds a value (per-CPU slots of other CPUs start at 0 and must be
   * skipped when reducing).
   */
  | { kind: "min" }
  | { kind: "max" }
  /** Value: count then total, two u64 slots. */
  | { kind: "avg" }
  /** Value: count then total, two u64 slots (min/max not kept, as bpftrace). */
  | { kind: "stats" }
  /**
   * Key gets a trailing u64 bucket index; value is a u64 count. With `sum`
   * (compiled for metrics export) the value is the count, then the i64
   * sum of the values counted in that bucket.
   */
  /**
   * `tseries(n, interval, num[, agg])` (0.26): the key gets a trailing u64
   * slot index (epoch % num); the value is the slot's value (i64), its
   * `meta` (the time of the last write, or the count for `avg`) and its
   * epoch (boot-clock ns / interval). A plain hash map.
   */
  | ({ kind: "tseries" } & TseriesParams)
  | {
    kind: "hist";
    sum?: boolean;
    /**
     * `hist(n, k)`: 2^k buckets per power of 2 (absent: 0). Bucket 0
     * counts negative values, 1 to 2^k the values 0 to 2^k - 1, then
     * each power of 2 splits into 2^k equal parts.
     */
    bits?: number;
  }
  | { kind: "lhist"; min: number; max: number; step: number; sum?: boolean }
  /** A plain stored value (`@x = expr`). */
  | { kind: "value"; type: TypeDesc };

/** One map of the program. */
export interface MapSpec {
  /** "@name", "@" for the anonymous map, or an internal name (".events"). */
  name: string;
  /** Kernel map type (`MapType`). */
  type: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize: number;
  /** Capacity. */
  maxEntries: number;
  /**
   * How user space decodes the key; `none` for keyless maps, which use one
   * 8-byte zero key (hist/lhist: the bucket alone). Integer keys are
   * widened to 8 bytes; several keys form a C-aligned tuple. hist/lhist
   * keys end with the u64 bucket index at `keySize - 8`. A keyless
   * aggregation may instead be a PERCPU_ARRAY (`keySize` 4: the hist/lhist
   * bucket, else index 0) whose slots no CPU wrote are no entries.
   */
  key: TypeDesc;
  /** Present on user-visible (@) maps. */
  agg?: Aggregation;
  /**
   * Names of the keys, derived from the key expressions (`pid`, `comm`,
   * `args->id` gives `id`); exporters use them as label names.
   */
  keyNames?: string[];
  /** Internal maps (ring buffer, stacks, scratch) are never printed. */
  internal: boolean;
}

/** What an event sent through the ring buffer asks user space to do. */
export type EventAction =
  | { kind: "printf"; format: string; args: TypeDesc[] }
  | { kind: "print_map"; mapIndex: number; top: number; div: number }
  | { kind: "print_value"; type: TypeDesc }
  | { kind: "clear"; mapIndex: number }
  | { kind: "zero"; mapIndex: number }
  | { kind: "time"; format: string }
  /** `exit([code])`: `args` holds the code's type when one is given. */
  | { kind: "exit"; args?: TypeDesc[] }
  /**
   * `errorf(fmt, ...)` / `warnf(fmt, ...)`: printed on stderr after the
   * call's place in the source (line, first and past-the-end column, and
   * the file when it is not the program's own).
   */
  | {
    kind: "errorf" | "warnf";
    format: string;
    args: TypeDesc[];
    line: number;
    col: number;
    endCol: number;
    file?: string;
  }
  | { kind: "system"; format: string; args: TypeDesc[] }
  | { kind: "cat"; format: string; args: TypeDesc[] }
  /**
   * `join(argv [, sep])`: args are a u64 count then that many (at most
   * `args.length - 1`) strings; print the first count joined by
   * `separator`, then a newline.
   */
  | { kind: "join"; separator: string; args: TypeDesc[] }
  /**
   * `emit("event", "f1,f2", v1, v2)` (staged TS `c.emit()`): a typed
   * record; `fields[i]` names `args[i]`. Not printed by default.
   */
  | { kind: "emit"; event: string; fields: string[]; args: TypeDesc[] };

/**
 * One entry of the format table. Every ring buffer record starts with a u64
 * holding the entry's index, followed by the arguments laid out as `layout`.
 */
export interface EventFormat {
  /** The index in the format table; the record's first u64. */
  id: number;
  /** What user space does with the record. */
  action: EventAction;
  /** Byte layout of the record after the 8-byte id. */
  layout: { offsets: number[]; size: number };
}

/** The compiled program both engines consume unchanged. */
export interface Program {
  /** One compiled body per probe. */
  probes: ProbeProgram[];
  /** The maps, by index (`ld_map_fd` immediates refer to them). */
  maps: MapSpec[];
  /** The event format table (printf, join, emit, ...). */
  formats: EventFormat[];
  /** Index in `maps` of the ring buffer events travel through, if any. */
  eventsMap?: number;
  /** Source text and file name, for mapping errors back to lines. */
  source?: { name: string; text: string };
  /**
   * From the script's `config = { ... }` block: whether maps print at
   * exit, what an attach point that fails to attach does
   * (`missing_probes`; absent: the run fails), and warnings (rendered).
   */
  config?: {
    printMapsOnExit?: boolean;
    missingProbes?: "warn" | "ignore";
    /**
     * `str_trunc_trailer`: the text strings of `size` bytes that fill
     * it (cut at `max_strlen`) end with when printed.
     */
    strTruncTrailer?: { size: number; text: string };
    warnings: string[];
  };
  /** The named parameters the program reads (`getopt()`), for `--help`. */
  options?: ProgramOption[];
}

/** A register an operand names: its `pt_regs` slot and the bytes used. */
export interface UsdtRegister {
  /** The `pt_regs` field (`di`, `r12`, `ip`, …). */
  reg: string;
  /** Byte offset in the 8-byte slot: 1 for `%ah`-style high bytes. */
  byte: number;
  /** Width the name denotes (8 for `%rax`, 4 for `%eax`, …). */
  width: 1 | 2 | 4 | 8;
}

/** One argument of a USDT probe, as its note describes it. */
export type UsdtArg =
  & {
    /** Bytes of the value (the number before `@`). */
    size: 1 | 2 | 4 | 8;
    /** Whether the value is signed (a `-` before the size). */
    signed: boolean;
    /** The spec text, e.g. `-4@112(%rsp)`. */
    text: string;
  }
  & (
    | { kind: "reg"; reg: UsdtRegister }
    /** A constant (`$5`); the value as a decimal string. */
    | { kind: "const"; value: string }
    /**
     * Memory at `disp + base + index * scale` (each part optional); with
     * a `symbol`, `disp` is added to the symbol's address. With `%rip` as
     * the base and a symbol, the address is the symbol's (as the
     * assembler resolved it), not `ip`-relative.
     */
    | {
      kind: "mem";
      base?: UsdtRegister;
      index?: UsdtRegister;
      scale: number;
      disp: number;
      symbol?: string;
      /** The symbol's link-time address, filled in by `readUsdtProbes`. */
      symbolAddress?: number;
    }
  );

/** One USDT probe location of a binary. */
export interface UsdtProbe {
  /** The binary's absolute path. */
  path: string;
  /** The provider (`python`). */
  provider: string;
  /** The probe name (`gc__start`). */
  name: string;
  /** Link-time address of the probe's `nop`, `.stapsdt.base`-adjusted. */
  address: number;
  /** File offset of the `nop`: where the uprobe goes. */
  fileOffset: number;
  /** Link-time address of the semaphore (0: none). */
  semaphore: number;
  /** File offset of the semaphore (the uprobe's `ref_ctr_offset`), 0: none. */
  semaphoreOffset: number;
  /** The arguments, in order. */
  args: UsdtArg[];
  /** The note's argument text, as written. */
  argText: string;
  /** Whether the binary is position-independent (ET_DYN). */
  pie: boolean;
  /**
   * Why the arguments cannot be read (a spec not understood, a symbol
   * not defined); `args` is then empty. The probe itself still attaches.
   */
  argError?: string;
}

/** A named parameter a program reads with `getopt()` (bpftrace 0.26). */
export interface ProgramOption {
  /** Its name, without `--`. */
  name: string;
  /** What `--help` says about it ("" for none). */
  description: string;
  /** Its type, from the default value. */
  type: "int" | "uint" | "bool" | "string";
  /** The default value. */
  default: bigint | string;
}

/** The parameters of a `tseries()` aggregation. */
export interface TseriesParams {
  /** Interval length in nanoseconds. */
  interval: number;
  /** Intervals kept. */
  num: number;
  /** How values in one interval combine ("last": the last one written). */
  agg: "last" | "avg" | "max" | "min" | "sum";
  /** Whether the values are signed. */
  signed: boolean;
}

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { usdtArgType } from "../../runtime/compiler/usdt_args.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import type { ElfInfo } from "../../runtime/probes/elf.ts";
import { listProbes } from "../../runtime/probes/list_probes.ts";
import {
  buildStapsdtNote,
  listUsdtProbes,
  locateUsdtProbes,
  matchUsdtProbes,
  parseStapsdtNotes,
  parseUsdtArg,
  parseUsdtArgs,
  readUsdtProbes,
  type StapsdtNote,
  type UsdtArg,
  UsdtArgError,
  type UsdtProbe,
} from "../../runtime/probes/usdt.ts";
import { entries, only, total } from "../parity/expect.ts";
import { runProgram } from "../parity/run.ts";
import { formatDryRun } from "../../runtime/compiler/dry_run.ts";
import { note, NOTE_SEMAPHORE, writeUsdtElf } from "./usdt_elf.ts";
import {
  PYTHON,
  pythonSkipReason,
  targetSkipReason,
  usdtTargetPath,
} from "./usdt_helpers.ts";

if (pythonSkipReason !== undefined) {
  console.log(`Skipping the python3.11 USDT tests: ${pythonSkipReason}`);
}
if (targetSkipReason !== undefined) {
  console.log(`Skipping the USDT test target tests: ${targetSkipReason}`);
}

/** The parts of a parsed argument the tests compare. */
function shape(a: UsdtArg): Record<string, unknown> {
  const { text: _t, ...rest } = a;
  return rest;
}

Deno.test("usdt: every argument operand form parses", () => {
  const reg = (reg: string, width: number, byte = 0) => ({
    reg,
    byte,
    width,
  });
  const cases: [string, Record<string, unknown>][] = [
    ["-4@%edi", { size: 4, signed: true, kind: "reg", reg: reg("di", 4) }],
    ["8@%rax", { size: 8, signed: false, kind: "reg", reg: reg("ax", 8) }],
    ["-1@%cl", { size: 1, signed: true, kind: "reg", reg: reg("cx", 1) }],
    ["1@%ah", { size: 1, signed: false, kind: "reg", reg: reg("ax", 1, 1) }],
    ["2@%si", { size: 2, signed: false, kind: "reg", reg: reg("si", 2) }],
    ["1@%sil", { size: 1, signed: false, kind: "reg", reg: reg("si", 1) }],
    ["8@%r12", { size: 8, signed: false, kind: "reg", reg: reg("r12", 8) }],
    ["-4@%r9d", { size: 4, signed: true, kind: "reg", reg: reg("r9", 4) }],
    ["2@%r15w", { size: 2, signed: false, kind: "reg", reg: reg("r15", 2) }],
    ["%rdi", { size: 8, signed: false, kind: "reg", reg: reg("di", 8) }],
    ["-4@$5", { size: 4, signed: true, kind: "const", value: "5" }],
    ["-4@$-5", { size: 4, signed: true, kind: "const", value: "-5" }],
    ["8@$0x10", { size: 8, signed: false, kind: "const", value: "16" }],
    ["8@-16(%rbp)", {
      size: 8,
      signed: false,
      kind: "mem",
      scale: 1,
      disp: -16,
      base: reg("bp", 8),
    }],
    ["-4@112(%rsp)", {
      size: 4,
      signed: true,
      kind: "mem",
      scale: 1,
      disp: 112,
      base: reg("sp", 8),
    }],
    ["8@(%rax)", {
      size: 8,
      signed: false,
      kind: "mem",
      scale: 1,
      disp: 0,
      base: reg("ax", 8),
    }],
    ["8@(%rax,%rdx,8)", {
      size: 8,
      signed: false,
      kind: "mem",
      scale: 8,
      disp: 0,
      base: reg("ax", 8),
      index: reg("dx", 8),
    }],
    ["4@0x10(, %rcx, 4)", {
      size: 4,
      signed: false,
      kind: "mem",
      scale: 4,
      disp: 16,
      index: reg("cx", 8),
    }],
    ["8@global_value(%rip)", {
      size: 8,
      signed: false,
      kind: "mem",
      scale: 1,
      disp: 0,
      symbol: "global_value",
      base: reg("ip", 8),
    }],
    ["-4@counts+12(%rip)", {
      size: 4,
      signed: true,
      kind: "mem",
      scale: 1,
      disp: 12,
      symbol: "counts",
      base: reg("ip", 8),
    }],
    ["8@table(,%rax,8)", {
      size: 8,
      signed: false,
      kind: "mem",
      scale: 8,
      disp: 0,
      symbol: "table",
      index: reg("ax", 8),
    }],
    ["4@counter", {
      size: 4,
      signed: false,
      kind: "mem",
      scale: 1,
      disp: 0,
      symbol: "counter",
    }],
  ];
  for (const [spec, want] of cases) {
    const a = parseUsdtArg(spec);
    assert.equal(a.text, spec);
    assert.deepEqual(shape(a), want, spec);
  }
});

Deno.test("usdt: malformed argument specs are UsdtArgErrors naming the spec", () => {
  const bad: [string, RegExp][] = [
    ["3@%rax", /size 3 is not 1, 2, 4 or 8/],
    ["8@%xmm0", /unknown register "%xmm0"/],
    ["8@(%rax,%rdx,3)", /scale 3 is not 1, 2, 4 or 8/],
    ["8@", /unknown operand/],
    ["4@$x", /bad constant "\$x"/],
    ["8@()", /without registers/],
    ["8@16(rax)", /bad base register "rax"/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => parseUsdtArg(spec), (e: unknown) => {
      assert.ok(e instanceof UsdtArgError, spec);
      assert.ok(e instanceof SyntaxError);
      assert.match(e.message, re, spec);
      assert.ok(e.message.includes(`"${spec}"`), e.message);
      return true;
    });
  }
});

Deno.test("usdt: argument lists split on spaces outside parentheses", () => {
  assert.deepEqual(
    parseUsdtArgs(" 8@%r14  8@(%rax, %rdx, 8) -4@%ebp ").map((a) => a.text),
    ["8@%r14", "8@(%rax, %rdx, 8)", "-4@%ebp"],
  );
  assert.deepEqual(parseUsdtArgs(""), []);
});

const NOTE_A: StapsdtNote = {
  pc: 0x401010n,
  base: 0x402000n,
  semaphore: 0x404010n,
  provider: "app",
  name: "start",
  args: "-4@%edi 8@-16(%rbp) -4@$5 8@value(%rip)",
};
const NOTE_B: StapsdtNote = {
  pc: 0x401020n,
  base: 0x402000n,
  semaphore: 0n,
  provider: "app",
  name: "stop",
  args: "",
};

/** A GNU build-ID note, which the stapsdt parser must step over. */
function otherNote(): Uint8Array {
  const out = new Uint8Array(12 + 4 + 8);
  const v = new DataView(out.buffer);
  v.setUint32(0, 4, true);
  v.setUint32(4, 8, true);
  v.setUint32(8, 3, true);
  out.set([0x47, 0x4e, 0x55, 0], 12);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("usdt: hand-built .note.stapsdt sections parse note by note", () => {
  const data = concat(
    buildStapsdtNote(NOTE_A),
    otherNote(),
    buildStapsdtNote(NOTE_B),
  );
  assert.deepEqual(parseStapsdtNotes(data), [NOTE_A, NOTE_B]);
  // A truncated last note is left out, not misread.
  assert.deepEqual(parseStapsdtNotes(data.subarray(0, data.length - 4)), [
    NOTE_A,
  ]);
});

/** A non-PIE binary: text at 0x401000 (file 0x1000), data at 0x404000 (file 0x3000). */
function fakeElf(type = 2): ElfInfo {
  return {
    path: "/opt/app",
    type,
    machine: 62,
    hasSymtab: true,
    loads: [
      {
        type: 1,
        flags: 5,
        offset: 0x1000n,
        vaddr: 0x401000n,
        filesz: 0x1000n,
        memsz: 0x1000n,
      },
      {
        type: 1,
        flags: 6,
        offset: 0x3000n,
        vaddr: 0x404000n,
        filesz: 0x200n,
        memsz: 0x400n,
      },
    ],
    symbols: [{
      name: "value",
      value: 0x404020n,
      size: 8,
      type: "object",
      bind: "global",
      section: 20,
      dynamic: false,
    }],
  };
}

Deno.test("usdt: locations get file offsets, semaphores and symbol addresses", () => {
  const [a, b] = locateUsdtProbes(fakeElf(), [NOTE_A, NOTE_B], 0x402000n);
  assert.equal(a.address, 0x401010);
  assert.equal(a.fileOffset, 0x1010);
  assert.equal(a.semaphore, 0x404010);
  assert.equal(a.semaphoreOffset, 0x3010);
  assert.equal(a.pie, false);
  assert.equal(a.args.length, 4);
  const sym = a.args[3];
  assert.ok(sym.kind === "mem" && sym.symbolAddress === 0x404020);
  assert.equal(b.semaphoreOffset, 0);
  assert.deepEqual(b.args, []);
  assert.equal(locateUsdtProbes(fakeElf(3), [NOTE_B])[0].pie, true);
});

Deno.test("usdt: .stapsdt.base moves probe and semaphore addresses", () => {
  // Prelinked: the section now sits 0x100 above the base the note recorded.
  const [a] = locateUsdtProbes(fakeElf(), [NOTE_A], 0x402100n);
  assert.equal(a.address, 0x401110);
  assert.equal(a.fileOffset, 0x1110);
  assert.equal(a.semaphore, 0x404110);
  assert.equal(a.semaphoreOffset, 0x3110);
  // Without the section, addresses are as written.
  assert.equal(locateUsdtProbes(fakeElf(), [NOTE_A])[0].address, 0x401010);
});

Deno.test("usdt: bad locations are RangeErrors, bad arguments argErrors", () => {
  assert.throws(
    () => locateUsdtProbes(fakeElf(), [{ ...NOTE_B, pc: 0x900000n }]),
    /USDT probe "app:stop" of "\/opt\/app" is at 0x900000, in no loadable segment/,
  );
  // A semaphore must have file contents: the kernel counts it at a file
  // offset (past `filesz`, in .bss, it has none).
  assert.throws(
    () => locateUsdtProbes(fakeElf(), [{ ...NOTE_B, semaphore: 0x404300n }]),
    /semaphore of USDT probe "app:stop".* in no loadable segment/,
  );
  // A probe whose arguments cannot be read still attaches; reading them
  // is what fails (see the compile error below).
  const [sym] = locateUsdtProbes(fakeElf(), [{
    ...NOTE_B,
    args: "8@%rdi 8@nope(%rip)",
  }]);
  assert.deepEqual(sym.args, []);
  assert.equal(
    sym.argError,
    'Argument "8@nope(%rip)" names symbol "nope", which "/opt/app" does not define',
  );
  const [xmm] = locateUsdtProbes(fakeElf(), [{ ...NOTE_B, args: "8@%xmm0" }]);
  assert.match(xmm.argError!, /Cannot parse USDT argument "8@%xmm0"/);
  const ap = {
    kind: "usdt" as const,
    target: "/opt/app",
    symbol: "app:stop",
    text: "usdt:/opt/app:app:stop",
  };
  assert.equal(
    usdtArgType({ ...ap, usdt: xmm }, 0),
    'Cannot read the arguments of /opt/app:app:stop: Cannot parse USDT argument "8@%xmm0": unknown register "%xmm0"',
  );
  assert.equal(
    usdtArgType({ ...ap, usdt: locateUsdtProbes(fakeElf(), [NOTE_B])[0] }, 0),
    "couldn't get argument 0 for /opt/app:app:stop (it has no arguments)",
  );
  assert.deepEqual(
    usdtArgType({ ...ap, usdt: locateUsdtProbes(fakeElf(), [NOTE_A])[0] }, 3),
    { k: "int", size: 8, signed: false, ptr: "user" },
  );
});

Deno.test("usdt: probe patterns match provider and name, with wildcards", () => {
  const p = (provider: string, name: string) =>
    ({ provider, name }) as UsdtProbe;
  const all = [
    p("python", "gc__start"),
    p("python", "gc__done"),
    p("libc", "setjmp"),
    p("libc", "longjmp"),
  ];
  const names = (spec: string) =>
    matchUsdtProbes(all, spec).map((x) => `${x.provider}:${x.name}`);
  assert.deepEqual(names("gc__start"), ["python:gc__start"]);
  assert.deepEqual(names("python:gc*"), [
    "python:gc__start",
    "python:gc__done",
  ]);
  assert.deepEqual(names("*jmp"), ["libc:setjmp", "libc:longjmp"]);
  assert.deepEqual(names("l?bc:*"), ["libc:setjmp", "libc:longjmp"]);
  assert.deepEqual(names("*").length, 4);
  assert.deepEqual(names("*:*").length, 4);
  assert.deepEqual(names("python:setjmp"), []);
});

const PYTHON_LIST = [
  "audit",
  "function__entry",
  "function__return",
  "gc__done",
  "gc__start",
  "import__find__load__done",
  "import__find__load__start",
  "line",
].map((n) => `usdt:${PYTHON}:python:${n}`);

Deno.test({
  name: "usdt: python3.11's notes, semaphores and -l listing",
  ignore: pythonSkipReason !== undefined,
  fn() {
    const probes = readUsdtProbes(PYTHON);
    assert.equal(probes.length, 8);
    const gc = probes.find((p) => p.name === "gc__start")!;
    assert.equal(gc.provider, "python");
    assert.equal(gc.args.length, 1);
    assert.ok(gc.args[0].signed && gc.args[0].size === 4);
    // Every python probe is guarded by a semaphore in its data segment.
    for (const p of probes) assert.ok(p.semaphoreOffset > 0, p.name);
    // As `bpftrace -l 'usdt:/usr/bin/python3.11:*'` prints it.
    assert.deepEqual(listProbes(`usdt:${PYTHON}:*`), PYTHON_LIST);
    assert.deepEqual(listProbes(`usdt:${PYTHON}`), PYTHON_LIST);
    assert.deepEqual(listProbes(`U:${PYTHON}:python:gc*`), [
      `usdt:${PYTHON}:python:gc__done`,
      `usdt:${PYTHON}:python:gc__start`,
    ]);
    assert.deepEqual(listProbes(`usdt:${PYTHON}:*entry`), [
      `usdt:${PYTHON}:python:function__entry`,
    ]);
    assert.deepEqual(listProbes(`usdt:${PYTHON}:nope:*`), []);
  },
});

Deno.test({
  name: "usdt: the test target's notes hold every operand form",
  ignore: targetSkipReason !== undefined,
  async fn() {
    const bin = await usdtTargetPath();
    const probes = readUsdtProbes(bin);
    const by = new Map(probes.map((p) => [p.name, p]));
    assert.deepEqual([...by.keys()].sort(), [
      "consts",
      "guarded",
      "index",
      "mem",
      "noargs",
      "regs",
      "twice",
    ]);
    // One probe, two locations, each with its own argument spec.
    const twice = probes.filter((p) => p.name === "twice");
    assert.equal(twice.length, 2);
    assert.notEqual(twice[0].fileOffset, twice[1].fileOffset);
    assert.deepEqual(twice.map((p) => p.args[0].kind), ["reg", "mem"]);
    assert.ok(probes.every((p) => p.pie));
    assert.deepEqual(
      by.get("regs")!.args.map((a) => [a.kind, a.size, a.signed]),
      [["reg", 4, true], ["reg", 8, false], ["reg", 1, true], [
        "reg",
        2,
        false,
      ]],
    );
    const mem = by.get("mem")!.args;
    assert.ok(mem.every((a) => a.kind === "mem"));
    assert.ok(mem[2].kind === "mem" && mem[2].symbol === "global_value");
    assert.ok(mem[2].symbolAddress! > 0);
    const index = by.get("index")!.args[0];
    assert.ok(index.kind === "mem" && index.index !== undefined);
    assert.equal(index.scale, 8);
    assert.deepEqual(
      by.get("consts")!.args.map((a) => a.kind === "const" && a.value),
      ["-5", "5", "16"],
    );
    assert.equal(by.get("guarded")!.semaphoreOffset > 0, true);
    assert.equal(by.get("regs")!.semaphoreOffset, 0);
    // A path is listed as written, a probe once however many locations.
    assert.deepEqual(
      listUsdtProbes(bin, "tsbpf:*").map((l) => l.split(":").pop()),
      ["consts", "guarded", "index", "mem", "noargs", "regs", "twice"],
    );
    // A program per location: the names stay unique.
    const prog = compile(`usdt:${bin}:twice { @[arg0] = count(); }`);
    assert.deepEqual(prog.probes.map((p) => p.name), ["twice_1", "twice_2"]);
    assert.deepEqual(
      prog.probes.map((p) => p.attach[0].usdt?.fileOffset),
      twice.map((p) => p.fileOffset),
    );
    assert.ok(listUsdtProbes(bin)[0].startsWith(`usdt:${bin}:tsbpf:`));
  },
});

/** The first error of compiling `src`, formatted as the CLI prints it. */
function compileError(src: string): string {
  try {
    compile(src, { fileName: "x.bt" });
  } catch (e) {
    if (e instanceof CompileErrors) return e.errors[0].format(src, "x.bt");
    throw e;
  }
  throw new Error(`no error compiling ${src}`);
}

Deno.test("usdt: an unknown binary and a binary without notes are compile errors", () => {
  assert.equal(
    compileError("usdt:/nonexistent/bin:p:n { @ = count(); }"),
    "x.bt:1:1: ERROR: usdt target file '/nonexistent/bin' does not exist or is not executable\n" +
      "usdt:/nonexistent/bin:p:n { @ = count(); }\n" +
      "~".repeat("usdt:/nonexistent/bin:p:n".length),
  );
  // `*` or an empty binary stands for every file of the -p process.
  for (const bin of ["*", ""]) {
    const msg = compileError(`usdt:${bin}:python:gc__start { @ = count(); }`);
    assert.ok(
      msg.startsWith(
        `x.bt:1:1: ERROR: A usdt probe on every binary ("${bin}") needs -p PID`,
      ),
      msg,
    );
  }
  assert.match(
    compileError("usdt:/bin/true:foo { @ = count(); }"),
    /^x\.bt:1:1: ERROR: No USDT probes in '\/bin\/true': it has no \.note\.stapsdt section\n/,
  );
});

Deno.test({
  name: "usdt: unknown probes get a did-you-mean, bad arguments a mark",
  ignore: pythonSkipReason !== undefined,
  fn() {
    assert.equal(
      compileError(
        `usdt:${PYTHON}:python:gc__strat { @ = count(); }`,
      ),
      `x.bt:1:1: ERROR: USDT probe "python:gc__strat" not found in '${PYTHON}'; did you mean "python:gc__start"?\n` +
        `usdt:${PYTHON}:python:gc__strat { @ = count(); }\n` +
        "~".repeat(`usdt:${PYTHON}:python:gc__strat`.length),
    );
    assert.match(
      compileError(`usdt:${PYTHON}:gc_strt { @ = count(); }`),
      /USDT probe "gc_strt" not found in '\/usr\/bin\/python3\.11'; did you mean "gc__start"\?/,
    );
    assert.match(
      compileError(`usdt:${PYTHON}:nope:* { @ = count(); }`),
      /No USDT probes in '\/usr\/bin\/python3\.11' match "nope:\*"/,
    );
    const src = `usdt:${PYTHON}:python:gc__start {\n  @ = arg1;\n}`;
    assert.equal(
      compileError(src),
      `x.bt:2:7: ERROR: couldn't get argument 1 for ${PYTHON}:python:gc__start (it has 1 argument: arg0)\n` +
        "  @ = arg1;\n" +
        "      ~~~~",
    );
  },
});

Deno.test({
  name: "usdt: a wildcard compiles one program per location",
  ignore: pythonSkipReason !== undefined,
  fn() {
    const prog = compile(
      `usdt:${PYTHON}:python:gc* { @[probe] = count(); @a = sum(arg0); }`,
    );
    assert.deepEqual(
      prog.probes.map((p) => [p.name, p.attach.map((a) => a.text)]),
      [
        ["gc__start", [`usdt:${PYTHON}:python:gc__start`]],
        ["gc__done", [`usdt:${PYTHON}:python:gc__done`]],
      ],
    );
    for (const p of prog.probes) assert.ok(p.attach[0].usdt !== undefined);
  },
});

Deno.test({
  name: "usdt: the interpreter synthesizes python3.11's probes plausibly",
  ignore: pythonSkipReason !== undefined,
  async fn() {
    const r = await runProgram("interp", {
      source: `usdt:${PYTHON}:python:gc__start { @gen[arg0] = count(); }
usdt:${PYTHON}:python:function__entry { @fn[str(arg1)] = count(); @line = min(arg2); @n = count(); }`,
      interpMs: 200,
    });
    assert.equal(r.faults, 0, r.firstFault);
    assert.equal(total(r, "@gen"), 200);
    // The generation (a 4-byte stack operand, 112(%rsp)) is 0, 1 or 2,
    // drawn afresh for every event, young generations most often.
    const gen = new Map(entries(r, "@gen").map(([k, n]) => [k, Number(n)]));
    assert.deepEqual([...gen.keys()].sort(), ["0", "1", "2"]);
    assert.ok(gen.get("0")! > gen.get("1")! && gen.get("1")! > gen.get("2")!);
    // Function names are strings in user memory (an 8-byte register).
    assert.ok(entries(r, "@fn").length > 1);
    for (const [k] of entries(r, "@fn")) assert.match(k, /^[<\w>]+$/);
    assert.ok(Number(only(r, "@line")) >= 1);
    assert.equal(only(r, "@n"), 200);
  },
});

Deno.test({
  name: "usdt: the interpreter reads every operand form where it put values",
  ignore: targetSkipReason !== undefined,
  async fn() {
    const bin = await usdtTargetPath();
    const r = await runProgram("interp", {
      source: `usdt:${bin}:tsbpf:consts { @c[arg0, arg1, arg2] = count(); }
usdt:${bin}:tsbpf:regs { @small = min(arg2); @big = max(arg2); @r = count(); }
usdt:${bin}:tsbpf:mem { @zero[arg0 == 0 && arg1 == 0 && arg2 == 0] = count(); }
usdt:${bin}:tsbpf:index { @i = count(); }
usdt:${bin}:tsbpf:guarded { @g = count(); }`,
      interpMs: 40,
    });
    assert.equal(r.faults, 0, r.firstFault);
    // Constants come from the note itself.
    assert.deepEqual(entries(r, "@c"), [["-5|5|16", 40]]);
    // A signed byte register (-1@%cl-like) stays in a byte's range.
    assert.ok(Number(only(r, "@small")) >= -128);
    assert.ok(Number(only(r, "@big")) <= 127);
    // Memory operands (stack, RIP-relative) read the values placed for
    // them, never all zeros from failed reads.
    assert.deepEqual(entries(r, "@zero"), [["false", 40]]);
    assert.equal(only(r, "@i"), 40);
    assert.equal(only(r, "@g"), 40);
  },
});

const FIXTURE_NOTES = [
  note("regs", 0x400100n, "-4@%edi 8@%rax -1@%cl 1@%ah 2@%r9w"),
  note(
    "mem",
    0x400110n,
    "8@-16(%rbp) -4@112(%rsp) 8@value(%rip) 4@value+4",
    NOTE_SEMAPHORE,
  ),
  note("index", 0x400120n, "8@(%rax,%rdx,8) 4@0x10(,%rcx,4)"),
  note("consts", 0x400130n, "-4@$-5 4@$5 8@$0x10 -1@$255"),
];

/** Runs `f` with the fixture ELF written to a temporary file. */
async function withFixture(f: (path: string) => Promise<void> | void) {
  const path = writeUsdtElf(FIXTURE_NOTES);
  try {
    await f(path);
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("usdt: a hand-built ELF's notes, moved by .stapsdt.base", async () => {
  await withFixture((path) => {
    const probes = readUsdtProbes(path);
    assert.deepEqual(
      probes.map((p) => [p.name, p.address, p.fileOffset, p.semaphoreOffset]),
      [
        ["regs", 0x400200, 0x200, 0],
        ["mem", 0x400210, 0x210, 0x1010],
        ["index", 0x400220, 0x220, 0],
        ["consts", 0x400230, 0x230, 0],
      ],
    );
    assert.equal(probes[1].semaphore, 0x601010);
    assert.ok(probes.every((p) => !p.pie && p.argError === undefined));
    const [, , rip, abs] = probes[1].args;
    assert.ok(rip.kind === "mem" && rip.symbolAddress === 0x601020);
    assert.ok(abs.kind === "mem" && abs.symbolAddress === 0x601020);
    assert.equal(abs.disp, 4);
    assert.deepEqual(listProbes(`usdt:${path}:fix:*`), [
      `usdt:${path}:fix:consts`,
      `usdt:${path}:fix:index`,
      `usdt:${path}:fix:mem`,
      `usdt:${path}:fix:regs`,
    ]);
  });
});

const FIXTURE_PROGRAM = (path: string) =>
  `usdt:${path}:fix:regs { @r0 = sum(arg0); @r1 = sum(arg1); @r2 = sum(arg2); @r3 = sum(arg3); @r4 = sum(arg4); }
usdt:${path}:fix:mem { @m0 = sum(arg0); @m1 = sum(arg1); @m2 = sum(arg2); @m3 = sum(arg3); }
usdt:${path}:fix:index { @i0 = sum(arg0); @i1 = sum(arg1); }
usdt:${path}:fix:consts { @c[arg0, arg1, arg2, arg3] = count(); }`;

Deno.test("usdt: the code every operand form compiles to", async (t) => {
  await withFixture(async (path) => {
    const text = formatDryRun(compile(FIXTURE_PROGRAM(path)));
    await t.assertSnapshot(text.replaceAll(path, "FIXTURE"));
  });
});

Deno.test("usdt: the interpreter runs every operand form of the hand-built ELF", async () => {
  await withFixture(async (path) => {
    const r = await runProgram("interp", {
      source: FIXTURE_PROGRAM(path),
      interpMs: 30,
    });
    assert.equal(r.faults, 0, r.firstFault);
    // Constants, sized and sign-extended as the note says (-1@$255 is -1).
    assert.deepEqual(entries(r, "@c"), [["-5|5|16|-1", 30]]);
    // Every memory operand read a value placed for it (a failed read
    // gives 0; placed values are nonzero with these seeds).
    for (const m of ["@m0", "@m1", "@m2", "@m3", "@i0", "@i1"]) {
      assert.notEqual(only(r, m), 0, m);
    }
    // %ah is a byte: its sum over 30 events stays below 30 * 256.
    assert.ok(Number(only(r, "@r3")) < 30 * 256);
  });
});

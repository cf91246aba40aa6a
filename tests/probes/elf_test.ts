import assert from "node:assert/strict";
import {
  ElfError,
  readElf,
  readElfSymbols,
  UnknownSymbolError,
} from "../../runtime/probes/elf.ts";
import { findBinary } from "../../runtime/probes/find_binary.ts";
import {
  listUprobeSymbols,
  resolveUprobe,
} from "../../runtime/probes/uprobe_target.ts";
import { ElfSymbolizer } from "../../runtime/probes/user_symbols.ts";

function run(cmd: string, args: string[]): string | undefined {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

const hasReadelf = run("readelf", ["--version"]) !== undefined;
if (!hasReadelf) {
  console.log("readelf is not installed: comparisons with it are skipped");
}
const hasBpftrace = run("bpftrace", ["--version"]) !== undefined;
if (!hasBpftrace) {
  console.log("bpftrace is not installed: comparisons with it are skipped");
}

const libc = findBinary("libc");

/** readelf -sW symbols as name (version stripped) → [value, size, type]. */
function readelfSymbols(
  path: string,
  dyn: boolean,
): Map<string, [bigint, number, string]> {
  const out = new Map<string, [bigint, number, string]>();
  const text = run("readelf", ["-W", dyn ? "--dyn-syms" : "-s", path]) ?? "";
  for (const line of text.split("\n")) {
    const m =
      /^\s*\d+:\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s+(\S+)/
        .exec(line);
    if (m === null || m[5] === "UND") continue;
    const name = m[6].replace(/@.*$/, "");
    if (!out.has(name)) {
      out.set(name, [BigInt("0x" + m[1]), Number(m[2]), m[3]]);
    }
  }
  return out;
}

/** readelf -lW LOAD segments as [offset, vaddr, filesz]. */
function readelfLoads(path: string): [bigint, bigint, bigint][] {
  const text = run("readelf", ["-lW", path]) ?? "";
  return [
    ...text.matchAll(
      /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/gm,
    ),
  ]
    .map((m) => [BigInt(m[1]), BigInt(m[2]), BigInt(m[3])]);
}

Deno.test("findBinary resolves paths, libraries and programs", () => {
  assert.equal(findBinary("/bin/true"), "/bin/true");
  assert.match(libc, /^\/.*\/libc\.so\.6$/);
  assert.equal(findBinary("libc.so.6"), libc);
  const ld = run("ldconfig", ["-p"]);
  if (ld !== undefined) {
    const m = /^\s*libc\.so\.6 \([^)]*x86-64[^)]*\) => (\S+)$/m.exec(ld);
    if (m) assert.equal(Deno.realPathSync(libc), Deno.realPathSync(m[1]));
  }
  const bash = findBinary("bash");
  assert.ok(bash.startsWith("/") && bash.endsWith("/bash"));
  assert.ok(
    (Deno.env.get("PATH") ?? "").split(":").some((d) => `${d}/bash` === bash),
  );
  assert.throws(
    () => findBinary("no_such_binary_tsbpf"),
    (e: unknown) =>
      e instanceof ElfError &&
      e.message === 'Cannot find binary "no_such_binary_tsbpf"',
  );
});

Deno.test("readElf rejects what is not ELF64 LE", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/text`, "hello, not an elf\n");
    assert.throws(
      () => readElf(`${dir}/text`),
      (e: unknown) =>
        e instanceof ElfError && e instanceof TypeError &&
        e.message === `Cannot read ELF "${dir}/text": not an ELF file`,
    );
    const elf32 = new Uint8Array(64);
    elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    Deno.writeFileSync(`${dir}/elf32`, elf32);
    assert.throws(() => readElf(`${dir}/elf32`), /not a 64-bit ELF file/);
    const be = new Uint8Array(64);
    be.set([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]);
    Deno.writeFileSync(`${dir}/be`, be);
    assert.throws(() => readElf(`${dir}/be`), /not a little-endian ELF file/);
    const trunc = new Uint8Array(64);
    trunc.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    new DataView(trunc.buffer).setBigUint64(40, 1000000n, true); // e_shoff
    new DataView(trunc.buffer).setUint16(58, 64, true);
    new DataView(trunc.buffer).setUint16(60, 3, true);
    Deno.writeFileSync(`${dir}/trunc`, trunc);
    assert.throws(() => readElf(`${dir}/trunc`), /bad section headers/);
    assert.throws(
      () => readElf(`${dir}/missing`),
      /Cannot read ELF ".*missing": no such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "readElfSymbols of /bin/true equals readelf --dyn-syms",
  ignore: !hasReadelf,
  fn() {
    const ours = readElfSymbols("/bin/true").filter((s) =>
      s.dynamic && s.section !== 0
    );
    const theirs = readelfSymbols("/bin/true", true);
    assert.equal(new Set(ours.map((s) => s.name)).size, theirs.size);
    for (const s of ours) {
      const t = theirs.get(s.name);
      assert.ok(t, s.name);
      assert.equal(s.value, t[0], s.name);
      assert.equal(s.size, t[1], s.name);
    }
  },
});

Deno.test({
  name: "resolveUprobe(libc, getpid) matches readelf symbol and segments",
  ignore: !hasReadelf,
  fn() {
    const t = resolveUprobe("libc", "getpid");
    assert.equal(t.path, libc);
    const sym = readelfSymbols(libc, true).get("getpid");
    assert.ok(sym, "readelf knows getpid");
    assert.equal(t.address, sym[0]);
    const seg = readelfLoads(libc).find(([, vaddr, filesz]) =>
      sym[0] >= vaddr && sym[0] < vaddr + filesz
    );
    assert.ok(seg);
    assert.equal(t.fileOffset, sym[0] - seg[1] + seg[0]);
    assert.equal(t.symbol?.type, "func");
    // With an offset inside the function.
    const t4 = resolveUprobe(libc, "getpid", 4);
    assert.equal(t4.address, sym[0] + 4n);
    assert.equal(t4.fileOffset, t.fileOffset + 4n);
    // By address.
    const ta = resolveUprobe(libc, `0x${sym[0].toString(16)}`);
    assert.equal(ta.fileOffset, t.fileOffset);
  },
});

Deno.test({
  name: "resolveUprobe on a binary whose code segment is offset (bash)",
  ignore: !hasReadelf,
  fn() {
    const bash = findBinary("bash");
    const loads = readelfLoads(bash);
    const funcs = [...readelfSymbols(bash, true)].filter(([, v]) =>
      v[2] === "FUNC"
    );
    assert.ok(funcs.length > 10);
    for (const [name, [value]] of funcs.slice(0, 50)) {
      const seg = loads.find(([, vaddr, filesz]) =>
        value >= vaddr && value < vaddr + filesz
      )!;
      assert.equal(
        resolveUprobe(bash, name).fileOffset,
        value - seg[1] + seg[0],
        name,
      );
    }
  },
});

Deno.test("resolveUprobe errors", () => {
  assert.throws(
    () => resolveUprobe("libc", "no_such_function_tsbpf"),
    (e: unknown) =>
      e instanceof UnknownSymbolError &&
      e.message === `Unknown symbol "no_such_function_tsbpf" in "${libc}"`,
  );
  const size = resolveUprobe("libc", "getpid").symbol!.size;
  assert.throws(() => resolveUprobe("libc", "getpid", size), RangeError);
  assert.throws(() => resolveUprobe("libc", "0xffffffffff"), RangeError);
});

Deno.test({
  name: "listUprobeSymbols equals bpftrace -l for bash and libc",
  ignore: !hasBpftrace,
  fn() {
    for (const [bin, pattern] of [["/bin/bash", "read*"], [libc, "*"]]) {
      const text = run("bpftrace", ["-l", `uprobe:${bin}:${pattern}`]) ?? "";
      const theirs = text.split("\n").filter((l) => l.startsWith("uprobe:"))
        .map((l) => l.slice(`uprobe:${bin}:`.length)).sort();
      const t0 = performance.now();
      const ours = listUprobeSymbols(bin, pattern);
      const ms = performance.now() - t0;
      assert.ok(theirs.length > 0);
      assert.deepEqual(ours, theirs);
      console.log(
        `${bin}:${pattern}: ${ours.length} symbols (${ms.toFixed(0)} ms)`,
      );
    }
  },
});

Deno.test("listUprobeSymbols filters by glob", () => {
  const getp = listUprobeSymbols("libc", "getp?d");
  assert.ok(getp.includes("getpid"));
  assert.ok(getp.every((n) => /^getp.d$/.test(n)));
  assert.deepEqual(listUprobeSymbols("libc", "getpid"), ["getpid"]);
  assert.deepEqual(listUprobeSymbols("libc", "no_such_*_tsbpf"), []);
});

Deno.test({
  name: "ElfSymbolizer resolves libc addresses of this process",
  ignore: !hasReadelf,
  fn() {
    const t = resolveUprobe("libc", "getpid");
    const real = Deno.realPathSync(libc);
    const maps = Deno.readTextFileSync("/proc/self/maps").split("\n");
    // The mapping holding getpid's file offset.
    let addr: bigint | undefined;
    for (const line of maps) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s+(\/\S+)/
        .exec(line);
      if (!m || (m[5] !== libc && m[5] !== real)) continue;
      const start = BigInt("0x" + m[1]);
      const end = BigInt("0x" + m[2]);
      const pgoff = BigInt("0x" + m[4]);
      const a = start + (t.fileOffset - pgoff);
      if (a >= start && a < end) addr = a;
    }
    if (addr === undefined) {
      console.log("libc is not mapped in this process: skipped");
      return;
    }
    const s = new ElfSymbolizer();
    assert.equal(s.symbolize(addr), "getpid+0");
    assert.equal(s.symbolize(addr + 3n), "getpid+3");
    const r = s.resolve(addr + 1n);
    assert.equal(r?.name, "getpid");
    assert.equal(r?.offset, 1);
    assert.ok(r?.path === libc || r?.path === real);
    assert.equal(s.symbolize(0x10n), "0x10");
    const pidS = new ElfSymbolizer(Deno.pid);
    assert.equal(pidS.symbolize(addr + 3n), "getpid+3");
  },
});

Deno.test("ElfSymbolizer over maps text", () => {
  const t = resolveUprobe("libc", "getpid");
  const base = 0x7f0000000000n;
  // A two-mapping layout: the code mapped at file offset 0x1000-aligned.
  const pg = t.fileOffset & ~0xfffn;
  const s = ElfSymbolizer.fromMaps(
    [
      `7e0000000000-7e0000001000 r--p 00000000 08:01 42 ${t.path}`,
      `${base.toString(16)}-${(base + 0x10000n).toString(16)} r-xp ${
        pg.toString(16).padStart(8, "0")
      } 08:01 42 ${t.path} (deleted)`,
      `7ff000000000-7ff000001000 rw-p 00000000 00:00 0 [stack]`,
    ].join("\n"),
  );
  const addr = base + (t.fileOffset - pg);
  assert.equal(s.symbolize(addr + 5n), "getpid+5");
  assert.equal(s.symbolize(0x7ff000000010n), "0x7ff000000010");
});

Deno.test("ElfSymbolizer names functions only: an address in a data object prints as hex", () => {
  // As bpftrace's symbolizers: a stack's stray frame pointing into data is
  // an address, not the name of a variable.
  const info = readElf(libc);
  const obj = info.symbols.find((x) =>
    x.type === "object" && x.section !== 0 && x.size >= 16 &&
    info.loads.some((g) => x.value >= g.vaddr && x.value < g.vaddr + g.filesz)
  );
  if (obj === undefined) {
    console.log("libc has no data object symbol: skipped");
    return;
  }
  const seg = info.loads.find((g) =>
    obj.value >= g.vaddr && obj.value < g.vaddr + g.filesz
  )!;
  const fileOffset = obj.value - seg.vaddr + seg.offset;
  const pg = fileOffset & ~0xfffn;
  const base = 0x7f0000000000n;
  const s = ElfSymbolizer.fromMaps(
    `${base.toString(16)}-${(base + 0x100000n).toString(16)} rw-p ${
      pg.toString(16).padStart(8, "0")
    } 08:01 42 ${info.path}`,
  );
  const addr = base + (fileOffset - pg);
  assert.equal(s.symbolize(addr), `0x${addr.toString(16)}`, obj.name);
  assert.equal(s.resolve(addr + 8n)?.name, undefined, obj.name);
});

Deno.test("readElf caches and reports build ID and debug symbols", () => {
  const a = readElf(libc);
  assert.equal(readElf(libc), a);
  assert.ok(a.loads.length >= 2);
  assert.ok(a.loads.some((l) => (l.flags & 1) !== 0), "an executable segment");
  if (hasReadelf) {
    const notes = run("readelf", ["-n", libc]) ?? "";
    const m = /Build ID: ([0-9a-f]+)/.exec(notes);
    if (m) assert.equal(a.buildId, m[1]);
  }
  if (a.debugFile !== undefined) {
    console.log(`libc debug symbols from ${a.debugFile}`);
    assert.ok(
      a.symbols.length > readElfSymbols(libc).filter((s) => s.dynamic).length,
    );
  }
});

Deno.test({
  name: "findBinary passes over a script in PATH for the ELF file behind it",
  ignore: Deno.build.os !== "linux",
  fn() {
    const shims = Deno.makeTempDirSync({ prefix: "tsbpf_shims_" });
    const bins = Deno.makeTempDirSync({ prefix: "tsbpf_bins_" });
    const name = `tsbpf_shimmed_${Deno.pid}`;
    const path = Deno.env.get("PATH");
    try {
      // A version-manager shim first in PATH, the real program after it.
      Deno.writeTextFileSync(`${shims}/${name}`, "#!/bin/sh\nexec true\n");
      Deno.chmodSync(`${shims}/${name}`, 0o755);
      Deno.copyFileSync("/bin/true", `${bins}/${name}`);
      Deno.chmodSync(`${bins}/${name}`, 0o755);
      Deno.env.set("PATH", `${shims}:${bins}`);
      assert.equal(findBinary(name), `${bins}/${name}`);
    } finally {
      if (path === undefined) Deno.env.delete("PATH");
      else Deno.env.set("PATH", path);
      Deno.removeSync(shims, { recursive: true });
      Deno.removeSync(bins, { recursive: true });
    }
  },
});

/**
 * pprof profiles (`scripts/profile.ts --pprof FILE`): the encoder read
 * back with protobufjs against profile.proto and checked against pprof's
 * invariants; the script on the interpreter (no root); `go tool pprof` or
 * `pprof` reading a profile when one is installed.
 */

import assert from "node:assert/strict";
import {
  encodePprof,
  gzip,
  KERNEL_MAPPING,
  ProcessMaps,
  writePprof,
} from "../../runtime/metrics/pprof.ts";
import { decodePprof, foldedOf, parseFolded } from "./pprof_helpers.ts";
import { runScript } from "../scripts/helpers.ts";
// A second, independent reader (Datadog's), for the tests only: kept out of
// deno.json's imports, which every run from a checkout installs.
// deno-lint-ignore no-import-prefix
import { Profile } from "npm:pprof-format@2.3.2";
import { which } from "../support/skip.ts";

const KADDR = 0xffffffff81a00010n;

Deno.test("encodePprof: types, period, labels, kernel and user mappings", async () => {
  const dd = {
    start: 0x400000n,
    limit: 0x452000n,
    offset: 0x1000n,
    file: "/usr/bin/dd",
    buildId: "0123456789abcdef0123456789abcdef01234567",
  };
  const p = await decodePprof(
    await gzip(encodePprof([
      {
        stack: [
          {
            name: "vfs_read_[k]",
            systemName: "vfs_read",
            address: KADDR,
            kernel: true,
          },
          {
            name: "do_syscall_64_[k]",
            systemName: "do_syscall_64",
            address: KADDR + 0x500n,
            kernel: true,
          },
          { name: "read", address: 0x401100n, mapping: dd },
          { name: "main", address: 0x401000n, mapping: dd },
        ],
        count: 5,
        labels: { comm: "dd", pid: "42" },
      },
      {
        stack: [{ name: "main", address: 0x401000n, mapping: dd }],
        count: 2,
        labels: { comm: "dd", pid: 42 },
      },
      { stack: [], count: 1, labels: { comm: "swapper/0" } },
    ], {
      periodNs: 1e9 / 99,
      timeNs: 1_700_000_000_000_000_000n,
      durationNs: 2_000_000_000n,
      comments: ["hello"],
    })),
  );
  assert.deepEqual(p.sampleTypes, [["samples", "count"], [
    "cpu",
    "nanoseconds",
  ]]);
  assert.deepEqual(p.periodType, ["cpu", "nanoseconds"]);
  assert.equal(p.period, 10_101_010);
  assert.equal(p.timeNanos, 1_700_000_000_000_000_000n);
  assert.equal(p.durationNanos, 2_000_000_000n);
  assert.equal(p.defaultSampleType, "cpu");
  assert.deepEqual(p.comments, ["hello"]);
  assert.deepEqual(p.samples.map((s) => s.values), [
    [5, 5 * 10_101_010],
    [2, 2 * 10_101_010],
    [1, 10_101_010],
  ]);
  assert.deepEqual(p.samples[0].labels, { comm: "dd", pid: "42" });
  assert.deepEqual(p.samples[1].labels, { comm: "dd", pid: 42 });
  const [k1, k2, u1, u2] = p.samples[0].locations;
  // Kernel addresses above 2^63 survive; one kernel mapping spans them.
  assert.equal(k1.address, KADDR);
  assert.deepEqual(k1.functions, [{
    name: "vfs_read_[k]",
    systemName: "vfs_read",
  }]);
  assert.equal(k1.mapping, k2.mapping);
  assert.deepEqual(
    { ...k1.mapping!, id: 0n },
    {
      id: 0n,
      start: KADDR,
      limit: KADDR + 0x501n,
      offset: 0n,
      file: KERNEL_MAPPING,
      buildId: "",
      hasFunctions: true,
    },
  );
  assert.deepEqual({ ...u1.mapping!, id: 0n }, {
    ...dd,
    id: 0n,
    hasFunctions: true,
  });
  assert.equal(u2.functions[0].name, "main");
  // One location per address: both samples share main's.
  assert.equal(p.samples[1].locations[0].id, u2.id);
  assert.equal(p.mappings.length, 2);
  assert.deepEqual(p.samples[2].locations, []);
});

Deno.test("pprof-format, Datadog's decoder, reads what encodePprof writes", () => {
  const exe = {
    start: 0x400000n,
    limit: 0x452000n,
    offset: 0x1000n,
    file: "/bin/x",
  };
  const bytes = encodePprof([
    {
      stack: [
        {
          name: "vfs_read_[k]",
          systemName: "vfs_read",
          address: KADDR,
          kernel: true,
        },
        { name: "spin", address: 0x401100n, mapping: exe },
        { name: "main", address: 0x401000n, mapping: exe },
      ],
      count: 3,
      labels: { comm: "x", pid: "9" },
    },
    { stack: [{ name: "main", address: 0x401000n, mapping: exe }], count: 4 },
  ], { periodNs: 1e7, timeNs: 5n, durationNs: 6n });
  const p = Profile.decode(bytes);
  const s = (i: number | bigint) => p.stringTable.strings[Number(i)];
  assert.equal(s(0), "");
  assert.deepEqual(p.sampleType.map((t) => [s(t.type), s(t.unit)]), [
    ["samples", "count"],
    ["cpu", "nanoseconds"],
  ]);
  assert.deepEqual([s(p.periodType!.type), s(p.periodType!.unit)], [
    "cpu",
    "nanoseconds",
  ]);
  assert.equal(Number(p.period), 1e7);
  assert.equal(Number(p.timeNanos), 5);
  assert.equal(Number(p.durationNanos), 6);
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  const map = new Map(p.mapping.map((m) => [Number(m.id), m]));
  const stacks = p.sample.map((x) => ({
    values: x.value.map(Number),
    labels: x.label.map((l) => `${s(l.key)}=${s(l.str)}`),
    frames: x.locationId.map((id) => {
      const l = loc.get(Number(id))!;
      const m = map.get(Number(l.mappingId))!;
      const f = fn.get(Number(l.line[0].functionId))!;
      return `${s(f.name)}/${s(f.systemName)}@${
        BigInt(l.address).toString(16)
      } in ${s(m.filename)} ${BigInt(m.memoryStart).toString(16)}-${
        BigInt(m.memoryLimit).toString(16)
      }+${BigInt(m.fileOffset).toString(16)}`;
    }),
  }));
  assert.deepEqual(stacks, [
    {
      values: [3, 3e7],
      labels: ["comm=x", "pid=9"],
      frames: [
        `vfs_read_[k]/vfs_read@${KADDR.toString(16)} in ${KERNEL_MAPPING} ${
          KADDR.toString(16)
        }-${(KADDR + 1n).toString(16)}+0`,
        "spin/spin@401100 in /bin/x 400000-452000+1000",
        "main/main@401000 in /bin/x 400000-452000+1000",
      ],
    },
    {
      values: [4, 4e7],
      labels: [],
      frames: ["main/main@401000 in /bin/x 400000-452000+1000"],
    },
  ]);
});

Deno.test("encodePprof: frames without address or mapping, bad counts", async () => {
  const p = await decodePprof(
    await gzip(encodePprof([
      { stack: [{ name: "a" }, { name: "b" }, { name: "a" }], count: 1 },
    ], { periodNs: 1e7 })),
  );
  const [a, b, a2] = p.samples[0].locations;
  assert.equal(a.id, a2.id);
  assert.notEqual(a.id, b.id);
  assert.equal(a.mapping, undefined);
  assert.equal(a.address, 0n);
  assert.deepEqual(p.mappings, []);
  for (const count of [0, -1, 1.5]) {
    assert.throws(
      () => encodePprof([{ stack: [], count }], { periodNs: 1 }),
      RangeError,
    );
  }
});

Deno.test("ProcessMaps: executable file mappings of /proc/PID/maps", () => {
  const maps = new ProcessMaps((pid) =>
    pid === 1
      ? [
        "55d0c0000000-55d0c0001000 r--p 00000000 08:02 11 /usr/bin/x",
        "55d0c0001000-55d0c0005000 r-xp 00001000 08:02 11 /usr/bin/x",
        "7f0000000000-7f0000010000 rw-p 00000000 00:00 0 ",
        "7f0000020000-7f0000030000 r-xp 00000000 00:00 0 ",
        "7f1000000000-7f1000100000 r-xp 00028000 08:02 12 /usr/lib/libc.so.6 (deleted)",
        "7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]",
      ].join("\n")
      : undefined
  );
  maps.see(1);
  maps.see(2);
  assert.equal(maps.find(1, 0x55d0c0000010n), undefined, "not executable");
  assert.equal(maps.find(1, 0x55d0c0001010n)?.file, "/usr/bin/x");
  assert.equal(maps.find(1, 0x55d0c0001010n)?.offset, 0x1000n);
  assert.equal(maps.find(1, 0x7f0000020010n), undefined, "anonymous");
  assert.equal(maps.find(1, 0x7f1000000010n)?.file, "/usr/lib/libc.so.6");
  assert.equal(maps.find(1, 0x7ffd00000010n)?.file, "[vdso]");
  assert.equal(maps.find(2, 0x55d0c0001010n), undefined, "no such process");
});

Deno.test("ProcessMaps: this process's own code is in a mapping", () => {
  const maps = new ProcessMaps();
  maps.see(Deno.pid);
  const self = Deno.readTextFileSync("/proc/self/maps").split("\n")
    .find((l) => / r-xp .* \/\S+$/.test(l))!;
  const start = BigInt("0x" + self.slice(0, self.indexOf("-")));
  const file = self.split(/\s+/).at(-1)!;
  const m = maps.find(Deno.pid, start);
  assert.equal(m?.file, file);
  // The build ID, as binutils reads it.
  if (which("readelf") === undefined) return;
  const notes = new TextDecoder().decode(
    new Deno.Command("readelf", { args: ["-n", file], stdout: "piped" })
      .outputSync().stdout,
  );
  assert.equal(m?.buildId, /Build ID: ([0-9a-f]+)/.exec(notes)?.[1]);
});

/** Decodes the profile written to `path`, removed afterwards. */
async function readProfile(path: string) {
  try {
    return await decodePprof(Deno.readFileSync(path));
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("profile.ts --pprof on the interpreter: the folded stacks, as pprof", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".pb.gz" });
  const before = BigInt(Date.now()) * 1_000_000n;
  const r = await runScript("profile", [
    "--backend",
    "interp",
    "--seed",
    "1",
    "--duration",
    "2",
    "--hz",
    "49",
    "--pprof",
    path,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const p = await readProfile(path);
  assert.equal(p.period, Math.round(1e9 / 49));
  assert.ok(p.timeNanos > before, `${p.timeNanos} <= ${before}`);
  assert.ok(p.timeNanos + p.durationNanos <= BigInt(Date.now()) * 1_000_000n);
  // Timed from the first sample on, after the session started its clock.
  assert.ok(p.durationNanos >= 1_000_000_000n, String(p.durationNanos));
  assert.ok(p.durationNanos < 60_000_000_000n, String(p.durationNanos));
  const folded = parseFolded(r.stdout);
  assert.ok(folded.size > 10, r.stdout);
  // The same stacks with the same counts: the folded output, rebuilt.
  assert.deepEqual(
    [...foldedOf(p)].sort(),
    [...folded].sort(),
  );
  const total = (m: Map<string, number>) =>
    [...m.values()].reduce((a, b) => a + b, 0);
  assert.equal(p.samples.reduce((n, s) => n + s.values[0], 0), total(folded));
  for (const s of p.samples) {
    assert.equal(typeof s.labels.comm, "string");
    assert.match(String(s.labels.pid), /^\d+$/);
    for (const l of s.locations) {
      assert.notEqual(l.address, 0n);
      const kernel = l.functions[0].name.endsWith("_[k]");
      if (kernel) assert.equal(l.mapping?.file, KERNEL_MAPPING);
      else assert.notEqual(l.mapping?.file, KERNEL_MAPPING);
    }
  }
  // The interpreter's processes are synthetic: their objects have no range.
  const libc = p.mappings.find((m) => m.file.endsWith("/libc.so.6"));
  assert.ok(libc, JSON.stringify(p.mappings.map((m) => m.file)));
  assert.equal(libc.limit, 0n); // Synthetic samples say so in the profile's comments.
  assert.deepEqual(p.comments, [
    "tsbpf profile.ts --hz 49",
    "tsbpf: running in the interpreter on synthetic events (--backend interp)",
  ]);
});

Deno.test("profile.ts --pprof into a missing directory: one line before sampling, exit 1", async () => {
  const r = await runScript("profile", [
    "--backend",
    "interp",
    "--duration",
    "1",
    "--pprof",
    "/nonexistent/tsbpf/p.pb.gz",
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    'profile: Cannot write the profile "/nonexistent/tsbpf/p.pb.gz": NotFound\n',
  );
  assert.equal(r.stdout, "");
});

const PPROF = which("pprof");
const GO = which("go");
const reader = PPROF !== undefined
  ? [PPROF]
  : GO !== undefined
  ? [GO, "tool", "pprof"]
  : undefined;
if (reader === undefined) {
  console.log(
    "Skipping the pprof reader test: neither pprof nor go is installed",
  );
}

Deno.test({
  name: "pprof -raw reads an encoded profile",
  ignore: reader === undefined,
  async fn() {
    const path = Deno.makeTempFileSync({ suffix: ".pb.gz" });
    try {
      await writePprof(path, [{
        stack: [
          { name: "vfs_read_[k]", address: KADDR, kernel: true },
          {
            name: "tsb_spin",
            address: 0x401100n,
            mapping: {
              start: 0x400000n,
              limit: 0x402000n,
              offset: 0n,
              file: "/bin/x",
            },
          },
        ],
        count: 7,
        labels: { comm: "x", pid: "9" },
      }], { periodNs: 1e7 });
      const out = await new Deno.Command(reader![0], {
        args: [...reader!.slice(1), "-raw", path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.match(text, /samples\/count cpu\/nanoseconds/);
      assert.match(text, /\b7\s+70000000:/);
      assert.match(text, /vfs_read_\[k\]/);
      assert.match(text, /tsb_spin/);
      assert.match(text, /comm:\[x\]/);
    } finally {
      Deno.removeSync(path);
    }
  },
});

Deno.test("profile.ts loads the pprof encoder only with --pprof", async () => {
  const entry = new URL("../../scripts/profile.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.pathname],
    stdout: "piped",
  }).output();
  assert.ok(out.success, "deno info failed");
  const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
    }[];
  };
  const by = new Map(modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [entry.href];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of by.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier) stack.push(d.code.specifier);
    }
  }
  const loaded = [...seen].filter((s) =>
    /metrics\/pprof\.ts$|protobufjs/.test(s)
  );
  assert.deepEqual(loaded, []);
  assert.ok(seen.size > 10, "the static graph was not read");
});

/**
 * perf.data import: files made by the installed `perf record` replay.
 * Needs root and perf; skips with the reason otherwise.
 */
import assert from "node:assert/strict";
import { runCli } from "../cli/helpers.ts";
import { openPerfData } from "../../runtime/record/perf_data.ts";
import { RecordingError } from "../../runtime/record/format.ts";

function skipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  try {
    const ok = new Deno.Command("perf", { args: ["--version"] }).outputSync()
      .success;
    return ok ? undefined : "perf does not run";
  } catch {
    return "no perf (Debian linux-perf)";
  }
}
const skip = skipReason();
if (skip !== undefined) console.log(`Skipping perf.data tests: ${skip}`);

const N = 1234;

/**
 * `perf record -e syscalls:sys_enter_getppid` of a python3 making N getppid
 * calls: that process only (no `-a`), so that other processes calling
 * getppid on the machine (a flood) add no samples to the file.
 * Undefined (the reason printed) when perf itself captured no sample: a BPF
 * program of another process attached to the same tracepoint that returns
 * 0 suppresses perf's samples of it (a shared machine's other tests).
 */
async function perfRecord(): Promise<
  { file: string; pid: number } | undefined
> {
  const file = Deno.makeTempFileSync({ suffix: ".data" });
  const out = await new Deno.Command("perf", {
    args: [
      "record",
      "-q",
      "-e",
      "syscalls:sys_enter_getppid",
      "-o",
      file,
      "--",
      "python3",
      "-c",
      `import os\nprint(os.getpid(), flush=True)\nfor _ in range(${N}): os.getppid()`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const script = await new Deno.Command("perf", {
    args: ["script", "-i", file],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (new TextDecoder().decode(script.stdout).trim() === "") {
    Deno.removeSync(file);
    console.log(
      "Skipping: perf captured no sample (another BPF program on syscalls:sys_enter_getppid returning 0 suppresses them)",
    );
    return undefined;
  }
  return { file, pid: Number(text.trim()) };
}

Deno.test({
  name: "a perf.data of N getppid calls replays to exactly N for that process",
  ignore: skip !== undefined,
  async fn() {
    const made = await perfRecord();
    if (made === undefined) return;
    const { file, pid } = made;
    try {
      const r = await runCli([
        "-e",
        `tracepoint:syscalls:sys_enter_getppid /pid == ${pid} && comm == "python3"/ { @ = count(); @cpu[cpu < 1024] = count(); }`,
        "--replay",
        file,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /recorded by perf on Linux /);
      assert.equal(
        r.stdout,
        `\n\n@: ${N}\n@cpu[true]: ${N}\n`,
      );
      // A program reading what perf.data lacks gets one line.
      const uid = await runCli([
        "-e",
        "tracepoint:syscalls:sys_enter_getppid { @[uid] = count(); }",
        "--replay",
        file,
      ]);
      assert.equal(uid.code, 1);
      assert.match(
        uid.stderr,
        /ERROR: Cannot replay probe "tracepoint:syscalls:sys_enter_getppid": it calls get_current_uid_gid \(uid, gid\), which the recording does not hold/,
      );
      // The file's own formats and facts.
      using rec = openPerfData(file);
      assert.equal(rec.header.producer, "perf.data");
      assert.deepEqual(rec.header.probes.map((p) => p.attach), [[
        "tracepoint:syscalls:sys_enter_getppid",
      ]]);
      assert.ok((rec.trailer?.events ?? 0) >= N);
    } finally {
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name: "a truncated perf.data is rejected, or salvaged when asked",
  ignore: skip !== undefined,
  async fn() {
    const made = await perfRecord();
    if (made === undefined) return;
    const { file } = made;
    try {
      const bytes = Deno.readFileSync(file);
      const v = new DataView(bytes.buffer);
      const dataAt = Number(v.getBigUint64(40, true));
      const dataEnd = dataAt + Number(v.getBigUint64(48, true));
      // Cut inside the data section: the names, written last, are gone.
      Deno.writeFileSync(file, bytes.subarray(0, dataAt + 3000));
      for (const salvage of [false, true]) {
        assert.throws(
          () => openPerfData(file, { salvage }),
          (e: unknown) =>
            e instanceof RecordingError &&
            /is truncated: it ends before its event descriptions/.test(
              e.message,
            ),
        );
      }
      // A record cut in the middle of the data, the descriptions kept.
      const holed = bytes.slice();
      const hv = new DataView(holed.buffer);
      let at = dataAt;
      // Halfway through the samples (PERF_RECORD_SAMPLE = 9).
      const samples: number[] = [];
      for (let p = dataAt; p < dataEnd; p += hv.getUint16(p + 6, true)) {
        if (hv.getUint32(p, true) === 9) samples.push(p);
      }
      at = samples[samples.length >> 1];
      hv.setUint16(at + 6, 4, true);
      Deno.writeFileSync(file, holed);
      assert.throws(
        () => openPerfData(file),
        /is corrupted: a record of 4 bytes.*--salvage replays/,
      );
      using rec = openPerfData(file, { salvage: true });
      assert.ok(rec.damage !== undefined);
      const salvaged = [...rec.events()].length;
      assert.ok(salvaged > 0 && salvaged < N, String(salvaged));
    } finally {
      Deno.removeSync(file);
    }
  },
});

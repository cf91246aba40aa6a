/**
 * The CLI reports full maps: a warning on standard error at exit and when
 * `print()` shows a map that lost updates, a `map_full` record with
 * `-f json`; `--max-map-keys` and `BPFTRACE_MAP_KEYS_MAX` set the limit.
 */
import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

const FILL =
  "tracepoint:syscalls:sys_enter_getppid { @m[tid, rand] = count(); }";
const INTERP = ["--backend", "interp", "--seed", "1", "--duration", "1"];
const WARNING =
  /^WARNING: Map @m is full \(40 keys\): (\d+) updates were lost\. Raise max_map_keys: --max-map-keys N, BPFTRACE_MAP_KEYS_MAX=N or trace\(…, \{ maxMapKeys: N \}\)\.$/;

function warnings(stderr: string): number[] {
  return stderr.split("\n").filter((l) => l.startsWith("WARNING:")).map(
    (l) => {
      const m = l.match(WARNING);
      assert.ok(m, `unexpected warning: ${l}`);
      return Number(m[1]);
    },
  );
}

Deno.test("CLI: a full map warns at exit, and after print() shows it", async () => {
  const r = await runCli([
    ...INTERP,
    "--max-map-keys",
    "40",
    "-e",
    FILL + " interval:ms:500 { print(@m, 1); }",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lost = warnings(r.stderr);
  // At 500 ms (print) and at exit, the count growing.
  assert.equal(lost.length, 2, r.stderr);
  assert.ok(lost[0] > 0 && lost[1] > lost[0], r.stderr);
  // The maps still print in full.
  assert.equal(
    r.stdout.split("\n").filter((l) => l.startsWith("@m[")).length,
    40 + 1,
  );
});

Deno.test("CLI: BPFTRACE_MAP_KEYS_MAX sets the limit; -f json adds map_full records", async () => {
  const r = await runCli([
    ...INTERP,
    "-f",
    "json",
    "-e",
    FILL + " interval:ms:500 { print(@m, 1); }",
  ], { env: { BPFTRACE_MAP_KEYS_MAX: "40" } });
  assert.equal(r.code, 0, r.stderr);
  const lost = warnings(r.stderr);
  assert.equal(lost.length, 2, r.stderr);
  const lines = r.stdout.split("\n");
  const records = lines.filter((l) => l.includes('"map_full"'))
    .map((l) => JSON.parse(l));
  // One after the map print() shows, one at exit: the warnings' figures.
  assert.deepEqual(
    records,
    lost.map((n) => ({
      type: "map_full",
      data: { map: "@m", lost: n, max_entries: 40 },
    })),
  );
  const printed = lines.findIndex((l) => l.includes('"@m"'));
  assert.ok(lines[printed + 1].includes('"map_full"'), r.stdout);
  const map = lines.findLast((l) => l.includes('"@m": {'))!;
  assert.equal(Object.keys(JSON.parse(map).data["@m"]).length, 40);
});

Deno.test("CLI: no warning while maps have room", async () => {
  const r = await runCli([...INTERP, "-e", FILL]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /WARNING/);
});

Deno.test("CLI: a bad max_map_keys is refused", async () => {
  const flag = await runCli(["--max-map-keys", "0", "--dry-run", "-e", FILL]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--max-map-keys needs an integer from 1/);
  const env = await runCli(["--dry-run", "-e", FILL], {
    env: { BPFTRACE_MAP_KEYS_MAX: "lots" },
  });
  assert.match(env.stderr, /Invalid BPFTRACE_MAP_KEYS_MAX "lots"/);
  assert.equal(env.code, 2);
});

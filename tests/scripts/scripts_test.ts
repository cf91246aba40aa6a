import assert from "node:assert/strict";
import { hasKprobes } from "../../ffi/attach.ts";
import {
  hasStackTrace,
  kernelSkip,
  run,
  runScript,
  type ScriptRun,
  sleep,
  udpToClosedPort,
} from "./helpers.ts";
import { skip } from "../support/skip.ts";

if (kernelSkip !== undefined) {
  console.log(`Kernel runs of the scripts are skipped: ${kernelSkip}`);
}

const SCRIPTS = [
  "kfree_skb",
  "execsnoop",
  "opensnoop",
  "syscount",
  "readlat",
  "profile",
  "dropreason",
  "killsnoop",
];
const DURATION = ["--duration", "3"];
const INTERP = ["--backend", "interp", "--seed", "1", ...DURATION];

/**
 * Runs the kernel variant (unless the machine cannot) and the interpreter
 * variant of a script at once; both must last at least 3 s and exit 0.
 */
async function both(
  name: string,
  kernelArgs: string[],
  workload: (() => Promise<unknown>) | undefined,
  interpArgs: string[] = [],
): Promise<{ kernel?: ScriptRun; interp: ScriptRun }> {
  const [kernel, interp] = await Promise.all([
    kernelSkip === undefined
      ? runScript(
        name,
        ["--backend", "kernel", ...DURATION, ...kernelArgs],
        workload,
      )
      : Promise.resolve(undefined),
    runScript(name, [...INTERP, ...interpArgs]),
  ]);
  for (const r of [kernel, interp]) {
    if (r === undefined) continue;
    assert.equal(r.code, 0, `${name} failed: ${r.stderr}`);
    assert.ok(r.ms >= 3000, `${name} ran only ${r.ms} ms`);
    assert.equal(hasStackTrace(r.stderr), false);
  }
  return { kernel, interp };
}

const STAMP = /^\[\d\d:\d\d:\d\d\]$/;

/**
 * The tables of a kfree_skb-style output: blocks after the header, each
 * under an interval's `[HH:MM:SS]` line (checked and left out).
 */
function tables(stdout: string): string[][] {
  return stdout.split("\n\n").slice(1).map((b) => {
    const lines = b.split("\n").filter((l) => l !== "");
    assert.match(lines[0], STAMP, b);
    return lines.slice(1);
  });
}

Deno.test("kfree_skb.ts prints PID COMM DROP_COUNTS every second", async () => {
  let bash = -1;
  const sent = 40;
  const { kernel, interp } = await both(
    "kfree_skb",
    [],
    async () => bash = await udpToClosedPort(sent),
  );
  for (const r of [kernel, interp]) {
    if (r === undefined) continue;
    assert.ok(
      r.stdout.startsWith("Tracing kfree_skb... Hit Ctrl-C to end.\n"),
    );
    const t = tables(r.stdout);
    assert.equal(t.length, 3, r.stdout);
    for (const table of t) {
      assert.match(table[0], /^PID {8}COMM {9,}DROP_COUNTS$/);
      const counts = table.slice(1).map((l) => Number(l.split(/\s+/).at(-1)));
      assert.deepEqual(counts, counts.toSorted((a, b) => b - a));
    }
    assert.ok(t[2].length > 1, "no drops in the last table");
  }
  if (kernel !== undefined) {
    // Drops of datagrams to a closed port count against the sender.
    const row = tables(kernel.stdout)[2].find((l) => l.startsWith(`${bash} `));
    assert.ok(row !== undefined, kernel.stdout);
    const [, comm, n] = row.split(/\s+/);
    assert.equal(comm, "bash");
    assert.ok(Number(n) >= sent, row);
  }
});

Deno.test({
  name:
    "kfree_skb.ts --kprobe/--kretprobe say in one line there are no kprobes",
  ignore: skip(
    "the no-kprobes script test",
    kernelSkip ?? (hasKprobes() ? "this kernel has kprobes" : undefined),
  ),
  async fn() {
    for (const flag of ["--kprobe", "--kretprobe"]) {
      const r = await runScript("kfree_skb", [flag, "--backend", "kernel"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      const probe = flag.slice(2);
      assert.equal(
        r.stderr,
        `kfree_skb: Cannot attach "${probe}:kfree_skb": this kernel has no kprobes (built without CONFIG_KPROBES); use tracepoint:skb:kfree_skb instead\n`,
      );
    }
  },
});

Deno.test("kfree_skb.ts --kprobe runs on the interpreter's synthetic kprobes", async () => {
  const r = await runScript("kfree_skb", ["--kprobe", ...INTERP]);
  assert.equal(r.code, 0, r.stderr);
  const t = tables(r.stdout);
  assert.equal(t.length, 3);
  assert.ok(t[2].length > 1);
});

/** execsnoop's rows, by column. */
function execRows(stdout: string) {
  const lines = stdout.split("\n").filter((l) => l !== "");
  assert.equal(lines[0], "TIME(s)  PCOMM            PID     PPID    RET ARGS");
  return lines.slice(1).map((l) => {
    assert.match(l, /^\d+\.\d{3} +.{1,16} +\d+ +(\d+|\?) +-?\d+ /, l);
    return {
      pcomm: l.slice(9, 26).trimEnd(),
      pid: l.slice(26, 34).trimEnd(),
      ppid: l.slice(34, 42).trimEnd(),
      ret: Number(l.slice(42, 45)),
      args: l.slice(46),
    };
  });
}

Deno.test("execsnoop.ts prints PCOMM (the new program), PID, PPID, RET and ARGS as BCC does", async () => {
  const tag = `tsbpf-${crypto.randomUUID().slice(0, 8)}`;
  let failed = -1;
  const { kernel, interp } = await both("execsnoop", ["-n", tag], async () => {
    for (let i = 0; i < 3; i++) await run("/bin/true", [tag, String(i)]);
    // bash execs a path that does not exist: ENOENT, bash keeps its name.
    failed = await run("bash", ["-c", `exec /nonexistent/${tag} 2>/dev/null`]);
  });
  // Synthetic execs run programs (not data files), named after them.
  const synthetic = execRows(interp.stdout);
  assert.ok(synthetic.length > 0, interp.stdout);
  for (const r of synthetic) {
    const program = r.args.split(" ")[0];
    assert.match(program, /\/s?bin\/[^/]+$/, r.args);
    if (r.ret === 0) {
      assert.equal(r.pcomm, program.split("/").at(-1)!.slice(0, 15));
    } else {
      assert.ok(r.ret < 0, String(r.ret));
    }
  }
  if (kernel !== undefined) {
    const mine = execRows(kernel.stdout);
    assert.deepEqual(
      mine.slice(0, 3).map((r) => [r.pcomm, r.ppid, r.ret, r.args]),
      [0, 1, 2].map((
        i,
      ) => ["true", String(Deno.pid), 0, `/bin/true ${tag} ${i}`]),
    );
    const enoent = mine.find((r) => r.ret === -2);
    assert.ok(enoent !== undefined, kernel.stdout);
    assert.deepEqual(
      [enoent.pcomm, enoent.pid, enoent.ppid, enoent.args],
      ["bash", String(failed), String(Deno.pid), `/nonexistent/${tag}`],
    );
  }
});

Deno.test("opensnoop.ts prints fds and errors with paths", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf-open-" });
  const there = `${dir}/there`;
  const missing = `${dir}/missing`;
  Deno.writeTextFileSync(there, "x\n");
  try {
    const { kernel, interp } = await both(
      "opensnoop",
      ["-n", "cat"],
      () => run("cat", [there, missing]),
    );
    for (const r of [kernel, interp]) {
      if (r === undefined) continue;
      const lines = r.stdout.split("\n").filter((l) => l !== "");
      assert.equal(lines[0], "PID     COMM               FD ERR     PATH");
      assert.ok(lines.length > 1, r.stdout);
      for (const l of lines.slice(1)) {
        assert.match(l, /^\d+ +.+ +(-1 E[A-Z]+|\d+ 0) +/);
      }
    }
    if (kernel !== undefined) {
      const lines = kernel.stdout.split("\n");
      assert.ok(
        lines.some((l) => /^\d+ +cat +\d+ 0 +/.test(l) && l.endsWith(there)),
        kernel.stdout,
      );
      assert.ok(
        lines.some((l) =>
          /^\d+ +cat +-1 ENOENT +/.test(l) && l.endsWith(missing)
        ),
        kernel.stdout,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syscount.ts counts syscalls by name (and by process with -P)", async () => {
  const { kernel, interp } = await both(
    "syscount",
    ["-T", "500"],
    () =>
      run("python3", ["-c", "import os\nfor _ in range(2000): os.getppid()"]),
    ["-P"],
  );
  const rows = (r: ScriptRun) => {
    const lines = r.stdout.split("\n");
    assert.match(
      lines[0],
      /^Tracing syscalls, printing top \d+\.\.\. Hit Ctrl-C to end\.$/,
    );
    const i = lines.findIndex((l) => /^(SYSCALL|PID) /.test(l));
    assert.ok(i > 0, r.stdout);
    return lines.slice(i + 1).filter((l) => l !== "");
  };
  if (kernel !== undefined) {
    const r = rows(kernel);
    const counts = r.map((l) => Number(l.split(/\s+/)[1]));
    assert.deepEqual(counts, counts.toSorted((a, b) => b - a));
    for (const l of r) assert.match(l, /^[a-z0-9_]+ +\d+$/);
    const getppid = r.find((l) => l.startsWith("getppid "));
    assert.ok(getppid !== undefined && counts[r.indexOf(getppid)] >= 2000);
  }
  const p = rows(interp);
  assert.ok(p.length > 0 && p.length <= 10);
  for (const l of p) assert.match(l, /^\d+ +.+ +\d+$/);
});

Deno.test("readlat.ts prints read() latency histograms with percentiles", async () => {
  const { kernel, interp } = await both(
    "readlat",
    ["-T", "1000"],
    () => run("dd", ["if=/dev/zero", "of=/dev/null", "bs=1", "count=3000"]),
  );
  const check = (r: ScriptRun) => {
    assert.ok(
      r.stdout.startsWith("Tracing read() latency... Hit Ctrl-C to end.\n"),
    );
    const heads = r.stdout.split("\n").filter((l) => / \(PID \d+\): /.test(l));
    assert.ok(heads.length > 0, r.stdout);
    for (const h of heads) {
      assert.match(
        h,
        /: \d+ reads, p50 [\d.]+ us, p90 [\d.]+ us, p99 [\d.]+ us$/,
      );
    }
    assert.match(r.stdout, /^\[\d+(, \d+[KMG]?\))?\]? +\d+ \|@*\s*\|$/m);
    return heads;
  };
  check(interp);
  if (kernel !== undefined) {
    const dd = check(kernel).find((h) => h.startsWith("dd "));
    assert.ok(dd !== undefined, kernel.stdout);
    assert.ok(Number(/: (\d+) reads/.exec(dd)![1]) >= 3000, dd);
  }
});

Deno.test("profile.ts writes folded stacks for flamegraph.pl", async () => {
  const { kernel, interp } = await both("profile", [], async () => {
    await sleep(200);
    // A user-space spinner, and kernel work (tiny reads) for kernel frames.
    await Promise.all([
      run("timeout", ["1.5", "sh", "-c", "while :; do :; done"]),
      run("dd", ["if=/dev/zero", "of=/dev/null", "bs=1", "count=300000"]),
    ]);
  });
  const lines = (r: ScriptRun) => {
    const ls = r.stdout.split("\n").filter((l) => l !== "");
    assert.ok(ls.length > 0);
    for (const l of ls) assert.match(l, /^[^ ;]+(;[^ ;]+)* \d+$/);
    return ls;
  };
  lines(interp);
  if (kernel !== undefined) {
    const ls = lines(kernel);
    const sh = ls.filter((l) => l.startsWith("sh;") || l.startsWith("sh "));
    const samples = sh.reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    assert.ok(samples >= 20, `only ${samples} samples of the busy loop`);
    assert.ok(ls.some((l) => /_\[k\]/.test(l)), "no kernel frames");
  }
});

Deno.test("dropreason.ts names drop reasons (NO_SOCKET for a closed port)", async () => {
  const sent = 40;
  const { kernel, interp } = await both(
    "dropreason",
    [],
    () => udpToClosedPort(sent),
  );
  for (const r of [kernel, interp]) {
    if (r === undefined) continue;
    const t = tables(r.stdout);
    assert.equal(t.length, 3, r.stdout);
    for (const table of t) {
      assert.match(table[0], /^REASON +COUNT +PER_SEC TREND$/);
    }
    const last = t[2].slice(1);
    assert.ok(last.length > 0);
    for (const l of last) {
      assert.match(l, /^[A-Z_0-9]+ +\d+ +[\d.]+ [▁▂▃▄▅▆▇█]+$/);
    }
  }
  if (kernel !== undefined) {
    const row = tables(kernel.stdout)[2].find((l) =>
      l.startsWith("NO_SOCKET ")
    );
    assert.ok(row !== undefined, kernel.stdout);
    assert.ok(Number(row.split(/\s+/)[1]) >= sent, row);
  }
});

const KILL_ROW =
  /^(\d+\.\d{3}) +(\d+) +(.{1,16}?) +(0|SIG[A-Z0-9]+) +(-?\d+) +(0|-\d+(?: E[A-Z]+)?)$/;

/** Rows of killsnoop's output: the kill table and the per-signal table. */
function killTables(stdout: string): { kills: string[][]; totals: string[][] } {
  const [head, tail] = stdout.split("\n\n");
  const lines = (block: string) => block.split("\n").filter((l) => l !== "");
  const kills = lines(head);
  const totals = lines(tail ?? "");
  assert.match(kills[0], /^TIME\(s\) +PID +COMM +SIG +TPID +RESULT$/);
  assert.match(totals[0], /^SIGNAL +CALLS$/);
  return {
    kills: kills.slice(1).map((l) => {
      const m = KILL_ROW.exec(l);
      assert.ok(m !== null, `not a kill row: "${l}"`);
      return m.slice(1);
    }),
    totals: totals.slice(1).map((l) => l.split(/ +/)),
  };
}

Deno.test("killsnoop.ts (TS probe bodies) reports every kill() and its result", async () => {
  // Above pid_max: kill() fails with ESRCH.
  const nobody = 1073741824;
  let bash = -1;
  const { kernel, interp } = await both(
    "killsnoop",
    [],
    async () =>
      bash = await run("bash", [
        "-c",
        `for i in 1 2 3 4 5; do kill -0 $$; done; kill -15 ${nobody}; ` +
        "sleep 30 & kill -USR1 $!; wait",
      ]),
    ["-x", "-s", "15"],
  );
  for (const r of [kernel, interp]) {
    if (r === undefined) continue;
    const { kills, totals } = killTables(r.stdout);
    assert.ok(kills.length > 0, r.stdout);
    // The per-signal totals add up to the calls listed.
    const sum = totals.reduce((n, [, c]) => n + Number(c), 0);
    assert.equal(sum, kills.length);
  }
  // The interpreter run filtered in the probes: failed SIGTERMs only.
  const i = killTables(interp.stdout);
  let last = 0;
  for (const [time] of i.kills) {
    assert.ok(Number(time) >= last, `time goes back: ${time}`);
    last = Number(time);
  }
  for (const [, , , sig, , result] of i.kills) {
    assert.equal(sig, "SIGTERM");
    assert.ok(Number(result.split(" ")[0]) < 0, result);
  }
  assert.deepEqual(i.totals, [["SIGTERM", String(i.kills.length)]]);
  if (kernel !== undefined) {
    const mine = killTables(kernel.stdout).kills.filter((r) =>
      r[1] === String(bash)
    ).map(([, , comm, sig, tpid, result]) => [comm, sig, tpid, result]);
    const self = ["bash", "0", String(bash), "0"];
    assert.deepEqual(mine.slice(0, 6), [
      self,
      self,
      self,
      self,
      self,
      ["bash", "SIGTERM", String(nobody), "-3 ESRCH"],
    ]);
    assert.equal(mine.length, 7, JSON.stringify(mine));
    assert.deepEqual(mine[6].slice(0, 2), ["bash", "SIGUSR1"]);
    assert.equal(mine[6][3], "0");
  }
});

Deno.test("every script has --help and reports a bad option in one line", async () => {
  await Promise.all(SCRIPTS.map(async (name) => {
    const help = await runScript(name, ["--help"]);
    assert.equal(help.code, 0);
    assert.ok(help.stdout.startsWith(`USAGE: ${name}.ts`), help.stdout);
    for (const opt of ["--duration S", "-p PID", "--backend B", "--seed N"]) {
      assert.ok(help.stdout.includes(opt), `${name} --help lacks ${opt}`);
    }
    const bad = await runScript(name, ["--bogus"]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      `${name}: Unknown option '--bogus'; try --help\n`,
    );
    const num = await runScript(name, ["--duration", "soon"]);
    assert.equal(num.code, 2);
    assert.equal(
      num.stderr,
      `${name}: Option --duration needs a duration such as 10, 1.5s, 500ms or 2m, got "soon"; try --help\n`,
    );
  }));
});

Deno.test("kfree_skb, dropreason and syscount take -i/--interval (a [HH:MM:SS] table each) and -T/--top", async () => {
  const runs = await Promise.all([
    runScript("kfree_skb", [...INTERP, "-i", "1", "-T", "2"]),
    runScript("dropreason", [...INTERP, "--interval", "1", "--top", "2"]),
    runScript("syscount", [...INTERP, "-i", "1", "--top", "2"]),
    runScript("syscount", [...INTERP, "--interval", "1", "-T", "2", "-P"]),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const t = tables(r.stdout);
    assert.equal(t.length, 3, r.stdout);
    // A title line, then at most two rows.
    for (const table of t) {
      assert.ok(table.length >= 2 && table.length <= 3, r.stdout);
    }
  }
  for (const name of ["kfree_skb", "dropreason", "syscount"]) {
    const help = await runScript(name, ["--help"]);
    assert.match(help.stdout, /^ +-i, --interval S /m);
    assert.match(help.stdout, /^ +-T, --top N /m);
    const zero = await runScript(name, ["--top", "0"]);
    assert.equal(zero.code, 2);
    assert.equal(
      zero.stderr,
      `${name}: Option --top needs a positive integer, got "0"; try --help\n`,
    );
  }
});

Deno.test('the scripts that announce tracing say "Hit Ctrl-C to end." as BCC\'s tools do', async () => {
  const runs = await Promise.all(
    ["kfree_skb", "dropreason", "syscount", "readlat", "profile"].map((
      name,
    ) => runScript(name, ["--backend", "interp", "--duration", "0.5"])),
  );
  const [kfree, drops, syscount, readlat, profile] = runs.map((r) => {
    assert.equal(r.code, 0, r.stderr);
    return r;
  });
  assert.ok(
    kfree.stdout.startsWith("Tracing kfree_skb... Hit Ctrl-C to end.\n"),
  );
  assert.ok(
    drops.stdout.startsWith(
      "Tracing packet drops by reason... Hit Ctrl-C to end.\n",
    ),
  );
  assert.ok(
    syscount.stdout.startsWith(
      "Tracing syscalls, printing top 10... Hit Ctrl-C to end.\n",
    ),
  );
  assert.ok(
    readlat.stdout.startsWith("Tracing read() latency... Hit Ctrl-C to end.\n"),
  );
  // profile's standard output is the folded stacks alone.
  assert.match(
    profile.stderr,
    /^Sampling at 99 Hz per CPU\.\.\. Hit Ctrl-C to end\.$/m,
  );
});

/** The pids of syscount -P's rows. */
function syscountPids(stdout: string): string[] {
  const lines = stdout.split("\n");
  const i = lines.findIndex((l) => /^PID +COMM +COUNT$/.test(l));
  assert.ok(i > 0, stdout);
  return lines.slice(i + 1).filter((l) => l !== "").map((l) =>
    l.split(/ +/)[0]
  );
}

Deno.test("syscount.ts -P counts per process, not per thread", async () => {
  // Synthetic processes have threads with their own names (java's "VM
  // Thread", chrome's "Chrome_IOThread"): one row per pid all the same.
  const interp = await runScript("syscount", [...INTERP, "-P", "-T", "50"]);
  assert.equal(interp.code, 0, interp.stderr);
  const pids = syscountPids(interp.stdout);
  assert.ok(pids.length > 10, interp.stdout);
  assert.deepEqual(pids, [...new Set(pids)], interp.stdout);
  if (kernelSkip !== undefined) return;
  // Three threads of one python process, each with its own name.
  const script = `
import ctypes, os, threading
libc = ctypes.CDLL(None)
def work(name):
    libc.prctl(15, name.encode(), 0, 0, 0)
    for _ in range(20000): os.getppid()
ts = [threading.Thread(target=work, args=("tsbpf-w%d" % i,)) for i in range(3)]
for t in ts: t.start()
for t in ts: t.join()
`;
  let python = -1;
  const kernel = await runScript(
    "syscount",
    ["--backend", "kernel", ...DURATION, "-P", "-T", "100"],
    async () => python = await run("python3", ["-c", script]),
  );
  assert.equal(kernel.code, 0, kernel.stderr);
  const rows = syscountPids(kernel.stdout).filter((p) => p === String(python));
  assert.equal(rows.length, 1, kernel.stdout);
});

Deno.test("profile.ts --no-offsets prints names alone, --offsets keeps +offset", async () => {
  const [plain, named, offsets] = await Promise.all([
    runScript("profile", [...INTERP]),
    runScript("profile", [...INTERP, "--no-offsets"]),
    runScript("profile", [...INTERP, "--offsets"]),
  ]);
  for (const r of [plain, named, offsets]) assert.equal(r.code, 0, r.stderr);
  const withOffset = /\+\d+(_\[k\])?[; ]/;
  assert.doesNotMatch(named.stdout, withOffset);
  assert.equal(named.stdout, plain.stdout);
  assert.match(offsets.stdout, withOffset);
  const both = await runScript("profile", ["--offsets", "--no-offsets"]);
  assert.equal(both.code, 2);
});

Deno.test("profile.ts -o FILE of synthetic samples says so on its first line", async () => {
  const file = Deno.makeTempFileSync({ suffix: ".folded" });
  try {
    const [toFile, toStdout] = await Promise.all([
      runScript("profile", [...INTERP, "-o", file]),
      runScript("profile", [...INTERP]),
    ]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(
      Deno.readTextFileSync(file),
      "tsbpf: running in the interpreter on synthetic events (--backend interp)\n" +
        toStdout.stdout,
    );
    assert.equal(toFile.stdout, "");
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("killsnoop.ts -s takes signal names as well as numbers", async () => {
  const runs = await Promise.all(
    ["TERM", "SIGTERM", "term", "15"].map((s) =>
      runScript("killsnoop", [...INTERP, "-s", s])
    ),
  );
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const { kills } = killTables(r.stdout);
    assert.ok(kills.length > 0, r.stdout);
    for (const k of kills) assert.equal(k[3], "SIGTERM");
  }
  // Same seed, same filter: the same output whichever way it is spelled.
  assert.equal(new Set(runs.map((r) => r.stdout)).size, 1);
  const bad = await runScript("killsnoop", ["-s", "NOPE"]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    'killsnoop: Option -s needs a signal name or number, got "NOPE"; try --help\n',
  );
});

Deno.test("dropreason.ts on synthetic drops: mostly a few reasons, as real drops are", async () => {
  const r = await runScript("dropreason", [...INTERP, "-T", "100"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = tables(r.stdout)[2].slice(1).map((l) =>
    Number(l.split(/ +/)[1])
  );
  const total = rows.reduce((a, b) => a + b, 0);
  assert.ok(total > 1000, r.stdout);
  const top3 = rows.slice(0, 3).reduce((a, b) => a + b, 0);
  assert.ok(top3 / total >= 0.8, `top 3 reasons: ${top3} of ${total}`);
});

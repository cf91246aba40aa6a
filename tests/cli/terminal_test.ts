/**
 * First contact at the terminal: honest engine choice, notices, listing,
 * bad targets, unreadable input and output (issues 11 and 12).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  kernelSkipReason,
  nobodySkipReason,
  runCli,
  runCliAsNobody,
  runCliWithPrivileges,
} from "./helpers.ts";
import { skip, which } from "../support/skip.ts";

const OPENAT = "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }";
const nobody = nobodySkipReason();
const kernel = kernelSkipReason();

function assertRefused(r: { code: number; stdout: string; stderr: string }) {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "", "no synthetic data");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /needs CAP_BPF and CAP_PERFMON, which this process \(uid 65534\) lacks: run as root \(sudo\).*; --backend interp runs the program on synthetic events instead$/,
  );
}

Deno.test({
  name:
    "unprivileged on Linux: a one-liner says which capability is missing and exits 1",
  ignore: skip("the run-as-nobody test", nobody),
  fn: async () => {
    assertRefused(await runCliAsNobody(["-e", OPENAT, "--duration", "1"]));
    assertRefused(
      await runCliAsNobody(["-f", "json", "-e", OPENAT, "--duration", "1"]),
    );
  },
});

Deno.test({
  name: "unprivileged on Linux: a script refuses too",
  ignore: skip("the run-as-nobody test", nobody),
  fn: async () => {
    const r = await runCliAsNobody(["scripts/syscount.ts", "--duration", "1"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^syscount: Tracing in the kernel needs CAP_BPF/);
  },
});

Deno.test({
  name: "unprivileged with --backend interp: the output says it is synthetic",
  ignore: skip("the run-as-nobody test", nobody),
  fn: async () => {
    const r = await runCliAsNobody([
      "--backend",
      "interp",
      "-e",
      OPENAT,
      "--duration",
      "1",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^Attached 1 probe \(synthetic events from the interpreter, not the kernel\)$/m,
    );
  },
});

Deno.test("synthetic events are labelled: the attach line and the JSON field", async () => {
  const text = await runCli([
    "--backend",
    "interp",
    "-e",
    "BEGIN { exit(); }",
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, "\n\n");
  assert.match(
    text.stderr,
    /^Attached 1 probe \(synthetic events from the interpreter, not the kernel\)$/m,
  );
  const json = await runCli([
    "--backend",
    "interp",
    "-f",
    "json",
    "-e",
    "BEGIN { exit(); }",
  ]);
  assert.equal(json.code, 0, json.stderr);
  const first = JSON.parse(json.stdout.split("\n")[0]);
  assert.deepEqual(first, {
    type: "attached_probes",
    count: 1,
    data: { probes: 1, synthetic: true },
  });
});

Deno.test("the interpreter's notice comes before the attach line", async () => {
  // Both on one stream: stderr merged by the shell, in order.
  const r = await new Deno.Command("sh", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A --no-lock "${
        new URL("../../mod.ts", import.meta.url).pathname
      }" --backend interp -e 'BEGIN { printf("hi\\n"); exit(); }' 2>&1`,
    ],
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert.equal(
    out,
    "tsbpf: running in the interpreter on synthetic events (--backend interp)\n" +
      "Attached 1 probe (synthetic events from the interpreter, not the kernel)\n" +
      "hi\n\n\n",
  );
});

Deno.test({
  name:
    "the kernel engine prints no notice unless -v, and then before the attach line",
  ignore: skip("the kernel notice test", kernel),
  fn: async () => {
    const quiet = await runCli(["-e", "BEGIN { exit(); }"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "Attached 1 probe\n");
    assert.equal(quiet.stdout, "\n\n");
    const r = await new Deno.Command("sh", {
      args: [
        "-c",
        `"${Deno.execPath()}" run -A --no-lock "${
          new URL("../../mod.ts", import.meta.url).pathname
        }" -v -e 'BEGIN { exit(); }' 2>&1`,
      ],
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(
      new TextDecoder().decode(r.stdout),
      "tsbpf: running in the kernel through libbpf\nAttached 1 probe\n\n\n",
    );
  },
});

Deno.test("-p with a pid that names no process is an error", async () => {
  // Above the kernel's pid_max limit (4194304): never a live process.
  const r = await runCli(["-p", "99999999", "-e", "BEGIN { exit(); }"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    "ERROR: Cannot trace pid 99999999 (-p): No such process\n",
  );
});

Deno.test({
  name: "-p on a replay names a recorded process, not a live one",
  ignore: skip("recording (the kernel engine)", kernelSkipReason()),
}, async () => {
  const rec = await Deno.makeTempFile({ suffix: ".rec" });
  try {
    const made = await runCli([
      "--record",
      rec,
      "-e",
      "BEGIN { exit(); } tracepoint:syscalls:sys_enter_getppid { @ = count(); }",
    ]);
    assert.equal(made.code, 0, made.stderr);
    // Above the kernel's pid_max: no live process, yet a replay may name it.
    const r = await runCli([
      "--replay",
      rec,
      "-p",
      "99999999",
      "-e",
      "tracepoint:syscalls:sys_enter_getppid { @ = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Cannot trace pid/);
  } finally {
    await Deno.remove(rec);
  }
});

Deno.test("-c with a program that does not exist is an error", async () => {
  const r = await runCli([
    "-c",
    "tsbpf-no-such-command --flag",
    "-e",
    "BEGIN { exit(); }",
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    'ERROR: Cannot run "tsbpf-no-such-command" (-c): no such executable file in PATH\n',
  );
  const path = await runCli([
    "-c",
    "/nonexistent/tsbpf-cmd",
    "-e",
    "BEGIN { exit(); }",
  ]);
  assert.equal(path.code, 1, path.stderr);
  assert.equal(
    path.stderr,
    'ERROR: Cannot run "/nonexistent/tsbpf-cmd" (-c): no such executable file\n',
  );
});

Deno.test("a binary file given as the script is refused as not text, echoing nothing", async () => {
  const elf = Deno.makeTempFileSync({ suffix: ".bt" });
  const latin1 = Deno.makeTempFileSync({ suffix: ".bt" });
  try {
    // An ELF header and a few bytes; then a file that is not UTF-8.
    Deno.writeFileSync(
      elf,
      new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0x1b, 0x5b]),
    );
    Deno.writeFileSync(latin1, new TextEncoder().encode("BEGIN { }\n"));
    Deno.writeFileSync(latin1, new Uint8Array([0xe9, 0x0a]), { append: true });
    const r = await runCli([elf]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `ERROR: "${elf}" is not a text file (an ELF binary): give a bpftrace program (.bt file) or -e 'PROGRAM'\n`,
    );
    const l = await runCli([latin1]);
    assert.equal(l.code, 2, l.stderr);
    assert.equal(
      l.stderr,
      `ERROR: "${latin1}" is not a text file: give a bpftrace program (.bt file) or -e 'PROGRAM'\n`,
    );
  } finally {
    Deno.removeSync(elf);
    Deno.removeSync(latin1);
  }
});

Deno.test({
  name: "-o: write and open errors name the path and the errno",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    for (const backend of ["interp", "auto"]) {
      if (backend === "auto" && kernel !== undefined) continue;
      const r = await runCli([
        "--backend",
        backend,
        "-o",
        "/dev/full",
        "-e",
        'BEGIN { printf("x\\n"); exit(); }',
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^(tsbpf: .*\n)?(Attached 1 probe.*\n)?ERROR: Cannot write "\/dev\/full": ENOSPC \(No space left on device\)\n$/,
      );
    }
    const stdout = await new Deno.Command("sh", {
      args: [
        "-c",
        `"${Deno.execPath()}" run -A --no-lock "${
          new URL("../../mod.ts", import.meta.url).pathname
        }" --backend interp -e 'BEGIN { printf("x\\n"); exit(); }' > /dev/full`,
      ],
      env: { NO_COLOR: "1" },
      stderr: "piped",
    }).output();
    assert.equal(stdout.code, 1);
    assert.match(
      new TextDecoder().decode(stdout.stderr),
      /\nERROR: Cannot write to standard output: ENOSPC \(No space left on device\)\n$/,
    );
    const open = await runCli([
      "--backend",
      "interp",
      "-o",
      "/nonexistent/dir/out.txt",
      "-e",
      "BEGIN { exit(); }",
    ]);
    assert.equal(open.code, 1);
    assert.equal(
      open.stderr,
      'ERROR: Cannot open "/nonexistent/dir/out.txt" for writing: ENOENT (No such file or directory)\n',
    );
  },
});

/**
 * A tracefs tree of one made-up tracepoint, `demo:demo_event`, in a
 * temporary directory; TSBPF_TRACEFS points tsbpf at it.
 */
function fakeTracefs(): string {
  const root = Deno.makeTempDirSync({ prefix: "tsbpf_tracefs_" });
  Deno.mkdirSync(`${root}/events/demo/demo_event`, { recursive: true });
  Deno.writeTextFileSync(`${root}/events/header_page`, "");
  Deno.writeTextFileSync(`${root}/available_events`, "demo:demo_event\n");
  Deno.writeTextFileSync(
    `${root}/events/demo/demo_event/format`,
    [
      "name: demo_event",
      "ID: 4242",
      "format:",
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;",
      "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;",
      "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;",
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;",
      "",
      "\tfield:const char * name;\toffset:8;\tsize:8;\tsigned:0;",
      "\tfield:__data_loc char[] path;\toffset:16;\tsize:4;\tsigned:0;",
      "\tfield:char comm[16];\toffset:20;\tsize:16;\tsigned:0;",
      "\tfield:u32 reason;\toffset:36;\tsize:4;\tsigned:0;",
      "",
      'print fmt: "reason=%s", __print_symbolic(REC->reason, { 1, "FAKE_ONE" }, { 2, "FAKE_TWO" })',
      "",
    ].join("\n"),
  );
  return root;
}

Deno.test("-lv PATTERN and -l -v PATTERN list a tracepoint's arguments with their types", async () => {
  const root = fakeTracefs();
  try {
    const expected = "tracepoint:demo:demo_event\n" +
      "    const char * name\n" +
      "    __data_loc char[] path\n" +
      "    char comm[16]\n" +
      "    u32 reason\n";
    const env = { TSBPF_TRACEFS: root };
    for (
      const args of [
        ["-lv", "tracepoint:demo:demo_event"],
        ["-l", "-v", "tracepoint:demo:*"],
        ["-v", "-l", "demo_event"],
      ]
    ) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, expected, args.join(" "));
      assert.equal(r.stderr, "", "the live format: no bundle notice");
    }
    const plain = await runCli(["-l", "demo:*"], { env });
    assert.equal(plain.stdout, "tracepoint:demo:demo_event\n");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

const bpftrace = which("bpftrace");

Deno.test({
  name: "-lv prints what bpftrace -lv prints for the same tracepoints",
  ignore: skip(
    "the -lv comparison with bpftrace",
    kernel ??
      (bpftrace === undefined ? "bpftrace is not installed" : undefined),
  ),
  fn: async () => {
    const pattern = "tracepoint:syscalls:sys_enter_open*";
    const theirs = await new Deno.Command(bpftrace!, {
      args: ["-lv", pattern],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const ours = await runCli(["-lv", pattern]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, new TextDecoder().decode(theirs.stdout));
  },
});

Deno.test("without a readable tracefs the bundled formats are used, and stderr says so once, before the attach line", async () => {
  const r = await new Deno.Command("sh", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A --no-lock "${
        new URL("../../mod.ts", import.meta.url).pathname
      }" --backend interp --duration 0.2 -e 'tracepoint:skb:kfree_skb { @n = count(); } tracepoint:skb:consume_skb { @c = count(); }' 2>&1`,
    ],
    env: { NO_COLOR: "1", TSBPF_TRACEFS: "/nonexistent/tracefs" },
  }).output();
  const lines = new TextDecoder().decode(r.stdout).split("\n");
  assert.equal(r.code, 0, lines.join("\n"));
  assert.equal(
    lines[0],
    "tsbpf: running in the interpreter on synthetic events (--backend interp)",
  );
  assert.match(
    lines[1],
    /^tsbpf: tracefs is not readable here, so tracepoint formats come from the bundled capture of Linux \S+: field layouts and value names \(such as drop reasons\) may differ from this kernel's$/,
  );
  assert.equal(
    lines.filter((l) => l.includes("bundled capture")).length,
    1,
    "once per run",
  );
  assert.match(lines[2], /^Attached 2 probes/);
  const list = await runCli(["-l", "skb:kfree_skb"], {
    env: { TSBPF_TRACEFS: "/nonexistent/tracefs" },
  });
  assert.equal(list.stdout, "tracepoint:skb:kfree_skb\n");
  assert.match(list.stderr, /^tsbpf: tracefs is not readable here/);
});

Deno.test("--unsafe on synthetic events prints what system() would run instead of running it", async () => {
  const marker = Deno.makeTempFileSync({ suffix: ".marker" });
  Deno.removeSync(marker);
  const program =
    `tracepoint:syscalls:sys_enter_getppid { system("touch ${marker}"); }`;
  try {
    const r = await runCli([
      "--backend",
      "interp",
      "--unsafe",
      "--rate",
      "50",
      "--duration",
      "0.2",
      "-e",
      program,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.throws(() => Deno.statSync(marker), "nothing ran");
    assert.match(
      r.stdout,
      new RegExp(
        `^\\[synthetic event\\] system\\(\\) not run: touch ${marker}$`,
        "m",
      ),
    );
    const json = await runCli([
      "--backend",
      "interp",
      "--unsafe",
      "-f",
      "json",
      "-e",
      `BEGIN { system("touch ${marker}"); exit(); }`,
    ]);
    assert.equal(json.code, 0, json.stderr);
    assert.throws(() => Deno.statSync(marker), "nothing ran");
    assert.ok(
      json.stdout.includes(
        `{"type": "system_not_run", "data": "touch ${marker}"}\n`,
      ),
      json.stdout,
    );
    // Asked for explicitly, it runs.
    const real = await runCli([
      "--backend",
      "interp",
      "--unsafe",
      "--run-system-on-synthetic-events",
      "-e",
      `BEGIN { system("touch ${marker}"); exit(); }`,
    ]);
    assert.equal(real.code, 0, real.stderr);
    assert.ok(Deno.statSync(marker).isFile, "ran when asked");
    const alone = await runCli([
      "--run-system-on-synthetic-events",
      "-e",
      "BEGIN { exit(); }",
    ]);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /needs --unsafe/);
  } finally {
    try {
      Deno.removeSync(marker);
    } catch {
      // never created
    }
  }
});

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes("ERROR:"));
}

Deno.test("an erroneous expression reports one error, not a cascade", async () => {
  const begin = await runCli([
    "--dry-run",
    "-e",
    'BEGIN { printf("%s\\n", args->filename); }',
  ]);
  assert.equal(begin.code, 2);
  assert.deepEqual(errorLines(begin.stderr), [
    "stdin:1:24: ERROR: The args builtin can only be used with tracepoints, rawtracepoints, fentry and fexit",
  ]);
  const typo = await runCli([
    "--dry-run",
    "-e",
    'tracepoint:syscalls:sys_enter_openat { printf("%s\\n", args->filenme); }',
  ]);
  assert.equal(typo.code, 2);
  assert.deepEqual(errorLines(typo.stderr), [
    'stdin:1:55: ERROR: Tracepoint "syscalls:sys_enter_openat" has no field "filenme"; did you mean "filename"?',
  ]);
  // Independent errors are all still reported.
  const two = await runCli([
    "--dry-run",
    "-e",
    'BEGIN { printf("%d %d\\n", $a, $b); }',
  ]);
  assert.equal(errorLines(two.stderr).length, 2, two.stderr);
});

Deno.test("did you mean: functions, probes, fields, maps, variables, builtins, flags", async () => {
  const cases: [string[], string][] = [
    [
      ["-e", "BEGIN { cnt(); }"],
      'stdin:1:9: ERROR: Unknown function: "cnt"; did you mean "count"?',
    ],
    [
      ["-e", "tracepoint:syscalls:sys_enter_opnat { exit(); }"],
      'stdin:1:1: ERROR: No matches for tracepoint syscalls:sys_enter_opnat; did you mean "syscalls:sys_enter_openat"?',
    ],
    [
      ["-e", "tracepiont:syscalls:sys_enter_openat { exit(); }"],
      'stdin:1:1: ERROR: Unknown attach point type "tracepiont"; did you mean "tracepoint"?',
    ],
    [
      ["-e", "BEGIN { @abc = 1; print(@abd); }"],
      'stdin:1:25: ERROR: Undefined map: @abd; did you mean "@abc"?',
    ],
    [
      ["-e", "BEGIN { $count = 1; print($cuont); }"],
      'stdin:1:27: ERROR: Undefined or undeclared variable: $cuont; did you mean "$count"?',
    ],
    [
      ["-e", 'BEGIN { printf("%s\\n", comn); }'],
      'stdin:1:24: ERROR: Unknown identifier: "comn"; did you mean "comm"?',
    ],
  ];
  for (const [args, expected] of cases) {
    const r = await runCli(["--dry-run", ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [expected], args.join(" "));
  }
  const flag = await runCli(["--durration", "1", "-e", "BEGIN { exit(); }"]);
  assert.equal(flag.code, 2);
  assert.equal(
    flag.stderr,
    "tsbpf: Unknown option '--durration'; did you mean '--duration'?\n" +
      'Try "tsbpf --help".\n',
  );
  // Nothing near: no suggestion.
  const far = await runCli(["--dry-run", "-e", "BEGIN { zzzzqq(); }"]);
  assert.deepEqual(errorLines(far.stderr), [
    'stdin:1:9: ERROR: Unknown function: "zzzzqq"',
  ]);
});

Deno.test({
  name:
    "auto with FFI denied on Linux refuses too: it is not a missing kernel path",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--deny-ffi",
        "--no-lock",
        new URL("../../mod.ts", import.meta.url).pathname,
        "-e",
        "tracepoint:syscalls:sys_enter_getppid { @n = count(); }",
        "--duration",
        "1",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 1, dec.decode(out.stderr));
    assert.equal(dec.decode(out.stdout), "");
    assert.equal(
      dec.decode(out.stderr),
      "ERROR: FFI is not permitted (run with --allow-ffi); --backend interp " +
        "runs the program on synthetic events instead\n",
    );
  },
});

Deno.test({
  name:
    "root without capabilities (a reduced bounding set) is refused too, naming them",
  ignore: skip("the run-as-nobody test", nobody),
  fn: async () => {
    const out = await runCliWithPrivileges(
      ["--bounding-set", "-all", "--inh-caps", "-all"],
      ["-e", OPENAT, "--duration", "1"],
    );
    assert.equal(out.code, 1, out.stderr);
    assert.equal(out.stdout, "");
    assert.equal(
      out.stderr,
      "ERROR: Tracing in the kernel needs CAP_BPF and CAP_PERFMON, which " +
        "this process lacks although it runs as root (a container or a " +
        "reduced capability set?): grant them to the process; --backend interp runs " +
        "the program on synthetic events instead\n",
    );
  },
});

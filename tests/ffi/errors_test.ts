import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import { hasKprobes, kprobeAlternative } from "../../ffi/attach.ts";
import {
  AttachError,
  KernelError,
  VerifierRejection,
} from "../../ffi/errors.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import {
  mapSpec,
  noLeaks,
  pname,
  point,
  probeOf,
  skipReason,
} from "./kernel_helpers.ts";
import { skip } from "../support/skip.ts";

const ret0 = () => new InsnBuilder().movImm(0, 0).exit();

Deno.test({
  name: "kprobe on a kernel without kprobes: one sentence with an alternative",
  ignore: skip(
    "the no-kprobes error test",
    skipReason ?? (hasKprobes() ? "this kernel has kprobes" : undefined),
  ),
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        await engine.load({
          probes: [
            probeOf(
              "kp",
              ProgType.KPROBE,
              [point("kprobe", "kfree_skb")],
              ret0(),
            ),
            probeOf("krp", ProgType.KPROBE, [
              point("kretprobe", "vfs_read"),
            ], ret0()),
          ],
          maps: [],
          formats: [],
        });
        await assert.rejects(engine.attach(), (e) => {
          assert.ok(e instanceof AttachError);
          assert.equal(
            e.message,
            'Cannot attach "kprobe:kfree_skb": this kernel has no kprobes ' +
              "(built without CONFIG_KPROBES); use tracepoint:skb:kfree_skb instead",
          );
          return true;
        });
      } finally {
        engine.close();
      }
    }),
});

Deno.test("kprobe alternatives", () => {
  assert.equal(
    kprobeAlternative("vfs_read", true),
    "tracepoint:syscalls:sys_exit_read",
  );
  assert.equal(
    kprobeAlternative("__x64_sys_openat", false),
    "tracepoint:syscalls:sys_enter_openat",
  );
  assert.equal(kprobeAlternative("some_static_fn", false), undefined);
});

Deno.test({
  name: "verifier rejection carries the log, the instruction and the line",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        const b = new InsnBuilder();
        b.at({ line: 1, col: 1 }).movImm(0, 0);
        b.ldMap(1, 0); // slots 1-2: a map is created and patched first
        b.at({ line: 7, col: 3 }).alu64Reg("ADD", 0, 2); // r2 never set
        b.at({ line: 8, col: 1 }).exit();
        const probe = probeOf("bad", ProgType.TRACEPOINT, [
          point("tracepoint", "syscalls:sys_enter_getppid"),
        ], b);
        await assert.rejects(
          engine.load({
            probes: [probe],
            maps: [mapSpec("@m", MapType.ARRAY, 4, 8, 1)],
            formats: [],
          }),
          (e) => {
            assert.ok(e instanceof VerifierRejection);
            assert.equal(e.insnIndex, 3);
            assert.equal(e.line, 7);
            assert.equal(e.col, 3);
            assert.equal(e.errno, 13);
            assert.equal(e.reason, "R2 !read_ok");
            assert.match(e.log, /^3: \(0f\) r0 \+= r2$/m);
            // Worded as tsbpf's verifier words it (ProgramRejectedError).
            assert.equal(
              e.message,
              `Probe "${
                pname("bad")
              }" rejected by the kernel's verifier at instruction 3 ` +
                "(script line 7, column 3): R2 !read_ok\n  3: r0 += r2",
            );
            return true;
          },
        );
        // A failed load releases everything: the engine is closed.
        assert.throws(() => engine.readMap(0), RangeError);
      } finally {
        engine.close();
      }
    }),
});

Deno.test({
  name: "kernel errors name the errno and what tsbpf was doing",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      // An array map's key must be 4 bytes.
      const bad = new KernelEngine();
      await assert.rejects(
        bad.load({
          probes: [],
          maps: [mapSpec("@bad", MapType.ARRAY, 8, 8, 1)],
          formats: [],
        }),
        (e) => {
          assert.ok(e instanceof KernelError);
          assert.equal(e.code, "EINVAL");
          assert.equal(e.errno, 22);
          assert.equal(e.op, 'create map "@bad"');
          assert.equal(
            e.message,
            'Cannot create map "@bad": EINVAL: Invalid argument',
          );
          return true;
        },
      );
      bad.close();

      const engine = new KernelEngine();
      try {
        await engine.load({
          probes: [
            probeOf("notp", ProgType.TRACEPOINT, [
              point("tracepoint", "syscalls:sys_enter_no_such_call"),
            ], ret0()),
          ],
          maps: [],
          formats: [],
        });
        await assert.rejects(engine.attach(), {
          name: "AttachError",
          message:
            "Cannot attach \"tracepoint:syscalls:sys_enter_no_such_call\": no such tracepoint on this kernel (see tsbpf -l 'tracepoint:*')",
        });
      } finally {
        engine.close();
      }

      const raw = new KernelEngine();
      try {
        await raw.load({
          probes: [
            probeOf("noraw", ProgType.RAW_TRACEPOINT, [
              point("rawtracepoint", "no_such_raw_tp"),
            ], ret0()),
          ],
          maps: [],
          formats: [],
        });
        await assert.rejects(raw.attach(), {
          name: "KernelError",
          message:
            'Cannot attach "rawtracepoint:no_such_raw_tp": ENOENT: No such file or directory. No such raw tracepoint on this kernel',
        });
      } finally {
        raw.close();
      }
    }),
});

Deno.test({
  name: "without --allow-ffi the engine says so in one sentence",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const url =
      new URL("../../runtime/engines/kernel_engine.ts", import.meta.url).href;
    const denied = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--allow-read",
        "--deny-ffi",
        "-",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const w = denied.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(
        `import { probeKernel } from "${url}"; console.log(JSON.stringify(probeKernel()));`,
      ),
    );
    await w.close();
    const res = await denied.output();
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(res.stdout)),
      {
        ok: false,
        reason: "FFI is not permitted (run with --allow-ffi)",
      },
      new TextDecoder().decode(res.stderr),
    );
  },
});

const setpriv = (() => {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return undefined;
  for (const p of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
})();

Deno.test({
  name: "as an unprivileged user the engine says why in one sentence",
  ignore: setpriv === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsbpf_nobody_" });
    try {
      await Deno.chmod(dir, 0o777);
      const url =
        new URL("../../runtime/engines/kernel_engine.ts", import.meta.url).href;
      const script = `${dir}/p.ts`;
      await Deno.writeTextFile(
        script,
        `import { probeKernel } from "${url}"; console.log(JSON.stringify(probeKernel()));`,
      );
      await Deno.chmod(script, 0o644);
      const out = await new Deno.Command(setpriv!, {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          Deno.execPath(),
          "run",
          "--no-check",
          "--allow-ffi",
          "--allow-read",
          script,
        ],
        env: { DENO_DIR: `${dir}/deno`, HOME: dir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.deepEqual(
        JSON.parse(new TextDecoder().decode(out.stdout)),
        {
          ok: false,
          reason: "tracing in the kernel needs CAP_BPF and CAP_PERFMON, " +
            "which this process (uid 65534) lacks: run as root (sudo) or " +
            "grant them (setcap cap_bpf,cap_perfmon+ep on the deno binary); " +
            "--backend interp runs the program on synthetic events instead",
        },
        new TextDecoder().decode(out.stderr),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a kernel verifier rejection reads as tsbpf's verifier's", () => {
  const log = "0: (b7) r0 = 0                        ; R0_w=0\n" +
    "1: (0f) r0 += r2\nR2 !read_ok\nprocessed 2 insns\n";
  const e = new VerifierRejection("tp_sys_enter", log, 13, 1, {
    line: 2,
    col: 5,
  }, { probe: "sys_enter", sourceLine: "  @x = $y;" });
  assert.equal(
    e.message,
    `Probe "sys_enter" rejected by the kernel's verifier at instruction 1 ` +
      "(script line 2, column 5): R2 !read_ok\n  1: r0 += r2\n  2 |   @x = $y;",
  );
  assert.equal(e.program, "tp_sys_enter");
  const states = new VerifierRejection("p", log, 13, 0);
  assert.equal(
    states.message,
    `Probe "p" rejected by the kernel's verifier at instruction 0: R2 !read_ok\n  0: r0 = 0`,
  );
});

/**
 * `percpu_kaddr(name[, cpu])` (bpftrace v0.26.1 docs/stdlib.md,
 * tests/runtime/call, tests/type_checker.cpp): the per-CPU variable's BTF
 * id loaded with `ld_imm64` (`BPF_PSEUDO_BTF_ID`), then
 * `bpf_per_cpu_ptr` (NULL-checked) or `bpf_this_cpu_ptr`; the value is a
 * kernel pointer to the variable's type. In the interpreter, against an
 * environment that places the variables, through the CLI on synthetic
 * events, and in the kernel where it resolves the variables.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { Helper, PseudoSrc } from "../../runtime/bpf/opcodes.ts";
import { kernelTypes } from "../../runtime/btf/load_types.ts";
import { percpuVars } from "../../runtime/btf/percpu_vars.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { entries, load, run } from "./harness.ts";
import { runCli } from "../cli/helpers.ts";
import { kernelSkipReason, skip } from "../support/skip.ts";
import { percpuSkipReason } from "../support/percpu.ts";

await prepareKernelTypes("percpu_kaddr");

const types = kernelTypes();
const btfReason = types.source === "btf"
  ? undefined
  : "the kernel's BTF (/sys/kernel/btf/vmlinux) is not readable";
const vars = percpuVars(types.btf);

/** The formatted diagnostics of a script that does not compile. */
function failure(src: string): string {
  try {
    compile(src, { tracefsAvailable: false });
  } catch (e) {
    if (e instanceof CompileErrors) return e.format();
    throw e;
  }
  throw new Error(`compiled: ${src}`);
}

/** One error: `stdin:1:COL: ERROR: message`, the line, the mark. */
function one(src: string, col: number, len: number, message: string): string {
  return `stdin:1:${col}: ERROR: ${message}\n${src}\n` +
    " ".repeat(col - 1) + "~".repeat(len);
}

Deno.test("percpu_kaddr: bad arguments are located errors", () => {
  let src = "begin { percpu_kaddr(0); }";
  assert.equal(
    failure(src),
    one(
      src,
      22,
      1,
      "percpu_kaddr() expects a string literal as argument 1, got int64",
    ),
  );
  src = 'begin { percpu_kaddr("runqueues", 0, 1); }';
  assert.equal(
    failure(src),
    one(src, 9, 31, "percpu_kaddr() takes 1 to 2 arguments (3 given)"),
  );
  src = 'begin { percpu_kaddr("runqueues", "0"); }';
  assert.match(
    failure(src),
    /^stdin:1:35: ERROR: percpu_kaddr\(\) expects an integer CPU as argument 2, got string/,
  );
});

Deno.test({
  name: "percpu_kaddr: an unknown variable, with the nearest names of BTF",
  ignore: skip("the BTF variable names", btfReason),
  fn() {
    const src = 'begin { print(percpu_kaddr("proces_counts")); }';
    assert.equal(
      failure(src),
      one(
        src,
        15,
        29,
        'Could not resolve variable "proces_counts" from BTF; did you mean "process_counts"?',
      ),
    );
    // bpftrace's type_checker.cpp case: no name is near.
    const none = 'begin { percpu_kaddr("nonsense"); }';
    assert.equal(
      failure(none),
      one(none, 9, 24, 'Could not resolve variable "nonsense" from BTF'),
    );
  },
});

Deno.test({
  name:
    "percpu_kaddr: the variable by BTF id, then per_cpu_ptr and its NULL check, or this_cpu_ptr",
  ignore: skip("the BTF variables", btfReason),
  fn() {
    const id = vars.get("process_counts")!.id;
    const code = (src: string) => compile(src).probes[0].insns;
    const two = code(
      'begin { @ = *percpu_kaddr("process_counts", 1); }',
    );
    const at = two.findIndex((i) =>
      i.code === 0x18 && i.src === PseudoSrc.BTF_ID
    );
    assert.ok(at >= 0, "no ld_imm64 of a BTF id");
    assert.equal(two[at].imm, id);
    assert.equal(two[at + 1].imm, 0); // vmlinux, not a module's BTF
    const call = two.findIndex((i, pc) => pc > at && i.code === 0x85);
    assert.equal(two[call].imm, Helper.per_cpu_ptr);
    // if r0 == 0 goto +0: each side goes on with r0 known (NULL or not).
    assert.deepEqual(
      [two[call + 1].code, two[call + 1].dst, two[call + 1].imm],
      [0x15, 0, 0],
    );
    const one = code('begin { @ = *percpu_kaddr("process_counts"); }');
    const c1 = one.findIndex((i) => i.code === 0x85);
    assert.equal(one[c1].imm, Helper.this_cpu_ptr);
    assert.notEqual(one[c1 + 1].code, 0x15);
  },
});

Deno.test({
  name:
    "percpu_kaddr: the interpreter reads each CPU's copy; a CPU that does not exist reads 0",
  ignore: skip("the BTF variables", btfReason),
  fn() {
    const pc = vars.get("process_counts")!;
    const rq = vars.get("runqueues")!;
    const nr = types.fieldPath(types.lookup("struct rq")!, "nr_running")!;
    const base = 0xffff888000400000n;
    const mem = new Uint8Array(0x2000);
    const dv = new DataView(mem.buffer);
    dv.setBigUint64(0, 42n, true); // process_counts, CPU 0
    dv.setBigUint64(8, 7n, true); // process_counts, CPU 1
    dv.setUint32(0x1000 + nr.offset, 3, true); // runqueues, CPU 1
    const env = {
      ...createEnvironment({
        numCpus: 2,
        cpu: 1,
        memory: [{ addr: base, bytes: mem, space: "kernel" as const }],
      }),
      percpuAddress(id: number, cpu: number): bigint | undefined {
        if (id === pc.id) return base + BigInt(cpu * 8);
        if (id === rq.id && cpu === 1) return base + 0x1000n;
        return undefined;
      },
    };
    const l = load(
      "BEGIN { " +
        '@c0 = *percpu_kaddr("process_counts", 0); ' +
        '@c1 = *percpu_kaddr("process_counts", 1); ' +
        '@c5 = *percpu_kaddr("process_counts", 5); ' +
        '@this = *percpu_kaddr("process_counts"); ' +
        '@null = percpu_kaddr("process_counts", 5) == 0; ' +
        '$rq = (struct rq *)percpu_kaddr("runqueues", 1); ' +
        "if ($rq != 0) { @nr = $rq->nr_running; } " +
        '@nr0 = ((struct rq *)percpu_kaddr("runqueues", 0))->nr_running; }',
      {},
      { numCpus: 2 },
    );
    run(l, "BEGIN", new Uint8Array(0), env);
    const value = (name: string) => entries(l, name)[0]?.value[0];
    assert.equal(value("@c0"), 42n);
    assert.equal(value("@c1"), 7n);
    assert.equal(value("@c5"), 0n);
    assert.equal(value("@this"), 7n);
    assert.equal(value("@null"), 1n);
    assert.equal(value("@nr"), 3n);
    // NULL (no such copy): the read fails and gives 0, as bpftrace's.
    assert.equal(value("@nr0"), 0n);
  },
});

const INTERP_SKIP = btfReason;

/** bpftrace 0.26.1's tests/runtime/call percpu_kaddr programs, and a sum over the CPUs. */
const RUNTIME_TESTS =
  'begin { printf("processes: %d\\n", *percpu_kaddr("process_counts", 0)); ' +
  'if (*percpu_kaddr("process_counts") == *percpu_kaddr("process_counts", cpu)) { printf("SUCCESS\\n") } ' +
  '$runq = ((struct rq *)percpu_kaddr("runqueues", 0)); ' +
  'if ($runq != 0) { printf("nr_running: %d\\n", $runq.nr_running) } ' +
  '$s = 0; $i = 0; while ($i < ncpus) { $s += *percpu_kaddr("process_counts", $i); $i++ } ' +
  'printf("sum: %d\\n", $s); exit() }';

Deno.test({
  name: "percpu_kaddr: bpftrace's runtime tests on synthetic events",
  ignore: skip("the interpreter's per-CPU variables", INTERP_SKIP),
  async fn() {
    const r = await runCli([
      "--backend",
      "interp",
      "-e",
      RUNTIME_TESTS,
    ], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /synthetic/);
    const processes = Number(/processes: (-?\d+)/.exec(r.stdout)?.[1]);
    assert.ok(processes > 0, r.stdout);
    assert.match(r.stdout, /^SUCCESS$/m);
    const running = Number(/nr_running: (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(running >= 1 && running <= 8, r.stdout);
    const sum = Number(/sum: (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(sum >= processes, r.stdout);
  },
});

const KERNEL_SKIP = kernelSkipReason() ?? btfReason;
const percpuReason = KERNEL_SKIP ?? percpuSkipReason();

Deno.test({
  name: "percpu_kaddr: bpftrace's runtime tests in the kernel",
  ignore: skip("percpu_kaddr() in the kernel", percpuReason),
  async fn() {
    const r = await runCli([
      "-e",
      RUNTIME_TESTS,
    ], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /processes: -?\d+/);
    assert.match(r.stdout, /^SUCCESS$/m);
    const running = Number(/nr_running: (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(running >= 0 && running < 10_000, r.stdout);
    // Processes exist: the per-CPU counts sum to their number.
    const sum = Number(/sum: (-?\d+)/.exec(r.stdout)?.[1]);
    assert.ok(sum > 0, r.stdout);
  },
});

Deno.test({
  name: "percpu_kaddr: a kernel without the variables' addresses says why",
  ignore: skip(
    "the kernel's refusal of per-CPU variables",
    KERNEL_SKIP ??
      (percpuReason === undefined
        ? "this kernel resolves per-CPU variables"
        : /failed to find the address/.test(percpuReason)
        ? undefined
        : `another refusal: ${percpuReason}`),
  ),
  async fn() {
    const r = await runCli([
      "-e",
      'begin { printf("%d\\n", *percpu_kaddr("process_counts", 0)); exit() }',
    ], { timeoutMs: 120_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^ERROR: Probe "BEGIN" rejected by the kernel's verifier: ldimm64 failed to find the address for kernel symbol 'process_counts'\.\n {2}The kernel resolves a variable's BTF id through its symbol table, which lists data symbols only when it is built with CONFIG_KALLSYMS_ALL: percpu_kaddr\(\) cannot load on this kernel\./,
    );
  },
});

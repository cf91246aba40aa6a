/**
 * The verifier's model of per-CPU kernel variables (`percpu_kaddr()`):
 * `ld_imm64` with `BPF_PSEUDO_BTF_ID` gives a per-CPU variable that only
 * `bpf_per_cpu_ptr` (maybe NULL) and `bpf_this_cpu_ptr` take; their
 * result is a kernel pointer read through `bpf_probe_read_kernel`. Where
 * the kernel loads such programs (its symbol table lists variables), the
 * accepted ones are loaded there too.
 */

import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { encode, type Insn } from "../../runtime/bpf/insn.ts";
import {
  Helper,
  MapType,
  ProgType,
  PseudoSrc,
} from "../../runtime/bpf/opcodes.ts";
import { VerifierError, verify } from "../../runtime/verifier/verifier.ts";
import { kernelTypes } from "../../runtime/btf/load_types.ts";
import { percpuVars } from "../../runtime/btf/percpu_vars.ts";
import { loadInKernel, percpuSkipReason } from "../support/percpu.ts";
import { skip } from "../support/skip.ts";

const OPTS = {
  maps: [{
    type: MapType.HASH,
    keySize: 8,
    valueSize: 8,
    maxEntries: 16,
  }],
  ctxSize: 8,
  progType: ProgType.RAW_TRACEPOINT,
};

/** The BTF id of `process_counts` where the kernel's BTF has it. */
const VAR_ID = kernelTypes().source === "btf"
  ? percpuVars(kernelTypes().btf).get("process_counts")?.id ?? 1
  : 1;

function prog(make: (b: InsnBuilder) => void): Insn[] {
  const b = new InsnBuilder();
  make(b);
  b.movImm(0, 0);
  b.exit();
  return b.build().insns;
}

/** `r0 = bpf_per_cpu_ptr(process_counts, 0)`. */
function perCpu(b: InsnBuilder): void {
  b.ldImm64(1, VAR_ID, PseudoSrc.BTF_ID);
  b.movImm(2, 0);
  b.call(Helper.per_cpu_ptr);
}

/** `bpf_probe_read_kernel(fp-8, 8, r3)`. */
function readAt3(b: InsnBuilder): void {
  b.movReg(1, 10);
  b.alu64Imm("ADD", 1, -8);
  b.movImm(2, 8);
  b.call(Helper.probe_read_kernel);
}

const accepted: [string, Insn[]][] = [];

function accepts(name: string, insns: Insn[]): void {
  verify(insns, OPTS);
  accepted.push([name, insns]);
}

function rejects(insns: Insn[], reason: RegExp): void {
  assert.throws(
    () => verify(insns, OPTS),
    (e) => e instanceof VerifierError && reason.test(e.reason),
  );
}

Deno.test("percpu verifier: per_cpu_ptr's pointer, NULL-checked, takes an offset and is read by probe_read_kernel", () => {
  accepts(
    "per_cpu_ptr checked",
    prog((b) => {
      perCpu(b);
      b.jmpImm("JEQ", 0, 0, "ok");
      b.label("ok");
      b.movReg(3, 0);
      b.alu64Imm("ADD", 3, 4);
      readAt3(b);
    }),
  );
});

Deno.test("percpu verifier: this_cpu_ptr's pointer is never NULL; a maybe-NULL pointer is read unmoved", () => {
  accepts(
    "this_cpu_ptr",
    prog((b) => {
      b.ldImm64(1, VAR_ID, PseudoSrc.BTF_ID);
      b.call(Helper.this_cpu_ptr);
      b.movReg(3, 0);
      b.alu64Imm("ADD", 3, 0);
      readAt3(b);
    }),
  );
  accepts(
    "per_cpu_ptr read unmoved",
    prog((b) => {
      perCpu(b);
      b.stx(8, 10, -16, 0); // spilled and filled
      b.ldx(8, 3, 10, -16);
      readAt3(b);
    }),
  );
});

Deno.test("percpu verifier: the pointer may be stored in a map value (CAP_PERFMON)", () => {
  accepts(
    "stored in a map value",
    prog((b) => {
      b.st(8, 10, -8, 0);
      b.ldMap(1, 0);
      b.movReg(2, 10);
      b.alu64Imm("ADD", 2, -8);
      b.call(Helper.map_lookup_elem);
      b.jmpImm("JEQ", 0, 0, "out");
      b.movReg(6, 0);
      b.ldImm64(1, VAR_ID, PseudoSrc.BTF_ID);
      b.call(Helper.this_cpu_ptr);
      b.stx(8, 6, 0, 0);
      b.label("out");
    }),
  );
});

Deno.test("percpu verifier: arithmetic before the NULL check is refused", () => {
  rejects(
    prog((b) => {
      perCpu(b);
      b.alu64Imm("ADD", 0, 4);
    }),
    /pointer arithmetic on R0, a kernel pointer that may be NULL, is not allowed; check it against 0 first/,
  );
});

Deno.test("percpu verifier: the kernel pointer is never dereferenced", () => {
  rejects(
    prog((b) => {
      b.ldImm64(1, VAR_ID, PseudoSrc.BTF_ID);
      b.call(Helper.this_cpu_ptr);
      b.ldx(8, 1, 0, 0);
    }),
    /R0 is a kernel pointer \(read through bpf_probe_read_kernel\); it cannot be dereferenced/,
  );
  rejects(
    prog((b) => {
      b.ldImm64(1, VAR_ID, PseudoSrc.BTF_ID);
      b.ldx(8, 0, 1, 0);
    }),
    /R1 is a per-CPU variable .*; it cannot be dereferenced/,
  );
});

Deno.test("percpu verifier: only a per-CPU variable goes to the helpers, unmoved", () => {
  rejects(
    prog((b) => {
      b.movImm(1, 0);
      b.call(Helper.this_cpu_ptr);
    }),
    /R1 \(argument 1 of this_cpu_ptr\) must be a per-CPU kernel variable \(ld_imm64 of a BTF id\), but it is a scalar/,
  );
  rejects(
    prog((b) => {
      b.ldImm64(1, VAR_ID, PseudoSrc.BTF_ID);
      b.alu64Imm("ADD", 1, 8);
    }),
    /pointer arithmetic on R1, a per-CPU variable .*, is not allowed/,
  );
});

Deno.test("percpu verifier: a BTF id must be positive, of vmlinux", () => {
  rejects(
    prog((b) => b.ldImm64(1, 0, PseudoSrc.BTF_ID)),
    /invalid BTF id 0 in ld_imm64/,
  );
});

Deno.test({
  name: "percpu verifier: the kernel loads what we accept",
  ignore: skip(
    "the kernel's verdicts on per-CPU variables",
    percpuSkipReason(),
  ),
  fn() {
    assert.ok(accepted.length >= 4);
    for (const [name, insns] of accepted) {
      const code = encode(insns) as Uint8Array<ArrayBuffer>;
      assert.equal(
        loadInKernel(code, ProgType.RAW_TRACEPOINT),
        undefined,
        name,
      );
    }
  },
});

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { readElf } from "../../runtime/probes/elf.ts";
import { PT_REGS, PT_REGS_SIZE } from "../../runtime/compiler/sema.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { kernelSkipReason, skip } from "../support/skip.ts";
import { decodeEvent } from "../../runtime/output/decode.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import { compileErrors as errors, events, load, run } from "./harness.ts";

/**
 * `uaddr("sym")` in uprobes: the symbol's address in the probe's binary
 * (a user pointer to an integer of the symbol's size). Non-PIE binaries
 * use the address from the file, as bpftrace 0.17 does; PIE binaries (which
 * bpftrace 0.17 gets wrong) add the load offset the uprobe sees in `ip`.
 */

const C = `#include <stdio.h>
#include <unistd.h>
int tsb_counter = 42;
short tsb_small = -3;
__attribute__((noinline)) int tsb_bump(int x) {
  __asm__ volatile("" ::: "memory");
  tsb_counter += x;
  return tsb_counter;
}
int main(void) {
  char c;
  if (read(0, &c, 1) != 1) return 3;
  for (int i = 0; i < 3; i++) tsb_bump(i + 1);
  printf("%d\\n", tsb_counter);
  return 0;
}
`;

/** Builds the test program as PIE and non-PIE; undefined without gcc. */
function build(): { pie: string; nopie: string } | undefined {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf_uaddr_" });
  Deno.writeTextFileSync(`${dir}/t.c`, C);
  const out = { pie: `${dir}/pie`, nopie: `${dir}/nopie` };
  try {
    for (
      const [bin, flags] of [
        [out.pie, ["-pie", "-fpie"]],
        [out.nopie, ["-no-pie", "-fno-pie"]],
      ] as const
    ) {
      const r = new Deno.Command("gcc", {
        args: ["-O1", ...flags, "-o", bin, `${dir}/t.c`],
        stderr: "null",
      }).outputSync();
      if (!r.success) return undefined;
    }
  } catch {
    return undefined;
  }
  return out;
}

const bins = build();
if (bins === undefined) console.log("Skipping uaddr tests: gcc cannot build");
else {
  globalThis.addEventListener("unload", () => {
    Deno.removeSync(bins.pie.slice(0, bins.pie.lastIndexOf("/")), {
      recursive: true,
    });
  });
}

function symbol(path: string, name: string): bigint {
  return readElf(path).symbols.find((s) => s.name === name)!.value;
}

Deno.test({
  name: "uaddr() of a non-PIE binary is the symbol's address",
  ignore: bins === undefined,
  fn() {
    const { nopie } = bins!;
    const text = `uprobe:${nopie}:tsb_bump`;
    const l = load(
      `${text} { @a = uaddr("tsb_counter"); printf("%d %d\\n",` +
        ` *uaddr("tsb_counter"), *uaddr("tsb_small")); }`,
      {},
      {
        memory: [{
          addr: symbol(nopie, "tsb_counter"),
          bytes: new Uint8Array([42, 0, 0, 0, 0xfd, 0xff]),
          space: "user",
        }, {
          addr: symbol(nopie, "tsb_small"),
          bytes: new Uint8Array([0xfd, 0xff]),
          space: "user",
        }],
      },
    );
    run(l, text, new Uint8Array(PT_REGS_SIZE));
    // The address is a constant: no ip read.
    const want = Number(symbol(nopie, "tsb_counter"));
    const insns = compile(`${text} { @a = uaddr("tsb_counter"); }`)
      .probes[0].insns;
    assert.ok(insns.some((i) => i.imm === want));
    assert.ok(!insns.some((i) => i.code === 0x79 && i.off === PT_REGS.ip));
    // int is read as int32, short as int16 (sign-extended).
    assert.deepEqual(events(l)[0].args, [42n, -3n]);
  },
});

Deno.test({
  name: "uaddr() of a PIE binary adds the load offset seen in ip",
  ignore: bins === undefined,
  fn() {
    const { pie } = bins!;
    const text = `uprobe:${pie}:tsb_bump`;
    const base = 0x5555_0000_0000n;
    const l = load(`${text} { printf("%d\\n", *uaddr("tsb_counter")); }`, {}, {
      memory: [{
        addr: base + symbol(pie, "tsb_counter"),
        bytes: new Uint8Array([7, 1, 0, 0]),
        space: "user",
      }],
    });
    const regs = new Uint8Array(PT_REGS_SIZE);
    new DataView(regs.buffer).setBigUint64(
      PT_REGS.ip,
      base + symbol(pie, "tsb_bump"),
      true,
    );
    run(l, text, regs);
    assert.deepEqual(events(l)[0].args, [263n]);
  },
});

Deno.test({
  name: "uaddr() errors: probe type, unknown symbol, PIE uretprobe",
  ignore: bins === undefined,
  fn() {
    const { pie, nopie } = bins!;
    assert.deepEqual(errors('BEGIN { @ = uaddr("x"); }'), [
      "uaddr() can only be used with uprobes and uretprobes",
    ]);
    assert.deepEqual(errors(`uprobe:${pie}:tsb_bump { @ = uaddr("nope"); }`), [
      `Could not resolve symbol: ${pie}:nope`,
    ]);
    assert.deepEqual(
      errors(`uretprobe:${pie}:tsb_bump { @ = *uaddr("tsb_counter"); }`),
      [
        `uaddr() in a uretprobe needs a non-PIE binary ("${pie}" is PIE or a shared library)`,
      ],
    );
    assert.deepEqual(
      errors(`uretprobe:${nopie}:tsb_bump { @ = *uaddr("tsb_counter"); }`),
      [],
    );
    assert.deepEqual(errors(`uprobe:${nopie}:tsb_bump { @ = uaddr(pid); }`), [
      "uaddr() expects a string literal as argument 1",
    ]);
  },
});

Deno.test("uaddr() errors: a binary that cannot be read, attach points in two binaries", () => {
  // The binary is read while building units, before type checking.
  assert.deepEqual(
    errors('uprobe:/nonexistent/tsbpf_bin:main { @ = uaddr("x"); }'),
    [
      'uaddr(): cannot read "/nonexistent/tsbpf_bin": Cannot read ELF "/nonexistent/tsbpf_bin": no such file',
    ],
  );
  assert.deepEqual(
    errors(
      'uprobe:/nonexistent/a:main, uprobe:/nonexistent/b:main { @ = uaddr("x"); }',
    ),
    ["uaddr() needs all attach points of the probe in one binary"],
  );
});

Deno.test({
  name: "kernel: *uaddr() reads a global of PIE and non-PIE programs",
  ignore: bins === undefined ||
    skip("the uaddr kernel test", kernelSkipReason()),
  async fn() {
    for (const bin of [bins!.nopie, bins!.pie]) {
      const prog = compile(
        `uprobe:${bin}:tsb_bump { printf("%d %d %d\\n", *uaddr("tsb_counter"),` +
          ` *uaddr("tsb_small"), uaddr("tsb_bump") == reg("ip")); }`,
      );
      const engine = new KernelEngine();
      try {
        await engine.load(prog);
        await engine.attach();
        const child = new Deno.Command(bin, {
          stdin: "piped",
          stdout: "piped",
        }).spawn();
        const w = child.stdin.getWriter();
        await w.write(new Uint8Array([0x67]));
        await w.close();
        const out = await child.output();
        assert.equal(new TextDecoder().decode(out.stdout), "48\n");
        const text: string[] = [];
        await engine.poll(100, (rec) => {
          text.push(formatEventOutput(decodeEvent(prog, rec), "text") ?? "");
        });
        assert.deepEqual(text, ["42 -3 1\n", "43 -3 1\n", "45 -3 1\n"], bin);
      } finally {
        engine.close();
      }
    }
  },
});

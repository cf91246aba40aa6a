import assert from "node:assert/strict";
import {
  AttachType,
  LinkCreateOpts,
  MapCreateOpts,
  PerfEventAttr,
  PerfFlag,
  PerfIoctl,
  ProgInfo,
  ProgLoadOpts,
  PtRegs,
  TestRunOpts,
} from "../../ffi/structs.ts";

/** Fields to check: [C struct, C field, our table, our key]. */
const FIELDS: [string, string, Record<string, number>, string][] = [
  ["bpf_map_create_opts", "map_flags", MapCreateOpts, "map_flags"],
  ["bpf_map_create_opts", "map_extra", MapCreateOpts, "map_extra"],
  ["bpf_map_create_opts", "numa_node", MapCreateOpts, "numa_node"],
  ["bpf_map_create_opts", "inner_map_fd", MapCreateOpts, "inner_map_fd"],
  ["bpf_prog_load_opts", "attempts", ProgLoadOpts, "attempts"],
  [
    "bpf_prog_load_opts",
    "expected_attach_type",
    ProgLoadOpts,
    "expected_attach_type",
  ],
  ["bpf_prog_load_opts", "prog_flags", ProgLoadOpts, "prog_flags"],
  ["bpf_prog_load_opts", "kern_version", ProgLoadOpts, "kern_version"],
  ["bpf_prog_load_opts", "attach_btf_id", ProgLoadOpts, "attach_btf_id"],
  ["bpf_prog_load_opts", "fd_array", ProgLoadOpts, "fd_array"],
  ["bpf_prog_load_opts", "log_level", ProgLoadOpts, "log_level"],
  ["bpf_prog_load_opts", "log_size", ProgLoadOpts, "log_size"],
  ["bpf_prog_load_opts", "log_buf", ProgLoadOpts, "log_buf"],
  ["bpf_link_create_opts", "flags", LinkCreateOpts, "flags"],
  [
    "bpf_link_create_opts",
    "perf_event.bpf_cookie",
    LinkCreateOpts,
    "bpf_cookie",
  ],
  ["bpf_test_run_opts", "data_in", TestRunOpts, "data_in"],
  ["bpf_test_run_opts", "data_out", TestRunOpts, "data_out"],
  ["bpf_test_run_opts", "data_size_in", TestRunOpts, "data_size_in"],
  ["bpf_test_run_opts", "data_size_out", TestRunOpts, "data_size_out"],
  ["bpf_test_run_opts", "ctx_in", TestRunOpts, "ctx_in"],
  ["bpf_test_run_opts", "ctx_out", TestRunOpts, "ctx_out"],
  ["bpf_test_run_opts", "ctx_size_in", TestRunOpts, "ctx_size_in"],
  ["bpf_test_run_opts", "retval", TestRunOpts, "retval"],
  ["bpf_test_run_opts", "repeat", TestRunOpts, "repeat"],
  ["bpf_test_run_opts", "duration", TestRunOpts, "duration"],
  ["bpf_test_run_opts", "flags", TestRunOpts, "flags"],
  ["bpf_test_run_opts", "cpu", TestRunOpts, "cpu"],
  ["bpf_test_run_opts", "batch_size", TestRunOpts, "batch_size"],
  ["bpf_prog_info", "type", ProgInfo, "type"],
  ["bpf_prog_info", "id", ProgInfo, "id"],
  ["bpf_prog_info", "tag", ProgInfo, "tag"],
  ["bpf_prog_info", "xlated_prog_len", ProgInfo, "xlated_prog_len"],
  ["bpf_prog_info", "load_time", ProgInfo, "load_time"],
  ["bpf_prog_info", "nr_map_ids", ProgInfo, "nr_map_ids"],
  ["bpf_prog_info", "map_ids", ProgInfo, "map_ids"],
  ["bpf_prog_info", "name", ProgInfo, "name"],
  ["bpf_prog_info", "run_time_ns", ProgInfo, "run_time_ns"],
  ["bpf_prog_info", "run_cnt", ProgInfo, "run_cnt"],
  ["bpf_prog_info", "recursion_misses", ProgInfo, "recursion_misses"],
  ["bpf_prog_info", "verified_insns", ProgInfo, "verified_insns"],
  ["perf_event_attr", "size", PerfEventAttr, "attrSize"],
  ["perf_event_attr", "config", PerfEventAttr, "config"],
  ["perf_event_attr", "sample_period", PerfEventAttr, "sample_period"],
  ["perf_event_attr", "sample_type", PerfEventAttr, "sample_type"],
  ["perf_event_attr", "read_format", PerfEventAttr, "read_format"],
  ["perf_event_attr", "wakeup_events", PerfEventAttr, "wakeup_events"],
  ["perf_event_attr", "bp_type", PerfEventAttr, "bp_type"],
  ["perf_event_attr", "config1", PerfEventAttr, "config1"],
  ["perf_event_attr", "config2", PerfEventAttr, "config2"],
  ["pt_regs", "rax", PtRegs, "ax"],
  ["pt_regs", "rdi", PtRegs, "di"],
  ["pt_regs", "rsi", PtRegs, "si"],
  ["pt_regs", "rdx", PtRegs, "dx"],
  ["pt_regs", "rcx", PtRegs, "cx"],
  ["pt_regs", "r8", PtRegs, "r8"],
  ["pt_regs", "rip", PtRegs, "ip"],
  ["pt_regs", "rsp", PtRegs, "sp"],
];

const SIZES: [string, number][] = [
  ["bpf_map_create_opts", MapCreateOpts.size],
  ["bpf_prog_load_opts", ProgLoadOpts.size],
  ["bpf_link_create_opts", LinkCreateOpts.size],
  ["bpf_test_run_opts", TestRunOpts.size],
  ["bpf_prog_info", ProgInfo.size],
  ["perf_event_attr", PerfEventAttr.size],
  ["pt_regs", PtRegs.size],
];

const FLAGS = [
  "disabled",
  "inherit",
  "pinned",
  "exclusive",
  "exclude_user",
  "exclude_kernel",
  "exclude_hv",
  "exclude_idle",
  "freq",
  "enable_on_exec",
  "watermark",
] as const;

function cProgram(): string {
  const lines = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    "#include <string.h>",
    "#include <linux/perf_event.h>",
    "#include <linux/bpf.h>",
    "#include <bpf/bpf.h>",
    // The uapi pt_regs (rax, rdi, …): same layout as the kernel's (ax, di, …).
    "#include <asm/ptrace.h>",
    "int main(void) {",
  ];
  for (const [s, f] of FIELDS) {
    lines.push(
      `  printf("${s}.${f} %zu\\n", offsetof(struct ${s}, ${f}));`,
    );
  }
  for (const [s] of SIZES) {
    lines.push(`  printf("sizeof ${s} %zu\\n", sizeof(struct ${s}));`);
  }
  lines.push("  struct perf_event_attr a; unsigned long long w;");
  for (const f of FLAGS) {
    lines.push(
      `  memset(&a, 0, sizeof a); a.${f} = 1; memcpy(&w, (char *)&a + 40, 8); printf("flag ${f} %llu\\n", w);`,
    );
  }
  lines.push(
    '  printf("ioctl ENABLE %lu\\n", (unsigned long)PERF_EVENT_IOC_ENABLE);',
    '  printf("ioctl DISABLE %lu\\n", (unsigned long)PERF_EVENT_IOC_DISABLE);',
    '  printf("ioctl SET_BPF %lu\\n", (unsigned long)PERF_EVENT_IOC_SET_BPF);',
    '  printf("attach PERF_EVENT %d\\n", BPF_PERF_EVENT);',
    '  printf("attach TRACE_RAW_TP %d\\n", BPF_TRACE_RAW_TP);',
    "  return 0;",
    "}",
  );
  return lines.join("\n");
}

async function compileAndRun(): Promise<string | { skip: string }> {
  const dir = await Deno.makeTempDir({ prefix: "tsbpf_structs_" });
  try {
    await Deno.writeTextFile(`${dir}/s.c`, cProgram());
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("gcc", {
        args: ["-o", `${dir}/s`, `${dir}/s.c`],
        stderr: "piped",
      }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { skip: "no gcc" };
      throw e;
    }
    if (!out.success) {
      return {
        skip: `cannot compile against the kernel/libbpf headers: ${
          new TextDecoder().decode(out.stderr).split("\n")[0]
        }`,
      };
    }
    const run = await new Deno.Command(`${dir}/s`, { stdout: "piped" })
      .output();
    return new TextDecoder().decode(run.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const result = Deno.build.os === "linux"
  ? await compileAndRun()
  : { skip: "not Linux" };
if (typeof result !== "string") {
  console.log(`Skipping struct layout check: ${result.skip}`);
}

Deno.test({
  name: "struct layouts match the C headers (gcc offsetof/sizeof)",
  ignore: typeof result !== "string",
  fn: () => {
    const got = new Map(
      (result as string).trim().split("\n").map((l) => {
        const i = l.lastIndexOf(" ");
        return [l.slice(0, i), Number(l.slice(i + 1))];
      }),
    );
    for (const [s, f, table, key] of FIELDS) {
      assert.equal(table[key], got.get(`${s}.${f}`), `${s}.${f}`);
    }
    for (const [s, size] of SIZES) {
      assert.equal(size, got.get(`sizeof ${s}`), `sizeof ${s}`);
    }
    for (const f of FLAGS) {
      assert.equal(Number(PerfFlag[f]), got.get(`flag ${f}`), f);
    }
    assert.equal(PerfIoctl.ENABLE, got.get("ioctl ENABLE"));
    assert.equal(PerfIoctl.DISABLE, got.get("ioctl DISABLE"));
    assert.equal(PerfIoctl.SET_BPF, got.get("ioctl SET_BPF"));
    assert.equal(AttachType.PERF_EVENT, got.get("attach PERF_EVENT"));
    assert.equal(AttachType.TRACE_RAW_TP, got.get("attach TRACE_RAW_TP"));
  },
});

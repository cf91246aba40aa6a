import assert from "node:assert/strict";
import {
  isWildcard,
  parseAttachPoint,
  PROVIDER_ALIASES,
  providerKind,
} from "../../runtime/probes/attach_spec.ts";
import {
  HARDWARE_EVENTS,
  perfEvent,
  PerfType,
  SOFTWARE_EVENTS,
} from "../../runtime/probes/perf_events.ts";

Deno.test("every alias gives the same attach point as its long name", () => {
  const cases: [string, string][] = [
    ["t:skb:kfree_skb", "tracepoint:skb:kfree_skb"],
    ["rt:kfree_skb", "rawtracepoint:kfree_skb"],
    ["k:vfs_read", "kprobe:vfs_read"],
    ["kr:vfs_read", "kretprobe:vfs_read"],
    ["u:/bin/bash:readline", "uprobe:/bin/bash:readline"],
    ["ur:/bin/bash:readline", "uretprobe:/bin/bash:readline"],
    ["p:hz:99", "profile:hz:99"],
    ["i:s:1", "interval:s:1"],
    ["s:cpu-clock:1000000", "software:cpu-clock:1000000"],
    ["h:cache-misses:1000000", "hardware:cache-misses:1000000"],
    ["U:/bin/x:prov:probe", "usdt:/bin/x:prov:probe"],
    ["f:vfs_read", "fentry:vfs_read"],
    ["kfunc:vfs_read", "fentry:vfs_read"],
    ["fr:vfs_read", "fexit:vfs_read"],
    ["kretfunc:vmlinux:vfs_read", "fexit:vmlinux:vfs_read"],
  ];
  for (const [alias, long] of cases) {
    const a = parseAttachPoint(alias);
    const b = parseAttachPoint(long);
    assert.deepEqual(a, b, alias);
    assert.equal(a.text, long);
    assert.equal(providerKind(alias.split(":")[0]), a.kind);
  }
  assert.deepEqual(
    Object.keys(PROVIDER_ALIASES).sort(),
    [
      "U",
      "f",
      "fr",
      "h",
      "i",
      "k",
      "kfunc",
      "kr",
      "kretfunc",
      "p",
      "rt",
      "s",
      "t",
      "u",
      "ur",
    ],
  );
});

Deno.test("attach point shapes", () => {
  assert.deepEqual(parseAttachPoint("BEGIN"), {
    kind: "BEGIN",
    target: "",
    text: "BEGIN",
  });
  assert.deepEqual(parseAttachPoint(" END "), {
    kind: "END",
    target: "",
    text: "END",
  });
  assert.deepEqual(parseAttachPoint("tracepoint:syscalls:sys_enter_openat"), {
    kind: "tracepoint",
    target: "syscalls:sys_enter_openat",
    text: "tracepoint:syscalls:sys_enter_openat",
  });
  assert.deepEqual(parseAttachPoint("kprobe:f+0x10"), {
    kind: "kprobe",
    target: "f",
    offset: 16,
    text: "kprobe:f+16",
  });
  assert.equal(parseAttachPoint("kprobe:f+16").offset, 16);
  assert.deepEqual(parseAttachPoint("uprobe:/bin/bash:readline"), {
    kind: "uprobe",
    target: "/bin/bash",
    symbol: "readline",
    text: "uprobe:/bin/bash:readline",
  });
  assert.deepEqual(parseAttachPoint("uprobe:libc:malloc+4"), {
    kind: "uprobe",
    target: "libc",
    symbol: "malloc",
    offset: 4,
    text: "uprobe:libc:malloc+4",
  });
  assert.equal(parseAttachPoint("uprobe:/bin/bash:0x4f2a0").symbol, "0x4f2a0");
  assert.deepEqual(parseAttachPoint("profile:hz:99"), {
    kind: "profile",
    target: "",
    unit: "hz",
    period: 99,
    text: "profile:hz:99",
  });
  for (const unit of ["s", "ms", "us", "hz"]) {
    const ap = parseAttachPoint(`interval:${unit}:250`);
    assert.equal(ap.unit, unit);
    assert.equal(ap.period, 250);
  }
  assert.deepEqual(parseAttachPoint("software:cpu-clock:1000000"), {
    kind: "software",
    target: "cpu-clock",
    period: 1000000,
    text: "software:cpu-clock:1000000",
  });
  assert.equal(parseAttachPoint("software:cpu:1e6").period, 1000000);
  assert.equal(parseAttachPoint("s:faults").text, "software:page-faults:100");
  assert.equal(
    parseAttachPoint("h:cycles").text,
    "hardware:cpu-cycles:1000000",
  );
  assert.equal(
    parseAttachPoint("h:branches:").text,
    "hardware:branch-instructions:100000",
  );
  assert.equal(
    parseAttachPoint("rawtracepoint:module:event").target,
    "module:event",
  );
});

Deno.test("usdt attach points keep the binary and [provider:]probe", () => {
  assert.deepEqual(parseAttachPoint("U:/usr/bin/python3.11:python:gc__start"), {
    kind: "usdt",
    target: "/usr/bin/python3.11",
    symbol: "python:gc__start",
    text: "usdt:/usr/bin/python3.11:python:gc__start",
  });
  assert.equal(parseAttachPoint("usdt:libc:setjmp").symbol, "setjmp");
  assert.ok(isWildcard(parseAttachPoint("usdt:/bin/x:py*:gc*")));
});

Deno.test("wildcards are kept and reported", () => {
  const tp = parseAttachPoint("t:syscalls:sys_enter_*");
  assert.equal(tp.target, "syscalls:sys_enter_*");
  assert.ok(isWildcard(tp));
  assert.ok(isWildcard(parseAttachPoint("u:/bin/bash:read*")));
  assert.ok(isWildcard(parseAttachPoint("software:*")));
  assert.ok(!isWildcard(parseAttachPoint("t:skb:kfree_skb")));
});

Deno.test("invalid attach points throw SyntaxError naming the text", () => {
  const bad: [string, RegExp][] = [
    ["kfree_skb", /expected provider:target/],
    ["watchpoint:0x1:8:w", /unknown provider "watchpoint"/],
    ["fentry:a:b:c", /missing function/],
    ["usdt:/bin/x", /expected usdt:binary:\[provider:\]probe/],
    ["usdt:/bin/x:a:b:c", /expected usdt:binary:\[provider:\]probe/],
    ["tracepoint:skb", /expected tracepoint:category:name/],
    ["tracepoint:skb:", /expected tracepoint:category:name/],
    ["tracepoint:", /missing target/],
    ["kretprobe:f+4", /kretprobe takes no offset/],
    ["kprobe:f+zz", /bad offset "zz"/],
    ["uprobe:readline", /expected uprobe:binary:symbol/],
    ["uprobe:/bin/bash:", /expected uprobe:binary:symbol/],
    ["uretprobe:/bin/bash:readline+1", /uretprobe takes no offset/],
    ["profile:99", /minimum is 1000 or 1us, found 99 nanoseconds/],
    ["interval:1x", /invalid trailing bytes "x" in "1x"/],
    ["interval:a:b:c", /expected interval:unit:number or interval:period/],
    ["profile:min:1", /unknown unit "min"/],
    ["interval:s:0", /bad number "0"/],
    ["interval:s:x", /bad number "x"/],
    ["software:nope", /unknown software event "nope"/],
    ["hardware:cpu-clock", /unknown hardware event "cpu-clock"/],
    ["software:cpu:0", /bad count "0"/],
    ["BEGIN:x", /unknown provider "BEGIN"|BEGIN takes no arguments/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseAttachPoint(text),
      (e: unknown) =>
        e instanceof SyntaxError &&
        e.message.startsWith(`Invalid attach point "${text}": `) &&
        re.test(e.message),
      text,
    );
  }
});

Deno.test("software and hardware tables", () => {
  assert.deepEqual(SOFTWARE_EVENTS.map((e) => e.name).sort(), [
    "alignment-faults",
    "bpf-output",
    "context-switches",
    "cpu-clock",
    "cpu-migrations",
    "dummy",
    "emulation-faults",
    "major-faults",
    "minor-faults",
    "page-faults",
    "task-clock",
  ]);
  assert.deepEqual(HARDWARE_EVENTS.map((e) => e.name).sort(), [
    "backend-stalls",
    "branch-instructions",
    "branch-misses",
    "bus-cycles",
    "cache-misses",
    "cache-references",
    "cpu-cycles",
    "frontend-stalls",
    "instructions",
    "ref-cycles",
  ]);
  assert.equal(perfEvent("software", "cpu")?.name, "cpu-clock");
  assert.equal(perfEvent("software", "faults")?.name, "page-faults");
  assert.equal(perfEvent("software", "cs")?.name, "context-switches");
  assert.equal(perfEvent("hardware", "branches")?.name, "branch-instructions");
  for (const e of SOFTWARE_EVENTS) assert.equal(e.type, PerfType.SOFTWARE);
  for (const e of HARDWARE_EVENTS) assert.equal(e.type, PerfType.HARDWARE);
});

Deno.test("perf config numbers match linux/perf_event.h", () => {
  let header: string;
  try {
    header = Deno.readTextFileSync("/usr/include/linux/perf_event.h");
  } catch {
    console.log("/usr/include/linux/perf_event.h is missing: skipped");
    return;
  }
  const enumValues = (name: string) => {
    const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(header)![1];
    const out = new Map<string, number>();
    for (const m of body.matchAll(/(PERF_\w+)\s*=\s*(\d+)/g)) {
      out.set(m[1], Number(m[2]));
    }
    return out;
  };
  const types = enumValues("perf_type_id");
  assert.equal(types.get("PERF_TYPE_HARDWARE"), PerfType.HARDWARE);
  assert.equal(types.get("PERF_TYPE_SOFTWARE"), PerfType.SOFTWARE);
  assert.equal(types.get("PERF_TYPE_TRACEPOINT"), PerfType.TRACEPOINT);
  const sw = enumValues("perf_sw_ids");
  const swNames: Record<string, string> = {
    "cpu-clock": "CPU_CLOCK",
    "task-clock": "TASK_CLOCK",
    "page-faults": "PAGE_FAULTS",
    "context-switches": "CONTEXT_SWITCHES",
    "cpu-migrations": "CPU_MIGRATIONS",
    "minor-faults": "PAGE_FAULTS_MIN",
    "major-faults": "PAGE_FAULTS_MAJ",
    "alignment-faults": "ALIGNMENT_FAULTS",
    "emulation-faults": "EMULATION_FAULTS",
    "dummy": "DUMMY",
    "bpf-output": "BPF_OUTPUT",
  };
  for (const e of SOFTWARE_EVENTS) {
    assert.equal(e.config, sw.get(`PERF_COUNT_SW_${swNames[e.name]}`), e.name);
  }
  const hw = enumValues("perf_hw_id");
  const hwNames: Record<string, string> = {
    "cpu-cycles": "CPU_CYCLES",
    "instructions": "INSTRUCTIONS",
    "cache-references": "CACHE_REFERENCES",
    "cache-misses": "CACHE_MISSES",
    "branch-instructions": "BRANCH_INSTRUCTIONS",
    "branch-misses": "BRANCH_MISSES",
    "bus-cycles": "BUS_CYCLES",
    "frontend-stalls": "STALLED_CYCLES_FRONTEND",
    "backend-stalls": "STALLED_CYCLES_BACKEND",
    "ref-cycles": "REF_CPU_CYCLES",
  };
  for (const e of HARDWARE_EVENTS) {
    assert.equal(e.config, hw.get(`PERF_COUNT_HW_${hwNames[e.name]}`), e.name);
  }
});

import assert from "node:assert/strict";
import {
  expandTracepoints,
  flagValues,
  listTracepoints,
  parseFieldDecl,
  parseTracepointFormat,
  readBundledTracepointFormat,
  readTracepointFormat,
  symbolicValues,
  tracefsRoot,
  tracepointContext,
  UnknownTracepointError,
} from "../../runtime/probes/tracepoint_format.ts";
import { bundledFormats } from "../../runtime/probes/bundled_formats.ts";
import { findTracefs } from "../../runtime/probes/tracefs.ts";

const root = tracefsRoot();
const noTracefs = root === undefined;
if (noTracefs) {
  console.log(
    "tracefs is not readable (not root or not mounted): tests reading it are skipped",
  );
}

function tracefsEvents(): string[] {
  return Deno.readTextFileSync(`${root}/available_events`).split("\n")
    .filter((l) => l !== "");
}

Deno.test("parseTracepointFormat reads every declaration shape", () => {
  const fmt = parseTracepointFormat(
    [
      "name: demo",
      "ID: 77",
      "format:",
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;",
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;",
      "",
      "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;",
      "\tfield:__data_loc char[] filename;\toffset:24;\tsize:4;\tsigned:0;",
      "\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;",
      "\tfield:enum skb_drop_reason reason;\toffset:40;\tsize:4;\tsigned:0;",
      "\tfield:u8 saddr[4];\toffset:44;\tsize:4;\tsigned:0;",
      "\tfield:unsigned long args[];\toffset:48;\tsize:0;\tsigned:0;",
      "\tfield:__rel_loc u64[] ids;\toffset:48;\tsize:4;\tsigned:0;",
      "\tfield:struct __kernel_timespec * tsp;\toffset:56;\tsize:8;\tsigned:0;",
      "\tfield:__data_loc u64[] addrs;\toffset:64;\tsize:4;\tsigned:0;",
      "",
      'print fmt: "comm=%s", REC->comm',
    ].join("\n"),
    "demo_cat",
  );
  assert.equal(fmt.category, "demo_cat");
  assert.equal(fmt.name, "demo");
  assert.equal(fmt.id, 77);
  assert.equal(fmt.printFmt, '"comm=%s", REC->comm');
  const by = new Map(fmt.fields.map((f) => [f.name, f]));
  assert.deepEqual(fmt.fields.map((f) => f.common), [
    true,
    true,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
  ]);
  assert.deepEqual(
    { ...by.get("comm") },
    {
      name: "comm",
      ctype: "char",
      offset: 8,
      size: 16,
      signed: true,
      common: false,
      decl: "char comm[16]",
      arrayLen: 16,
    },
  );
  assert.equal(by.get("filename")?.ctype, "char");
  assert.equal(by.get("filename")?.dataLoc, true);
  assert.equal(by.get("filename")?.arrayLen, undefined);
  assert.equal(by.get("name")?.ctype, "const char *");
  assert.equal(by.get("reason")?.ctype, "enum skb_drop_reason");
  assert.equal(by.get("saddr")?.arrayLen, 4);
  assert.equal(by.get("saddr")?.ctype, "u8");
  assert.equal(by.get("args")?.arrayLen, 0);
  assert.equal(by.get("ids")?.relLoc, true);
  assert.equal(by.get("ids")?.ctype, "u64");
  assert.equal(by.get("tsp")?.ctype, "struct __kernel_timespec *");
  assert.equal(by.get("addrs")?.ctype, "u64");
  assert.equal(by.get("common_pid")?.signed, true);
});

Deno.test("parseTracepointFormat rejects broken text with SyntaxError", () => {
  assert.throws(() => parseTracepointFormat("hello"), SyntaxError);
  assert.throws(
    () =>
      parseTracepointFormat(
        "name: x\nID: 1\n\tfield:int a;\toffset:zz;\tsize:4;",
      ),
    SyntaxError,
  );
  assert.throws(() => parseFieldDecl("[]"), SyntaxError);
});

Deno.test({
  name: "every tracefs format parses with consistent layouts",
  ignore: noTracefs,
  fn() {
    const names = tracefsEvents();
    const t0 = performance.now();
    let fields = 0;
    for (const full of names) {
      const [cat, name] = full.split(":");
      const text = Deno.readTextFileSync(
        `${root}/events/${cat}/${name}/format`,
      );
      const fmt = parseTracepointFormat(text, cat);
      assert.equal(fmt.name, name);
      // The ID matches the separate `id` file.
      const id = Number(
        Deno.readTextFileSync(`${root}/events/${cat}/${name}/id`),
      );
      assert.equal(fmt.id, id, full);
      const common = fmt.fields.filter((f) => f.common);
      assert.deepEqual(common.map((f) => f.offset), [0, 2, 3, 4], full);
      // Every field line of the file became one field.
      assert.equal(fmt.fields.length, text.match(/^\s*field:/gm)?.length, full);
      for (const f of fmt.fields) {
        fields++;
        if (!f.common) assert.ok(f.offset >= 8, `${full}.${f.name} offset`);
        if (f.dataLoc) {
          assert.equal(f.size, 4, `${full}.${f.name} data_loc size`);
        }
        if (f.arrayLen !== undefined && f.arrayLen > 0) {
          assert.equal(f.size % f.arrayLen, 0, `${full}.${f.name} array size`);
        }
        assert.ok(f.name.length > 0 && f.ctype.length > 0, `${full} field`);
      }
    }
    const ms = performance.now() - t0;
    console.log(
      `read+parsed ${names.length} tracefs formats (${fields} fields) in ${
        ms.toFixed(0)
      } ms`,
    );
  },
});

Deno.test({
  name: "readTracepointFormat reads skb:kfree_skb from tracefs",
  ignore: noTracefs,
  fn() {
    const fmt = readTracepointFormat("skb", "kfree_skb");
    const text = Deno.readTextFileSync(`${root}/events/skb/kfree_skb/format`);
    assert.equal(fmt.category, "skb");
    for (const f of fmt.fields) {
      // Each field's line in the file has this offset, size and sign.
      const line = text.split("\n").find((l) => l.includes(`field:${f.decl};`));
      assert.ok(line, f.name);
      assert.ok(line.includes(`offset:${f.offset};`));
      assert.ok(line.includes(`size:${f.size};`));
      assert.ok(line.includes(`signed:${f.signed ? 1 : 0};`));
    }
    assert.ok(fmt.fields.some((f) => f.name === "reason" && f.size === 4));
    // Cached: the same object comes back.
    assert.equal(readTracepointFormat("skb", "kfree_skb"), fmt);
  },
});

Deno.test("unknown tracepoints throw UnknownTracepointError", () => {
  assert.throws(
    () => readTracepointFormat("skb", "kfree_skbx"),
    (e: unknown) =>
      e instanceof TypeError && e instanceof UnknownTracepointError &&
      e.message === "No matches for tracepoint skb:kfree_skbx" &&
      e.category === "skb" && e.tracepoint === "kfree_skbx",
  );
  assert.throws(
    () => readTracepointFormat("..", "..%2f"),
    UnknownTracepointError,
  );
  assert.throws(() => readTracepointFormat("skb", "*"), UnknownTracepointError);
  assert.throws(
    () => readBundledTracepointFormat("nope", "nothing"),
    UnknownTracepointError,
  );
});

Deno.test("bundled data: header, coverage and parse time", () => {
  const t0 = performance.now();
  const data = bundledFormats();
  const tLoad = performance.now() - t0;
  assert.equal(data.version, 1);
  assert.match(data.kernel, /^\d+\.\d+/);
  assert.equal(data.common.length, 4);
  const cats = new Set(Object.keys(data.events).map((n) => n.split(":")[0]));
  for (
    const c of [
      "syscalls",
      "raw_syscalls",
      "skb",
      "net",
      "sock",
      "sched",
      "block",
      "irq",
      "timer",
      "signal",
      "task",
      "tcp",
      "udp",
      "filemap",
      "kmem",
      "workqueue",
    ]
  ) assert.ok(cats.has(c), `bundled category ${c}`);
  const t1 = performance.now();
  let n = 0;
  for (const full of Object.keys(data.events)) {
    const [cat, name] = full.split(":");
    const fmt = readBundledTracepointFormat(cat, name);
    assert.equal(fmt.id, data.events[full][0]);
    n++;
  }
  console.log(
    `bundle ${data.kernel}: ${n} formats; JSON load ${
      tLoad.toFixed(0)
    } ms, decode all ${(performance.now() - t1).toFixed(0)} ms`,
  );
});

Deno.test("expandTracepoints matches glob patterns part by part", () => {
  const names = [
    "sched:sched_switch",
    "sched:sched_wakeup",
    "sched:sched_waking",
    "sched:sched_wakeup_new",
    "skb:kfree_skb",
    "skb:consume_skb",
    "net:kfree_skb",
    "syscalls:sys_enter_read",
    "syscalls:sys_exit_read",
  ];
  assert.deepEqual(expandTracepoints("skb:*", names), [
    "skb:kfree_skb",
    "skb:consume_skb",
  ]);
  assert.deepEqual(expandTracepoints("*:kfree_skb", names), [
    "skb:kfree_skb",
    "net:kfree_skb",
  ]);
  assert.deepEqual(expandTracepoints("sched:sched_*wak?*", names), [
    "sched:sched_wakeup",
    "sched:sched_waking",
    "sched:sched_wakeup_new",
  ]);
  assert.deepEqual(expandTracepoints("sched:sched_wak?ng", names), [
    "sched:sched_waking",
  ]);
  assert.deepEqual(expandTracepoints("syscalls:sys_e*_read", names), [
    "syscalls:sys_enter_read",
    "syscalls:sys_exit_read",
  ]);
  // `*` in the category does not swallow the colon.
  assert.deepEqual(expandTracepoints("s*:kfree_skb", names), ["skb:kfree_skb"]);
  assert.deepEqual(expandTracepoints("skb:kfree_skb", names), [
    "skb:kfree_skb",
  ]);
  assert.deepEqual(expandTracepoints("skb:kfree_skbx", names), []);
  // Without a colon the whole name is matched.
  assert.deepEqual(expandTracepoints("*wakeup*", names), [
    "sched:sched_wakeup",
    "sched:sched_wakeup_new",
  ]);
  // Regex metacharacters are literal.
  assert.deepEqual(expandTracepoints("sk.:*", names), []);
});

Deno.test({
  name: "expandTracepoints on this machine's tracepoints",
  ignore: noTracefs,
  fn() {
    const names = tracefsEvents();
    assert.deepEqual(listTracepoints(), [...new Set(names)].sort());
    const enter = expandTracepoints("syscalls:sys_enter_*");
    assert.equal(
      enter.length,
      names.filter((n) => n.startsWith("syscalls:sys_enter_")).length,
    );
    assert.ok(enter.length > 100);
    const kfree = expandTracepoints("*:kfree_skb");
    assert.ok(kfree.includes("skb:kfree_skb"));
    assert.ok(kfree.every((n) => n.endsWith(":kfree_skb")));
    const wak = expandTracepoints("sched:sched_*wak?*");
    const expected = names.filter((n) => {
      if (!n.startsWith("sched:sched_")) return false;
      const i = n.indexOf("wak", "sched:sched_".length);
      return i >= 0 && n.length > i + 3;
    }).sort();
    assert.deepEqual(wak, expected);
    assert.ok(wak.includes("sched:sched_wakeup"));
    assert.deepEqual(
      expandTracepoints("skb:*"),
      names.filter((n) => n.startsWith("skb:")).sort(),
    );
  },
});

Deno.test("symbolicValues reads kfree_skb drop reasons", () => {
  // From tracefs when readable, else the bundle: either way compare with a
  // plain scan of the print fmt text.
  const fmt = readTracepointFormat("skb", "kfree_skb");
  const reasons = symbolicValues(fmt, "reason");
  const plain = new Map(
    [...fmt.printFmt!.matchAll(/\{ (\d+), "(\w+)" \}/g)].map((
      m,
    ) => [Number(m[1]), m[2]]),
  );
  assert.ok(plain.size > 10);
  assert.deepEqual(reasons, plain);
  assert.equal(reasons.get(2), "NOT_SPECIFIED");
  assert.equal(symbolicValues(fmt, "protocol").size, 0);
  assert.equal(symbolicValues(fmt, "nope").size, 0);
});

Deno.test("symbolicValues and flagValues over all formats", () => {
  let symbolic = 0;
  let flags = 0;
  for (const full of listTracepoints()) {
    const [cat, name] = full.split(":");
    const fmt = readTracepointFormat(cat, name);
    if (fmt.printFmt === undefined) continue;
    for (const m of fmt.printFmt.matchAll(/__print_symbolic\(REC->(\w+),/g)) {
      // Every table over a plain field yields a Map (possibly empty when
      // the kernel left enum names unresolved).
      assert.ok(symbolicValues(fmt, m[1]) instanceof Map);
      symbolic++;
    }
    for (const m of fmt.printFmt.matchAll(/__print_flags\(REC->(\w+),/g)) {
      const f = flagValues(fmt, m[1]);
      assert.ok(f !== undefined, `${full} flags ${m[1]}`);
      flags++;
    }
  }
  const softirq = readTracepointFormat("irq", "softirq_entry");
  const vec = symbolicValues(softirq, "vec");
  assert.equal(vec.get(1), "TIMER");
  assert.equal(vec.get(3), "NET_RX");
  console.log(
    `${symbolic} symbolic and ${flags} flags tables over plain fields`,
  );
  assert.ok(symbolic > 50);
});

Deno.test("tracepointContext sizes the record", () => {
  const fmt = parseTracepointFormat(
    "name: x\nID: 5\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n" +
      "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;\n" +
      "\tfield:__data_loc char[] s;\toffset:24;\tsize:4;\tsigned:0;\n",
  );
  const ctx = tracepointContext(fmt);
  assert.equal(ctx.kind, "tracepoint");
  assert.equal(ctx.size, 28);
  assert.equal(ctx.fields, fmt.fields);
});

Deno.test("without tracefs access the bundle answers the same", async () => {
  // A child Deno allowed to read only the bundled data: tracefs is then
  // unreadable for it, exactly as on a machine without tracefs.
  const mod = new URL(
    "../../runtime/probes/tracepoint_format.ts",
    import.meta.url,
  );
  const data = new URL("../../runtime/probes/data/", import.meta.url);
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/child.ts`;
    Deno.writeTextFileSync(
      script,
      `import * as tp from ${JSON.stringify(mod.href)};
      const fmt = tp.readTracepointFormat("skb", "kfree_skb");
      let unknown = "";
      try { tp.readTracepointFormat("skb", "kfree_skbx"); } catch (e) { unknown = e.message; }
      console.log(JSON.stringify({
        root: tp.tracefsRoot() ?? null,
        fmt,
        count: tp.listTracepoints().length,
        enter: tp.expandTracepoints("syscalls:sys_enter_*").length,
        reasons: tp.symbolicValues(fmt, "reason").size,
        unknown,
      }));`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        `--allow-read=${data.pathname},${script}`,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const child = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(child.root, null);
    assert.equal(child.unknown, "No matches for tracepoint skb:kfree_skbx");
    const bundled = readBundledTracepointFormat("skb", "kfree_skb");
    assert.deepEqual(child.fmt, JSON.parse(JSON.stringify(bundled)));
    assert.equal(child.count, Object.keys(bundledFormats().events).length);
    assert.ok(child.enter > 100);
    assert.ok(child.reasons > 10);
    // Whether the bundle matches this machine's kernel is not a unit test's
    // question: kernel builds differ. `deno task formats:check` answers it.
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findTracefs takes the first directory with a readable events/header_page", () => {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf_tracefs_" });
  try {
    const fake = `${dir}/fake`;
    Deno.mkdirSync(`${fake}/events`, { recursive: true });
    Deno.mkdirSync(`${dir}/no_header/events`, { recursive: true });
    assert.equal(
      findTracefs([`${dir}/missing`, `${dir}/no_header`]),
      undefined,
    );
    Deno.writeTextFileSync(`${fake}/events/header_page`, "");
    assert.equal(
      findTracefs([`${dir}/missing`, `${dir}/no_header`, fake]),
      fake,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

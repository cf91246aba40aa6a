import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { decodeMap } from "../../runtime/output/decode.ts";
import { InterpEngine } from "../../runtime/engines/interp_engine.ts";

/**
 * What Debian's bpftrace tools read on synthetic events looks like a
 * machine's: capabilities checked (capable), names resolved
 * (gethostlatency), thread routines (threadsnoop), accepted connections
 * (tcpaccept), md flushes (mdflush), path components (dcsnoop), unix
 * socket data (undump), writeback devices and latencies (writeback);
 * functions on a system call's path run in user tasks.
 */

await prepareKernelTypes("struct");

/** Runs `src` for `ms` of synthetic time; its maps by name, keys joined. */
async function maps(
  src: string,
  ms = 1000,
): Promise<Map<string, Map<string, number>>> {
  const program = compile(src);
  const engine = new InterpEngine({ seed: 11 });
  await engine.load(program);
  await engine.attach();
  await engine.poll(ms, () => {});
  const out = new Map<string, Map<string, number>>();
  const resolver = engine.symbols();
  program.maps.forEach((m, i) => {
    if (m.internal || !m.agg) return;
    const d = decodeMap(m, engine.readMap(i), resolver);
    const entries = new Map<string, number>();
    for (const e of d.entries) entries.set(String(e.key), Number(e.value));
    out.set(d.name, entries);
  });
  await engine.close();
  return out;
}

function keys(m: Map<string, Map<string, number>>, name: string): string[] {
  return [...(m.get(name) ?? new Map()).keys()];
}

function total(m: Map<string, Map<string, number>>, name: string): number {
  return [...(m.get(name) ?? new Map<string, number>()).values()].reduce(
    (a, b) => a + b,
    0,
  );
}

const KERNEL_THREAD = /^(kworker|ksoftirqd|rcu_|migration|kswapd|jbd2)/;

Deno.test("cap_capable: a capability number and CAP_OPT_* options, in user tasks", async () => {
  const m = await maps(
    "kprobe:cap_capable { @cap[arg2] = count(); @opt[arg3] = count(); @comm[comm] = count(); }",
  );
  for (const c of keys(m, "@cap")) {
    assert.ok(Number(c) >= 0 && Number(c) <= 40, `cap ${c}`);
  }
  assert.ok(keys(m, "@cap").length > 3, keys(m, "@cap").join());
  assert.deepEqual(keys(m, "@opt").sort(), ["0", "2"]);
  for (const c of keys(m, "@comm")) assert.doesNotMatch(c, KERNEL_THREAD);
});

Deno.test("tcp_connect runs in user tasks; inet_csk_accept in servers, on their service port", async () => {
  const m = await maps(
    `kprobe:tcp_connect { @c[comm] = count(); }
kretprobe:inet_csk_accept {
  $sk = (struct sock *)retval;
  @a[comm] = count();
  @lport[$sk->__sk_common.skc_num] = count();
}`,
  );
  for (const c of keys(m, "@c")) assert.doesNotMatch(c, KERNEL_THREAD);
  const servers = ["nginx", "sshd", "postgres", "java", "node", "redis-server"];
  for (const c of keys(m, "@a")) {
    assert.ok(servers.includes(c) || c === "dockerd", c);
  }
  for (const p of keys(m, "@lport")) {
    assert.ok([443, 80, 22, 53, 5432].includes(Number(p)), `port ${p}`);
  }
});

Deno.test("getaddrinfo resolves host names, pthread_create starts named routines, both rarely", async () => {
  const m = await maps(
    `uprobe:libc:getaddrinfo { @h[str(arg0)] = count(); }
uprobe:libc:pthread_create { @r[usym(arg2)] = count(); }`,
    2000,
  );
  for (const h of keys(m, "@h")) assert.match(h, /^[a-z0-9.-]+$/);
  assert.ok(total(m, "@h") >= 20 && total(m, "@h") <= 41, `${total(m, "@h")}`);
  for (const r of keys(m, "@r")) assert.match(r, /^[a-z_][\w]*$/, r);
  assert.ok(total(m, "@r") <= 41, `${total(m, "@r")}`);
});

Deno.test("bash's readline returns a command line", async () => {
  const m = await maps(
    "uretprobe:/bin/bash:readline { @[str(retval)] = count(); }",
  );
  assert.ok(keys(m, "@").length > 2);
  for (const l of keys(m, "@")) assert.match(l, /^[a-z]/, l);
});

Deno.test("md_flush_request's bio is on an md device; dcsnoop's names are path components", async () => {
  const m = await maps(
    `kprobe:md_flush_request {
  @md[((struct bio *)arg1)->bi_bdev->bd_disk->disk_name] = count();
}
kprobe:lookup_fast { @r[str(((struct nameidata *)arg0)->last.name)] = count(); }
kprobe:d_lookup { @m[str(((struct qstr *)arg1)->name)] = count(); }`,
  );
  assert.ok(keys(m, "@md").length > 0);
  for (const d of keys(m, "@md")) assert.match(d, /^md\d+$/);
  for (const name of ["@r", "@m"]) {
    assert.ok(total(m, name) > 100, name);
    for (const k of keys(m, name)) assert.match(k, /^[\w.+-]+$/, k);
  }
});

Deno.test("undump's unix sk_buff carries its message: len bytes of data", async () => {
  const m = await maps(
    `kprobe:unix_stream_read_actor {
  $skb = (struct sk_buff *)arg0;
  @len[$skb->len] = count();
  @first[*(uint8 *)$skb->data] = count();
}`,
  );
  for (const l of keys(m, "@len")) assert.ok(Number(l) > 16, l);
  // Printable text or a protocol's tag byte, never an empty buffer.
  assert.ok(!keys(m, "@first").includes("0"), keys(m, "@first").join());
});

Deno.test("writeback: bdi names MAJOR:MINOR, a few a second, written after started", async () => {
  const m = await maps(
    `tracepoint:writeback:writeback_start { @start[args->sb_dev] = nsecs; }
tracepoint:writeback:writeback_written {
  @name[args->name] = count();
  if (@start[args->sb_dev]) { @paired = count(); }
}`,
    3000,
  );
  for (const n of keys(m, "@name")) assert.match(n, /^\d+:\d+$/, n);
  const n = total(m, "@name");
  assert.ok(n >= 10 && n <= 31, `${n} written`);
  assert.ok(total(m, "@paired") >= n - 2, `${total(m, "@paired")} of ${n}`);
});

Deno.test("processes start tens a second, signals a hundred at most (pidpersec, execsnoop, killsnoop)", async () => {
  const m = await maps(
    `tracepoint:sched:sched_process_fork { @fork = count(); }
tracepoint:syscalls:sys_enter_execve { @exec = count(); }
tracepoint:syscalls:sys_enter_kill { @kill = count(); }`,
    2000,
  );
  for (const [name, most] of [["@fork", 61], ["@exec", 61], ["@kill", 201]]) {
    const n = total(m, name as string);
    assert.ok(n > 0 && n <= (most as number), `${name}: ${n} in 2 s`);
  }
});

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { decodeMap } from "../../runtime/output/decode.ts";
import { InterpEngine } from "../../runtime/engines/interp_engine.ts";

/**
 * Kernel objects that live across events in the interpreter: a block
 * request's start and end kprobes see one pointer (biosnoop), a TCP
 * socket goes through its states (tcplife), a kretprobe returns a sock
 * (tcpaccept), a dropped skb's sock has its address in network order.
 */

await prepareKernelTypes("struct");

/** Runs `src` for `ms` of synthetic time (2 s); its maps by name. */
async function maps(
  src: string,
  ms = 2000,
): Promise<Map<string, Map<string, number>>> {
  const program = compile(src);
  const engine = new InterpEngine({ seed: 5 });
  await engine.load(program);
  await engine.attach();
  await engine.runSpecial("BEGIN");
  await engine.poll(ms, () => {});
  const out = new Map<string, Map<string, number>>();
  const resolver = engine.symbols();
  program.maps.forEach((m, i) => {
    if (m.internal || !m.agg) return;
    const d = decodeMap(m, engine.readMap(i), resolver);
    const entries = new Map<string, number>();
    for (const e of d.entries) {
      entries.set(String(e.key), Number(e.value));
    }
    out.set(d.name, entries);
  });
  await engine.close();
  return out;
}

function total(m: Map<string, number> | undefined): number {
  return [...(m ?? new Map<string, number>()).values()].reduce(
    (a, b) => a + b,
    0,
  );
}

Deno.test("a block request's done kprobe sees the pointer its start saw, later, with its disk", async () => {
  const m = await maps(`
kprobe:blk_account_io_start {
  @start[arg0] = nsecs;
  @disk[arg0] = ((struct request *)arg0)->q->disk->disk_name;
}
kprobe:blk_account_io_done {
  if (@start[arg0] != 0) {
    @paired = count();
    if (nsecs <= @start[arg0]) { @backwards = count(); }
    @disks[@disk[arg0]] = count();
    delete(@start[arg0]);
  } else {
    @unpaired = count();
  }
}`);
  const paired = total(m.get("@paired"));
  assert.ok(paired > 500, `paired ${paired}`);
  assert.equal(total(m.get("@unpaired")), 0);
  assert.equal(total(m.get("@backwards")), 0);
  const disks = [...m.get("@disks")!.keys()];
  assert.ok(
    disks.every((d) => ["sda", "nvme0n1", "dm-0"].includes(d)),
    disks.join(),
  );
});

Deno.test("tcp_set_state: a socket is born, changes state and closes; its tcp_sock has byte counts", async () => {
  const m = await maps(`
kprobe:tcp_set_state {
  $sk = (struct sock *)arg0;
  if (arg1 < TCP_FIN_WAIT1 && @birth[$sk] == 0) { @birth[$sk] = nsecs; }
  if (arg1 == TCP_CLOSE) {
    if (@birth[$sk] != 0) {
      @closed = count();
      @acked = sum(((struct tcp_sock *)$sk)->bytes_acked);
      @family[$sk->__sk_common.skc_family] = count();
    } else {
      @orphan = count();
    }
    delete(@birth[$sk]);
  }
}`);
  assert.ok(total(m.get("@closed")) > 100, `closed ${total(m.get("@closed"))}`);
  assert.equal(total(m.get("@orphan")), 0);
  assert.ok(total(m.get("@acked")) > 0);
  assert.deepEqual([...m.get("@family")!.keys()].sort(), ["10", "2"]);
});

Deno.test("kretprobe:inet_csk_accept returns a sock; a dropped skb's sock has its address in network order", async () => {
  const m = await maps(`
kretprobe:inet_csk_accept {
  @family[((struct sock *)retval)->__sk_common.skc_family] = count();
}
tracepoint:skb:kfree_skb {
  $sk = ((struct sk_buff *)args->skbaddr)->sk;
  if ($sk != 0) {
    @saddr[ntop(((struct sock *)$sk)->__sk_common.skc_rcv_saddr)] = count();
  }
}`);
  assert.deepEqual([...m.get("@family")!.keys()].sort(), ["10", "2"]);
  const addrs = [...m.get("@saddr")!.keys()].sort();
  assert.deepEqual(addrs, ["10.0.2.15", "127.0.0.1"]);
});

Deno.test("oom_kill_process fires rarely (1/s at most) and its victim is a process leader of any process", async () => {
  const m = await maps(
    `
kprobe:oom_kill_process {
  $oc = (struct oom_control *)arg0;
  @kills = count();
  @victims[$oc->chosen->pid, $oc->chosen->tgid, $oc->chosen->comm] = count();
}`,
    10_000,
  );
  const kills = total(m.get("@kills"));
  assert.ok(kills >= 5 && kills <= 11, `kills ${kills}`);
  const victims = [...m.get("@victims")!.keys()];
  for (const v of victims) {
    const [pid, tgid, comm] = v.split(",");
    assert.equal(pid, tgid, v);
    assert.notEqual(pid, "1", v);
    assert.notEqual(comm, "", v);
  }
  assert.ok(victims.length > 1, victims.join(" "));
});

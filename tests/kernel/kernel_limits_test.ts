/**
 * The kernel limits the compiler checks agree with the kernel, and the
 * ones only the kernel can check explain themselves: a 65th program on a
 * tracepoint (E2BIG), a sampling rate above perf_event_max_sample_rate
 * (EINVAL).
 */
import assert from "node:assert/strict";
import { kernelSkipReason, skip } from "../support/skip.ts";
import { trace } from "../../mod.ts";
import { maxSampleRate } from "../../runtime/probes/perf_events.ts";

const ignore = skip("the kernel limit tests", kernelSkipReason());

const stmts = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join(" ");

// A tracepoint no other test uses: the limit counts every tool's programs.
const TP = "tracepoint:syscalls:sys_enter_setdomainname";

Deno.test({
  name: "64 keyed maps load in the kernel and in the interpreter",
  async fn() {
    const src = `BEGIN { ${stmts(64, (i) => `@m${i}[pid] = ${i};`)} }`;
    for (
      const backend of ignore
        ? ["interp"] as const
        : ["interp", "kernel"] as const
    ) {
      await using s = await trace(src, { backend, durationMs: 0 });
      const maps = s.maps();
      assert.equal(maps.length, 64, backend);
      assert.equal(maps[63].entries[0].value, 63, backend);
    }
  },
});

Deno.test({
  name: "a 65th program on a tracepoint: E2BIG, explained",
  ignore,
  async fn() {
    const many = Array.from({ length: 64 }, () => `${TP} { @c = count(); }`)
      .join("\n");
    await using held = await trace(many, { backend: "kernel" });
    assert.equal(held.engineKind, "kernel");
    await assert.rejects(
      () => trace(`${TP} { @d = count(); }`, { backend: "kernel" }),
      (e: Error) => {
        assert.equal(
          e.message,
          `Cannot attach "${TP}": E2BIG: Argument list too long. The kernel allows at most 64 BPF programs on one tracepoint, counting those of every other tool attached to it`,
        );
        return true;
      },
    );
  },
});

Deno.test({
  name: "profile above perf_event_max_sample_rate: refused, explained",
  ignore: ignore || skip(
    "the sample-rate limit test",
    maxSampleRate() === undefined
      ? "no /proc/sys/kernel/perf_event_max_sample_rate"
      : undefined,
  ),
  async fn() {
    const max = maxSampleRate()!;
    await assert.rejects(
      () =>
        trace(`profile:hz:${max + 1} { @c = count(); }`, { backend: "kernel" }),
      (e: Error) => {
        assert.equal(
          e.message,
          `Cannot attach "profile:hz:${max + 1}": ${
            max + 1
          } Hz is above this kernel's limit of ${max} samples per second (sysctl kernel.perf_event_max_sample_rate); use a lower rate`,
        );
        return true;
      },
    );
  },
});

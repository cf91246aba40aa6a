/**
 * Functions whose 0.17 behaviour the installed bpftrace 0.17 shows, run
 * by both: `bswap()` of signed integers, `macaddr()`, `cgroup_path()`, positional parameters not given,
 * and `buf()` of strings (keys, values, `%rx`, `%rh`, `==`). tsbpf runs
 * them in the kernel and in the interpreter; all three must print the
 * same.
 */

import assert from "node:assert/strict";
import {
  afterAttachLine,
  bpftraceSkipReason,
  runBpftrace,
  runTsbpf,
  skip,
  skipReason,
} from "../kernel/helpers.ts";

const ignore = skip("bpftrace comparisons", bpftraceSkipReason) ||
  skip("kernel engine runs", skipReason);

/** Stdout after the attach line: tsbpf kernel, tsbpf interp, bpftrace. */
async function three(args: string[]): Promise<string[]> {
  const runs = await Promise.all([
    runTsbpf(["--backend", "kernel", ...args]),
    runTsbpf(["--backend", "interp", ...args]),
    runBpftrace(args),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  return runs.map((r) => afterAttachLine(r.stdout));
}

const CASES: [string, string[], string][] = [
  [
    "cgroup_path() of the root cgroup id, filtered, in a variable, and of an unknown id",
    [
      "-e",
      'BEGIN { printf("%s|\\n", cgroup_path(1, "unified")); printf("[%s]\\n", cgroup_path(123456789)); $c = cgroup_path(1, "unified"); print($c); exit(); }',
    ],
    "unified:/|\n[]\nunified:/\n\n\n",
  ],
  [
    "macaddr() of an unreadable pointer is zeros: print, %s, key, value",
    [
      "-e",
      'BEGIN { $m = macaddr(1); print($m); printf("[%s]\\n", $m); @[$m] = 1; @v = $m; exit(); }',
    ],
    "00:00:00:00:00:00\n[00:00:00:00:00:00]\n\n\n@[00:00:00:00:00:00]: 1\n@v: 00:00:00:00:00:00\n",
  ],
  [
    "bswap() is unsigned at the argument's width",
    [
      "-e",
      'BEGIN { $x = (int16)-2; print(bswap($x)); print(bswap((int8)-1)); printf("%llx %x\\n", bswap(0x1122334455667788), bswap((int32)-2)); exit(); }',
    ],
    "65279\n255\n8877665544332211 feffffff\n\n\n",
  ],
  [
    "a positional parameter not given is 0, str() of it empty",
    [
      "-e",
      'BEGIN { printf("[%d] [%s] [%s]\\n", $2, str($2), str($1)); exit(); }',
      "57",
    ],
    "[0] [] [57]\n\n\n",
  ],
  [
    "buf() of strings: keys, values, %rx, %rh and ==",
    [
      "-e",
      'BEGIN { @k[buf("ok_key", 8), 1] = count(); @v = buf("ok_value", 8); printf("%rx|%rh|%r\\n", buf("Hello\\0", 6), buf("Hello\\0", 6), buf("hi", 2)); $a = buf("hi", 2); $b = buf("bye", 3); printf("equal=%d, unequal=%d\\n", $a == $a, $a != $b); exit(); }',
    ],
    "\\x48\\x65\\x6c\\x6c\\x6f\\x00|48 65 6c 6c 6f 00|hi\nequal=1, unequal=1\n\n\n@k[ok_key\\x00\\x00, 1]: 1\n@v: ok_value\n",
  ],
];

for (const [name, args, want] of CASES) {
  Deno.test({
    name: `vs bpftrace: ${name}`,
    ignore,
    async fn() {
      const [kernel, interp, ref] = await three(args);
      assert.equal(ref, want);
      assert.equal(kernel, ref);
      assert.equal(interp, ref);
    },
  });
}

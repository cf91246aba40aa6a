import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { events, load, run, tpCtx } from "./harness.ts";

/** `n` letters (a to z, again). */
function letters(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + i % 26);
  return s;
}

/** The integers a BEGIN probe printed with `printf("%d\n", …)`. */
function printed(src: string): number[] {
  const l = load(src);
  run(l, "BEGIN");
  return events(l).filter((e) => e.kind === "printf").map((e) =>
    Number(e.args[0])
  );
}

const OPENAT = "tracepoint:syscalls:sys_enter_openat";

Deno.test("strlen() counts the bytes before the NUL, every length, several max_strlen", () => {
  for (const size of [8, 13, 16, 24, 64, 100]) {
    const lens = [...Array(size).keys()];
    const puts = lens.map((n) => `@s[${n}] = "${letters(n)}";`).join(" ");
    const l = load(
      `config = { max_strlen = ${size} } BEGIN { ${puts} }
${OPENAT} { printf("%d\\n", strlen(@s[args.flags])); }`,
      { tracefsAvailable: false },
    );
    run(l, "BEGIN");
    const got = lens.map((n) => {
      run(l, OPENAT, tpCtx(l, OPENAT, { flags: n }));
      return Number(events(l).at(-1)!.args[0]);
    });
    assert.deepEqual(got, lens, `max_strlen ${size}`);
  }
});

Deno.test("strlen() of a string in a tuple", () => {
  const lens = [0, 1, 6, 7, 8, 9, 15, 16, 17, 40, 62, 63];
  const body = lens.map((n) =>
    `$t${n} = ((uint8)1, "${letters(n)}"); printf("%d\\n", strlen($t${n}.1));`
  ).join(" ");
  assert.deepEqual(printed(`BEGIN { ${body} }`), lens);
});

Deno.test("strlen() of a char array with no NUL is its size", () => {
  const tp = "tracepoint:sched:sched_switch";
  const l = load(
    `${tp} { printf("%d %d\\n", strlen(args.prev_comm), strlen(args.next_comm)); }`,
    { tracefsAvailable: false },
  );
  for (
    const [a, b] of [["", "x"], [letters(15), letters(16)], [
      letters(8),
      letters(9),
    ]]
  ) {
    run(l, tp, tpCtx(l, tp, { prev_comm: a, next_comm: b }));
    const [e] = events(l);
    assert.deepEqual(e.args.map(Number), [a.length, b.length]);
  }
});

Deno.test("strlen() of a 64-byte string is a word at a time: under 100 instructions", () => {
  const count = (body: string) =>
    compile(`${OPENAT} { $s = str(args.filename); ${body} }`, {
      tracefsAvailable: false,
    }).probes[0].insns.length;
  const n = count('printf("%s %d", $s, strlen($s));') -
    count('printf("%s %d", $s, 0);');
  assert.ok(n < 100, `${n} instructions`);
});

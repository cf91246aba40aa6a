import assert from "node:assert/strict";
import { formatStrftime, formatTime } from "../../runtime/output/strftime.ts";

/** GNU date formats with the C library's strftime: the reference. */
async function gnuDate(
  fmt: string,
  secs: number,
  utc: boolean,
): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("date", {
      args: [...(utc ? ["-u"] : []), "-d", `@${secs}`, `+${fmt}`],
      env: { LC_ALL: "C" },
      stdout: "piped",
    }).output();
    return out.success
      ? new TextDecoder().decode(out.stdout).replace(/\n$/, "")
      : undefined;
  } catch {
    return undefined;
  }
}

const FORMATS = [
  "%a %A %b %B %h %d %e %H %I %k %l %M %S %p %y %Y %C %j %m",
  "%D %F %T %R %r %x %X %c %s %u %w %n %t %%",
  "%U %W %V %G %g %z",
];
// 2021-01-03 (ISO week of the previous year), 2024-02-29, 2020-12-31,
// 1999-12-31 23:59:59, a morning and an afternoon.
const TIMES = [
  1609632000,
  1709210096,
  1609450000,
  946684799,
  1700000000,
  1700050000,
];

const noDate = (await gnuDate("%Y", 0, true)) === undefined;
if (noDate) {
  console.log("Skipping strftime comparison: GNU date is not available");
}

Deno.test({
  name:
    "formatStrftime matches the C library (via GNU date) in UTC and local time",
  ignore: noDate,
  async fn() {
    for (const secs of TIMES) {
      for (const fmt of FORMATS) {
        for (const utc of [true, false]) {
          const want = await gnuDate(fmt, secs, utc);
          const got = formatStrftime(fmt, BigInt(secs) * 1_000_000_000n, {
            utc,
          });
          assert.equal(
            got,
            want,
            `format ${JSON.stringify(fmt)} at ${secs} utc=${utc}`,
          );
        }
      }
    }
  },
});

Deno.test("formatStrftime: bpftrace's %f microseconds", () => {
  assert.equal(
    formatStrftime("%S.%f", 5_000_123_999n, { utc: true }),
    "05.000123",
  );
  assert.equal(formatStrftime("%f", 0n, { utc: true }), "000000");
});

Deno.test("formatTime defaults to %H:%M:%S and a newline", () => {
  const d = new Date(2024, 0, 2, 3, 4, 5);
  assert.equal(formatTime(undefined, d), "03:04:05\n");
  assert.equal(formatTime("%Y", d), "2024");
});

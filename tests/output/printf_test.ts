import assert from "node:assert/strict";
import {
  formatPrintf,
  formatSpec,
  parseFormat,
} from "../../runtime/output/printf.ts";

Deno.test("parseFormat finds specifiers as bpftrace 0.17's pattern does", () => {
  const specs = parseFormat("%-16s %5.2lu %08x %i %+d %% %hhd %rx %r");
  assert.deepEqual(
    specs.map((
      s,
    ) => [
      s.text,
      s.left,
      s.zero,
      s.width,
      s.precision,
      s.length,
      s.conversion,
    ]),
    [
      ["%-16s", true, false, 16, undefined, "", "s"],
      ["%5.2lu", false, false, 5, 2, "l", "u"],
      ["%08x", false, true, 8, undefined, "", "x"],
      ["%hhd", false, false, 0, undefined, "hh", "d"],
      ["%rx", false, false, 0, undefined, "", "rx"],
      ["%r", false, false, 0, undefined, "", "r"],
    ],
  );
  // "%%d" holds a "%d" specifier (it consumes an argument in bpftrace).
  assert.equal(parseFormat("%%d").length, 1);
});

Deno.test("formatPrintf: integer widths by length modifier", () => {
  assert.equal(
    formatPrintf("%d|%u|%x", [5000000000, -1, -1]),
    "705032704|4294967295|ffffffff",
  );
  assert.equal(
    formatPrintf("%ld|%lu|%llx", [-1, -1, 2n ** 63n]),
    "-1|18446744073709551615|8000000000000000",
  );
  assert.equal(
    formatPrintf("%hd|%hu|%hhd|%hhu", [70000, -1, 200, 300]),
    "4464|65535|-56|44",
  );
  assert.equal(
    formatPrintf("%o|%X|%lo", [8, 255, -1]),
    "10|FF|1777777777777777777777",
  );
});

Deno.test("formatPrintf: flags, width, precision", () => {
  assert.equal(
    formatPrintf("[%5d][%-5d][%05d][%05d]", [42, 42, 42, -42]),
    "[   42][42   ][00042][-0042]",
  );
  assert.equal(
    formatPrintf("[%.3d][%8.3d][%.0d][%.0d]", [7, -7, 0, 3]),
    "[007][    -007][][3]",
  );
  assert.equal(formatPrintf("[%c][%3c][%-3c]", [65, 66, 67]), "[A][  B][C  ]");
  assert.equal(
    formatPrintf("[%p][%p][%12p][%-8p]", [0, 4096, 255, 0]),
    "[(nil)][0x1000][        0xff][(nil)   ]",
  );
  assert.equal(
    formatPrintf("[%s][%.2s][%-6s][%6s][%06s]", [
      "abc",
      "abc",
      "ab",
      "ab",
      "ab",
    ]),
    "[abc][ab][ab    ][    ab][    ab]",
  );
  // Width counts bytes, as C does.
  assert.equal(formatPrintf("[%5s]", ["é"]), "[   é]");
});

Deno.test("formatPrintf: %% before a specifier prints %, after the last one stays", () => {
  assert.equal(formatPrintf("a%%b %d c%%d %%\n", [5, 6]), "a%b 5 c%d %%\n");
  assert.equal(formatPrintf("100%%\n", []), "100%%\n");
});

Deno.test("formatPrintf: non-string values through %s", () => {
  assert.equal(
    formatPrintf("%s|%s|%s|%r|%rx", [
      { type: "stack", kernel: true, frames: ["a+1"] },
      [1, "x"],
      "ok",
      { type: "buf", bytes: new Uint8Array([0x41, 0]) },
      { type: "buf", bytes: new Uint8Array([0x41, 0]) },
    ]),
    "\n        a+1\n|(1, x)|ok|A\\x00|\\x41\\x00",
  );
});

Deno.test("formatPrintf: the shortcuts for plain %d %u %x %X %o %s agree with formatSpec", () => {
  const values = [
    0,
    1,
    -1,
    42,
    -42,
    127,
    128,
    255,
    256,
    65535,
    65536,
    -32769,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    -(2 ** 31) - 1,
    2 ** 32 - 1,
    2 ** 32,
    5000000000,
    -5000000000,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    2n ** 53n,
    -(2n ** 63n),
    2n ** 63n,
    2n ** 64n - 1n,
    -7n,
  ];
  for (const length of ["", "hh", "h", "l", "ll", "j", "z", "t"]) {
    for (const conv of ["d", "u", "x", "X", "o"]) {
      const fmt = `%${length}${conv}`;
      const [spec] = parseFormat(fmt);
      for (const v of values) {
        assert.equal(
          formatPrintf(`<${fmt}>`, [v]),
          `<${formatSpec(spec, v)}>`,
          `${fmt} of ${v}`,
        );
      }
    }
  }
  for (const v of ["", "abc", "é", 5, [1, "x"]]) {
    assert.equal(formatPrintf("%s", [v]), formatSpec(parseFormat("%s")[0], v));
  }
  // A format seen before renders the same.
  const first = formatPrintf("%s %d\n", ["a", 1]);
  assert.equal(formatPrintf("%s %d\n", ["a", 1]), first);
  assert.equal(formatPrintf("%s %d\n", ["b", 2]), "b 2\n");
});

Deno.test("formatPrintf: %rh hex-dumps buffers; flagged buffer specifiers print as text", () => {
  const buf = {
    type: "buf" as const,
    bytes: new Uint8Array([0xab, 0x0c, 0x61]),
  };
  assert.equal(parseFormat("%rh %-8rh")[1].conversion, "rh");
  assert.equal(
    formatPrintf("[%rh] [%rh] [%5rh] [%-r] [%.1rx]\n", [
      buf,
      { type: "buf", bytes: new Uint8Array(0) },
      buf,
      buf,
      buf,
    ]),
    "[ab 0c 61] [] [%5rh] [%-r] [%.1rx]\n",
  );
  assert.equal(formatSpec(parseFormat("%rh")[0], buf), "ab 0c 61");
  assert.equal(formatSpec(parseFormat("%rh")[0], "hé"), "68 c3 a9");
});

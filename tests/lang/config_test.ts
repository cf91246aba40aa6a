/** The `config = { ... }` block: keys, values, errors and warnings. */

import assert from "node:assert/strict";
import { readConfig, sessionConfig } from "../../runtime/lang/config.ts";
import { Diagnostics } from "../../runtime/lang/diagnostics.ts";
import { parse } from "../../runtime/lang/parser.ts";

function read(block: string) {
  const src = `config = { ${block} } begin { }`;
  const diag = new Diagnostics("stdin", src);
  const config = readConfig(parse(src).ast.config, diag);
  return {
    config,
    errors: diag.format(),
    warnings: sessionConfig(config, diag).warnings,
  };
}

Deno.test("config: applied settings, in every spelling bpftrace accepts", () => {
  for (const key of ["max_map_keys", "MAX_MAP_KEYS", "BPFTRACE_MAX_MAP_KEYS"]) {
    const r = read(`${key} = 7`);
    assert.equal(r.config.maxMapKeys, 7, key);
    assert.equal(r.errors, "");
    assert.deepEqual(r.warnings, []);
  }
  for (
    const [v, want] of [["0", false], ["1", true], ["false", false], [
      "true",
      true,
    ]] as const
  ) {
    assert.equal(
      read(`print_maps_on_exit = ${v}`).config.printMapsOnExit,
      want,
    );
  }
  const none = readConfig(undefined, new Diagnostics());
  assert.deepEqual(none, { warnings: [] });
});

Deno.test("config: max_strlen, stack_mode and missing_probes are applied", () => {
  const same = read(
    "max_strlen = 64; missing_probes = error; stack_mode = bpftrace",
  );
  assert.equal(same.errors, "");
  assert.deepEqual(same.warnings, []);
  assert.deepEqual(same.config, { maxStrlen: 64, warnings: [] });
  const other = read(
    'max_strlen = 128; missing_probes = "warn"; stack_mode = perf; license = "GPL"',
  );
  assert.equal(other.errors, "");
  assert.equal(other.config.maxStrlen, 128);
  assert.equal(other.config.missingProbes, "warn");
  assert.equal(other.config.stackMode, "perf");
  assert.deepEqual(other.warnings.map((w) => w.split("\n")[0]), [
    "stdin:1:74: WARNING: license is not supported by tsbpf: ignored",
  ]);
  assert.equal(read("STACK_MODE = raw").config.stackMode, "raw");
  assert.equal(read("missing_probes = IGNORE").config.missingProbes, "ignore");
  // bpftrace 0.26's old names of settings.
  assert.equal(read("strlen = 32").config.maxStrlen, 32);
  assert.equal(read("BPFTRACE_STRLEN = 32").config.maxStrlen, 32);
  assert.equal(read("map_keys_max = 5").config.maxMapKeys, 5);
});

Deno.test("config: unknown keys and bad values are errors at the entry", () => {
  assert.equal(
    read("bad_config=raw").errors,
    [
      "stdin:1:12: ERROR: bad_config: not a known configuration option",
      "config = { bad_config=raw } begin { }",
      "           ~~~~~~~~~~~~~~",
    ].join("\n"),
  );
  assert.match(read("stak_mode = raw").errors, /did you mean "stack_mode"\?/);
  assert.match(
    read("max_map_keys = 0").errors,
    /Invalid value "0" for max_map_keys: expected an integer from 1/,
  );
  assert.match(read("print_maps_on_exit = 2").errors, /expected true, false/);
  assert.match(
    read("stack_mode = fancy").errors,
    /"bpftrace", "perf" or "raw"/,
  );
  assert.match(
    read("stack_mode = build_id").errors,
    /stack_mode build_id is not supported by tsbpf/,
  );
  assert.match(
    read("max_strlen = 0").errors,
    /Invalid value "0" for max_strlen: expected an integer from 1 to 4294967295/,
  );
  assert.match(read('max_strlen = "x"').errors, /for max_strlen/);
  assert.match(read("missing_probes = maybe").errors, /"error", "warn"/);
  assert.match(read("max_map_keys = 1; max_map_keys = 2").errors, /set twice/);
});

function withEnv(vars: Record<string, string>, f: () => void): void {
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    f();
  } finally {
    for (const k of Object.keys(vars)) Deno.env.delete(k);
  }
}

Deno.test("config: the environment wins over the block, as in bpftrace", () => {
  withEnv({ BPFTRACE_MAP_KEYS_MAX: "9" }, () => {
    assert.equal(read("max_map_keys = 7").config.maxMapKeys, undefined);
  });
  withEnv({ BPFTRACE_STACK_MODE: "raw" }, () => {
    assert.equal(read("stack_mode = perf").config.stackMode, "raw");
    // Without a block too.
    const none = readConfig(undefined, new Diagnostics());
    assert.equal(none.stackMode, "raw");
  });
  withEnv({ BPFTRACE_STACK_MODE: "bpftrace" }, () => {
    assert.equal(read("stack_mode = perf").config.stackMode, undefined);
  });
  withEnv({ BPFTRACE_MAX_STRLEN: "16", BPFTRACE_STRLEN: "99" }, () => {
    assert.equal(read("max_strlen = 200").config.maxStrlen, 16);
  });
  withEnv({ BPFTRACE_STRLEN: "99" }, () => {
    assert.equal(read("max_strlen = 200").config.maxStrlen, 99);
  });
  withEnv({ BPFTRACE_MISSING_PROBES: "ignore" }, () => {
    assert.equal(read("missing_probes = warn").config.missingProbes, "ignore");
  });
});

Deno.test("config: a bad value in the environment is a RangeError naming it", () => {
  for (
    const [k, v, want] of [
      [
        "BPFTRACE_STACK_MODE",
        "fancy",
        /^Invalid BPFTRACE_STACK_MODE "fancy": expected "bpftrace", "perf" or "raw"$/,
      ],
      [
        "BPFTRACE_MAX_STRLEN",
        "12x",
        /^Invalid BPFTRACE_MAX_STRLEN "12x": expected an integer/,
      ],
      [
        "BPFTRACE_MISSING_PROBES",
        "maybe",
        /^Invalid BPFTRACE_MISSING_PROBES "maybe"/,
      ],
    ] as const
  ) {
    withEnv({ [k]: v }, () => {
      assert.throws(() => readConfig(undefined, new Diagnostics()), {
        name: "RangeError",
        message: want,
      });
    });
  }
});

Deno.test("config: str_trunc_trailer is a string (bpftrace 0.26 docs/language.md), applied with max_strlen's size", () => {
  const r = read('str_trunc_trailer = "_xxx"; max_strlen = 16');
  assert.equal(r.errors, "");
  assert.deepEqual(r.warnings, []);
  assert.equal(r.config.strTruncTrailer, "_xxx");
  const diag = new Diagnostics("stdin", "");
  assert.deepEqual(sessionConfig(r.config, diag).strTruncTrailer, {
    size: 16,
    text: "_xxx",
  });
  // The default: none (bpftrace 0.17's output); "" turns it off.
  assert.equal(
    read('str_trunc_trailer = ""').config.strTruncTrailer,
    undefined,
  );
  assert.equal(read("max_strlen = 16").config.strTruncTrailer, undefined);
  assert.match(
    read("str_trunc_trailer = 5").errors,
    /Invalid value "5" for str_trunc_trailer: expected a string/,
  );
});

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

Deno.test("config: tsbpf's own behaviour is accepted silently; other values warn", () => {
  const same = read(
    "max_strlen = 64; missing_probes = error; stack_mode = bpftrace",
  );
  assert.equal(same.errors, "");
  assert.deepEqual(same.warnings, []);
  const other = read(
    'max_strlen = 128; missing_probes = "warn"; stack_mode = perf; license = "GPL"',
  );
  assert.equal(other.errors, "");
  assert.deepEqual(other.warnings.map((w) => w.split("\n")[0]), [
    "stdin:1:12: WARNING: max_strlen is not supported yet: strings stay 64 bytes",
    "stdin:1:30: WARNING: missing_probes is not supported yet: a probe that cannot be attached is an error",
    "stdin:1:55: WARNING: stack_mode is not supported yet: stacks print in bpftrace mode",
    "stdin:1:74: WARNING: license is not supported by tsbpf: ignored",
  ]);
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
  assert.match(read("stack_mode = fancy").errors, /"bpftrace", "perf"/);
  assert.match(read("missing_probes = maybe").errors, /"error", "warn"/);
  assert.match(read("max_map_keys = 1; max_map_keys = 2").errors, /set twice/);
});

Deno.test("config: the environment wins over the block, as in bpftrace", () => {
  for (const env of ["BPFTRACE_MAP_KEYS_MAX"]) {
    Deno.env.set(env, "9");
    try {
      assert.equal(read("max_map_keys = 7").config.maxMapKeys, undefined, env);
    } finally {
      Deno.env.delete(env);
    }
  }
});

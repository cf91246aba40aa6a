import assert from "node:assert/strict";
import { FlagError, parseFlags } from "../../runtime/args.ts";

const OPTIONS = {
  e: { type: "string", short: "e" },
  p: { type: "string", short: "p" },
  d: { type: "boolean", short: "d" },
  v: { type: "boolean", short: "v" },
  backend: { type: "string" },
  "dry-run": { type: "boolean" },
} as const;

Deno.test("parseFlags reads every spelling of a flag", () => {
  const spellings: [string[], Record<string, string | boolean>][] = [
    [["-e", "BEGIN {}"], { e: "BEGIN {}" }],
    [["-eBEGIN {}"], { e: "BEGIN {}" }],
    [["--e", "x"], { e: "x" }],
    [["--e=x=y"], { e: "x=y" }],
    [["--backend", "interp"], { backend: "interp" }],
    [["--backend="], { backend: "" }],
    [["-dv"], { d: true, v: true }],
    [["-dvp", "12"], { d: true, v: true, p: "12" }],
    [["-dp12"], { d: true, p: "12" }],
    [["--dry-run"], { "dry-run": true }],
    // A value that looks like a flag is still the value (as getopt does).
    [["-p", "-1"], { p: "-1" }],
    [["-e", "a", "-e", "b"], { e: "b" }],
  ];
  for (const [args, values] of spellings) {
    assert.deepEqual(parseFlags(args, OPTIONS).values, values, args.join(" "));
  }
});

Deno.test("parseFlags keeps positionals, and everything after --", () => {
  const r = parseFlags(["a", "-d", "b", "--", "-v", "--x"], OPTIONS);
  assert.deepEqual(r.values, { d: true });
  assert.deepEqual(r.positionals, ["a", "b", "-v", "--x"]);
  assert.deepEqual(parseFlags(["-"], OPTIONS).positionals, ["-"]);
});

Deno.test("parseFlags rejects what does not fit, naming the argument", () => {
  const bad: [string[], string, boolean?][] = [
    [["--frobnicate"], "Unknown option '--frobnicate'"],
    [["-x"], "Unknown option '-x'"],
    [["-dx"], "Unknown option '-x'"],
    [["-e"], "Option '-e' needs a value"],
    [["--backend"], "Option '--backend' needs a value"],
    [["--dry-run=yes"], "Option '--dry-run' does not take a value"],
    [["file"], "Unexpected argument 'file'", false],
    [["--toString"], "Unknown option '--toString'"],
  ];
  for (const [args, message, positionals] of bad) {
    assert.throws(
      () => parseFlags(args, OPTIONS, positionals ?? true),
      (e) => e instanceof FlagError && e.message === message,
      args.join(" "),
    );
  }
});

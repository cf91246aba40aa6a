import assert from "node:assert/strict";
import {
  listType,
  listTypeNames,
  UnknownTypeError,
} from "../../runtime/btf/list_type.ts";
import { bundledTypes } from "../../runtime/btf/bundled_types.ts";
import { runCli } from "../cli/helpers.ts";
import { liveSkipReason } from "./helpers.ts";

Deno.test("listType prints a definition with offsets, or suggests names", () => {
  const types = bundledTypes();
  const text = listType("struct qstr", types);
  // The layout of qstr is the same on every 64-bit kernel.
  assert.match(text, /^struct qstr \{\n\tunion \{\n\t\tstruct \{\n/);
  assert.match(
    text,
    /\n\tconst unsigned char \*name; \/\/ offset 8, size 8\n\};\n$/,
  );
  assert.throws(
    () => listType("struct qstrr", types),
    (e: unknown) =>
      e instanceof UnknownTypeError && e.suggestions.includes("struct qstr") &&
      /did you mean "struct qstr"/.test(e.message),
  );
  assert.throws(() => listType("struct", types), UnknownTypeError);
  const socks = listTypeNames("struct sock*", types);
  for (const name of ["struct sock", "struct sock_common", "struct sockaddr"]) {
    assert.ok(socks.includes(name), name);
  }
  assert.ok(socks.every((n) => n.startsWith("struct sock")));
  assert.deepEqual(socks, [...socks].sort());
  assert.deepEqual(listTypeNames("union *", types).length > 0, true);
  assert.deepEqual(listTypeNames("sock*", types), []);
  // What the bundle leaves out of a structure is one comment per hole.
  const task = listType("struct task_struct", types);
  assert.match(task, /\t\/\* \d+ bytes not in the bundled table \*\/\n/);
  assert.doesNotMatch(task, /long: 64;/);
});

Deno.test("tsbpf -lv 'struct NAME' lists the definition; an unknown name exits 1", async () => {
  // As bpftrace: -l names the type, -lv prints its definition.
  const named = await runCli(["-l", "struct qstr"]);
  assert.equal(named.code, 0, named.stderr);
  assert.equal(named.stdout, "struct qstr\n");
  const ok = await runCli(["-lv", "struct qstr"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^struct qstr \{\n/);
  assert.match(ok.stdout, /\*name; \/\/ offset 8, size 8\n/);
  // Without live BTF, a notice says where the types came from.
  if (liveSkipReason === undefined) assert.equal(ok.stderr, "");
  else assert.match(ok.stderr, /^Using bundled types/);
  const names = await runCli(["-l", "struct qst*"]);
  assert.equal(names.code, 0, names.stderr);
  assert.ok(names.stdout.split("\n").includes("struct qstr"), names.stdout);
  assert.match(names.stdout, /^(struct \w+\n)+$/);
  const bad = await runCli(["-l", "struct task_strukt"]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /ERROR: Unknown type "struct task_strukt" in .*did you mean "struct task_struct"/,
  );
  assert.equal(bad.stdout, "");
});

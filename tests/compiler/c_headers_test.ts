import assert from "node:assert/strict";
import {
  HeaderDefines,
  type HeaderLookup,
  systemIncludeDirs,
} from "../../runtime/compiler/c_headers.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { load, run, valueOf } from "./harness.ts";

/**
 * `#define`s of `#include`d headers: a hermetic header tree (the reader
 * is handed the files), then the real system headers where installed.
 */

function tree(files: Record<string, string>, ...incs: string[]) {
  return new HeaderDefines(
    incs.map((path) => ({ path, system: true })),
    { dirs: ["/a", "/b"], readFile: (p) => files[p] },
  );
}

function value(h: HeaderDefines, name: string): bigint | undefined {
  const r: HeaderLookup = h.lookup(name);
  return r.kind === "value" ? r.value : undefined;
}

Deno.test("nested includes, guards, #if/#elif/#else, defined, expressions of defines", () => {
  const h = tree({
    "/a/top.h": "#include <sub/x.h>\n#include <sub/x.h>\n" +
      "#define AF_INET PF_INET /* comment */\n" +
      "#define TWO_LINES (PF_INET + \\\n  1)\n" +
      "#if defined(__x86_64__) || defined(__aarch64__)\n#define WORD 64\n" +
      "#elif 1\n#define WORD 32\n#else\n#define WORD 16\n#endif\n" +
      "#if UNDEFINED_NAME\n#define HIDDEN 1\n#endif\n" +
      "#ifdef PF_INET\n#define SEEN 1\n#endif\n" +
      "#define SHIFTED (1U << 4 | 0x3)\n#define NEG (-5)\n" +
      "#define CAST ((unsigned int)7)\n#define OCT 010\n",
    "/b/sub/x.h": "#ifndef X_H\n#define X_H\n#define PF_INET 2\n" +
      "#define COUNT_INCLUDED 1\n#else\n#define TWICE 1\n#endif\n",
  }, "top.h");
  assert.deepEqual(h.files, ["/a/top.h", "/b/sub/x.h"]);
  assert.equal(value(h, "AF_INET"), 2n);
  assert.equal(value(h, "TWO_LINES"), 3n);
  assert.equal(value(h, "WORD"), 64n);
  assert.equal(value(h, "HIDDEN"), undefined);
  assert.equal(value(h, "SEEN"), 1n);
  assert.equal(value(h, "TWICE"), 1n); // The guard's #else on the second read.
  assert.equal(value(h, "SHIFTED"), 19n);
  assert.equal(value(h, "NEG"), -5n);
  assert.equal(value(h, "CAST"), 7n);
  assert.equal(value(h, "OCT"), 8n);
});

Deno.test("function-like macros in #if, #undef, #include_next, __has_include", () => {
  const h = tree({
    "/a/f.h": "#define PREREQ(a, b) ((a) > 3 || ((a) == 3 && (b) >= 1))\n" +
      "#if PREREQ(4, 0)\n#define NEW 1\n#endif\n" +
      "#if PREREQ(2, 0)\n#define OLD 1\n#endif\n" +
      "#define GONE 1\n#undef GONE\n" +
      "#include_next <f.h>\n" +
      "#if __has_include(<missing.h>)\n#define HAS_MISSING 1\n#endif\n" +
      "#if __has_include(<f.h>)\n#define HAS_F 1\n#endif\n" +
      "#define FN(x) x\n#define STR(x) #x\n",
    "/b/f.h": "#define NEXT 5\n",
  }, "f.h");
  assert.equal(value(h, "NEW"), 1n);
  assert.equal(value(h, "OLD"), undefined);
  assert.equal(value(h, "GONE"), undefined);
  assert.equal(value(h, "NEXT"), 5n);
  assert.equal(value(h, "HAS_MISSING"), undefined);
  assert.equal(value(h, "HAS_F"), 1n);
  assert.deepEqual(h.lookup("FN"), {
    kind: "other",
    text: "FN(x)",
    file: "/a/f.h",
  });
});

Deno.test("not integers and not found: said, never guessed", () => {
  const h = tree(
    {
      "/a/t.h":
        '#define NAME "text"\n#define SELF SELF\n#define OTHER UNKNOWN + 1\n' +
        "#define DIV (1 / 0)\n#include <nested_missing.h>\n",
    },
    "t.h",
    "absent.h",
  );
  assert.deepEqual(h.missing, ["<absent.h>"]);
  assert.equal(h.lookup("NAME").kind, "other");
  assert.equal(h.lookup("SELF").kind, "other");
  assert.equal(h.lookup("OTHER").kind, "other");
  assert.equal(h.lookup("DIV").kind, "other");
  assert.deepEqual(h.lookup("NOPE"), { kind: "none" });
  // Built-in macros are the preprocessor's, not a header's.
  assert.deepEqual(h.lookup("__linux__"), { kind: "none" });
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const socketHeader = systemIncludeDirs().find((d) =>
  exists(`${d}/sys/socket.h`)
);

await prepareKernelTypes("struct");

function messages(text: string): string[] {
  try {
    compile(text);
    return [];
  } catch (e) {
    if (!(e instanceof CompileErrors)) throw e;
    return e.errors.map((d) => d.message);
  }
}

Deno.test({
  name:
    "AF_INET and AF_INET6 of <sys/socket.h>, on both sides of #ifndef BPFTRACE_HAVE_BTF",
  ignore: socketHeader === undefined,
  fn: () => {
    const text = "#ifndef BPFTRACE_HAVE_BTF\n#include <no/such/header.h>\n" +
      "#else\n#include <sys/socket.h>\n#endif\n" +
      "BEGIN { @a = AF_INET; @b = AF_INET6; @c = SOCK_STREAM; }";
    const l = load(text);
    run(l, "BEGIN");
    // Linux's values (the ABI), as bpftrace 0.17 compiles them here.
    assert.equal(valueOf(l, "@a"), 2n);
    assert.equal(valueOf(l, "@b"), 10n);
    assert.equal(valueOf(l, "@c"), 1n);
  },
});
if (socketHeader === undefined) {
  console.log("skipped: no sys/socket.h in the system include directories");
}

Deno.test("a header not found, a name no header defines: the error says which", () => {
  assert.match(
    messages("#include <no/such/header.h>\nBEGIN { @ = AF_INET; }")[0],
    /"AF_INET" .*and <no\/such\/header\.h> was not found \(searched /,
  );
  if (socketHeader !== undefined) {
    assert.match(
      messages("#include <sys/socket.h>\nBEGIN { @ = TASK_RUNNING; }")[0],
      /"TASK_RUNNING" .*nor a #define of <sys\/socket\.h> \(read .*kernel's internal headers.* are not installed: write its value/,
    );
  }
});

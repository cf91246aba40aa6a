/** `import "file.bt"`: resolution, merging, and errors in the imported file. */

import assert from "node:assert/strict";
import { CompileErrors, Diagnostics } from "../../runtime/lang/diagnostics.ts";
import { resolveImports } from "../../runtime/lang/imports.ts";
import { parse } from "../../runtime/lang/parser.ts";

/** Writes `files` under a new temporary directory; returns its path. */
function tree(files: Record<string, string>): string {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf_import_" });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  }
  return dir;
}

/** Parses and resolves `file` under `dir`: the program or the errors. */
function load(dir: string, file: string) {
  const path = `${dir}/${file}`;
  const text = Deno.readTextFileSync(path);
  const diag = new Diagnostics(path, text);
  const program = resolveImports(parse(text, path).ast, diag);
  return { program, errors: diag.format().replaceAll(dir, "DIR") };
}

const probeTexts = (
  p: {
    probes: {
      span: { start: number; end: number; source?: { text: string } };
    }[];
  },
  root: string,
) =>
  p.probes.map((x) =>
    (x.span.source?.text ?? root).slice(x.span.start, x.span.end)
  );

Deno.test("imports: relative to the importing file, imported probes first, each file once", () => {
  const dir = tree({
    "main.bt": 'import "lib/a.bt";\nimport "lib/b.bt"\nbegin { @main = 1; }',
    "lib/a.bt": 'import "b.bt";\nbegin { @a = 1; }',
    "lib/b.bt": 'import "../main.bt";\nimport "./a.bt";\nbegin { @b = 1; }',
  });
  try {
    const { program, errors } = load(dir, "main.bt");
    assert.equal(errors, "");
    const root = Deno.readTextFileSync(`${dir}/main.bt`);
    assert.deepEqual(probeTexts(program, root), [
      "begin { @b = 1; }",
      "begin { @a = 1; }",
      "begin { @main = 1; }",
    ]);
    assert.equal(program.imports, undefined);
    assert.equal(program.probes[0].span.source?.name, `${dir}/lib/b.bt`);
    assert.equal(program.probes[2].span.source, undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("imports: a directory imports its .bt files in name order", () => {
  const dir = tree({
    "main.bt": 'import "lib";\nend { }',
    "lib/z.bt": "begin { @z = 1; }",
    "lib/a.bt": "macro_free: begin { }".replace("macro_free: ", ""),
    "lib/notes.txt": "not a script",
  });
  try {
    const { program, errors } = load(dir, "main.bt");
    assert.equal(errors, "");
    assert.deepEqual(
      program.probes.map((p) => p.span.source?.name.replace(dir, "DIR")),
      ["DIR/lib/a.bt", "DIR/lib/z.bt", undefined],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("imports: errors point into the imported file", () => {
  const dir = tree({
    "main.bt":
      'import "missing.bt";\nimport "bad.bt";\nimport "conf.bt";\nimport "x.h";\nbegin { }',
    "bad.bt": "begin {\n  @x = 1 +;\n}",
    "conf.bt": "config = { max_map_keys = 2 }\nbegin { }",
    "x.h": "struct s { int a; };",
  });
  try {
    const { errors } = load(dir, "main.bt");
    assert.equal(
      errors,
      [
        'DIR/main.bt:1:1: ERROR: Cannot import "missing.bt": no file "DIR/missing.bt"',
        'import "missing.bt";',
        "~~~~~~~~~~~~~~~~~~~",
        'DIR/bad.bt:2:11: ERROR: Expected an expression, found ";"',
        "  @x = 1 +;",
        "          ~",
        "DIR/conf.bt:1:1: ERROR: An imported script cannot have a config block: only the main script can",
        "config = { max_map_keys = 2 }",
        "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
        'DIR/main.bt:4:1: ERROR: Cannot import "x.h": only bpftrace scripts (.bt) can be imported yet',
        'import "x.h";',
        "~~~~~~~~~~~~",
      ].join("\n"),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("imports: only before the probes; a program of imports alone is a program", () => {
  assert.throws(
    () => parse('begin { } import "a.bt";'),
    (e) =>
      e instanceof CompileErrors &&
      e.message === "Imports must come before the probes",
  );
  const { ast } = parse('import "a.bt";');
  assert.deepEqual(ast.imports?.map((i) => i.path), ["a.bt"]);
  assert.equal(ast.probes.length, 0);
});

Deno.test("imports: an imported file of macros lends them to the importer", () => {
  const dir = tree({
    "main.bt": 'import "helpers.bt";\nbegin { greet(); }',
    "helpers.bt": 'macro greet() { printf("hello\\n"); }',
  });
  try {
    const { program, errors } = load(dir, "main.bt");
    assert.equal(errors, "");
    assert.deepEqual(program.macros?.map((m) => m.name), ["greet"]);
    assert.equal(program.probes.length, 1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

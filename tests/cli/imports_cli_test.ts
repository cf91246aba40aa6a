/** `import "file.bt"` from the command line, on both engines. */

import assert from "node:assert/strict";
import { kernelSkipReason, runCli } from "./helpers.ts";

const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel half of the import tests: ${kernelSkip}`);
}

function tree(files: Record<string, string>): string {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf_import_cli_" });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  }
  return dir;
}

for (const backend of ["kernel", "interp"]) {
  Deno.test({
    name: `imports ${backend}: imported probes run first, maps are shared`,
    ignore: backend === "kernel" && kernelSkip !== undefined,
    async fn() {
      const dir = tree({
        "main.bt":
          'import "lib/count.bt";\nbegin { @n += 10; printf("main %d\\n", @n); exit(); }',
        "lib/count.bt":
          'begin { @n = 1; printf("lib\\n"); }\nend { printf("lib end\\n"); }',
      });
      try {
        const r = await runCli([
          "--backend",
          backend,
          "-q",
          `${dir}/main.bt`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^lib\nmain 11\nlib end\n\n\n@n: 11\n$/);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

Deno.test("imports: a semantic error in an imported file names that file and line", async () => {
  const dir = tree({
    "main.bt": 'import "lib/bad.bt";\nbegin { exit(); }',
    "lib/bad.bt": "begin {\n  @x = nope(1);\n}",
  });
  try {
    const r = await runCli(["--backend", "interp", `${dir}/main.bt`]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.replaceAll(dir, "DIR").split("\n").slice(0, 3).join("\n"),
      [
        'DIR/lib/bad.bt:2:8: ERROR: Unknown function: "nope"; did you mean "ntop"?',
        "  @x = nope(1);",
        "       ~~~~~~~",
      ].join("\n"),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

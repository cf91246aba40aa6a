/**
 * Parses every bpftrace tool script installed on this machine (the
 * Debian `bpftrace` package puts them in /usr/sbin; upstream installs use
 * /usr/share/bpftrace/tools): real-world programs must parse cleanly.
 */
import assert from "node:assert/strict";
import { parseRecovering } from "../../runtime/lang/parser.ts";
import { walk } from "../../runtime/lang/visit.ts";

function findTools(): string[] {
  const out: string[] = [];
  for (const dir of ["/usr/sbin", "/usr/share/bpftrace/tools"]) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isFile && e.name.endsWith(".bt")) out.push(`${dir}/${e.name}`);
      }
    } catch {
      // Directory missing or unreadable: nothing from it.
    }
  }
  return out.sort();
}

const tools = findTools();
if (tools.length === 0) {
  console.log("tools_test: skipped, no bpftrace tool scripts (*.bt) installed");
}

Deno.test({
  name: "tools: every installed bpftrace tool script parses",
  ignore: tools.length === 0,
  fn() {
    const failures: string[] = [];
    let probes = 0;
    let nodes = 0;
    for (const file of tools) {
      const src = Deno.readTextFileSync(file);
      const { ast, diagnostics } = parseRecovering(src, file);
      if (diagnostics.hasErrors) failures.push(diagnostics.format());
      probes += ast.probes.length;
      walk(ast, () => {
        nodes++;
      });
    }
    console.log(
      `tools: ${tools.length} scripts, ${probes} probes, ${nodes} nodes`,
    );
    assert.deepEqual(failures, []);
  },
});

/**
 * Packaging: deno.json's package fields, `deno publish --dry-run`,
 * `deno doc --lint`, the LICENSE, executable scripts, and the option table
 * that makes `--help`, the shell completions and the man page.
 */
import assert from "node:assert/strict";
import {
  CLI_OPTIONS,
  type CliOption,
  optionSpelling,
  parseCli,
} from "../../runtime/cli_args.ts";
import { VERSION } from "../../runtime/cli.ts";
import { bashCompletion, zshCompletion } from "../../runtime/completions.ts";
import { manPage } from "../../tools/man_page.ts";
import { runCli } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

for (const shell of ["bash", "zsh", "groff"]) {
  if (!has(shell)) {
    console.log(`Tests that run ${shell} are skipped: no ${shell} here`);
  }
}
const OPTIONS: readonly CliOption[] = CLI_OPTIONS;

async function deno(
  args: string[],
): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

function has(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("deno.json names the package, its version, exports and license", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  assert.equal(config.name, "@tsbpf/tsbpf");
  assert.equal(`tsbpf ${config.version}`, VERSION);
  assert.deepEqual(config.exports, { ".": "./mod.ts", "./bpf": "./bpf.ts" });
  assert.equal(config.license, "MIT");
  const license = Deno.readTextFileSync(`${ROOT}LICENSE`);
  assert.match(
    license,
    /^MIT License\n\nCopyright \(c\) \d{4} the tsbpf authors\n/,
  );
});

Deno.test("deno doc --lint finds nothing to fix in mod.ts and bpf.ts", async () => {
  const r = await deno(["doc", "--lint", "mod.ts", "bpf.ts"]);
  assert.equal(r.code, 0, r.out);
});

Deno.test("deno publish --dry-run passes", async () => {
  const r = await deno(["publish", "--dry-run", "--allow-dirty"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Simulating publish of @tsbpf\/tsbpf@/);
  // Tests and benchmarks stay out of the package.
  assert.doesNotMatch(r.out, /\/tests\//);
});

Deno.test("every script is executable and starts with its shebang", () => {
  for (const e of Deno.readDirSync(`${ROOT}scripts`)) {
    if (!e.name.endsWith(".ts")) continue;
    const path = `${ROOT}scripts/${e.name}`;
    assert.equal(Deno.statSync(path).mode! & 0o111, 0o111, e.name);
    assert.ok(
      Deno.readTextFileSync(path).startsWith(
        "#!/usr/bin/env -S deno run -A\n",
      ),
      e.name,
    );
  }
});

Deno.test("the option table is what the parser takes and --help lists", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  const listed = help.stdout.split("\n").filter((l) => /^ {4}-/.test(l));
  assert.equal(listed.length, OPTIONS.length);
  OPTIONS.forEach((o, i) => {
    const line = listed[i].slice(4);
    const spelling = optionSpelling(o);
    // A spelling longer than its column has its help on the next line.
    assert.ok(
      line === spelling || line.startsWith(spelling.padEnd(16) + " "),
      `${line} lists ${spelling}`,
    );
  });
  for (const o of OPTIONS) {
    for (const flag of [o.short && `-${o.short}`, o.long && `--${o.long}`]) {
      if (!flag) continue;
      const args = o.type === "string" ? [flag, "1"] : [flag];
      // Each spelling parses (values are checked later, or not at all).
      try {
        parseCli([...args, "-e", "BEGIN {}"]);
      } catch (e) {
        assert.ok(!/Unknown option/.test(String(e)), `${flag}: ${e}`);
      }
    }
  }
});

Deno.test("docs/tsbpf.1 is current (deno task man) and lists every option", () => {
  const page = Deno.readTextFileSync(`${ROOT}docs/tsbpf.1`);
  assert.equal(page, manPage(), "docs/tsbpf.1 is stale: run deno task man");
  for (const o of OPTIONS) {
    if (o.short !== undefined) {
      assert.ok(page.includes(`\\fB\\-${o.short}\\fR`));
    }
    if (o.long !== undefined) {
      assert.ok(
        page.includes(`\\fB\\-\\-${o.long.replaceAll("-", "\\-")}\\fR`),
      );
    }
  }
});

Deno.test({
  name: "the man page renders without groff warnings",
  ignore: !has("groff"),
  async fn() {
    const r = await new Deno.Command("groff", {
      args: ["-man", "-Tutf8", "-ww", "-z", `${ROOT}docs/tsbpf.1`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0);
    assert.equal(new TextDecoder().decode(r.stderr), "");
  },
});

Deno.test("tsbpf completions prints bash and zsh scripts, and refuses others", async () => {
  const bash = await runCli(["completions", "bash"]);
  assert.equal(bash.code, 0);
  assert.equal(bash.stdout, bashCompletion());
  const zsh = await runCli(["completions", "zsh"]);
  assert.equal(zsh.code, 0);
  assert.equal(zsh.stdout, zshCompletion());
  const fish = await runCli(["completions", "fish"]);
  assert.equal(fish.code, 2);
  assert.equal(
    fish.stderr,
    'tsbpf: Cannot write completions for "fish": the shell must be bash or zsh\nTry "tsbpf --help".\n',
  );
  const none = await runCli(["completions"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^tsbpf: Usage: tsbpf completions bash\|zsh\n/);
});

/** What bash's completion function offers for `words` (the last is the current one). */
function bashComplete(words: string[]): string[] {
  const script = `${bashCompletion()}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${words.length - 1}
_tsbpf
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const r = new Deno.Command("bash", {
    args: ["--norc", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.equal(new TextDecoder().decode(r.stderr), "");
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l !== "");
}

Deno.test({
  name: "bash completion offers the table's options and their values",
  ignore: !has("bash"),
  fn() {
    assert.deepEqual(bashComplete(["tsbpf", "--ba"]), ["--backend"]);
    const all = bashComplete(["tsbpf", "-"]);
    for (const o of OPTIONS) {
      if (o.short !== undefined) assert.ok(all.includes(`-${o.short}`));
      if (o.long !== undefined) assert.ok(all.includes(`--${o.long}`));
    }
    assert.deepEqual(bashComplete(["tsbpf", "--backend", ""]), [
      "auto",
      "kernel",
      "interp",
    ]);
    assert.deepEqual(bashComplete(["tsbpf", "-f", "j"]), ["json"]);
    assert.deepEqual(bashComplete(["tsbpf", "completions", ""]), [
      "bash",
      "zsh",
    ]);
    // A value without a list: nothing to offer, not file names.
    assert.deepEqual(bashComplete(["tsbpf", "--duration", ""]), []);
    // -p offers live process ids.
    assert.ok(bashComplete(["tsbpf", "-p", ""]).includes(String(Deno.pid)));
  },
});

/** What zsh lists or inserts after Tab at the end of `line`. */
async function zshComplete(dir: string, line: string): Promise<string> {
  const script = `
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="%% "; fpath=(${dir} $fpath); autoload -Uz compinit; compinit -u -D; setopt autolist nolistambiguous; print MARK$((1+1))'
zpty -r z line '*MARK2*'
zpty -w -n z "$1"$'\\t'
sleep 2
out=""
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out"
zpty -d z
`;
  const r = await new Deno.Command("zsh", {
    args: ["-f", "-c", script, "zsh", line],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(r.stdout).replace(
    // deno-lint-ignore no-control-regex
    /\x1b\[[0-9;?]*[a-zA-Z]/g,
    "",
  )
    .replaceAll("\r", "");
}

Deno.test({
  name: "zsh completion offers the table's options and their values",
  ignore: !has("zsh"),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "tsbpf-zsh-" });
    try {
      Deno.writeTextFileSync(`${dir}/_tsbpf`, zshCompletion());
      const syntax = new Deno.Command("zsh", { args: ["-n", `${dir}/_tsbpf`] })
        .outputSync();
      assert.ok(syntax.success);
      const [backend, format, long, shells] = await Promise.all([
        zshComplete(dir, "tsbpf --backend "),
        zshComplete(dir, "tsbpf -f "),
        zshComplete(dir, "tsbpf --dur"),
        zshComplete(dir, "tsbpf completions "),
      ]);
      assert.match(backend, /auto +interp +kernel/);
      assert.match(format, /json +text/);
      assert.match(long, /tsbpf --duration/);
      assert.match(shells, /bash +zsh/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("deno install -g -n tsbpf mod.ts installs the tsbpf command", async () => {
  const root = Deno.makeTempDirSync({ prefix: "tsbpf-install-" });
  try {
    const r = await deno([
      "install",
      "-g",
      "-A",
      "-n",
      "tsbpf",
      "--root",
      root,
      "mod.ts",
    ]);
    assert.equal(r.code, 0, r.out);
    const out = new Deno.Command(`${root}/bin/tsbpf`, {
      args: ["--version"],
      stdout: "piped",
    }).outputSync();
    assert.equal(new TextDecoder().decode(out.stdout), VERSION + "\n");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("the README's CLI reference is --help, and it installs the tsbpf command it shows", async () => {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const section = readme.slice(readme.indexOf("## CLI reference\n"));
  const block = /```\n([\s\S]*?)```/.exec(section);
  assert.ok(block !== null);
  const help = await runCli(["--help"]);
  assert.equal(block[1], help.stdout);
  assert.ok(readme.includes("deno task install\n"));
  assert.ok(readme.includes("`deno install -g -A -n tsbpf mod.ts`"));
  // Commands are written `deno ...`; `npx -y deno` only where it is explained.
  const npx = readme.split("\n").filter((l) => l.includes("npx -y deno"));
  assert.equal(npx.length, 1, npx.join("\n"));
});

Deno.test("every exported function and class has a titled @example", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts", "bpf.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(r.success);
  interface Decl {
    kind: string;
    jsDoc?: { tags?: { kind: string; doc?: string }[] };
  }
  const doc = JSON.parse(new TextDecoder().decode(r.stdout)) as {
    nodes: Record<
      string,
      { symbols: { name: string; declarations: Decl[] }[] }
    >;
  };
  const lacking: string[] = [];
  for (const { symbols } of Object.values(doc.nodes)) {
    for (const s of symbols) {
      for (const d of s.declarations) {
        if (d.kind !== "function" && d.kind !== "class") continue;
        const examples = (d.jsDoc?.tags ?? []).filter((t) =>
          t.kind === "example"
        );
        const titled = examples.length > 0 && examples.every((t) => {
          const title = (t.doc ?? "").split("\n")[0].trim();
          return title !== "" && !title.startsWith("```");
        });
        if (!titled) lacking.push(s.name);
      }
    }
  }
  assert.deepEqual(lacking, []);
});

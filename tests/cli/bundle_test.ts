/**
 * The bundled command (`deno task bundle`, `tools/bundle_cli.ts`): built
 * into a temporary folder, it prints what `mod.ts` prints on both engines,
 * reads its data from beside itself, and when a source changed after the
 * build it says so and runs the sources; without its manifest it refuses.
 */
import assert from "node:assert/strict";
import { bundleCli, installBundle } from "../../tools/bundle_cli.ts";
import { VERSION } from "../../runtime/version.ts";
import { MANIFEST_FILE } from "../../runtime/cli_bundle.ts";
import type { BundleManifest } from "../../runtime/cli_bundle.ts";
import { hasStackTrace, kernelSkipReason, runCli } from "./helpers.ts";
import { skip } from "../support/skip.ts";

const ROOT = new URL("../../", import.meta.url);

/** Runs `args` with `mod.ts` and with the bundle; both must agree. */
async function same(
  bundle: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const src = await runCli(args, { env });
  const bun = await runCli(args, { env, entry: bundle });
  assert.deepEqual(bun, src, `tsbpf ${args.join(" ")}`);
  return bun;
}

Deno.test("the bundled command runs as mod.ts does", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tsbpf-bundle-" });
  try {
    const built = await bundleCli(dir);
    assert.equal(built.file, `${Deno.realPathSync(dir)}/tsbpf.js`);
    assert.ok(built.bytes > 100_000, `a ${built.bytes}-byte bundle`);

    await t.step("one-liners, errors and help print the same", async () => {
      const r = await same(built.file, [
        "--backend",
        "interp",
        "-e",
        'BEGIN { @x[1, "a"] = 2; printf("%s %d\\n", "hi", 7); exit(); }',
      ]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^hi 7$/m);
      assert.match(r.stdout, /^@x\[1, a\]: 2$/m);
      const bad = await same(built.file, ["-e", "BEGIN { x }"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /stdin:1:9: ERROR: Unknown identifier: "x"/);
      assert.ok(!hasStackTrace(bad.stderr));
      const help = await same(built.file, ["--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /USAGE/);
    });

    await t.step(
      "the bundled tracepoint formats come from beside it",
      async () => {
        // No tracefs: formats and probe lists come from the bundled data.
        const env = { TSBPF_TRACEFS: "/nonexistent" };
        const r = await same(
          built.file,
          ["-l", "tracepoint:sched:sched_sw*"],
          env,
        );
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^tracepoint:sched:sched_switch$/m);
        const data = `${dir}/data`;
        for (const sub of ["runtime/btf/data/", "runtime/probes/data/"]) {
          for (const e of Deno.readDirSync(new URL(sub, ROOT))) {
            assert.deepEqual(
              Deno.readFileSync(`${data}/${e.name}`),
              Deno.readFileSync(new URL(sub + e.name, ROOT)),
              e.name,
            );
          }
        }
      },
    );

    await t.step({
      name: "on the kernel engine",
      ignore: skip("the bundled command on the kernel", kernelSkipReason()),
      fn: async () => {
        const r = await same(built.file, [
          "-e",
          'BEGIN { printf("kernel %d\\n", 1 + 2); exit(); }',
        ]);
        assert.equal(r.code, 0);
        assert.equal(r.stdout.trim(), "kernel 3");
      },
    });

    await t.step("deno task install's way installs it as tsbpf", async () => {
      const root = `${dir}/root`;
      const bin = await installBundle(built.file, root);
      assert.equal(bin, `${root}/bin/tsbpf`);
      const out = await new Deno.Command(bin, {
        args: ["--version"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      assert.equal(dec.decode(out.stderr), "");
      assert.equal(dec.decode(out.stdout), VERSION + "\n");
      assert.match(Deno.readTextFileSync(bin), /tsbpf\.js/);
    });

    await t.step(
      "installed where deno is not on PATH (npx -y deno), it runs",
      async () => {
        // `npx -y deno task install`: no `deno` on PATH for the installed
        // script to find, so it must name this Deno by its path.
        const root = `${dir}/npx-root`;
        const env = { PATH: "/nonexistent", HOME: Deno.env.get("HOME") ?? "" };
        const tool = new URL("tools/bundle_cli.ts", ROOT).pathname;
        const made = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            tool,
            "--out",
            `${dir}/npx`,
            "--install",
            "--root",
            root,
          ],
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        assert.ok(made.success, dec.decode(made.stderr));
        const out = await new Deno.Command(`${root}/bin/tsbpf`, {
          args: ["--version"],
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(dec.decode(out.stderr), "");
        assert.equal(dec.decode(out.stdout), VERSION + "\n");
      },
    );

    await t.step("a changed source runs the sources, saying so", async () => {
      const path = `${dir}/${MANIFEST_FILE}`;
      const text = Deno.readTextFileSync(path);
      const manifest = JSON.parse(text) as BundleManifest;
      const entry = manifest.files.find((f) => f[0] === "runtime/version.ts");
      assert.ok(entry !== undefined, "runtime/version.ts is an input");
      entry[1] += 1;
      Deno.writeTextFileSync(path, JSON.stringify(manifest));
      try {
        const r = await runCli(["-e", 'BEGIN { printf("ok\\n"); exit(); }'], {
          entry: built.file,
        });
        assert.equal(r.code, 0);
        assert.equal(r.stdout.trim(), "ok");
        assert.match(
          r.stderr,
          /^tsbpf: the bundle is older than its sources \("runtime\/version\.ts" changed\); running the sources \(rebuild with `deno task bundle`\)$/m,
        );
      } finally {
        Deno.writeTextFileSync(path, text);
      }
    });

    await t.step("without its manifest it refuses", async () => {
      Deno.removeSync(`${dir}/${MANIFEST_FILE}`);
      const r = await runCli(["-e", "BEGIN { exit(); }"], {
        entry: built.file,
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no readable tsbpf\.manifest\.json/);
      assert.equal(r.stdout, "");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

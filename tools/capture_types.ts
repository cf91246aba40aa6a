/**
 * Capture the bundled kernel type table from this machine's BTF: the
 * structures of {@link BUNDLE_SPEC} with the members it names, everything
 * those members' types need, and the enums of {@link BUNDLE_ENUMS}, encoded
 * as a small BTF blob (`data/kernel_types.btf`) with a description
 * (`data/kernel_types.json`). The type table is read by the same reader as
 * the kernel's BTF.
 *
 * Run `deno task btf:capture` (`deno run -A tools/capture_types.ts
 * [--from FILE [--kernel RELEASE]] [--out DIR]`). Kernel builds differ: a table captured
 * elsewhere is not wrong, and no test compares it with the running kernel.
 *
 * @module
 */

import { readBtfFile } from "../runtime/btf/btf_reader.ts";
import { BtfFormatError } from "../runtime/btf/btf_types.ts";
import { KernelTypes } from "../runtime/btf/kernel_types.ts";
import type { BundledTypesInfo } from "../runtime/btf/bundled_types.ts";
import { BUNDLE_ENUMS, BUNDLE_SPEC } from "./bundle_spec.ts";

export { type Capture, captureTypes } from "../runtime/btf/select_types.ts";
import { captureTypes } from "../runtime/btf/select_types.ts";

async function main(args: string[]): Promise<number> {
  let from = "/sys/kernel/btf/vmlinux";
  let kernel: string | undefined;
  let outDir = new URL("../runtime/btf/data/", import.meta.url);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--from") from = args[++i];
    else if (args[i] === "--kernel") kernel = args[++i];
    else if (args[i] === "--out") {
      outDir = new URL(`file://${Deno.realPathSync(args[++i])}/`);
    } else {
      console.error(`Unknown argument "${args[i]}"`);
      console.error(
        "Usage: capture_types.ts [--from BTF_FILE [--kernel RELEASE]] [--out DIR]",
      );
      return 2;
    }
  }
  let types: KernelTypes;
  try {
    types = new KernelTypes(readBtfFile(from), "btf");
  } catch (e) {
    if (!(e instanceof BtfFormatError)) throw e;
    console.error(`ERROR: ${e.message}`);
    return 1;
  }
  const capture = captureTypes(types, BUNDLE_SPEC, BUNDLE_ENUMS);
  const info: BundledTypesInfo = {
    version: 1,
    // A file given by --from may come from another kernel.
    kernel: kernel ??
      (from === "/sys/kernel/btf/vmlinux" ? Deno.osRelease() : "unknown"),
    source: from,
    bytes: capture.btf.byteLength,
    structs: capture.structs,
    enums: capture.enums,
  };
  await Deno.writeFile(new URL("kernel_types.btf", outDir), capture.btf);
  await Deno.writeTextFile(
    new URL("kernel_types.json", outDir),
    JSON.stringify(info, null, 2) + "\n",
  );
  for (const m of capture.missing) console.error(`Not in ${from}: ${m}`);
  console.log(
    `Captured ${
      Object.keys(capture.structs).length
    } structs and unions, ${capture.enums.length} enums: ${capture.btf.byteLength} bytes of BTF`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * The man page of `tsbpf`, `docs/tsbpf.1`, made from the option table
 * ({@linkcode CLI_OPTIONS}) that `--help` and the shell completions come
 * from. `deno task man` writes it again; a test checks it is current.
 *
 * @module
 */

import {
  CLI_OPTIONS,
  CLI_SYNOPSIS,
  type CliOption,
} from "../runtime/cli_args.ts";
import { VERSION } from "../runtime/version.ts";

/** Escapes text for roff: backslashes, dashes, and a leading dot or quote. */
function roff(text: string): string {
  return text.replaceAll("\\", "\\e").replaceAll("-", "\\-").replace(
    /^[.']/,
    "\\&$&",
  );
}

function optionHead(o: CliOption): string {
  const names = [
    o.short === undefined ? undefined : `\\fB\\-${o.short}\\fR`,
    o.long === undefined ? undefined : `\\fB\\-\\-${roff(o.long)}\\fR`,
  ].filter((n) => n !== undefined).join(", ");
  return o.value === undefined ? names : `${names} \\fI${roff(o.value)}\\fR`;
}

/**
 * The man page in roff (`man -l docs/tsbpf.1` shows it).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { manPage } from "./man_page.ts";
 *
 * const page = manPage();
 * assert.match(page, /^\.TH TSBPF 1 /m);
 * assert.match(page, /\\fB\\-\\-duration\\fR \\fIS\\fR\nstop after S seconds/);
 * ```
 */
export function manPage(): string {
  const options = (CLI_OPTIONS as readonly CliOption[]).map((o) =>
    `.TP\n${optionHead(o)}\n${roff(o.help)}\n`
  ).join("");
  const synopsis = CLI_SYNOPSIS.map((l) =>
    `\\fBtsbpf\\fR${roff(l.slice("tsbpf".length))}\n.br\n`
  ).join("");
  return `.\\" Made by \`deno task man\` from runtime/cli_args.ts; do not edit.
.TH TSBPF 1 "" "${roff(VERSION)}" "User Commands"
.SH NAME
tsbpf \\- Linux tracing scripts compiled to eBPF, run in the kernel or in an eBPF interpreter
.SH SYNOPSIS
${synopsis}.SH DESCRIPTION
tsbpf runs bpftrace\\-language one\\-liners and files, and TypeScript scripts.
It compiles every probe body to eBPF bytecode itself, then loads it into the
running kernel through libbpf, or runs the same bytecode in its own eBPF
interpreter on synthetic events (\\fB\\-\\-backend interp\\fR).
Maps are printed when the program exits, \\fB\\-\\-duration\\fR ends or
Ctrl\\-C is pressed.
.SH OPTIONS
${options}.SH COMMANDS
.TP
\\fBcompletions\\fR \\fIbash\\fR|\\fIzsh\\fR
print the shell completion script (bash: source it; zsh: save it as
\\fI_tsbpf\\fR in a directory of \\fI$fpath\\fR)
.SH EXIT STATUS
0 on success, 1 for a run\\-time or kernel error, 2 for a usage or
compile error: a script or assembly error, or a program a verifier
(tsbpf's or the kernel's) refused.
.SH EXAMPLES
.nf
tsbpf \\-e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
tsbpf \\-l 'syscalls:*open*'
tsbpf \\-\\-backend interp \\-\\-duration 5 script.bt
.fi
.SH SEE ALSO
bpftrace(8)
`;
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (path === undefined) {
    Deno.stdout.writeSync(new TextEncoder().encode(manPage()));
  } else Deno.writeTextFileSync(path, manPage());
}

/**
 * Shell completion for `tsbpf`, made from the option table
 * ({@linkcode CLI_OPTIONS}) that `--help` and the man page come from:
 * `tsbpf completions bash` and `tsbpf completions zsh` print a script to
 * source or install.
 *
 * @module
 */

import { CLI_OPTIONS, type CliOption } from "./cli_args.ts";

/** The shells `tsbpf completions` writes a script for. */
export const SHELLS = ["bash", "zsh"] as const;

/** A shell of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

const OPTIONS: readonly CliOption[] = CLI_OPTIONS;

function flags(o: CliOption): string[] {
  const names: string[] = [];
  if (o.short !== undefined) names.push(`-${o.short}`);
  if (o.long !== undefined) names.push(`--${o.long}`);
  return names;
}

function bashValue(o: CliOption): string {
  const c = o.complete;
  if (c === undefined) return "return 0";
  if (c === "file") return 'COMPREPLY=($(compgen -f -- "$cur"))';
  if (c === "command") return 'COMPREPLY=($(compgen -c -- "$cur"))';
  if (c === "pid") {
    return 'COMPREPLY=($(compgen -W "$(cd /proc && echo [0-9]*)" -- "$cur"))';
  }
  return `COMPREPLY=($(compgen -W "${c.join(" ")}" -- "$cur"))`;
}

/**
 * The bash completion script: options after `-`, their values where the
 * table says what they are, script files otherwise.
 *
 * @example Install it for the current shell
 * ```ts
 * import assert from "node:assert/strict";
 * import { bashCompletion } from "./completions.ts";
 *
 * const script = bashCompletion();
 * assert.match(script, /complete -F _tsbpf tsbpf/);
 * assert.match(script, /--backend\)/);
 * ```
 */
export function bashCompletion(): string {
  const withValue = OPTIONS.filter((o) => o.type === "string");
  const cases = withValue.map((o) =>
    `    ${flags(o).join("|")}) ${bashValue(o)}; return 0 ;;`
  ).join("\n");
  const all = OPTIONS.flatMap(flags).join(" ");
  return `# bash completion for tsbpf (made by \`tsbpf completions bash\`).
# Source it, or save it as ~/.local/share/bash-completion/completions/tsbpf
_tsbpf() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [[ $COMP_CWORD -eq 2 && "\${COMP_WORDS[1]}" == completions ]]; then
    COMPREPLY=($(compgen -W "${SHELLS.join(" ")}" -- "$cur"))
    return 0
  fi
  case "$prev" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${all}" -- "$cur"))
  elif [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "completions" -- "$cur") $(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F _tsbpf tsbpf
`;
}

// Inside single quotes; brackets end a description, colons a message.
function zshQuote(text: string): string {
  return text.replaceAll("'", "'\\''").replaceAll("[", "\\[").replaceAll(
    "]",
    "\\]",
  );
}

function zshSpec(o: CliOption): string {
  const names = flags(o);
  const help = `[${zshQuote(o.help)}]`;
  let value = "";
  if (o.type === "string") {
    const c = o.complete;
    const action = c === undefined
      ? " "
      : c === "file"
      ? "_files"
      : c === "pid"
      ? "_pids"
      : c === "command"
      ? "_command_names -e"
      : `(${c.join(" ")})`;
    // -l's pattern is optional.
    const optional = o.value?.startsWith("[") ? ":" : "";
    const label = (o.value ?? "VALUE").replace(/^\[(.*)\]$/, "$1")
      .replaceAll("'", "").replaceAll(":", "\\:");
    value = `:${optional}${label}:${action}`;
  }
  if (names.length === 1) return `'${names[0]}${help}${value}'`;
  return `'(${names.join(" ")})'{${names.join(",")}}'${help}${value}'`;
}

/**
 * The zsh completion function (`#compdef tsbpf`): every option with its
 * help, values where the table says what they are, script files otherwise.
 *
 * @example Install it
 * ```ts
 * import assert from "node:assert/strict";
 * import { zshCompletion } from "./completions.ts";
 *
 * const script = zshCompletion();
 * assert.ok(script.startsWith("#compdef tsbpf\n"));
 * assert.match(script, /--backend\[auto \(default\), kernel or interp\]/);
 * ```
 */
export function zshCompletion(): string {
  const specs = OPTIONS.map((o) => `    ${zshSpec(o)} \\`).join("\n");
  return `#compdef tsbpf
# zsh completion for tsbpf (made by \`tsbpf completions zsh\`).
# Save it as _tsbpf in a directory of $fpath, then run compinit.
_tsbpf() {
  if (( CURRENT == 3 )) && [[ \${words[2]} == completions ]]; then
    _values shell ${SHELLS.join(" ")}
    return
  fi
  _arguments -s -S \\
${specs}
    '1:script or command:{_alternative "files:script:_files" "commands:command:(completions)"}' \\
    '*:argument:_files'
}
_tsbpf "$@"
`;
}

/**
 * The completion script of `shell`.
 *
 * @throws {RangeError} for a shell other than bash and zsh.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { completionScript } from "./completions.ts";
 *
 * assert.match(completionScript("bash"), /^# bash completion/);
 * assert.throws(() => completionScript("fish"), /bash or zsh/);
 * ```
 */
export function completionScript(shell: string): string {
  if (shell === "bash") return bashCompletion();
  if (shell === "zsh") return zshCompletion();
  throw new RangeError(
    `Cannot write completions for "${shell}": the shell must be bash or zsh`,
  );
}

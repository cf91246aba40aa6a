/**
 * A terminal for tests: a private tmux server running an interactive
 * bash whose prompt is `PROMPT> `, driven by keys, read by screen
 * captures. Tests that need it skip with a reason where tmux is missing.
 *
 * @module
 */

/** Why tmux tests cannot run here, or undefined when they can. */
export const tmuxSkipReason: string | undefined = (() => {
  try {
    const ok = new Deno.Command("tmux", { args: ["-V"], stdout: "null" })
      .outputSync().success;
    return ok ? undefined : "tmux -V failed";
  } catch {
    return "tmux is not installed";
  }
})();

/** The prompt of the terminal's shell. */
export const PROMPT = "PROMPT> ";

/** One tmux server with one 200x50 window running bash. */
export class Terminal implements AsyncDisposable {
  #socket: string;

  private constructor(socket: string) {
    this.#socket = socket;
  }

  /** Starts the server and waits for the first prompt. */
  static async open(): Promise<Terminal> {
    const socket = Deno.makeTempFileSync({ prefix: "tsbpf-tmux-" });
    Deno.removeSync(socket);
    const term = new Terminal(socket);
    await term.#tmux(
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      "200",
      "-y",
      "50",
      `env -i PATH="${Deno.env.get("PATH") ?? "/usr/bin:/bin"}" HOME="${
        Deno.env.get("HOME") ?? "/root"
      }" TERM=xterm NO_COLOR=1 PS1='${PROMPT}' bash --norc --noprofile`,
    );
    await term.waitFor((s) => s.includes(PROMPT.trimEnd()), 10_000);
    return term;
  }

  async #tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-S", this.#socket, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    return new TextDecoder().decode(out.stdout);
  }

  /** Types `text` literally, then Enter. */
  async type(text: string): Promise<void> {
    await this.#tmux("send-keys", "-l", text);
    await this.#tmux("send-keys", "Enter");
  }

  /** Presses Ctrl-C. */
  async ctrlC(): Promise<void> {
    await this.#tmux("send-keys", "C-c");
  }

  /** The visible screen, trailing blank lines removed. */
  async screen(): Promise<string> {
    return (await this.#tmux("capture-pane", "-p")).trimEnd();
  }

  /**
   * Polls the screen every 20 ms until `done(screen)`; returns it, or
   * throws with the screen after `timeoutMs`.
   */
  async waitFor(
    done: (screen: string) => boolean,
    timeoutMs: number,
  ): Promise<string> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      if (done(s)) return s;
      if (performance.now() > end) {
        throw new Error(`Timed out; the screen shows:\n${s}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills the server and everything it runs. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#tmux("kill-server");
    } catch {
      // already gone
    }
    try {
      Deno.removeSync(this.#socket);
    } catch {
      // removed by tmux
    }
  }
}

/** True when the screen's last line is a fresh prompt. */
export function endsWithPrompt(screen: string): boolean {
  const lines = screen.split("\n");
  return lines[lines.length - 1] === PROMPT.trimEnd() ||
    lines[lines.length - 1] === PROMPT;
}

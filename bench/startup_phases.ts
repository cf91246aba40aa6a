/**
 * Where tsbpf's start-up goes. Run as a child process by the start-up
 * benchmark; prints one JSON line of epoch-millisecond stamps:
 *
 * - `deno run -A bench/startup_phases.ts empty`: the script's first line
 *   (Deno boot only; nothing imported).
 * - `deno run -A bench/startup_phases.ts phases PROGRAM`: the same stamp,
 *   then after importing the CLI's module graph, compiling, verifying,
 *   choosing the engine (dlopen of libbpf), loading and attaching.
 *
 * @module
 */

const first = performance.timeOrigin + performance.now();

/** Epoch-millisecond stamps of one start-up. */
export interface PhaseStamps {
  /** First line of user code ran. */
  first: number;
  /** The CLI's module graph is loaded. */
  imported?: number;
  /** `compile()` returned. */
  compiled?: number;
  /** Milliseconds `verifyProgram()` takes (not on the kernel path). */
  verifyMs?: number;
  /** The engine was chosen (its module imported, libbpf opened, kernel probed). */
  engine?: number;
  /** Maps created and programs loaded. */
  loaded?: number;
  /** Probes attached. */
  attached?: number;
  /** Engine closed. */
  closed?: number;
  /** Peak RSS of this process at the end (VmHWM), KiB. */
  hwmKb?: number;
  /** V8 heap in use at the end, bytes. */
  heapUsed?: number;
  /** Memory held outside the V8 heap (ArrayBuffers…), bytes. */
  external?: number;
}

function hwmKb(): number {
  const m = /^VmHWM:\s*(\d+) kB/m.exec(
    Deno.readTextFileSync("/proc/self/status"),
  );
  return m ? Number(m[1]) : NaN;
}

async function phases(program: string): Promise<PhaseStamps> {
  const now = () => performance.timeOrigin + performance.now();
  const s: PhaseStamps = { first };
  // The static graph `deno run mod.ts` loads before its first line runs.
  // Imported from here (not as the main module), mod.ts also loads what
  // runtime/compiler/on_demand.ts leaves to the scripts that use it
  // (macros, ELF, USDT, kallsyms …): this phase is a little longer than
  // the CLI's own.
  const [{ compile }, { preloadEngine, selectEngine }] = await Promise.all([
    import("../runtime/compiler/compile.ts"),
    import("../runtime/engines/backend.ts"),
    import("../mod.ts"),
  ]);
  s.imported = now();
  // As the CLI does: the engine's modules load while the program compiles;
  // the kernel's verifier, not tsbpf's, checks programs on this path.
  preloadEngine("kernel");
  const prog = compile(program);
  s.compiled = now();
  const { engine } = await selectEngine("kernel", {});
  s.engine = now();
  try {
    await engine.load(prog);
    s.loaded = now();
    await engine.attach();
    s.attached = now();
  } finally {
    engine.close();
  }
  s.closed = now();
  // tsbpf's own verifier, which the interpreter and --dry-run use: timed
  // here, off the kernel path, for the table.
  const { verifyProgram } = await import("../runtime/verify_program.ts");
  const v0 = now();
  verifyProgram(prog);
  s.verifyMs = now() - v0;
  return s;
}

if (import.meta.main) {
  const [mode, program] = Deno.args;
  const stamps: PhaseStamps = mode === "phases"
    ? await phases(program)
    : { first };
  stamps.hwmKb = hwmKb();
  const mem = Deno.memoryUsage();
  stamps.heapUsed = mem.heapUsed;
  stamps.external = mem.external;
  console.log(JSON.stringify(stamps));
}

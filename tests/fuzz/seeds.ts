/**
 * Seed programs of the compiler fuzzer: the README's and the scripts'
 * programs, the parity table's, and typical one-liners covering the
 * language.
 *
 * @module
 */

import { ROWS } from "../parity/table.ts";

const ROOT = new URL("../../", import.meta.url);

/** Typical one-liners and files, across the language. */
export const ONE_LINERS: readonly string[] = [
  "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }",
  'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
  "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }",
  "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes[comm] = hist(args->ret); }",
  "tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }\ntracepoint:syscalls:sys_exit_read /@start[tid]/ { @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }",
  "tracepoint:sched:sched_switch { @[args->prev_comm, args->next_pid] = sum(1); }",
  "tracepoint:skb:kfree_skb /pid != 0/ { @drops[pid, comm] = count(); }",
  "profile:hz:99 { @[kstack(5), ustack(3)] = count(); }",
  "profile:hz:99 /pid == $1/ { @[ustack] = count(); }",
  "interval:s:1 { print(@x, 10); clear(@x); }",
  "interval:ms:100 { @ticks = count(); if (@ticks > 3) { exit(); } }",
  'BEGIN { printf("hello %d %s\\n", 42, "x"); exit(); }',
  'BEGIN { @a = 1; @b = @a + 2; @c = (@b * 3) % 5; printf("%d\\n", @c << 2 | 1); }',
  "BEGIN { $x = (uint32)rand % 3; if ($x == 0) { @z++; } else if ($x == 1) { @o += 1; } else { @t = 2; } }",
  "BEGIN { $i = 0; while ($i < 5) { $i++; if ($i > 3) { break; } } unroll(3) { @u[$i] = lhist($i, 0, 10, 1); } }",
  'BEGIN { $t = (1, "two", pid); @m[$t.0] = $t.1 == "two" ? 1 : 0; }',
  "BEGIN { @s = stats(5); @mn = min(3); @mx = max(9); @av = avg(4); }",
  'BEGIN { @["a"] = 1; @["b"] = 2; print(@); zero(@); delete(@["a"]); }',
  'END { printf("%-10s %5d %x %u %c|%%\\n", "ab", -5, 255, 7, 65); }',
  'tracepoint:syscalls:sys_enter_write /comm == "bash" && args->count > 10 || pid < 100/ { @w = sum(args->count); }',
  't:syscalls:sys_enter_kill { @sig[args->sig] = count(); time("%H:%M:%S\\n"); }',
  'tracepoint:syscalls:sys_enter_execve { join(args->argv); printf("%s\\n", str(args->filename, 16)); }',
  "uprobe:/bin/bash:readline { @[uid] = count(); }",
  'uretprobe:/bin/bash:readline { printf("%d %s\\n", pid, str(retval)); }',
  "tracepoint:syscalls:sys_exit_openat { @ret[args->ret < 0 ? -1 : 0] = count(); }",
  "software:page-faults:100 { @[comm] = count(); }",
  "tracepoint:syscalls:sys_enter_nanosleep { @ns = lhist(args->rqtp, 0, 1000, 100); @k[probe] = count(); }",
  "BEGIN { @x = sizeof(u64) + sizeof(struct task_struct); @y = cpu; @z = elapsed; @w = cgroup; }",
  'BEGIN { $s = "\\x41\\101\\t"; @m[$s] = strncmp($s, "AA", 2); printf("%s\\n", $s); }',
  "i:ms:100 { @a <<= 1; @b ^= ~1; $c = -(1 + 2) * !0; $d = 0x7f & $c | 1_000; @d = $d; }",
  '#include <linux/sched.h>\nstruct foo { int a; };\nBEGIN, END { printf("hi\\n"); } // done\n/* trailing */',
  "config = { max_map_keys = 10 }\nBEGIN { @x[1] = 1; }",
  "tracepoint:syscalls:sys_enter_openat { @x = ksym(0); @y = usym(0); @z = ntop(0); }",
  "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }",
];

/** Strings in `text` that look like bpftrace programs. */
function programsIn(text: string): string[] {
  const out: string[] = [];
  const looksLike = (s: string) =>
    s.includes("{") && s.includes("}") &&
    /(^|\n|\s)(BEGIN|END|[a-z]+:[\w:/*.-]+)/.test(s) && s.length < 4000;
  // -e '…' on a shell line.
  for (const m of text.matchAll(/-e\s+'([^']*)'/g)) {
    if (looksLike(m[1])) out.push(m[1]);
  }
  // Template literals without substitutions, and double-quoted strings.
  for (const m of text.matchAll(/`([^`$]*)`/g)) {
    if (looksLike(m[1])) out.push(m[1].replaceAll("\\\\", "\\"));
  }
  for (const m of text.matchAll(/"((?:\\.|[^"\\\n])*)"/g)) {
    try {
      const s = JSON.parse(`"${m[1]}"`) as string;
      if (looksLike(s)) out.push(s);
    } catch {
      // not a JSON-compatible string
    }
  }
  return out;
}

let cached: string[] | undefined;

/** Every seed program, deduplicated, in a stable order. */
export function seedPrograms(): string[] {
  if (cached !== undefined) return cached;
  const all = new Set<string>(ONE_LINERS);
  for (const row of ROWS) {
    if (typeof row.source === "string") all.add(row.source);
  }
  const files = ["README.md"];
  for (const e of Deno.readDirSync(new URL("scripts/", ROOT))) {
    if (e.isFile) files.push(`scripts/${e.name}`);
  }
  files.sort();
  for (const f of files) {
    for (const p of programsIn(Deno.readTextFileSync(new URL(f, ROOT)))) {
      all.add(p);
    }
  }
  cached = [...all];
  return cached;
}

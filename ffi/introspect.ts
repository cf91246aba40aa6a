/**
 * Reading what the kernel knows about loaded BPF programs: one program's
 * info by fd, and every loaded program by id.
 *
 * @module
 */

import { native } from "./libbpf.ts";
import { decodeProgInfo, ProgInfo, type ProgInfoFields } from "./structs.ts";

/**
 * The kernel's `bpf_prog_info` for a program fd.
 *
 * @throws {KernelError} when the fd is not a BPF program.
 * @example Info of a bad fd
 * ```ts
 * import { progInfo } from "./introspect.ts";
 * try { progInfo(-1); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function progInfo(fd: number): ProgInfoFields {
  const libs = native();
  const buf = new Uint8Array(ProgInfo.size);
  const len = new Uint32Array([ProgInfo.size]);
  libs.check(
    "read program info",
    libs.bpf.bpf_obj_get_info_by_fd(fd, buf, new Uint8Array(len.buffer)),
  );
  return decodeProgInfo(buf);
}

/**
 * Every BPF program loaded in the kernel (needs CAP_SYS_ADMIN), with its
 * id, type and name. Programs that vanish while listing are skipped.
 *
 * @example List programs named tsb_*
 * ```ts
 * import { loadedPrograms } from "./introspect.ts";
 * if (Deno.build.os === "linux" && Deno.uid() === 0) {
 *   try {
 *     console.log(loadedPrograms().filter((p) => p.name.startsWith("tsb_")));
 *   } catch (e) { console.log((e as Error).message); }
 * }
 * ```
 */
export function loadedPrograms(): ProgInfoFields[] {
  const libs = native();
  const out: ProgInfoFields[] = [];
  const next = new Uint32Array(1);
  const nextBytes = new Uint8Array(next.buffer);
  let id = 0;
  for (;;) {
    const ret = libs.bpf.bpf_prog_get_next_id(id, nextBytes);
    if (ret === -2) break; // ENOENT: no more
    libs.check("list loaded programs", ret);
    id = next[0];
    const fd = libs.bpf.bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    try {
      out.push(progInfo(fd));
    } catch {
      // gone meanwhile
    } finally {
      libs.closeFd(fd);
    }
  }
  return out;
}

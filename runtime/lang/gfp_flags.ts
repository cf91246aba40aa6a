/**
 * `%gr` of printf (bpftrace 0.26): an integer shown as the kernel's GFP
 * allocation flags, `GFP_KERNEL|__GFP_ZERO`, compound names first in the
 * kernel's own order (`__def_gfpflag_names`), unknown bits as hex.
 *
 * @module
 */

/** The `__GFP_*` bits, in the order of the kernel's `gfp_types.h`. */
const BITS = [
  "DMA",
  "HIGHMEM",
  "DMA32",
  "MOVABLE",
  "RECLAIMABLE",
  "HIGH",
  "IO",
  "FS",
  "ZERO",
  "", // 0x200: unused
  "DIRECT_RECLAIM",
  "KSWAPD_RECLAIM",
  "WRITE",
  "NOWARN",
  "RETRY_MAYFAIL",
  "NOFAIL",
  "NORETRY",
  "MEMALLOC",
  "COMP",
  "NOMEMALLOC",
  "HARDWALL",
  "THISNODE",
  "ACCOUNT",
  "ZEROTAGS",
  "SKIP_ZERO",
  "SKIP_KASAN",
  "NO_OBJ_EXT",
];

function bit(name: string): bigint {
  return 1n << BigInt(BITS.indexOf(name));
}

/** Names and masks, matched in this order (compound masks first). */
const NAMES: readonly (readonly [string, bigint])[] = (() => {
  const reclaim = bit("DIRECT_RECLAIM") | bit("KSWAPD_RECLAIM");
  const noio = reclaim;
  const nofs = noio | bit("IO");
  const kernel = nofs | bit("FS");
  const user = kernel | bit("HARDWALL");
  const highuser = user | bit("HIGHMEM");
  const movable = highuser | bit("MOVABLE") | bit("SKIP_KASAN");
  const light = (movable | bit("COMP") | bit("NOMEMALLOC") | bit("NOWARN")) &
    ~reclaim;
  const compound: [string, bigint][] = [
    ["GFP_TRANSHUGE", light | bit("DIRECT_RECLAIM")],
    ["GFP_TRANSHUGE_LIGHT", light],
    ["GFP_HIGHUSER_MOVABLE", movable],
    ["GFP_HIGHUSER", highuser],
    ["GFP_USER", user],
    ["GFP_KERNEL_ACCOUNT", kernel | bit("ACCOUNT")],
    ["GFP_KERNEL", kernel],
    ["GFP_NOFS", nofs],
    ["GFP_ATOMIC", bit("HIGH") | bit("KSWAPD_RECLAIM")],
    ["GFP_NOIO", noio],
    ["GFP_NOWAIT", bit("KSWAPD_RECLAIM") | bit("NOWARN")],
    ["GFP_DMA", bit("DMA")],
    ["__GFP_HIGHMEM", bit("HIGHMEM")],
    ["GFP_DMA32", bit("DMA32")],
  ];
  const single = [
    "HIGH",
    "IO",
    "FS",
    "ZERO",
    "DIRECT_RECLAIM",
    "KSWAPD_RECLAIM",
    "WRITE",
    "NOWARN",
    "RETRY_MAYFAIL",
    "NOFAIL",
    "NORETRY",
    "MEMALLOC",
    "COMP",
    "NOMEMALLOC",
    "HARDWALL",
    "THISNODE",
    "ACCOUNT",
    "ZEROTAGS",
    "SKIP_ZERO",
    "SKIP_KASAN",
    "NO_OBJ_EXT",
  ].map((n): [string, bigint] => [`__GFP_${n}`, bit(n)]);
  return [...compound, ...single];
})();

/**
 * GFP flags as text, as bpftrace 0.26's `%gr`: `0` for none, else the
 * names whose bits are all set, each taking its bits, then what is left
 * as hex.
 *
 * @example Usage
 * ```ts
 * import { formatGfpFlags } from "./gfp_flags.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatGfpFlags(1n), "GFP_DMA");
 * assert.equal(formatGfpFlags(0xcc0n | 0x100n), "GFP_KERNEL|__GFP_ZERO");
 * assert.equal(formatGfpFlags(0x200n), "0x200");
 * ```
 */
export function formatGfpFlags(flags: bigint): string {
  let left = BigInt.asUintN(64, flags);
  if (left === 0n) return "0";
  const out: string[] = [];
  for (const [name, mask] of NAMES) {
    if ((left & mask) === mask) {
      out.push(name);
      left &= ~mask;
    }
  }
  if (left !== 0n) out.push(`0x${left.toString(16)}`);
  return out.join("|");
}

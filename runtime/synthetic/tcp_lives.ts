/**
 * TCP connections that live through their states, for `kprobe:tcp_set_state`
 * (`tcplife`): each event moves one connection a step along an active
 * (SYN_SENT → ESTABLISHED → FIN_WAIT1 → FIN_WAIT2 → CLOSE) or a passive
 * (ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSE) path, so that a script
 * keyed by the `struct sock *` sees births, owners and deaths of the same
 * socket.
 *
 * @module
 */

import type { KernelHeap } from "./kernel_heap.ts";
import type { SyntheticThread } from "./processes.ts";

// include/net/tcp_states.h (the kernel's enum, also in its BTF).
const ESTABLISHED = 1;
const SYN_SENT = 2;
const FIN_WAIT1 = 4;
const FIN_WAIT2 = 5;
const CLOSE = 7;
const CLOSE_WAIT = 8;
const LAST_ACK = 9;

const ACTIVE = [SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE];
const PASSIVE = [ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE];

interface Life {
  sk: bigint;
  path: readonly number[];
  step: number;
  thread: SyntheticThread;
}

/** A connection's step: its sock, its new state and the task it runs in. */
export interface TcpStep {
  /** The `struct sock *` (a `struct tcp_sock` in the heap). */
  sk: bigint;
  /** The new state (`TCP_*`). */
  state: number;
  /** The task whose call makes the change. */
  thread: SyntheticThread;
}

/**
 * The live connections.
 *
 * @example Usage
 * ```ts
 * import { TcpLives } from "./tcp_lives.ts";
 * import { KernelHeap } from "./kernel_heap.ts";
 * import { ProcessTable } from "./processes.ts";
 * import { Prng } from "./prng.ts";
 * const t = new ProcessTable(new Prng(1), 1).threads[0];
 * const lives = new TcpLives(new KernelHeap());
 * const first = lives.step(t, 0);
 * console.assert(first.state === 2 || first.state === 1);
 * ```
 */
export class TcpLives {
  readonly #heap: KernelHeap;
  readonly #live: Life[] = [];
  readonly #free: bigint[] = [];
  #n = 0;

  /** @param heap Where the sockets are laid out. */
  constructor(heap: KernelHeap) {
    this.#heap = heap;
  }

  /**
   * The next state change: a new connection (by `t`), or a step of a live
   * one (by its owner), chosen by random bits `r`.
   */
  step(t: SyntheticThread, r: number): TcpStep {
    const live = this.#live;
    if (live.length === 0 || (live.length < 32 && (r & 0xff) < 80)) {
      const pick = 1 + this.#n++ % 999;
      const sk = this.#free.pop() ?? this.#heap.addTcpSock(pick);
      const path = (r >>> 8) % 3 === 0 ? PASSIVE : ACTIVE;
      live.push({ sk, path, step: 0, thread: t });
      return { sk, state: path[0], thread: t };
    }
    const i = (r >>> 8) % live.length;
    const l = live[i];
    l.step++;
    const state = l.path[l.step];
    if (l.step === l.path.length - 1) {
      live[i] = live[live.length - 1];
      live.pop();
      // Reused once closed, as the kernel's slab reuses a freed sock.
      this.#free.unshift(l.sk);
    }
    return { sk: l.sk, state, thread: l.thread };
  }
}

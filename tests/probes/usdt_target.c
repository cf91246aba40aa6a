/*
 * A USDT test target for tsbpf: SystemTap SDT notes written with inline
 * assembly (no <sys/sdt.h> needed), one probe per operand form the notes
 * use: registers of every width, stack and RIP-relative memory, a
 * scaled-index memory operand, constants, a probe behind a semaphore, and
 * a probe at two locations.
 *
 *   usdt_target N [now]   fires every probe N times (i = 0 .. N-1), exits.
 *
 * Unless given "now", it waits for a byte on stdin before firing, so that
 * a tracer can attach first; it prints "ready" when waiting and "done" at
 * the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TSBPF_NOTE(name, sema, args, ...)                                     \
  __asm__ __volatile__(                                                       \
      "990: nop\n"                                                            \
      ".pushsection .note.stapsdt,\"?\",\"note\"\n"                           \
      ".balign 4\n"                                                           \
      ".4byte 992f-991f, 994f-993f, 3\n"                                      \
      "991: .asciz \"stapsdt\"\n"                                             \
      "992: .balign 4\n"                                                      \
      "993: .8byte 990b\n"                                                    \
      ".8byte _.stapsdt.base\n"                                               \
      ".8byte " sema "\n"                                                     \
      ".asciz \"tsbpf\"\n"                                                    \
      ".asciz \"" name "\"\n"                                                 \
      ".asciz \"" args "\"\n"                                                 \
      "994: .balign 4\n"                                                      \
      ".popsection\n"                                                         \
      ".ifndef _.stapsdt.base\n"                                              \
      ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
      ".weak _.stapsdt.base\n"                                                \
      ".hidden _.stapsdt.base\n"                                              \
      "_.stapsdt.base: .space 1\n"                                            \
      ".size _.stapsdt.base, 1\n"                                             \
      ".popsection\n"                                                         \
      ".endif\n" ::__VA_ARGS__)

/* The semaphore of tsbpf:guarded: nonzero while a tracer is attached. */
volatile unsigned short tsbpf_guarded_semaphore
    __attribute__((section(".probes"), used));

/* Read through a RIP-relative operand. */
long global_value = 1000;
/* Read through a scaled-index operand. */
long table[8] = {0, 10, 20, 30, 40, 50, 60, 70};

__attribute__((noinline)) static void fire(int i) {
  int neg = -i;
  unsigned long big = 0x100000000UL + (unsigned long)i;
  signed char small = (signed char)(-1 - i);
  unsigned short half = (unsigned short)(65000 + i);
  volatile long local = 5L * i;
  volatile int local_neg = -7 * i;
  long idx = i & 7;
  global_value = 1000 + i;
  TSBPF_NOTE("regs", "0", "-4@%k0 8@%1 -1@%b2 2@%w3", "r"(neg), "r"(big),
             "q"(small), "r"(half));
  TSBPF_NOTE("mem", "0", "8@%0 -4@%1 8@%2", "m"(local), "m"(local_neg),
             "m"(global_value));
  TSBPF_NOTE("index", "0", "8@%0", "m"(table[idx]));
  TSBPF_NOTE("consts", "0", "-4@%0 4@%1 8@%2", "n"(-5), "n"(5), "n"(0x10));
  TSBPF_NOTE("noargs", "0", "");
  /* One probe at two locations, arguments in different places. */
  TSBPF_NOTE("twice", "0", "-4@%k0", "r"(i));
  TSBPF_NOTE("twice", "0", "8@%0", "m"(local));
  if (tsbpf_guarded_semaphore)
    TSBPF_NOTE("guarded", "tsbpf_guarded_semaphore", "-4@%k0", "r"(i));
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  char c;
  if (argc < 3) {
    printf("ready\n");
    fflush(stdout);
    if (read(0, &c, 1) < 0) return 1;
  }
  for (int i = 0; i < n; i++) fire(i);
  printf("done\n");
  fflush(stdout);
  return 0;
}

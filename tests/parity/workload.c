/*
 * The deterministic workload of the backend parity suite (tests/parity/),
 * built once with gcc into a temporary directory as `tsbparity` (so its
 * comm is "tsbparity"). It prints "ready", waits for one byte on standard
 * input (so a tracer can attach in between), then does exactly the work
 * below, prints "done" and stays alive until its standard input closes (so
 * its symbols can still be resolved through /proc/PID/maps):
 *
 *   tsbparity getppid N    N x syscall(SYS_getppid)
 *   tsbparity open N       N x openat("/nonexistent/tsbparity/I"), I = 0..N-1
 *   tsbparity read N       N x read(/dev/zero, buf, 1 << (I % 8)), I = 0..N-1
 *   tsbparity calls N      N x parity_target(I, 2 * I), which returns I % 3
 *   tsbparity names N      N x parity_name("name-J", J), J = I % 4
 *   tsbparity spin MS      burns CPU in parity_spin() for MS milliseconds
 *   tsbparity exec N       execv("/bin/true", {"true", "alpha", "beta"})
 *                          (N is ignored)
 *   tsbparity usdt N       N x USDT probe tsbparity:tick(I, 2 * I) with
 *                          args "-4@REG 8@REG", behind a semaphore (it
 *                          fires only while a tracer is attached)
 *   tsbparity nanosleep N  N x clock_nanosleep(CLOCK_MONOTONIC, 0, 12.3 ms)
 *   tsbparity udp N        N x a 100-byte UDP datagram to a closed port of
 *                          127.0.0.1 (each dropped: no socket)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) int parity_target(int a, int b) {
  __asm__ volatile("" ::: "memory");
  return (a + b - b) % 3;
}

__attribute__((noinline)) int parity_name(const char *name, int j) {
  __asm__ volatile("" ::: "memory");
  return (int)strlen(name) + j;
}

/* The semaphore of tsbparity:tick (SystemTap SDT, no <sys/sdt.h> needed). */
volatile unsigned short tsbparity_tick_semaphore
    __attribute__((section(".probes"), used));

__attribute__((noinline)) void parity_usdt(int i, long twice) {
  if (!tsbparity_tick_semaphore) return;
  __asm__ __volatile__(
      "990: nop\n"
      ".pushsection .note.stapsdt,\"?\",\"note\"\n"
      ".balign 4\n"
      ".4byte 992f-991f, 994f-993f, 3\n"
      "991: .asciz \"stapsdt\"\n"
      "992: .balign 4\n"
      "993: .8byte 990b\n"
      ".8byte _.stapsdt.base\n"
      ".8byte tsbparity_tick_semaphore\n"
      ".asciz \"tsbparity\"\n"
      ".asciz \"tick\"\n"
      ".asciz \"-4@%k0 8@%1\"\n"
      "994: .balign 4\n"
      ".popsection\n"
      ".ifndef _.stapsdt.base\n"
      ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"
      ".weak _.stapsdt.base\n"
      ".hidden _.stapsdt.base\n"
      "_.stapsdt.base: .space 1\n"
      ".size _.stapsdt.base, 1\n"
      ".popsection\n"
      ".endif\n" ::"r"(i),
      "r"(twice));
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) unsigned long parity_spin(double ms) {
  unsigned long x = 1;
  double end = now_ms() + ms;
  while (now_ms() < end) {
    for (int i = 0; i < 10000; i++) x = x * 6364136223846793005UL + 1;
  }
  return x;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  long n = atol(argv[2]);
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 3;
  if (strcmp(argv[1], "getppid") == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(argv[1], "open") == 0) {
    char path[64];
    for (long i = 0; i < n; i++) {
      snprintf(path, sizeof path, "/nonexistent/tsbparity/%ld", i);
      int fd = openat(AT_FDCWD, path, O_RDONLY);
      if (fd >= 0) close(fd);
    }
  } else if (strcmp(argv[1], "read") == 0) {
    static char buf[256];
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0) return 4;
    for (long i = 0; i < n; i++) {
      if (read(fd, buf, 1 << (i % 8)) < 0) return 5;
    }
    close(fd);
  } else if (strcmp(argv[1], "calls") == 0) {
    long sum = 0;
    for (long i = 0; i < n; i++) sum += parity_target((int)i, (int)(2 * i));
    printf("%ld\n", sum);
  } else if (strcmp(argv[1], "names") == 0) {
    char name[16];
    long sum = 0;
    for (long i = 0; i < n; i++) {
      snprintf(name, sizeof name, "name-%ld", i % 4);
      sum += parity_name(name, (int)(i % 4));
    }
    printf("%ld\n", sum);
  } else if (strcmp(argv[1], "spin") == 0) {
    printf("%lu\n", parity_spin((double)n) & 1);
  } else if (strcmp(argv[1], "usdt") == 0) {
    for (long i = 0; i < n; i++) parity_usdt((int)i, 2 * i);
  } else if (strcmp(argv[1], "nanosleep") == 0) {
    struct timespec ts = {0, 12300000};
    for (long i = 0; i < n; i++) clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
  } else if (strcmp(argv[1], "udp") == 0) {
    /* A port nothing listens on: bind one, note it, close it. */
    struct sockaddr_in to = {0};
    socklen_t len = sizeof to;
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    if (probe < 0 || bind(probe, (struct sockaddr *)&to, sizeof to) != 0 ||
        getsockname(probe, (struct sockaddr *)&to, &len) != 0) {
      return 7;
    }
    close(probe);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return 8;
    static char payload[100];
    for (long i = 0; i < n; i++) {
      sendto(fd, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to);
    }
    close(fd);
  } else if (strcmp(argv[1], "exec") == 0) {
    char *args[] = {"true", "alpha", "beta", NULL};
    execv("/bin/true", args);
    return 6;
  } else {
    return 2;
  }
  printf("done\n");
  fflush(stdout);
  /* poll(), not read(): a read would show in the sys_*_read rows. */
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  poll(&pfd, 1, -1);
  return 0;
}

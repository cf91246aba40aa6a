/*
 * The one workload of the tests and benchmarks, built once with gcc (see
 * workload.ts) and run under the name its user wants as its comm:
 * `tsbwork` (tests/kernel), `tsbparity` (tests/parity), `tsbbench`
 * (bench/).
 *
 * Every mode prints "ready" once started, then waits for one byte on
 * standard input before doing its work, so a tracer can attach in between
 * (NOGATE=1 in the environment: no waiting). DELAY=SECONDS in the
 * environment delays the work after the gate. When done it prints what the
 * mode computes (if anything); when it was gated it then prints
 * "done N ELAPSED_NS" (N = operations made, 0 for spin) and stays alive
 * until its standard input closes (so its symbols can still be resolved
 * through /proc/PID/maps).
 *
 *   NAME getppid N         N x syscall(SYS_getppid)
 *   NAME twocpus N         N x syscall(SYS_getppid) in each of two threads,
 *                          pinned to CPU 0 and CPU 1, at once
 *   NAME syscalls SEC      getppid() in a tight loop for SEC seconds; prints
 *                          the number of calls
 *   NAME tick US SEC       getppid() every US microseconds for SEC seconds
 *   NAME open N            N x openat("/nonexistent/tsbparity/I"),
 *                          I = 0..N-1 (one argument, a plain number)
 *   NAME open PATH...      openat() each PATH once, in order
 *   NAME opens N           N x openat("/nonexistent/tsb/NNNNNN") as fast as
 *                          possible, NNNNNN counting from 0
 *   NAME openrate RATE SEC openat() of the same paths, RATE per second, for
 *                          SEC seconds (paced by the clock)
 *   NAME read N            N x read(/dev/zero, buf, 1 << (I % 8))
 *   NAME reads N           N x read() of /dev/zero, sizes cycling over 1,
 *                          3, 10, ..., 65536 bytes
 *   NAME calls N           N x tsb_target(I) and parity_target(I, 2 * I),
 *                          which both return I % 3; prints the sum
 *   NAME names N           N x parity_name("name-J", J), J = I % 4; prints
 *                          the sum
 *   NAME spin MS           burns CPU for MS milliseconds in parity_spin(),
 *                          which calls tsb_spin() once, which loops over
 *                          tsb_spin_inner()
 *   NAME usdt N            N x USDT probe tsbparity:tick(I, 2 * I) with
 *                          args "-4@REG 8@REG", behind a semaphore (it
 *                          fires only while a tracer is attached)
 *   NAME nanosleep N       N x clock_nanosleep(CLOCK_MONOTONIC, 0, 12.3 ms)
 *   NAME udp N [PORT]      N x a 100-byte UDP datagram to 127.0.0.1:PORT,
 *                          or to a closed port (each dropped: no socket)
 *   NAME exec N            execv("/bin/true", {"true", "alpha", "beta"})
 *                          (N is ignored)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) int tsb_target(int x) {
  __asm__ volatile("" ::: "memory");
  return x % 3;
}

__attribute__((noinline)) int parity_target(int a, int b) {
  __asm__ volatile("" ::: "memory");
  return (a + b - b) % 3;
}

__attribute__((noinline)) int parity_name(const char *name, int j) {
  __asm__ volatile("" ::: "memory");
  return (int)strlen(name) + j;
}

__attribute__((noinline)) unsigned long tsb_spin_inner(unsigned long x) {
  for (int i = 0; i < 100000; i++) x = x * 6364136223846793005UL + 1;
  return x;
}

__attribute__((noinline)) unsigned long tsb_spin(double seconds) {
  unsigned long x = 1;
  double end = now() + seconds;
  while (now() < end) x = tsb_spin_inner(x);
  return x;
}

__attribute__((noinline)) unsigned long parity_spin(double ms) {
  unsigned long x = tsb_spin(ms / 1e3);
  __asm__ volatile("" ::: "memory");
  return x;
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

static void open_path(const char *path) {
  int fd = openat(AT_FDCWD, path, O_RDONLY);
  if (fd >= 0) close(fd);
}

/* openat("/nonexistent/tsb/NNNNNN") for I in [0, n), rate per second
   (0: as fast as possible). */
static long open_seq(long n, double rate) {
  char path[64];
  double start = now();
  for (long i = 0; i < n; i++) {
    if (rate > 0) {
      double due = start + i / rate;
      while (now() < due) {
      }
    }
    snprintf(path, sizeof path, "/nonexistent/tsb/%06ld", i);
    open_path(path);
  }
  return n;
}

static int plain_number(const char *s) {
  if (*s == '\0') return 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return 0;
  }
  return 1;
}

/* N datagrams of 100 bytes to 127.0.0.1:port, or to a closed port when
   port is 0; -1 when a socket cannot be made. */
static long udp(long n, int port) {
  struct sockaddr_in to = {0};
  socklen_t len = sizeof to;
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (port != 0) {
    to.sin_port = htons(port);
  } else {
    /* A port nothing listens on: bind one, note it, close it. */
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    if (probe < 0 || bind(probe, (struct sockaddr *)&to, sizeof to) != 0 ||
        getsockname(probe, (struct sockaddr *)&to, &len) != 0) {
      return -1;
    }
    close(probe);
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  static char payload[100];
  for (long i = 0; i < n; i++) {
    sendto(fd, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to);
  }
  close(fd);
  return n;
}

static void *getppid_on(void *arg) {
  long *job = arg; /* CPU, calls */
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)job[0], &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  for (long i = 0; i < job[1]; i++) syscall(SYS_getppid);
  return NULL;
}

/* Two threads, on CPU 0 and CPU 1, each making n getppid calls. */
static long two_cpus(long n) {
  long jobs[2][2] = {{0, n}, {1, n}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    if (pthread_create(&t[i], NULL, getppid_on, jobs[i]) != 0) return -1;
  }
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  return 2 * n;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODE ARGS...\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  long n = atol(argv[2]);
  printf("ready\n");
  fflush(stdout);
  /* After the first output: its page of string constants is in memory
     then, so a uprobe on getenv() can read the name. */
  int gated = getenv("NOGATE") == NULL;
  if (gated) {
    char c;
    if (read(0, &c, 1) != 1) return 3;
  }
  const char *delay = getenv("DELAY");
  if (delay != NULL) usleep((useconds_t)(atof(delay) * 1e6));
  long made = n;
  long long t0 = now_ns();
  if (strcmp(mode, "getppid") == 0 && argc == 3) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(mode, "twocpus") == 0 && argc == 3) {
    made = two_cpus(n);
    if (made < 0) return 8;
  } else if (strcmp(mode, "syscalls") == 0 && argc == 3) {
    double end = now() + atof(argv[2]);
    made = 0;
    while (now() < end) {
      for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
      made += 1000;
    }
    printf("%ld\n", made);
  } else if (strcmp(mode, "tick") == 0 && argc == 4) {
    long long end = now_ns() + (long long)(atof(argv[3]) * 1e9);
    struct timespec d = {n / 1000000, (n % 1000000) * 1000};
    made = 0;
    while (now_ns() < end) {
      syscall(SYS_getppid);
      nanosleep(&d, NULL);
      made++;
    }
  } else if (strcmp(mode, "open") == 0 && argc == 3 && plain_number(argv[2])) {
    char path[64];
    for (long i = 0; i < n; i++) {
      snprintf(path, sizeof path, "/nonexistent/tsbparity/%ld", i);
      open_path(path);
    }
  } else if (strcmp(mode, "open") == 0) {
    for (int i = 2; i < argc; i++) open_path(argv[i]);
    made = argc - 2;
  } else if (strcmp(mode, "opens") == 0 && argc == 3) {
    open_seq(n, 0);
  } else if (strcmp(mode, "openrate") == 0 && argc == 4) {
    double rate = atof(argv[2]);
    made = open_seq((long)(rate * atof(argv[3])), rate);
  } else if (strcmp(mode, "read") == 0 && argc == 3) {
    static char buf[256];
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0) return 4;
    for (long i = 0; i < n; i++) {
      if (read(fd, buf, 1 << (i % 8)) < 0) return 5;
    }
    close(fd);
  } else if (strcmp(mode, "reads") == 0 && argc == 3) {
    static char buf[65536];
    static const int sizes[] = {1,    3,    10,    32,    100,  316,
                                1000, 3162, 10000, 31623, 65536};
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0) return 4;
    for (long i = 0; i < n; i++) {
      if (read(fd, buf, sizes[i % 11]) < 0) return 5;
    }
    close(fd);
  } else if (strcmp(mode, "calls") == 0 && argc == 3) {
    long sum = 0;
    for (long i = 0; i < n; i++) {
      sum += tsb_target((int)i);
      parity_target((int)i, (int)(2 * i));
    }
    printf("%ld\n", sum);
  } else if (strcmp(mode, "names") == 0 && argc == 3) {
    char name[16];
    long sum = 0;
    for (long i = 0; i < n; i++) {
      snprintf(name, sizeof name, "name-%ld", i % 4);
      sum += parity_name(name, (int)(i % 4));
    }
    printf("%ld\n", sum);
  } else if (strcmp(mode, "spin") == 0 && argc == 3) {
    printf("%lu\n", parity_spin(atof(argv[2])) & 1);
    made = 0;
  } else if (strcmp(mode, "usdt") == 0 && argc == 3) {
    for (long i = 0; i < n; i++) parity_usdt((int)i, 2 * i);
  } else if (strcmp(mode, "nanosleep") == 0 && argc == 3) {
    struct timespec ts = {0, 12300000};
    for (long i = 0; i < n; i++) clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
  } else if (strcmp(mode, "udp") == 0 && (argc == 3 || argc == 4)) {
    made = udp(n, argc == 4 ? atoi(argv[3]) : 0);
    if (made < 0) return 7;
  } else if (strcmp(mode, "exec") == 0 && argc == 3) {
    char *args[] = {"true", "alpha", "beta", NULL};
    execv("/bin/true", args);
    return 6;
  } else {
    fprintf(stderr, "%s: unknown mode or arguments: %s\n", argv[0], mode);
    return 2;
  }
  long long elapsed = now_ns() - t0;
  if (gated) {
    printf("done %ld %lld\n", made, elapsed);
    fflush(stdout);
    /* poll(), not read(): a read would show in the sys_*_read rows. */
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    poll(&pfd, 1, -1);
  }
  return 0;
}

/*
 * The workload of the tsbpf-vs-bpftrace benchmarks (bench/), built with gcc
 * into a temporary directory as `tsbbench` (so its comm is "tsbbench").
 *
 * Every mode prints "ready" once started, then waits for one byte on
 * standard input before it works, so a tracer can attach in between. When
 * done it prints "done N ELAPSED_NS" (N = syscalls made) and exits.
 *
 *   tsbbench getppid N        N x syscall(SYS_getppid)
 *   tsbbench reads N          N x read() of /dev/zero, sizes cycling over
 *                             1, 3, 10, ..., 65536 bytes
 *   tsbbench opens N          N x openat("/nonexistent/tsb/NNNNNNNN")
 *   tsbbench openrate R SEC   openat() of the same paths, R per second,
 *                             for SEC seconds (paced by the clock)
 *   tsbbench tick US SEC      getppid() every US microseconds for SEC
 *                             seconds (no gate: starts at once)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void gate(void) {
  char c;
  printf("ready\n");
  fflush(stdout);
  if (read(0, &c, 1) != 1) exit(3);
}

static void open_one(long i) {
  char path[64];
  snprintf(path, sizeof path, "/nonexistent/tsb/%08ld", i);
  int fd = openat(AT_FDCWD, path, O_RDONLY);
  if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tsbbench MODE ARGS...\n");
    return 2;
  }
  const char *mode = argv[1];
  long n = atol(argv[2]);
  long made = 0;
  long long t0;
  if (strcmp(mode, "tick") == 0) {
    long long end = now_ns() + (long long)(atof(argv[3]) * 1e9);
    struct timespec d = {0, n * 1000};
    while (now_ns() < end) {
      syscall(SYS_getppid);
      nanosleep(&d, NULL);
      made++;
    }
    printf("done %ld 0\n", made);
    return 0;
  }
  gate();
  t0 = now_ns();
  if (strcmp(mode, "getppid") == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    made = n;
  } else if (strcmp(mode, "reads") == 0) {
    static char buf[65536];
    static const int sizes[] = {1, 3, 10, 32, 100, 316, 1000, 3162,
                                10000, 31623, 65536};
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0) return 1;
    for (long i = 0; i < n; i++) {
      if (read(fd, buf, sizes[i % 11]) < 0) return 1;
    }
    close(fd);
    made = n;
  } else if (strcmp(mode, "opens") == 0) {
    for (long i = 0; i < n; i++) open_one(i);
    made = n;
  } else if (strcmp(mode, "openrate") == 0) {
    double sec = atof(argv[3]);
    long total = (long)(n * sec);
    for (long i = 0; i < total; i++) {
      long long due = t0 + (long long)(i * (1e9 / n));
      while (now_ns() < due) {
      }
      open_one(i);
    }
    made = total;
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  printf("done %ld %lld\n", made, now_ns() - t0);
  fflush(stdout);
  return 0;
}

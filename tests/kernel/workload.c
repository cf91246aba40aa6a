/*
 * The workload of the kernel acceptance tests (tests/kernel/), built with
 * gcc into a temporary directory as `tsbwork` (so its comm is "tsbwork").
 *
 * Every mode prints "ready" once started, then waits for one byte on
 * standard input before doing its work (unless the mode is run with
 * NOGATE=1 in the environment), so a tracer can be attached in between.
 * DELAY=SECONDS in the environment delays the work after the gate.
 *
 *   tsbwork getppid N          N x syscall(SYS_getppid)
 *   tsbwork udp N PORT         N UDP datagrams to 127.0.0.1:PORT
 *   tsbwork open PATH...       openat() each PATH once, in order
 *   tsbwork openrate RATE SEC  openat("/nonexistent/tsb/NNNNNN") RATE/s for
 *                              SEC seconds, NNNNNN counting from 0
 *   tsbwork openburst N        N openat() as fast as possible, same paths
 *   tsbwork calls N            calls tsb_target(i) for i in [0, N): it
 *                              returns i % 3
 *   tsbwork spin SEC           burns CPU in tsb_spin() for SEC seconds
 *   tsbwork syscalls SEC       getppid() in a tight loop for SEC seconds
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
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

__attribute__((noinline)) int tsb_target(int x) {
  __asm__ volatile("" ::: "memory");
  return x % 3;
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

static void open_seq(long n, double rate) {
  char path[64];
  double start = now();
  for (long i = 0; i < n; i++) {
    if (rate > 0) {
      double due = start + i / rate;
      while (now() < due) {
      }
    }
    snprintf(path, sizeof path, "/nonexistent/tsb/%06ld", i);
    int fd = openat(AT_FDCWD, path, O_RDONLY);
    if (fd >= 0) close(fd);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  printf("ready\n");
  fflush(stdout);
  if (getenv("NOGATE") == NULL) {
    char c;
    if (read(0, &c, 1) != 1) return 3;
  }
  const char *delay = getenv("DELAY");
  if (delay != NULL) usleep((useconds_t)(atof(delay) * 1e6));
  const char *mode = argv[1];
  if (strcmp(mode, "getppid") == 0 && argc == 3) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(mode, "udp") == 0 && argc == 4) {
    long n = atol(argv[2]);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[3]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (long i = 0; i < n; i++) {
      sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
    }
    close(s);
  } else if (strcmp(mode, "open") == 0) {
    for (int i = 2; i < argc; i++) {
      int fd = openat(AT_FDCWD, argv[i], O_RDONLY);
      if (fd >= 0) close(fd);
    }
  } else if (strcmp(mode, "openrate") == 0 && argc == 4) {
    double rate = atof(argv[2]);
    open_seq((long)(rate * atof(argv[3])), rate);
  } else if (strcmp(mode, "openburst") == 0 && argc == 3) {
    open_seq(atol(argv[2]), 0);
  } else if (strcmp(mode, "calls") == 0 && argc == 3) {
    long n = atol(argv[2]), sum = 0;
    for (long i = 0; i < n; i++) sum += tsb_target((int)i);
    printf("%ld\n", sum);
  } else if (strcmp(mode, "spin") == 0 && argc == 3) {
    printf("%lu\n", tsb_spin(atof(argv[2])) & 1);
  } else if (strcmp(mode, "syscalls") == 0 && argc == 3) {
    double end = now() + atof(argv[2]);
    long n = 0;
    while (now() < end) {
      for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
      n += 1000;
    }
    printf("%ld\n", n);
  } else {
    return 2;
  }
  fflush(stdout);
  return 0;
}

/*
 * A delay line for loopback, for `npm run bench -- wan` (docs/ring.md, "WAN bench"): every packet
 * that an iptables NFQUEUE rule sends to queue 0 is accepted D ms after it arrived here (plus a
 * uniform jitter in [-J, +J] ms), or dropped with probability L. On loopback each packet passes
 * OUTPUT once, so one way costs D and a round trip 2D. `tc netem` does this where the kernel has it.
 *
 * Settings come as lines on stdin, "delay_ms jitter_ms loss_fraction"; each is acknowledged with
 * "ok" on stdout. EOF on stdin (the bench exited) accepts every held packet and ends the program.
 * Build: gcc -O2 -o delay-line delay-line.c -lnetfilter_queue -lnfnetlink (Debian: libnetfilter-queue-dev).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD (1 << 16)

struct held { uint64_t due_us; uint32_t id; };
static struct held heap[MAX_HELD]; /* min-heap on due_us: with jitter, packets leave out of order */
static int held_count;
static double delay_ms, jitter_ms, loss;
static struct nfq_q_handle *queue;

static uint64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void push(struct held h) {
  int i = held_count++;
  while (i > 0 && heap[(i - 1) / 2].due_us > h.due_us) { heap[i] = heap[(i - 1) / 2]; i = (i - 1) / 2; }
  heap[i] = h;
}

static struct held pop(void) {
  struct held top = heap[0], last = heap[--held_count];
  int i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= held_count) break;
    if (c + 1 < held_count && heap[c + 1].due_us < heap[c].due_us) c++;
    if (heap[c].due_us >= last.due_us) break;
    heap[i] = heap[c];
    i = c;
  }
  heap[i] = last;
  return top;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)msg; (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == NULL) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (loss > 0 && drand48() < loss) return nfq_set_verdict(q, id, NF_DROP, 0, NULL);
  double d = delay_ms + (jitter_ms > 0 ? (drand48() * 2 - 1) * jitter_ms : 0);
  if (d <= 0 || held_count == MAX_HELD) return nfq_set_verdict(q, id, NF_ACCEPT, 0, NULL);
  push((struct held){ now_us() + (uint64_t)(d * 1000), id });
  return 0;
}

static void release(uint64_t until_us) {
  while (held_count > 0 && heap[0].due_us <= until_us) nfq_set_verdict(queue, pop().id, NF_ACCEPT, 0, NULL);
}

int main(int argc, char **argv) {
  int num = argc > 1 ? atoi(argv[1]) : 0;
  struct nfq_handle *h = nfq_open();
  if (h == NULL) { perror("nfq_open"); return 1; }
  queue = nfq_create_queue(h, (uint16_t)num, on_packet, NULL);
  if (queue == NULL) { perror("nfq_create_queue"); return 1; }
  if (nfq_set_mode(queue, NFQNL_COPY_META, 0) < 0) { perror("nfq_set_mode"); return 1; }
  nfq_set_queue_maxlen(queue, MAX_HELD);
  int fd = nfq_fd(h);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 16 << 20);
  srand48((long)now_us());
  printf("ready\n");
  fflush(stdout);
  char buf[65536], line[256];
  size_t line_len = 0;
  for (;;) {
    struct timespec wait = { 0, 0 }, *timeout = NULL; /* until the next packet is due: µs, not ms */
    if (held_count > 0) {
      uint64_t now = now_us(), left = heap[0].due_us > now ? heap[0].due_us - now : 0;
      wait.tv_sec = (time_t)(left / 1000000u);
      wait.tv_nsec = (long)(left % 1000000u) * 1000;
      timeout = &wait;
    }
    struct pollfd fds[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
    if (ppoll(fds, 2, timeout, NULL) < 0 && errno != EINTR) { perror("ppoll"); break; }
    if (fds[0].revents & POLLIN) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) nfq_handle_packet(h, buf, (int)n);
      else if (n < 0 && errno == ENOBUFS) fprintf(stderr, "delay-line: queue overrun, packets lost\n");
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, line + line_len, sizeof line - 1 - line_len);
      if (n <= 0) break;
      line_len += (size_t)n;
      char *nl;
      while ((nl = memchr(line, '\n', line_len)) != NULL) {
        *nl = '\0';
        if (sscanf(line, "%lf %lf %lf", &delay_ms, &jitter_ms, &loss) == 3) printf("ok %g %g %g\n", delay_ms, jitter_ms, loss);
        else printf("bad %s\n", line);
        fflush(stdout);
        line_len -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, line_len);
      }
      if (line_len == sizeof line - 1) line_len = 0; /* an over-long line: forget it */
    }
    release(now_us());
  }
  release(UINT64_MAX);
  nfq_destroy_queue(queue);
  nfq_close(h);
  return 0;
}

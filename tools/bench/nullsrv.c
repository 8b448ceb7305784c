/**
 * @file nullsrv.c
 * The null responder of the benchmark: answers every UDP DNS query at once
 * with a fixed reply that echoes the query's ID and question (flags QR, RA,
 * RD as asked, NOERROR, one A record 127.0.0.1, TTL 3600, name compressed
 * to the question). It does no lookup at all, so its rate is the ceiling of
 * this machine, this kernel's loopback and the load generator.
 *
 *   nullsrv [-a ADDR] [-p PORT] [-t THREADS]
 *
 * Defaults: 127.0.0.1, port 5399, 1 thread. Each thread has its own socket
 * (SO_REUSEPORT) and moves packets in batches with recvmmsg/sendmmsg. Prints
 * "ready PORT" on stdout once every socket is bound. Runs until SIGTERM or
 * SIGINT, then exits 0 (so that valgrind/callgrind write their output).
 * Malformed packets (shorter than a header, no question, a response) are
 * dropped. Plain sockets: no libuv needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NS_BATCH       64  /**< datagrams per recvmmsg/sendmmsg */
#define NS_PKT         512 /**< longest query we answer (longer: dropped) */
#define NS_REPLY       (NS_PKT + 16)
#define NS_THREADS_MAX 64

static struct sockaddr_in ns_addr;
static volatile sig_atomic_t ns_stop;

static void
ns_on_signal(int sig)
{
	(void)sig;
	ns_stop = 1;
}

/**
 * Build the reply to query q (len bytes) in r. Returns the reply length, or
 * 0 when the query is not worth answering.
 */
static size_t
ns_answer(const uint8_t *q, size_t len, uint8_t *r)
{
	size_t off = 12;

	if (len < 12 + 5 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
		return 0;
	/* skip the question name: labels only, no pointers in a query */
	while (off < len && q[off] != 0) {
		if ((q[off] & 0xc0) != 0)
			return 0;
		off += (size_t)q[off] + 1;
	}
	off += 1 + 4; /* root label, QTYPE, QCLASS */
	if (off > len)
		return 0;
	memcpy(r, q, off);
	r[2] = (uint8_t)(0x80 | (q[2] & 0x01)); /* QR, RD as asked */
	r[3] = 0x80;                            /* RA, NOERROR */
	r[6] = 0;
	r[7] = 1;                        /* ANCOUNT 1 */
	r[8] = r[9] = r[10] = r[11] = 0; /* NSCOUNT, ARCOUNT */
	static const uint8_t rr[] = {0xc0,
	    0x0c,                   /* name: pointer to the question */
	    0x00, 0x01, 0x00, 0x01, /* A IN */
	    0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */
	    0x00, 0x04, 127, 0, 0, 1};
	memcpy(r + off, rr, sizeof rr);
	return off + sizeof rr;
}

static void *
ns_loop(void *arg)
{
	int fd = *(int *)arg;
	static __thread uint8_t in[NS_BATCH][NS_PKT], out[NS_BATCH][NS_REPLY];
	struct mmsghdr rm[NS_BATCH], sm[NS_BATCH];
	struct iovec riov[NS_BATCH], siov[NS_BATCH];
	struct sockaddr_in from[NS_BATCH];

	memset(rm, 0, sizeof rm);
	memset(sm, 0, sizeof sm);
	for (int i = 0; i < NS_BATCH; i++) {
		riov[i].iov_base = in[i];
		riov[i].iov_len = NS_PKT;
		rm[i].msg_hdr.msg_iov = &riov[i];
		rm[i].msg_hdr.msg_iovlen = 1;
		rm[i].msg_hdr.msg_name = &from[i];
		rm[i].msg_hdr.msg_namelen = sizeof from[i];
		siov[i].iov_base = out[i];
		sm[i].msg_hdr.msg_iov = &siov[i];
		sm[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n = recvmmsg(fd, rm, NS_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR) {
				if (ns_stop)
					exit(0); /* normal exit: profilers dump
					          */
				continue;
			}
			perror("nullsrv: recvmmsg");
			exit(1);
		}
		int k = 0;
		for (int i = 0; i < n; i++) {
			if (rm[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			size_t rl = ns_answer(in[i], rm[i].msg_len, out[k]);
			if (rl == 0)
				continue;
			siov[k].iov_len = rl;
			sm[k].msg_hdr.msg_name = &from[i];
			sm[k].msg_hdr.msg_namelen = rm[i].msg_hdr.msg_namelen;
			k++;
		}
		for (int i = 0; i < n; i++) /* the kernel wrote these */
			rm[i].msg_hdr.msg_namelen = sizeof from[i];
		int sent = 0;
		while (sent < k) { /* bounded: each pass sends >= 1 or stops */
			int m =
			    sendmmsg(fd, sm + sent, (unsigned)(k - sent), 0);
			if (m <= 0)
				break; /* full buffer, gone client: drop the
				          rest */
			sent += m;
		}
	}
	return NULL;
}

static int
ns_socket(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0) {
		perror("nullsrv: socket");
		exit(1);
	}
	int buf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ns_addr, sizeof ns_addr) < 0) {
		perror("nullsrv: bind");
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 5399, threads = 1, c;

	while ((c = getopt(argc, argv, "a:p:t:")) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: nullsrv [-a ADDR] [-p PORT] [-t "
			    "THREADS]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || threads < 1 ||
	    threads > NS_THREADS_MAX) {
		fprintf(stderr, "nullsrv: bad port or thread count\n");
		return 2;
	}
	ns_addr.sin_family = AF_INET;
	ns_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &ns_addr.sin_addr) != 1) {
		fprintf(stderr, "nullsrv: bad IPv4 address %s\n", addr);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ns_on_signal; /* no SA_RESTART: recvmmsg gets EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	static int fds[NS_THREADS_MAX];
	for (int i = 0; i < threads; i++)
		fds[i] = ns_socket();
	printf("ready %d\n", port);
	fflush(stdout);
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, ns_loop, &fds[i]) != 0) {
			fprintf(stderr, "nullsrv: pthread_create failed\n");
			return 1;
		}
	}
	ns_loop(&fds[0]);
	return 0;
}

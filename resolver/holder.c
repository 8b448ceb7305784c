/*
 * holder.c: who holds an address or the control socket (see holder.h).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "resolver/holder.h"

#define MAX_INODES 64 /* sockets on one address worth looking up */

/* "resolverd (pid 1234)", "a process (pid 1234, nsd)" or, for pid 0,
 * "another process". */
static void
describe(pid_t pid, char *who, size_t len)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0) {
		snprintf(who, len, "another process");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "resolverd") == 0)
		snprintf(who, len, "resolverd (pid %d)", (int)pid);
	else if (comm[0])
		snprintf(who, len, "a process (pid %d, %s)", (int)pid, comm);
	else
		snprintf(who, len, "a process (pid %d)", (int)pid);
}

/* The address bytes and port of @p sa. @return the family or 0. */
static int
addr_of(const struct sockaddr *sa, uint8_t addr[16], unsigned *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;
		memcpy(addr, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;
		memcpy(addr, &s->sin6_addr, 16);
		*port = ntohs(s->sin6_port);
		return AF_INET6;
	}
	return 0;
}

static bool
all_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

/* The inodes of the sockets in /proc/net/@p file on @p port at @p addr
 * (@p alen bytes) or a wildcard; TCP: listening ones only. */
static unsigned
find_inodes(const char *file, bool tcp, const uint8_t *addr, size_t alen,
    unsigned port, unsigned long *ino, unsigned n, unsigned max)
{
	char path[64], line[512], hex[40];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s", file);
	f = fopen(path, "r");
	if (f == NULL)
		return n;
	/* sl local_address rem_address st tx:rx tr:when retrnsmt uid
	 * timeout inode ... */
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		unsigned lport, st;
		unsigned long inode;
		uint8_t a[16];
		size_t hl;
		bool v6;

		if (sscanf(line,
		        " %*s %39[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu",
		        hex, &lport, &st, &inode) != 4)
			continue;
		hl = strlen(hex);
		v6 = hl == 32;
		if (hl != 8 && hl != 32)
			continue;
		/* each 32-bit word is printed as the host reads the
		 * address's bytes: reading it back the same way gives them */
		for (size_t w = 0; w < hl / 8; w++) {
			char word[9];
			uint32_t v;

			memcpy(word, hex + w * 8, 8);
			word[8] = '\0';
			v = (uint32_t)strtoul(word, NULL, 16);
			memcpy(a + w * 4, &v, 4);
		}
		if (lport != port || (tcp && st != 0x0A))
			continue;
		if (all_zero(a, v6 ? 16 : 4) || all_zero(addr, alen) ||
		    ((v6 ? 16u : 4u) == alen && memcmp(a, addr, alen) == 0))
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* The first process other than this one with an fd on one of the
 * sockets @p ino[0..n). @return its pid or 0. */
static pid_t
pid_of_inodes(const unsigned long *ino, unsigned n)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid(), found = 0;

	if (proc == NULL || n == 0) {
		if (proc != NULL)
			closedir(proc);
		return 0;
	}
	while (found == 0 && (de = readdir(proc)) != NULL) {
		char path[300], link[64];
		DIR *fds;
		struct dirent *fe;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fds = opendir(path);
		if (fds == NULL)
			continue;
		while (found == 0 && (fe = readdir(fds)) != NULL) {
			ssize_t r;
			unsigned long i;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			    fe->d_name);
			r = readlink(path, link, sizeof(link) - 1);
			if (r <= 0)
				continue;
			link[r] = '\0';
			if (sscanf(link, "socket:[%lu]", &i) != 1)
				continue;
			for (unsigned k = 0; k < n; k++)
				if (ino[k] == i)
					found = pid;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

void
holder_of_inet(const struct sockaddr *sa, int type, char *who, size_t len)
{
	unsigned long ino[MAX_INODES];
	uint8_t addr[16];
	unsigned port, n = 0;
	bool tcp = type == SOCK_STREAM;
	int family = addr_of(sa, addr, &port);
	size_t alen = family == AF_INET ? 4 : 16;

	if (family == 0) {
		describe(0, who, len);
		return;
	}
	/* a v6 wildcard socket may take v4 too (when not V6ONLY) */
	n = find_inodes(tcp ? (family == AF_INET ? "tcp" : "tcp6")
	                    : (family == AF_INET ? "udp" : "udp6"),
	    tcp, addr, alen, port, ino, n, MAX_INODES);
	if (family == AF_INET)
		n = find_inodes(tcp ? "tcp6" : "udp6", tcp,
		    (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16, port,
		    ino, n, MAX_INODES);
	describe(pid_of_inodes(ino, n), who, len);
}

int
holder_probe(const struct cfg_listen *l, int type, char *who, size_t len)
{
	int family = l->addr.ss_family;
	int one = 1, fd, r = 0;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* the real socket() will say why */
	if (type == SOCK_STREAM)
		(void)setsockopt(
		    fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		(void)setsockopt(
		    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 &&
	    errno == EADDRINUSE)
		r = -EADDRINUSE;
	close(fd);
	if (r < 0)
		holder_of_inet(
		    (const struct sockaddr *)&l->addr, type, who, len);
	return r;
}

int
holder_of_unix(const char *path, char *who, size_t len)
{
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0) {
		close(fd);
		return 0;
	}
	/* a connected unix socket's peer credentials are those of the
	 * process that called listen() */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		cred.pid = 0;
	close(fd);
	describe(cred.pid, who, len);
	return 1;
}

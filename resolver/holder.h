/**
 * @file holder.h
 * One resolverd per address: who already holds a listen address or the
 * control socket, found before binding, so that a second daemon refuses
 * to start and names the process instead of sharing the port (through
 * SO_REUSEPORT) or taking the control socket over.
 *
 * The DNS listeners keep SO_REUSEPORT, so that resolverd's own worker
 * threads each bind the same address and the kernel spreads the clients
 * over them. Any other process of the same user could join that group
 * too, and would silently get a share of the queries. So before the first
 * of its own sockets is bound, the daemon binds a probe socket to each
 * address *without* SO_REUSEPORT: the kernel refuses it (EADDRINUSE) if
 * any socket holds the address, whether or not that one set SO_REUSEPORT,
 * and grants it otherwise; the probe is closed at once and the real
 * sockets are bound right after (a process that binds in between wins the
 * race, which this cannot close; a program started *after* resolverd with
 * SO_REUSEPORT under the same user is not stopped either). The TCP probe
 * sets SO_REUSEADDR, so connections of a previous run still in TIME_WAIT
 * do not count, while a listening socket does.
 *
 * The holder is named from /proc: the socket's inode in /proc/net/{udp,
 * tcp}{,6} (bound, resp. listening, on the port, at the address or the
 * wildcard), then the process with a /proc/PID/fd link to "socket:[INODE]";
 * for the control socket, SO_PEERCRED of a connection to it. Without the
 * right to read other processes' fds (not root), the pid stays unknown.
 *
 * Daemon side (sockets and /proc), not part of the pure core.
 */
#ifndef RESOLVERD_HOLDER_H
#define RESOLVERD_HOLDER_H

#include <stddef.h>
#include <sys/socket.h>

#include "config/config.h"

/**
 * Can @p l be bound with @p type (SOCK_DGRAM or SOCK_STREAM) by a process
 * that is alone on it? @return 0 (free, or an error that the real bind
 * will report itself), or -EADDRINUSE with "resolverd (pid 1234)",
 * "a process (pid 1234, nsd)" or "another process" in @p who.
 */
int holder_probe(const struct cfg_listen *l, int type, char *who, size_t len);

/**
 * Who holds the address @p sa (bound, for SOCK_DGRAM; listening, for
 * SOCK_STREAM)? Writes the description, as for holder_probe, into @p who.
 */
void holder_of_inet(const struct sockaddr *sa, int type, char *who, size_t len);

/**
 * Does a process answer on the unix stream socket @p path? @return 1 with
 * its description in @p who, 0 if nobody does (no socket, or a stale one).
 */
int holder_of_unix(const char *path, char *who, size_t len);

#endif

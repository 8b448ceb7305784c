/**
 * @file notify.h
 * The systemd notification protocol (sd_notify(3)): READY=1 once the
 * listeners answer, RELOADING=1 and READY=1 around a reload, STOPPING=1 at
 * the stop, as datagrams to the unix socket named by $NOTIFY_SOCKET (a
 * path, or "@name" for the abstract namespace). Without NOTIFY_SOCKET,
 * nothing is sent.
 *
 * Written here rather than by libsystemd's sd_notify(), which opens the
 * socket by its path at every call: after `chroot:` the path is gone. The
 * socket is connected once at start, before the chroot, and kept.
 * Daemon side (a socket), not part of the pure core.
 */
#ifndef RESOLVERD_NOTIFY_H
#define RESOLVERD_NOTIFY_H

/** Connect to $NOTIFY_SOCKET, if set. @return 0, or a negative errno
 *  (the daemon runs on without notifications; the caller logs it). */
int notify_open(void);

/** Send one notification ("READY=1", lines separated by '\n'). */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** "RELOADING=1" with the MONOTONIC_USEC that systemd >= 253 wants. */
void notify_reloading(void);

void notify_close(void);

#endif

/**
 * @file log.c
 * The log sink: stderr, an append-only file or syslog, and a level filter.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "resolver/log.h"

#define LINE_MAX_LEN 1024

enum sink {
	SINK_STDERR,
	SINK_FILE,
	SINK_SYSLOG
};

/* The one sink of the process. file is non-NULL (and owned) only for
 * SINK_FILE. Worker threads write lines while the main thread may reopen
 * the sink (a reload): sink and file are read and changed only under
 * sink_lock, so no thread writes to a FILE another one has closed; the
 * level is an atomic read without the lock. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static enum sink sink = SINK_STDERR;
static FILE *file;
static _Atomic int level = CFG_LOG_INFO;

static const char *const level_names[] = {
    [CFG_LOG_ERR] = "error",
    [CFG_LOG_WARN] = "warning",
    [CFG_LOG_INFO] = "info",
    [CFG_LOG_DEBUG] = "debug",
};

static const int syslog_prio[] = {
    [CFG_LOG_ERR] = LOG_ERR,
    [CFG_LOG_WARN] = LOG_WARNING,
    [CFG_LOG_INFO] = LOG_INFO,
    [CFG_LOG_DEBUG] = LOG_DEBUG,
};

static void close_sink(void);

/* Under sink_lock. */
static void
close_sink(void)
{
	if (sink == SINK_FILE && file != NULL)
		fclose(file);
	else if (sink == SINK_SYSLOG)
		closelog();
	file = NULL;
	sink = SINK_STDERR;
}

/**
 * Open the sink @p c describes and set the level; see log.h. Reopening the
 * same file is how a reload (or log rotation) picks up a new file.
 */
int
log_open(const struct cfg *c, const char *root)
{
	const char *dest = c->log.dest;
	FILE *f = NULL;

	if (dest != NULL && strcmp(dest, "stderr") != 0 &&
	    strcmp(dest, "syslog") != 0) {
		dest = cfg_path_in_root(root, dest);
		if (dest == NULL)
			return -ENOENT;
		f = fopen(dest, "ae");
		if (f == NULL)
			return -errno;
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&sink_lock);
	if (f != NULL) {
		close_sink();
		file = f;
		sink = SINK_FILE;
	} else if (dest == NULL || strcmp(dest, "stderr") == 0) {
		close_sink();
	} else if (sink != SINK_SYSLOG) {
		close_sink();
		openlog("resolverd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		sink = SINK_SYSLOG;
	}
	pthread_mutex_unlock(&sink_lock);
	if (c->log.level <= CFG_LOG_DEBUG)
		atomic_store_explicit(
		    &level, (int)c->log.level, memory_order_relaxed);
	return 0;
}

/** Back to stderr; see log.h. */
void
log_close(void)
{
	pthread_mutex_lock(&sink_lock);
	close_sink();
	pthread_mutex_unlock(&sink_lock);
}

/** See log.h. */
bool
log_enabled(enum cfg_log_level l)
{
	return (int)l <= atomic_load_explicit(&level, memory_order_relaxed);
}

/** Format, sanitise and write one line; see log.h. */
void
log_msg(enum cfg_log_level l, const char *fmt, ...)
{
	char msg[LINE_MAX_LEN];
	char stamp[40];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t i;

	if ((int)l > atomic_load_explicit(&level, memory_order_relaxed))
		return;
	if (l > CFG_LOG_DEBUG)
		l = CFG_LOG_DEBUG;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&sink_lock);
	if (sink == SINK_SYSLOG) {
		syslog(syslog_prio[l], "%s", msg);
	} else {
		fprintf(sink == SINK_FILE ? file : stderr, "%s.%03ldZ %s: %s\n",
		    stamp, ts.tv_nsec / 1000000, level_names[l], msg);
		if (sink == SINK_STDERR)
			fflush(stderr);
	}
	pthread_mutex_unlock(&sink_lock);
}

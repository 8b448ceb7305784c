/**
 * @file log.h
 * The daemon's log: one line per message, to stderr, a file or syslog as
 * cfg->log says, filtered by level. A line on stderr or in a file reads
 * "2025-01-31T12:00:00.123Z warning: message". Control characters in a message
 * (including newlines) are written as '?', so client data cannot forge lines.
 *
 * Pure: no libuv. The state is one file-static sink, owned by this module;
 * before log_open() messages go to stderr at level info.
 */
#ifndef RESOLVERD_LOG_H
#define RESOLVERD_LOG_H

#include "config/config.h"

/**
 * Point the log at @p c->log.dest ("stderr", "syslog" or a file path opened
 * for append) with level @p c->log.level. On failure the previous sink and
 * level are kept.
 * @return 0, or a negative errno if the file could not be opened.
 */
int log_open(const struct cfg *c, const char *root);

/** Close the sink (a file or syslog); later messages go to stderr. */
void log_close(void);

/** @return true if a message at @p level would be written. */
bool log_enabled(enum cfg_log_level level);

/** Write one message at @p level, printf-style. */
void log_msg(enum cfg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(CFG_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(CFG_LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(CFG_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(CFG_LOG_DEBUG, __VA_ARGS__)

#endif

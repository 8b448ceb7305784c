/**
 * @file www.h
 * The page's static files (resolver/www/: its script and style sheet),
 * compiled into resolverd: the build turns them into C arrays
 * (tools/www-embed writes $(BUILD)/gen/www.c). Nothing is read from disk
 * or fetched at run time.
 */
#ifndef RESOLVERD_WWW_H
#define RESOLVERD_WWW_H

#include <stddef.h>

struct www_file {
	const char *path; /**< "/static/app.js" */
	const char *type; /**< Content-Type */
	const unsigned char *data;
	size_t len;
};

/** The file served at @p path, or NULL. */
const struct www_file *www_find(const char *path);

#endif

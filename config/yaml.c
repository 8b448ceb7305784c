/**
 * @file yaml.c
 * cfg_load(), cfg_reload(): read resolverd.yaml with libyaml's document API
 * and feed it, key by key, to the schema in config.c.
 *
 * This is the only file of resolverd that includes <yaml.h>. It knows the
 * shape of YAML (mappings, sequences, scalars, line numbers) and nothing of
 * what a key means: config.c says what kind each dotted key is, parses and
 * range-checks the values, and writes the message; this file adds the
 * "file:line: " prefix, taken from the libyaml marks (0-based, hence +1).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config/config.h"

#define MSG_MAX 512
#define KEY_MAX 64 /* longest dotted key name, with NUL */

/* The state of one load: where errors go. The line of every key met is
 * kept in the struct cfg itself (cfg_note_line), so that an error found
 * after the walk (cfg_check, cfg_check_system) has a line too. */
struct loader {
	const char *path;
	yaml_document_t *doc;
	struct cfg *c;
	char *err;
	size_t errlen;
};

static int fail(struct loader *ld, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static unsigned long line_of(const yaml_node_t *n);
static const char *kind_name(const yaml_node_t *n);
static bool is_null(const yaml_node_t *n);
static int scalar_text(struct loader *ld, const yaml_node_t *n,
    const char *what, const char **out);
static int set_value(
    struct loader *ld, const char *key, const char *value, unsigned long line);
static int load_list(
    struct loader *ld, const char *key, unsigned long line, yaml_node_t *val);
static int load_maplist(
    struct loader *ld, const char *key, unsigned long line, yaml_node_t *val);
static int load_pair(struct loader *ld, const char *prefix,
    yaml_node_pair_t *pair, yaml_node_pair_t *first);
static int load_map(struct loader *ld, const char *prefix, yaml_node_t *map);
static int load_document(struct loader *ld, yaml_parser_t *parser);
static int syntax_error(struct loader *ld, const yaml_parser_t *parser);
static int load_file(const char *path, const char *open_path, const char *dir,
    const char *root, struct cfg *c, char *err, size_t errlen);

static int
fail(struct loader *ld, unsigned long line, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->err && ld->errlen)
		snprintf(
		    ld->err, ld->errlen, "%s:%lu: %s", ld->path, line, msg);
	return -EINVAL;
}

static unsigned long
line_of(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

static const char *
kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "empty";
	}
}

/* An empty value: `key:` with nothing after it, or an explicit null. */
static bool
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	    !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The text of scalar @p n; a NUL inside would silently cut it short. */
static int
scalar_text(
    struct loader *ld, const yaml_node_t *n, const char *what, const char **out)
{
	const char *v = (const char *)n->data.scalar.value;

	if (strlen(v) != n->data.scalar.length)
		return fail(ld, line_of(n), "%s contains a NUL byte", what);
	*out = v;
	return 0;
}

static int
set_value(
    struct loader *ld, const char *key, const char *value, unsigned long line)
{
	char msg[MSG_MAX];
	int rc = cfg_set(ld->c, key, value, msg, sizeof(msg));

	if (rc == -ENOMEM) {
		snprintf(ld->err, ld->errlen, "%s:%lu: out of memory", ld->path,
		    line);
		return rc;
	}
	if (rc < 0)
		return fail(ld, line, "%s", msg);
	return 0;
}

/* A list given in the file replaces the default one; a single scalar is a
 * list of one. Each entry's error is reported at the entry's own line. */
static int
load_list(
    struct loader *ld, const char *key, unsigned long line, yaml_node_t *val)
{
	const char *text = NULL;
	int rc;

	if (is_null(val))
		return fail(
		    ld, line, "'%s' needs a value (use [] for none)", key);
	if (val->type == YAML_MAPPING_NODE)
		return fail(ld, line_of(val),
		    "'%s' must be a sequence or a scalar, not %s", key,
		    kind_name(val));
	if ((rc = set_value(ld, key, NULL, line)) < 0)
		return rc;
	if (val->type == YAML_SCALAR_NODE) {
		if ((rc = scalar_text(ld, val, key, &text)) < 0)
			return rc;
		return set_value(ld, key, text, line_of(val));
	}
	for (yaml_node_item_t *it = val->data.sequence.items.start;
	     it < val->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);

		if (!item)
			continue;
		if (item->type != YAML_SCALAR_NODE || is_null(item))
			return fail(ld, line_of(item),
			    "'%s' entries must be scalars, not %s", key,
			    is_null(item) ? "empty" : kind_name(item));
		if ((rc = scalar_text(ld, item, key, &text)) < 0 ||
		    (rc = set_value(ld, key, text, line_of(item))) < 0)
			return rc;
	}
	return 0;
}

/* A list of mappings (forward_zones, tiers): each item is started with
 * cfg_set(key, NULL), then its keys are set as "key.field". */
static int
load_maplist(
    struct loader *ld, const char *key, unsigned long line, yaml_node_t *val)
{
	char prefix[KEY_MAX + 1];
	int rc;

	if (is_null(val))
		return 0;
	if (val->type != YAML_SEQUENCE_NODE)
		return fail(ld, line,
		    "'%s' must be a sequence of mappings, "
		    "not %s",
		    key, kind_name(val));
	snprintf(prefix, sizeof(prefix), "%s.", key);
	for (yaml_node_item_t *it = val->data.sequence.items.start;
	     it < val->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);

		if (!item)
			continue;
		if (item->type != YAML_MAPPING_NODE)
			return fail(ld, line_of(item),
			    "'%s' entries must be "
			    "mappings, not %s",
			    key, kind_name(item));
		if ((rc = set_value(ld, key, NULL, line_of(item))) < 0 ||
		    (rc = load_map(ld, prefix, item)) < 0)
			return rc;
	}
	return 0;
}

/* One `key: value` of the mapping whose first pair is @p first. */
static int
load_pair(struct loader *ld, const char *prefix, yaml_node_pair_t *pair,
    yaml_node_pair_t *first)
{
	yaml_node_t *kn = yaml_document_get_node(ld->doc, pair->key);
	yaml_node_t *val = yaml_document_get_node(ld->doc, pair->value);
	char full[KEY_MAX];
	const char *name = NULL, *text = NULL, *hint;
	unsigned long line;
	enum cfg_kind kind;
	bool known;
	int rc;

	if (!kn || !val)
		return fail(ld, 1, "malformed mapping");
	line = line_of(kn);
	if (kn->type != YAML_SCALAR_NODE)
		return fail(
		    ld, line, "keys must be scalars, not %s", kind_name(kn));
	if ((rc = scalar_text(ld, kn, "key", &name)) < 0)
		return rc;
	for (yaml_node_pair_t *p = first; p < pair; p++) {
		yaml_node_t *pk = yaml_document_get_node(ld->doc, p->key);

		if (pk && pk->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)pk->data.scalar.value, name) == 0)
			return fail(ld, line,
			    "duplicate key '%s%s' (first at line %lu)", prefix,
			    name, line_of(pk));
	}
	/* A dot in a key would let "cache.size:" reach into a section. */
	known = !strchr(name, '.') &&
	    (size_t)snprintf(full, sizeof(full), "%s%s", prefix, name) <
	        sizeof(full);
	kind = known ? cfg_key_kind(full) : CFG_KIND_NONE;
	if (kind == CFG_KIND_NONE) {
		hint = known ? cfg_key_suggest(full) : NULL;
		if (hint)
			return fail(ld, line,
			    "unknown key '%s%s' (did you mean '%s'?)", prefix,
			    name, hint);
		return fail(ld, line, "unknown key '%s%s'", prefix, name);
	}
	cfg_note_line(ld->c, full, (unsigned)line);

	switch (kind) {
	case CFG_KIND_MAP:
		if (is_null(val))
			return 0; /* an empty section: all defaults */
		if (val->type != YAML_MAPPING_NODE)
			return fail(ld, line, "'%s' must be a mapping, not %s",
			    full, kind_name(val));
		snprintf(full + strlen(full), sizeof(full) - strlen(full), ".");
		return load_map(ld, full, val);
	case CFG_KIND_LIST:
		return load_list(ld, full, line, val);
	case CFG_KIND_MAPLIST:
		return load_maplist(ld, full, line, val);
	case CFG_KIND_SCALAR:
		if (val->type != YAML_SCALAR_NODE)
			return fail(ld, line, "'%s' must be a scalar, not %s",
			    full, kind_name(val));
		if ((rc = scalar_text(ld, val, full, &text)) < 0)
			return rc;
		return set_value(ld, full, text, line);
	case CFG_KIND_NONE:
		break;
	}
	return -EINVAL;
}

static int
load_map(struct loader *ld, const char *prefix, yaml_node_t *map)
{
	yaml_node_pair_t *first = map->data.mapping.pairs.start;
	int rc;

	for (yaml_node_pair_t *p = first; p < map->data.mapping.pairs.top; p++)
		if ((rc = load_pair(ld, prefix, p, first)) < 0)
			return rc;
	return 0;
}

static int
syntax_error(struct loader *ld, const yaml_parser_t *parser)
{
	const yaml_mark_t *m = parser->error == YAML_READER_ERROR
	    ? &parser->mark
	    : &parser->problem_mark;
	const char *problem = parser->problem ? parser->problem : "unknown";

	if (parser->error == YAML_MEMORY_ERROR) {
		snprintf(ld->err, ld->errlen, "%s: out of memory", ld->path);
		return -ENOMEM;
	}
	if (parser->context)
		return fail(ld, (unsigned long)m->line + 1,
		    "YAML syntax error: %s (%s)", problem, parser->context);
	return fail(
	    ld, (unsigned long)m->line + 1, "YAML syntax error: %s", problem);
}

/* Load the single document of the file into ld->c; a file with nothing but
 * comments has no root node and leaves the defaults alone. */
static int
load_document(struct loader *ld, yaml_parser_t *parser)
{
	yaml_document_t doc, extra;
	yaml_node_t *root, *more;
	const char *key = NULL;
	char msg[MSG_MAX];
	int rc = 0;

	if (!yaml_parser_load(parser, &doc))
		return syntax_error(ld, parser);
	ld->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE)
			rc = fail(ld, line_of(root),
			    "the top level must be a mapping of keys, not %s",
			    kind_name(root));
		else
			rc = load_map(ld, "", root);
	}
	if (rc == 0 && root) {
		/* A second document ("---" again) would be silently ignored. */
		if (!yaml_parser_load(parser, &extra)) {
			rc = syntax_error(ld, parser);
		} else {
			more = yaml_document_get_root_node(&extra);
			if (more)
				rc = fail(ld, line_of(more),
				    "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
	}
	if (rc == 0 && cfg_check(ld->c, &key, msg, sizeof(msg)) < 0) {
		unsigned line = key ? cfg_key_line(ld->c, key) : 0;

		rc = fail(ld, line ? line : 1, "%s", msg);
	}
	yaml_document_delete(&doc);
	ld->doc = NULL;
	return rc;
}

/* cfg_load() and cfg_reload(): the file named @p path in messages is opened
 * at @p open_path; @p dir is its absolute directory (NULL: work it out from
 * @p path); @p root, the chroot of a reload or NULL. */
static int
load_file(const char *path, const char *open_path, const char *dir,
    const char *root, struct cfg *c, char *err, size_t errlen)
{
	struct loader ld = {.path = path, .c = c, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	struct stat st;
	FILE *f;
	int rc;

	f = fopen(open_path, "r");
	if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
		memset(c, 0, sizeof(*c));
		return -ENOENT;
	}
	if ((rc = cfg_defaults(c)) < 0) {
		fclose(f);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return rc;
	}
	c->path = strdup(path);
	if (dir)
		c->dir = c->path ? strdup(dir) : NULL;
	else
		c->dir = c->path ? cfg_abs_path(NULL, path) : NULL;
	if (!c->dir) {
		/* getcwd() fails for a working directory since removed */
		rc = c->path && errno != ENOMEM ? -errno : -ENOMEM;
		fclose(f);
		cfg_free(c);
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
			    rc == -ENOMEM ? "out of memory" : strerror(-rc));
		return rc;
	}
	if (!dir) {
		/* the directory of the file: relative paths are taken from
		 * there */
		*strrchr(c->dir, '/') = '\0';
		if (c->dir[0] == '\0')
			strcpy(c->dir, "/");
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		cfg_free(c);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	c->load_root = root;
	rc = load_document(&ld, &parser);
	c->load_root = NULL;
	yaml_parser_delete(&parser);
	fclose(f);
	if (rc < 0)
		cfg_free(c);
	return rc;
}

int
cfg_load(const char *path, struct cfg *c, char *err, size_t errlen)
{
	/* err may be NULL with errlen 0: snprintf(NULL, 0, ...) is valid. */
	if (err && errlen)
		err[0] = '\0';
	return load_file(path, path, NULL, NULL, c, err, errlen);
}

int
cfg_reload(const struct cfg *old, const char *root, struct cfg *c, char *err,
    size_t errlen)
{
	const char *base, *inside;
	char *file;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(c, 0, sizeof(*c));
	if (!old->path || !old->dir) {
		if (err && errlen)
			snprintf(err, errlen,
			    "no file to reload: running on built-in defaults");
		return -ENOENT;
	}
	base =
	    strrchr(old->path, '/') ? strrchr(old->path, '/') + 1 : old->path;
	if (!(file = cfg_abs_path(old->dir, base))) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", old->path);
		return -ENOMEM;
	}
	if (!(inside = cfg_path_in_root(root, file))) {
		if (err && errlen)
			snprintf(err, errlen,
			    "%s: cannot open: outside the chroot %s", old->path,
			    root);
		free(file);
		return -ENOENT;
	}
	rc = load_file(old->path, inside, old->dir, root, c, err, errlen);
	free(file);
	return rc;
}

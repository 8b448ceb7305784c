/**
 * @file page.h
 * The web page of the HTTP listener (resolver/http.c): HTML and JSON
 * built from what the control commands answer (`lookup NAME TYPE --json`,
 * `trace NAME TYPE --json`: JSON lines, resolver/control.c), so the page
 * shows exactly what resolverctl shows. Pure: no sockets, no clock, no
 * libuv; everything is written to a FILE.
 *
 *	GET /			the form; with ?name=N[&type=T] every tier's
 *				cache for N (hit or miss, the TTL left, the
 *				records, the zone cut a resolution would start
 *				from); &resolve=1 first asks the first tier, as
 *				`resolverctl trace` does
 *	GET /trace?name=N	the walk of N drawn as SVG (static/app.js, from
 *				/api/trace)
 *	GET /api/lookup?name=N	{"name","type","lines":[lookup's objects]}
 *	GET /api/trace?name=N	{"name","type","lines":[trace's objects]}
 *
 * Every name and type is checked (page_name_ok, page_type_ok) before it is
 * put on a control request line; everything from the cache is escaped.
 */
#ifndef RESOLVERD_PAGE_H
#define RESOLVERD_PAGE_H

#include <stdbool.h>
#include <stdio.h>

/** A name the page accepts: 1 to 253 characters of letters, digits,
 *  '-', '_' and '.', no empty label (a single "." is the root), not
 *  starting with '-' (it would read as an option). */
bool page_name_ok(const char *s);

/** A type the page accepts: 1 to 15 letters and digits (A, AAAA, TYPE65). */
bool page_type_ok(const char *s);

/** The home page. @p name NULL: the form only. @p lookup: the answer of
 *  `lookup NAME TYPE --json`; @p trace: of `trace NAME TYPE --json` when
 *  the user asked to resolve (else NULL); @p error: a message to show
 *  (NULL: none). */
void page_home(FILE *f, const char *name, const char *type, const char *lookup,
    const char *trace, const char *error, const char *version);

/** The trace page: the form and the frame the script draws the walk in. */
void page_trace(FILE *f, const char *name, const char *type, bool cold,
    const char *version);

/** A JSON endpoint's body: {"name":N,"type":T,"lines":[L1,L2,...],
 *  "error":E|null} where each L is one line of @p lines (each already a
 *  JSON object). */
void page_json(FILE *f, const char *name, const char *type, const char *lines,
    const char *error);

/** A page that says what went wrong (404, 400, 503), as HTML. */
void page_error(
    FILE *f, const char *title, const char *msg, const char *version);

/* ---- the JSON of the control commands, read back (exported for the unit
 * test): one object per line, values as the renderings write them. */

/** The value of top-level @p key in the JSON object at @p obj, or NULL. */
const char *page_json_find(const char *obj, const char *key);
/** Copy the JSON string at @p v (unescaped) into @p out. @return the end
 *  of the value, or NULL when @p v is not a string. */
const char *page_json_str(const char *v, char *out, size_t cap);

#endif

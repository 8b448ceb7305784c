/*
 * page.c: the HTML and JSON of the web page (see page.h).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resolver/page.h"

#define FIELD_MAX 1024
#define TIER_MAX  16 /* tiers shown (INST_MAX) */

/* ------------------------------------------------------------- checks */

bool
page_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253 || s[0] == '-') /* never an option's look */
		return false;
	if (strcmp(s, ".") == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return false; /* an empty label */
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

bool
page_type_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- JSON */

static const char *
ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Past the value at @p p (string, number, literal, object, array), or
 * NULL when it is cut short. */
static const char *
skip_value(const char *p)
{
	int depth = 0;

	p = ws(p);
	do {
		if (*p == '\0')
			return NULL;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return NULL;
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p; /* the end of the enclosing one */
			depth--;
			p++;
		} else if (depth == 0) {
			while (*p && *p != ',' && *p != '}' && *p != ']')
				p++;
			return p;
		} else {
			p++;
		}
	} while (depth > 0);
	return p;
}

const char *
page_json_find(const char *obj, const char *key)
{
	char k[64];
	const char *p = ws(obj);

	if (*p != '{')
		return NULL;
	p = ws(p + 1);
	while (*p == '"') {
		p = page_json_str(p, k, sizeof(k));
		if (p == NULL)
			return NULL;
		p = ws(p);
		if (*p != ':')
			return NULL;
		p = ws(p + 1);
		if (strcmp(k, key) == 0)
			return p;
		p = skip_value(p);
		if (p == NULL)
			return NULL;
		p = ws(p);
		if (*p != ',')
			return NULL;
		p = ws(p + 1);
	}
	return NULL;
}

const char *
page_json_str(const char *v, char *out, size_t cap)
{
	size_t n = 0;

	if (v == NULL || *v != '"') {
		if (cap)
			out[0] = '\0';
		return NULL;
	}
	for (v++; *v != '"'; v++) {
		char c = *v;

		if (c == '\0')
			break;
		if (c == '\\') {
			v++;
			switch (*v) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'u': {
				char hex[5] = {0};
				for (int i = 0; i < 4 && v[i + 1]; i++)
					hex[i] = v[i + 1];
				/* the renderings escape single bytes only */
				c = (char)strtoul(hex, NULL, 16);
				v += strlen(hex);
				break;
			}
			case '\0':
				v--;
				c = '?';
				break;
			default:
				c = *v;
				break;
			}
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	if (cap)
		out[n] = '\0';
	return *v == '"' ? v + 1 : NULL;
}

/* A string field, "" when absent or not a string. */
static const char *
field(const char *obj, const char *key, char *out, size_t cap)
{
	if (page_json_str(page_json_find(obj, key), out, cap) == NULL && cap)
		out[0] = '\0';
	return out;
}

static long long
num(const char *obj, const char *key, long long dflt)
{
	const char *v = page_json_find(obj, key);

	return v != NULL && (*v == '-' || isdigit((unsigned char)*v))
	    ? strtoll(v, NULL, 10)
	    : dflt;
}

static bool
boolean(const char *obj, const char *key)
{
	const char *v = page_json_find(obj, key);

	return v != NULL && strncmp(v, "true", 4) == 0;
}

/* The next string of the JSON array at *p (which starts at '[' the first
 * time). @return false at its end. */
static bool
next_str(const char **p, char *out, size_t cap)
{
	const char *q = *p;

	if (q == NULL)
		return false;
	q = ws(q);
	if (*q == '[' || *q == ',')
		q = ws(q + 1);
	if (*q != '"')
		return false;
	*p = page_json_str(q, out, cap);
	return *p != NULL;
}

/* ------------------------------------------------------------- writing */

static void
esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
			break;
		}
	}
}

/* A JSON string (the control output's own lines are already JSON). */
static void
jstring(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
head(FILE *f, const char *title, const char *page)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, "
	      "initial-scale=1\">\n<title>",
	    f);
	esc(f, title);
	fputs(" · resolverd</title>\n"
	      "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
	      "<script src=\"/static/app.js\" defer></script>\n"
	      "</head>\n",
	    f);
	fprintf(f,
	    "<body data-page=\"%s\">\n<header><a class=\"brand\" "
	    "href=\"/\">resolverd</a>\n<nav><a href=\"/\">caches</a> "
	    "<a href=\"/trace\">walk</a> <a href=\"/metrics\">"
	    "metrics</a></nav></header>\n<main>\n",
	    page);
}

static void
foot(FILE *f, const char *version)
{
	fputs("</main>\n<footer>resolverd ", f);
	esc(f, version);
	fputs(" · read-only: this page looks into the caches and asks the "
	      "resolver as a client would; it changes nothing else · "
	      "<a href=\"/api/lookup\">/api/lookup</a> · "
	      "<a href=\"/api/trace\">/api/trace</a></footer>\n"
	      "</body>\n</html>\n",
	    f);
}

static void
form(FILE *f, const char *action, const char *name, const char *type, bool cold,
    bool trace)
{
	static const char *const types[] = {
	    "A", "AAAA", "NS", "MX", "TXT", "CNAME", "SOA", "DS", "DNSKEY"};
	bool known = false;

	fprintf(
	    f, "<form class=\"ask\" method=\"get\" action=\"%s\">\n", action);
	fputs("<label>name <input id=\"name\" name=\"name\" "
	      "autocomplete=\"off\" spellcheck=\"false\" "
	      "placeholder=\"www.example.com\" size=\"32\" value=\"",
	    f);
	esc(f, name ? name : "");
	fputs("\"></label>\n<label>type <select id=\"type\" name=\"type\">", f);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		bool sel = type != NULL && strcasecmp(type, types[i]) == 0;
		known |= sel;
		fprintf(f, "<option%s>%s</option>", sel ? " selected" : "",
		    types[i]);
	}
	if (!known && type != NULL) {
		fputs("<option selected>", f);
		esc(f, type);
		fputs("</option>", f);
	}
	fputs("</select></label>\n", f);
	if (trace) {
		fprintf(f,
		    "<label class=\"check\"><input type=\"checkbox\" "
		    "name=\"cold\" value=\"1\"%s> cold (walk from the root "
		    "on an empty private cache)</label>\n"
		    "<button id=\"walk\" type=\"submit\">draw the walk"
		    "</button>\n",
		    cold ? " checked" : "");
	} else {
		fputs("<button id=\"look\" type=\"submit\">look in the "
		      "caches</button>\n"
		      "<button id=\"resolve\" type=\"submit\" name=\"resolve\" "
		      "value=\"1\">resolve it</button>\n",
		    f);
	}
	fputs("</form>\n", f);
}

/* --------------------------------------------------------------- home */

/* One tier as the lookup showed it: its entries (lines of the lookup
 * output) and its zone cut line. */
struct tier_view {
	char name[64];
	const char *entries[64];
	unsigned n;
	const char *cut;
};

/* Split @p text (modified) into lines; group the lookup's objects by tier:
 * each tier's entries come before its cut line. @return tiers. */
static unsigned
group_tiers(char *text, struct tier_view *t, unsigned max)
{
	unsigned nt = 0;
	char *save = NULL;

	memset(t, 0, sizeof(*t) * max);
	for (char *ln = strtok_r(text, "\n", &save); ln && nt < max;
	     ln = strtok_r(NULL, "\n", &save)) {
		struct tier_view *v = &t[nt];

		if (ln[0] != '{')
			continue;
		if (page_json_find(ln, "cut") != NULL) {
			field(ln, "tier", v->name, sizeof(v->name));
			if (v->name[0] == '\0')
				snprintf(v->name, sizeof(v->name), "main");
			v->cut = ln;
			nt++;
		} else if (v->n < sizeof(v->entries) / sizeof(v->entries[0])) {
			v->entries[v->n++] = ln;
		}
	}
	return nt;
}

/* Does the tier hold what a client would be answered from? */
static bool
is_answer(const char *kind)
{
	return strcmp(kind, "answer") == 0 || strcmp(kind, "NXDOMAIN") == 0 ||
	    strcmp(kind, "NODATA") == 0;
}

static void
tier_block(FILE *f, const struct tier_view *v, unsigned idx, unsigned nt)
{
	char kind[32], owner[300], type[32], listen[80], zone[300], src[16],
	    buf[FIELD_MAX];
	bool hit = false;
	long long best = -1;

	for (unsigned i = 0; i < v->n; i++) {
		field(v->entries[i], "kind", kind, sizeof(kind));
		if (is_answer(kind)) {
			hit = true;
			if (best < 0 || num(v->entries[i], "ttl", 0) < best)
				best = num(v->entries[i], "ttl", 0);
		}
	}
	field(v->cut, "listen", listen, sizeof(listen));
	fprintf(
	    f, "<section class=\"tier %s\" data-tier=\"", hit ? "hit" : "miss");
	esc(f, v->name);
	fputs("\">\n<h2>", f);
	if (nt > 1)
		fprintf(f, "<span class=\"step\">%u</span> ", idx + 1);
	esc(f, v->name);
	fputs(" <span class=\"addr\">", f);
	esc(f, listen);
	fputs("</span></h2>\n", f);
	if (hit)
		fprintf(f,
		    "<p class=\"state\">cached: a client asking this tier "
		    "is answered from its cache, for <span class=\"ttl "
		    "lead\" data-ttl=\"%lld\">%lld</span> s more</p>\n",
		    best, best);
	else if (v->n > 0)
		fputs("<p class=\"state\">not cached as an answer (only the "
		      "records below, which a client is not given)</p>\n",
		    f);
	else
		fputs("<p class=\"state\">not cached: a client asking this "
		      "tier makes it ask further</p>\n",
		    f);
	if (v->n > 0) {
		fputs("<table class=\"entries\"><thead><tr><th>name</th>"
		      "<th>type</th><th>kind</th><th>TTL left</th>"
		      "<th>data</th></tr></thead><tbody>\n",
		    f);
		for (unsigned i = 0; i < v->n; i++) {
			const char *e = v->entries[i], *rd;
			long long ttl = num(e, "ttl", 0);
			bool first = true;

			field(e, "owner", owner, sizeof(owner));
			field(e, "type", type, sizeof(type));
			field(e, "kind", kind, sizeof(kind));
			fputs("<tr data-key=\"", f);
			esc(f, owner);
			fputc('|', f);
			esc(f, type);
			fputc('|', f);
			esc(f, kind);
			fputs("\"><td>", f);
			esc(f, owner);
			fputs("</td><td>", f);
			esc(f, type[0] ? type : "(any)");
			fputs("</td><td>", f);
			esc(f, kind);
			fprintf(f,
			    "</td><td><span class=\"ttl\" data-ttl=\"%lld\">"
			    "%lld</span> s of %lld</td><td>",
			    ttl, ttl, num(e, "orig_ttl", 0));
			rd = page_json_find(e,
			    is_answer(kind) && strcmp(kind, "answer") != 0
			        ? "soa"
			        : "rdata");
			while (next_str(&rd, buf, sizeof(buf))) {
				if (!first)
					fputs("<br>", f);
				first = false;
				esc(f, buf);
			}
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}
	field(v->cut, "cut", zone, sizeof(zone));
	field(v->cut, "source", src, sizeof(src));
	fputs("<p class=\"cut\">", f);
	if (strcmp(src, "forward") == 0) {
		/* servers is an array: its first object's addresses */
		const char *s = page_json_find(v->cut, "servers"), *a = NULL;

		if (s != NULL && *s == '[')
			a = page_json_find(ws(s + 1), "addrs");
		fputs("on a miss it asks ", f);
		if (a != NULL && next_str(&a, buf, sizeof(buf))) {
			fputs("<b>", f);
			esc(f, buf);
			fputs("</b>", f);
		} else {
			fputs("its forwarder", f);
		}
		fputs(idx + 1 < nt ? " (the next tier), recursion desired"
		                   : ", recursion desired",
		    f);
	} else {
		const char *s = page_json_find(v->cut, "servers");
		unsigned k = 0;

		fputs("on a miss it walks from zone <b>", f);
		esc(f, zone);
		fputs(
		    strcmp(zone, ".") == 0 ? "</b> (the root; " : "</b> (", f);
		fputs(strcmp(src, "cache") == 0 ? "its NS set is cached"
		                                : "from the root hints",
		    f);
		fputs("), asking ", f);
		if (s != NULL && *s == '[') {
			const char *o = ws(s + 1);
			while (*o == '{' && k < 6) {
				char ns[300];
				const char *a = page_json_find(o, "addrs");
				field(o, "name", ns, sizeof(ns));
				fputs(k ? ", " : "", f);
				esc(f, ns);
				if (next_str(&a, buf, sizeof(buf))) {
					fputs(" (", f);
					esc(f, buf);
					fputc(')', f);
				}
				k++;
				o = skip_value(o);
				if (o == NULL)
					break;
				o = ws(o);
				if (*o == ',')
					o = ws(o + 1);
			}
		}
		if (k == 0)
			fputs("its servers", f);
	}
	fputs("</p>\n</section>\n", f);
}

/* What resolving it did: the tiers before, the answer, the cost. */
static void
resolved(FILE *f, char *trace, const char *name)
{
	char *save = NULL, tier[64], what[32], walk[64] = "", phase[16];
	char reason[300];
	const char *summary = NULL, *first_summary = NULL;
	int first_hit = -1, idx = 0;

	fputs("<section class=\"resolved\" id=\"resolved\">\n"
	      "<h2>resolved</h2>\n<ol class=\"before\">\n",
	    f);
	for (char *ln = strtok_r(trace, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		if (ln[0] != '{')
			continue;
		if (page_json_find(ln, "summary") != NULL) {
			if (first_summary == NULL)
				first_summary = ln;
			summary = ln;
		} else if (page_json_find(ln, "walk") != NULL) {
			field(ln, "phase", phase, sizeof(phase));
			if (strcmp(phase, "root") == 0)
				field(ln, "walk", walk, sizeof(walk));
		} else if (page_json_find(ln, "tier") != NULL &&
		    page_json_find(ln, "when") != NULL) {
			char when[16];
			field(ln, "when", when, sizeof(when));
			if (strcmp(when, "before") != 0)
				continue;
			field(ln, "tier", tier, sizeof(tier));
			field(ln, "what", what, sizeof(what));
			fputs("<li>", f);
			esc(f, tier);
			if (boolean(ln, "hit")) {
				if (first_hit < 0)
					first_hit = idx;
				fprintf(f, ": <b>hit</b> (%s, %lld s left)",
				    what, num(ln, "ttl", 0));
			} else {
				fputs(": miss", f);
			}
			fputs("</li>\n", f);
			idx++;
		}
	}
	fputs("</ol>\n", f);
	if (summary == NULL) {
		fputs("<p class=\"error\">no answer from the resolver</p>\n"
		      "</section>\n",
		    f);
		return;
	}
	/* the walk's own reason first: a tier above it says less */
	field(boolean(first_summary, "failed") ? first_summary : summary,
	    "reason", reason, sizeof(reason));
	{
		static const char *const rc[] = {"NOERROR", "FORMERR",
		    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
		long long code = num(summary, "rcode", 2);
		long long an = num(summary, "answers", 0);
		long long up = num(first_summary, "upstream_queries", 0);

		fprintf(f, "<p class=\"answer %s\">answer: <b>%s</b>",
		    boolean(summary, "failed") ? "failed" : "ok",
		    code >= 0 && code < 6 ? rc[code] : "?");
		if (reason[0]) {
			fputs(" (", f);
			esc(f, reason);
			fputc(')', f);
		}
		fprintf(f, ", %lld answer record%s, %lld ms", an,
		    an == 1 ? "" : "s", num(summary, "total_ms", 0));
		if (first_hit >= 0)
			fprintf(f,
			    "; answered from a cache (tier %d asked "
			    "had it)",
			    first_hit + 1);
		else if (idx > 0)
			fprintf(f,
			    "; no tier had it: %s walked from the "
			    "root with %lld upstream quer%s, then the "
			    "answer was handed up the chain",
			    walk[0] ? walk : "the last tier", up,
			    up == 1 ? "y" : "ies");
		else
			fprintf(f, "; %lld upstream quer%s", up,
			    up == 1 ? "y" : "ies");
		fputs(". <a href=\"/trace?name=", f);
		esc(f, name);
		fputs("\">see the walk</a></p>\n</section>\n", f);
	}
}

void
page_home(FILE *f, const char *name, const char *type, const char *lookup,
    const char *trace, const char *error, const char *version)
{
	struct tier_view t[TIER_MAX];
	char *lk = lookup ? strdup(lookup) : NULL;
	char *tr = trace ? strdup(trace) : NULL;
	unsigned nt = lk ? group_tiers(lk, t, TIER_MAX) : 0;

	head(f, name ? name : "caches", "home");
	fputs("<h1>What the caches hold</h1>\n"
	      "<p class=\"lede\">Type a name: each cache tier shows whether "
	      "it holds it and for how long. <i>resolve it</i> asks the "
	      "first tier as a client would: a miss goes down the chain, "
	      "the last tier walks from the root, and the answer comes back "
	      "up, each tier keeping it under its own policy.</p>\n",
	    f);
	form(f, "/", name, type ? type : "A", false, false);
	if (error != NULL) {
		fputs("<p class=\"error\">", f);
		esc(f, error);
		fputs("</p>\n", f);
	}
	if (tr != NULL && name != NULL)
		resolved(f, tr, name);
	if (name != NULL && lk != NULL) {
		fputs("<div class=\"tiers\" id=\"tiers\" data-name=\"", f);
		esc(f, name);
		fputs("\" data-type=\"", f);
		esc(f, type ? type : "A");
		fputs("\">\n", f);
		for (unsigned i = 0; i < nt; i++) {
			if (i > 0)
				fputs("<div class=\"arrow\">&darr; on a miss"
				      "</div>\n",
				    f);
			tier_block(f, &t[i], i, nt);
		}
		fputs("</div>\n", f);
	}
	foot(f, version);
	free(lk);
	free(tr);
}

void
page_trace(
    FILE *f, const char *name, const char *type, bool cold, const char *version)
{
	head(f, name ? name : "walk", "trace");
	fputs("<h1>The walk</h1>\n<p class=\"lede\">Every server asked, "
	      "from the root down: zone cuts, referrals and their glue, "
	      "cache hits, the answer, and the chain of trust of DNSSEC "
	      "(green secure, grey insecure, red bogus).</p>\n",
	    f);
	form(f, "/trace", name, type ? type : "A", cold, true);
	if (name != NULL) {
		fputs("<div id=\"walkview\" data-name=\"", f);
		esc(f, name);
		fputs("\" data-type=\"", f);
		esc(f, type ? type : "A");
		fprintf(f, "\" data-cold=\"%d\">\n", cold ? 1 : 0);
		fputs("<p class=\"wait\">resolving…</p>\n<noscript><p>The "
		      "picture is drawn by a script. Without it, the same "
		      "steps: <a href=\"/api/trace?name=",
		    f);
		esc(f, name);
		fputs(
		    "\">/api/trace</a> (JSON) or <code>resolverctl trace ", f);
		esc(f, name);
		fputs("</code>.</p></noscript>\n</div>\n", f);
	}
	foot(f, version);
}

void
page_json(FILE *f, const char *name, const char *type, const char *lines,
    const char *error)
{
	const char *p = lines ? lines : "";
	bool first = true;

	fputs("{\"name\":", f);
	jstring(f, name ? name : "");
	fputs(",\"type\":", f);
	jstring(f, type ? type : "A");
	fputs(",\"lines\":[", f);
	while (*p) {
		size_t n = strcspn(p, "\n");

		if (n > 0 && p[0] == '{') {
			fputs(first ? "\n" : ",\n", f);
			fwrite(p, 1, n, f);
			first = false;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	fputs("],\n\"error\":", f);
	if (error != NULL)
		jstring(f, error);
	else
		fputs("null", f);
	fputs("}\n", f);
}

void
page_error(FILE *f, const char *title, const char *msg, const char *version)
{
	head(f, title, "error");
	fputs("<h1>", f);
	esc(f, title);
	fputs("</h1>\n<p class=\"error\">", f);
	esc(f, msg);
	fputs("</p>\n<p><a href=\"/\">back to the caches</a></p>\n", f);
	foot(f, version);
}

/*
 * trace.c: the step-by-step record of one resolution, and its renderings.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolver/dns.h"
#include "resolver/trace.h"

static const char *const kind_names[] = {
    [TRACE_START] = "start",
    [TRACE_CUT] = "cut",
    [TRACE_CACHE] = "cache",
    [TRACE_SEND] = "send",
    [TRACE_REFERRAL] = "referral",
    [TRACE_GLUE] = "glue",
    [TRACE_ANSWER] = "reply",
    [TRACE_CNAME] = "cname",
    [TRACE_NXDOMAIN] = "nxdomain",
    [TRACE_NODATA] = "nodata",
    [TRACE_LAME] = "lame",
    [TRACE_TIMEOUT] = "timeout",
    [TRACE_TC] = "truncated",
    [TRACE_EDNS] = "edns",
    [TRACE_IGNORED] = "ignored",
    [TRACE_QMIN] = "qmin",
    [TRACE_SUBQ] = "subquery",
    [TRACE_FAIL] = "fail",
    [TRACE_DONE] = "done",
    [TRACE_DNSSEC] = "dnssec",
};

/* The name of a DNSSEC state held in a TRACE_DNSSEC step's rtt_ms (enum
 * val_state's order). */
static const char *
dnssec_state(uint32_t v)
{
	static const char *const names[] = {
	    "indeterminate", "insecure", "secure", "bogus"};

	return v < 4 ? names[v] : "?";
}

const char *
trace_kind_str(enum trace_kind k)
{
	if ((unsigned)k >= sizeof(kind_names) / sizeof(kind_names[0]) ||
	    kind_names[k] == NULL)
		return "?";
	return kind_names[k];
}

void
trace_init(struct trace *t, uint64_t now_ms)
{
	memset(t, 0, sizeof(*t));
	t->start_ms = now_ms;
}

void
trace_free(struct trace *t)
{
	if (t == NULL)
		return;
	free(t->steps);
	memset(t, 0, sizeof(*t));
}

struct trace_step *
trace_add(
    struct trace *t, uint64_t now_ms, enum trace_kind kind, unsigned depth)
{
	struct trace_step *s;

	if (t->n >= TRACE_MAX) {
		t->overflow = true;
		return NULL;
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		s = realloc(t->steps, ncap * sizeof(*s));
		if (s == NULL) {
			t->overflow = true;
			return NULL;
		}
		t->steps = s;
		t->cap = ncap;
	}
	s = &t->steps[t->n++];
	memset(s, 0, sizeof(*s));
	s->t_ms = now_ms - t->start_ms;
	s->kind = (uint8_t)kind;
	s->depth = (uint8_t)depth;
	return s;
}

static void
addr_text(char *out, size_t cap, const struct trace_step *s)
{
	if (s->family == AF_INET || s->family == AF_INET6) {
		inet_ntop(s->family, s->addr, out, (socklen_t)cap);
		if (s->port != 0 && s->port != 53) {
			size_t n = strlen(out);
			snprintf(out + n, cap - n, "@%u", s->port);
		}
	} else {
		snprintf(out, cap, "-");
	}
}

/* The NS name a SEND step went to: its detail is "to NAME[ (...)]". */
static void
send_ns(char *out, size_t cap, const struct trace_step *s)
{
	const char *d = s->detail;
	size_t n;

	if (strncmp(d, "to ", 3) != 0) {
		snprintf(out, cap, "?");
		return;
	}
	d += 3;
	n = strcspn(d, " ");
	snprintf(out, cap, "%.*s", (int)n, d);
}

static void
prefix(FILE *out, const struct trace_step *s, unsigned level)
{
	fprintf(out, "%6llu ms  %*s", (unsigned long long)s->t_ms,
	    (int)(4 * s->depth + 2 * level), "");
}

#define ZONE_DEPTHS 16

void
trace_summary(const struct trace *t, uint64_t *total_ms, unsigned *sends)
{
	*total_ms = t->n ? t->steps[t->n - 1].t_ms : 0;
	*sends = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->steps[i].kind == TRACE_SEND)
			(*sends)++;
}

void
trace_print_text(FILE *out, const struct trace *t)
{
	char a[INET6_ADDRSTRLEN + 8], tb[DNS_MNEMONIC_MAX], ns[80];
	char zone[ZONE_DEPTHS][80];
	uint64_t total;
	unsigned sends;

	memset(zone, 0, sizeof(zone));
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *s = &t->steps[i];
		unsigned d =
		    s->depth < ZONE_DEPTHS ? s->depth : ZONE_DEPTHS - 1;
		const char *type = dns_type_str(s->qtype, tb);

		addr_text(a, sizeof(a), s);
		switch (s->kind) {
		case TRACE_START:
			prefix(out, s, 0);
			fprintf(out, "%s %s%s%s\n", s->qname, type,
			    s->depth ? "  (sub-question)" : "",
			    strcmp(s->detail, "resolving") ? s->detail : "");
			zone[d][0] = 0;
			break;
		case TRACE_CUT:
			prefix(out, s, 1);
			fprintf(out, "zone %s  %s", s->zone, s->detail);
			if (strstr(s->detail, "from cache") != NULL)
				fprintf(out, ", NS ttl %u s left", s->rtt_ms);
			fputc('\n', out);
			snprintf(zone[d], sizeof(zone[d]), "%s", s->zone);
			break;
		case TRACE_SEND:
			if (strcmp(zone[d], s->zone) != 0) {
				prefix(out, s, 1);
				fprintf(out, "zone %s  from the referral\n",
				    s->zone);
				snprintf(
				    zone[d], sizeof(zone[d]), "%s", s->zone);
			}
			send_ns(ns, sizeof(ns), s);
			prefix(out, s, 2);
			fprintf(out, "ask %s (%s) over %s: %s %s%s\n", ns, a,
			    s->tcp ? "TCP" : "UDP", s->qname, type,
			    strstr(s->detail, "minimised") ? "  (minimised)"
			                                   : "");
			break;
		case TRACE_ANSWER:
			prefix(out, s, 3);
			if (s->family)
				fprintf(out, "reply from %s in %u ms: %s\n", a,
				    s->rtt_ms, s->detail);
			else
				fprintf(out, "%s\n", s->detail);
			break;
		case TRACE_REFERRAL:
		case TRACE_GLUE:
		case TRACE_CNAME:
		case TRACE_QMIN:
		case TRACE_EDNS:
		case TRACE_IGNORED:
			prefix(out, s, 3);
			fprintf(out, "%s\n", s->detail);
			break;
		case TRACE_NXDOMAIN:
		case TRACE_NODATA:
		case TRACE_TC:
			prefix(out, s, 3);
			fprintf(out, "%s: %s\n",
			    s->kind == TRACE_TC           ? "TC"
			        : s->kind == TRACE_NODATA ? "NODATA"
			                                  : "NXDOMAIN",
			    s->detail);
			break;
		case TRACE_LAME:
		case TRACE_TIMEOUT:
			prefix(out, s, 3);
			fprintf(out, "%s %s: %s\n",
			    s->kind == TRACE_LAME ? "LAME" : "TIMEOUT", a,
			    s->detail);
			break;
		case TRACE_CACHE:
			prefix(out, s, 2);
			fprintf(out, "cache hit: %s %s: %s\n", s->qname, type,
			    s->detail);
			break;
		case TRACE_SUBQ:
			prefix(out, s, 1);
			fprintf(out, "%s: %s %s\n", s->detail, s->qname, type);
			break;
		case TRACE_FAIL:
			prefix(out, s, 1);
			fprintf(out, "FAILED: %s\n", s->detail);
			break;
		case TRACE_DONE:
			prefix(out, s, 0);
			fprintf(out, "done: %s\n", s->detail);
			break;
		case TRACE_DNSSEC:
			prefix(out, s, 1);
			fprintf(out, "DNSSEC %s: %s\n", dnssec_state(s->rtt_ms),
			    s->detail);
			break;
		default:
			prefix(out, s, 2);
			fprintf(out, "%s %s [%s] %s\n", trace_kind_str(s->kind),
			    s->qname, s->zone, s->detail);
			break;
		}
	}
	if (t->overflow)
		fprintf(out, "(trace truncated at %d steps)\n", TRACE_MAX);
	trace_summary(t, &total, &sends);
	fprintf(out, "total %llu ms, %u upstream quer%s\n",
	    (unsigned long long)total, sends, sends == 1 ? "y" : "ies");
}

/* Graphviz identifiers and labels: quoted, with " and \ escaped, and a
 * newline written as dot's line break (\n), so a label is text on two
 * lines, never a literal backslash-n; other control characters dropped. */
static void
dot_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\n') {
			fputs("\\n", out);
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, out);
	}
	fputc('"', out);
}

static void
dot_node(FILE *out, const char *id, const char *label, const char *attrs)
{
	fputs("  ", out);
	dot_str(out, id);
	fputs(" [label=", out);
	dot_str(out, label);
	fprintf(out, "%s%s];\n", *attrs ? ", " : "", attrs);
}

static void
dot_edge(FILE *out, const char *from, const char *to, const char *label,
    const char *attrs)
{
	fputs("  ", out);
	dot_str(out, from);
	fputs(" -> ", out);
	dot_str(out, to);
	fputs(" [label=", out);
	dot_str(out, label);
	fprintf(out, "%s%s];\n", *attrs ? ", " : "", attrs);
}

void
trace_print_dot(FILE *out, const struct trace *t)
{
	char a[INET6_ADDRSTRLEN + 8], tb[DNS_MNEMONIC_MAX], ns[80], id[200],
	    from[200];
	char label[512], zid[100], dnssec_from[200];
	uint64_t total;
	unsigned sends;
	bool have_from = false, have_dnssec = false;

	trace_summary(t, &total, &sends);
	fprintf(out,
	    "digraph trace {\n  rankdir=TB;\n"
	    "  node [fontname=\"Helvetica\", fontsize=10];\n"
	    "  edge [fontname=\"Helvetica\", fontsize=9];\n");
	if (t->n > 0) {
		const struct trace_step *s0 = &t->steps[0];
		snprintf(label, sizeof(label),
		    "%s %s\ntotal %llu ms, %u "
		    "upstream quer%s",
		    s0->qname, dns_type_str(s0->qtype, tb),
		    (unsigned long long)total, sends, sends == 1 ? "y" : "ies");
		dot_node(out, "question", label, "shape=box, style=bold");
		snprintf(from, sizeof(from), "question");
		have_from = true;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *s = &t->steps[i];
		const char *type = dns_type_str(s->qtype, tb);

		addr_text(a, sizeof(a), s);
		switch (s->kind) {
		case TRACE_CUT:
			snprintf(zid, sizeof(zid), "zone %s", s->zone);
			dot_node(out, zid, s->zone, "shape=ellipse");
			if (have_from)
				dot_edge(
				    out, from, zid, s->detail, "style=dotted");
			snprintf(from, sizeof(from), "%s", zid);
			have_from = true;
			break;
		case TRACE_SEND:
			snprintf(zid, sizeof(zid), "zone %s", s->zone);
			dot_node(out, zid, s->zone, "shape=ellipse");
			send_ns(ns, sizeof(ns), s);
			snprintf(id, sizeof(id), "server %s %s", ns, a);
			snprintf(label, sizeof(label), "%s\n%s", ns, a);
			dot_node(out, id, label, "shape=box");
			snprintf(label, sizeof(label), "#%zu %s %s %s", i,
			    s->qname, type, s->tcp ? "TCP" : "UDP");
			dot_edge(out, zid, id, label, "");
			snprintf(from, sizeof(from), "%s", id);
			have_from = true;
			break;
		case TRACE_REFERRAL: {
			const char *z = strncmp(s->detail, "referral to ", 12)
			    ? NULL
			    : s->detail + 12;
			size_t n = z ? strcspn(z, ":") : 0;
			if (z == NULL || !have_from)
				break;
			snprintf(zid, sizeof(zid), "zone %.*s", (int)n, z);
			snprintf(label, sizeof(label), "%.*s", (int)n, z);
			dot_node(out, zid, label, "shape=ellipse");
			dot_edge(out, from, zid, "referral", "color=blue");
			break;
		}
		case TRACE_ANSWER:
			if (s->family || !have_from)
				break;
			snprintf(id, sizeof(id), "result %zu", i);
			dot_node(
			    out, id, s->detail, "shape=note, color=darkgreen");
			dot_edge(out, from, id, "answer", "color=darkgreen");
			break;
		case TRACE_CNAME:
		case TRACE_NXDOMAIN:
		case TRACE_NODATA:
		case TRACE_CACHE:
			snprintf(id, sizeof(id), "result %zu", i);
			snprintf(label, sizeof(label), "%s %s\n%s", s->qname,
			    type, s->detail);
			dot_node(out, id, label, "shape=note");
			if (have_from)
				dot_edge(
				    out, from, id, trace_kind_str(s->kind), "");
			break;
		case TRACE_LAME:
		case TRACE_TIMEOUT:
		case TRACE_TC:
			if (!have_from)
				break;
			snprintf(id, sizeof(id), "problem %zu", i);
			snprintf(label, sizeof(label), "%s %s\n%s",
			    trace_kind_str(s->kind), a, s->detail);
			dot_node(out, id, label, "shape=octagon, color=red");
			dot_edge(out, from, id, trace_kind_str(s->kind),
			    "color=red, style=dashed");
			break;
		case TRACE_DNSSEC: {
			/* the chain of trust, one node per step, in order,
			 * coloured by the state the step ended in */
			static const char *const fill[] = {
			    "#fff3c4", "#e0e0e0", "#c8f0c8", "#ffc8c8"};
			static const char *const line[] = {
			    "#a08000", "#707070", "darkgreen", "red"};
			unsigned st = s->rtt_ms < 4 ? s->rtt_ms : 0;
			char attrs[160];

			snprintf(id, sizeof(id), "dnssec %zu", i);
			snprintf(label, sizeof(label), "DNSSEC %s\n%s",
			    dnssec_state(s->rtt_ms), s->detail);
			snprintf(attrs, sizeof(attrs),
			    "shape=box, style=\"rounded,filled\", "
			    "fillcolor=\"%s\", color=\"%s\"",
			    fill[st], line[st]);
			dot_node(out, id, label, attrs);
			snprintf(attrs, sizeof(attrs), "color=\"%s\"%s",
			    line[st], st == 3 ? ", penwidth=2" : "");
			if (have_dnssec)
				dot_edge(out, dnssec_from, id, "", attrs);
			else if (have_from)
				dot_edge(
				    out, from, id, "chain of trust", attrs);
			snprintf(dnssec_from, sizeof(dnssec_from), "%s", id);
			have_dnssec = true;
			break;
		}
		case TRACE_FAIL:
			snprintf(label, sizeof(label), "FAILED\n%s", s->detail);
			dot_node(out, "failed", label,
			    "shape=box, color=red, style=bold");
			if (have_from)
				dot_edge(
				    out, from, "failed", "fail", "color=red");
			break;
		default:
			break;
		}
	}
	fprintf(out, "}\n");
}

/* See trace.h. */
void
trace_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void
trace_print_json(FILE *out, const struct trace *t)
{
	char a[INET6_ADDRSTRLEN + 8], tb[DNS_MNEMONIC_MAX];

	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *s = &t->steps[i];
		addr_text(a, sizeof(a), s);
		fprintf(out,
		    "{\"t_ms\":%llu,\"kind\":\"%s\",\"depth\":%u,\"zone\":",
		    (unsigned long long)s->t_ms, trace_kind_str(s->kind),
		    s->depth);
		trace_json_str(out, s->zone);
		fprintf(out, ",\"qname\":");
		trace_json_str(out, s->qname);
		fprintf(out,
		    ",\"qtype\":%u,\"type\":\"%s\",\"server\":", s->qtype,
		    dns_type_str(s->qtype, tb));
		trace_json_str(out, a);
		fprintf(out, ",\"tcp\":%s,\"rtt_ms\":%u,\"detail\":",
		    s->tcp ? "true" : "false", s->rtt_ms);
		trace_json_str(out, s->detail);
		if (s->kind == TRACE_DNSSEC) /* rtt_ms holds the state */
			fprintf(
			    out, ",\"state\":\"%s\"", dnssec_state(s->rtt_ms));
		fprintf(out, "}\n");
	}
}

/*
 * trace.c: the step-by-step record of one resolution, and its renderings.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolver/trace.h"

static const char *const kind_names[] = {
	[TRACE_START] = "start", [TRACE_CUT] = "cut", [TRACE_CACHE] = "cache",
	[TRACE_SEND] = "send", [TRACE_REFERRAL] = "referral",
	[TRACE_GLUE] = "glue", [TRACE_ANSWER] = "reply",
	[TRACE_CNAME] = "cname", [TRACE_NXDOMAIN] = "nxdomain",
	[TRACE_NODATA] = "nodata", [TRACE_LAME] = "lame",
	[TRACE_TIMEOUT] = "timeout", [TRACE_TC] = "truncated",
	[TRACE_EDNS] = "edns", [TRACE_IGNORED] = "ignored",
	[TRACE_QMIN] = "qmin", [TRACE_SUBQ] = "subquery",
	[TRACE_FAIL] = "fail", [TRACE_DONE] = "done",
};

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
trace_add(struct trace *t, uint64_t now_ms, enum trace_kind kind,
    unsigned depth)
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

void
trace_name(char *out, size_t cap, const uint8_t *name)
{
	size_t o = 0;

	if (cap == 0)
		return;
	if (name == NULL || name[0] == 0) {
		snprintf(out, cap, ".");
		return;
	}
	while (*name && o + 1 < cap) {
		unsigned l = *name++;
		for (unsigned i = 0; i < l && o + 1 < cap; i++) {
			uint8_t c = name[i];
			if (c == '.' || c == '\\') {
				if (o + 2 >= cap)
					break;
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c > 32 && c < 127) {
				out[o++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
			} else if (o + 4 < cap) {
				o += (size_t)snprintf(out + o, cap - o, "\\%03u", c);
			}
		}
		name += l;
		if (o + 1 < cap)
			out[o++] = '.';
	}
	out[o] = 0;
}

static void
addr_text(char *out, size_t cap, const struct trace_step *s)
{
	if (s->family == AF_INET || s->family == AF_INET6)
		inet_ntop(s->family, s->addr, out, (socklen_t)cap);
	else
		snprintf(out, cap, "-");
}

void
trace_print_text(FILE *out, const struct trace *t)
{
	char a[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *s = &t->steps[i];
		fprintf(out, "%6llu ms %*s%-9s", (unsigned long long)s->t_ms,
		    2 * s->depth, "", trace_kind_str(s->kind));
		switch (s->kind) {
		case TRACE_SEND:
			addr_text(a, sizeof(a), s);
			fprintf(out, " %s type %u @%s %s [zone %s] %s\n", s->qname,
			    s->qtype, a, s->tcp ? "tcp" : "udp", s->zone, s->detail);
			break;
		case TRACE_ANSWER:
			if (s->family) {
				addr_text(a, sizeof(a), s);
				fprintf(out, " from %s in %u ms: %s\n", a, s->rtt_ms,
				    s->detail);
			} else {
				fprintf(out, " %s\n", s->detail);
			}
			break;
		case TRACE_CUT:
			fprintf(out, " zone %s for %s: %s\n", s->zone, s->qname,
			    s->detail);
			break;
		default:
			fprintf(out, " %s [%s] %s\n", s->qname, s->zone, s->detail);
			break;
		}
	}
	if (t->overflow)
		fprintf(out, "(trace truncated at %d steps)\n", TRACE_MAX);
}

static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void
trace_print_json(FILE *out, const struct trace *t)
{
	char a[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *s = &t->steps[i];
		addr_text(a, sizeof(a), s);
		fprintf(out, "{\"t_ms\":%llu,\"kind\":\"%s\",\"depth\":%u,\"zone\":",
		    (unsigned long long)s->t_ms, trace_kind_str(s->kind), s->depth);
		json_str(out, s->zone);
		fprintf(out, ",\"qname\":");
		json_str(out, s->qname);
		fprintf(out, ",\"qtype\":%u,\"server\":", s->qtype);
		json_str(out, a);
		fprintf(out, ",\"tcp\":%s,\"rtt_ms\":%u,\"detail\":",
		    s->tcp ? "true" : "false", s->rtt_ms);
		json_str(out, s->detail);
		fprintf(out, "}\n");
	}
}

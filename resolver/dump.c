/*
 * dump.c: cache entries as zone-file text and JSON, and back.
 *
 * Rendering goes through ldns (one ldns_rr per record, built from the
 * entry's wire rdata), so every type ldns knows is shown in its usual
 * presentation format and unknown ones as "\# len hex" (RFC 3597), which
 * ldns reads back. Loading parses each RR with ldns and groups consecutive
 * lines with the same owner, class, type, TTL and comment into one entry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <ldns/ldns.h>

#include "resolver/dump.h"
#include "resolver/limits.h"
#include "resolver/rr.h"
#include "resolver/trace.h"

#define LINE_MAX_LEN 65536 /* longest line dump_load accepts */
#define META_MAX     1024

/* A serialised entry in a dump_snap: this header, then owner, soa_owner,
 * rdata and sigs, padded to 8 bytes. */
struct snap_hdr {
	uint64_t stored_ms;
	uint32_t ttl, orig_ttl, hits, rdata_len, sigs_len;
	uint16_t type, rclass, nrr, nsig, nproof;
	uint8_t kind, rank, source_family, owner_len, soa_len, sec;
	bool cut;
	uint8_t source[16];
};

/* One entry being assembled by dump_load. */
struct group {
	bool open;
	unsigned line;               /* of its first line */
	uint8_t owner[LIM_NAME_MAX]; /* of its lines, lowercased */
	size_t owner_len;
	uint16_t type, rclass; /* of its lines (covered type for sigs) */
	uint32_t ttl;
	char meta[META_MAX];
	uint8_t *rd, *sig; /* rdata lists, owned */
	size_t rd_len, rd_cap, sig_len, sig_cap;
	uint16_t nrr, nsig;
};

struct meta {
	const char *kind;
	char name[DNS_NAME_TEXT_MAX];
	char type[DNS_MNEMONIC_MAX];
	unsigned rank;
	uint32_t orig_ttl;
	bool has_orig;
	uint8_t source[16];
	uint8_t family;
	int sec; /* enum cache_sec of dnssec=, -1 without */
	bool cut;
	bool proof_lost; /* proof=: its NSEC/NSEC3 proof was not dumped */
	char tier[DUMP_TIER_MAX]; /* "" unless tier= */
};

static int rr_text(ldns_buffer *b, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rd, size_t rdlen);
static void meta_text(
    char *out, size_t cap, const struct cache_rrset_out *e, const char *tier);
static int grow(uint8_t **p, size_t *cap, size_t need);
static int parse_meta(char *s, struct meta *m, const char **why);
static void flush_group(struct group *g, uint64_t dump_ms, uint64_t now_ms,
    dump_store_fn store, dump_bad_fn bad, void *arg,
    struct dump_load_stats *st);

/* ------------------------------------------------------------ helpers */

void
dump_time(char *out, size_t cap, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (unsigned)(ms % 1000));
}

/* Render one record into @p b (cleared first) without the newline. */
static int
rr_text(ldns_buffer *b, const uint8_t *owner, uint16_t type, uint16_t rclass,
    uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	uint8_t wire[LIM_NAME_MAX + 10 + 65535];
	size_t olen = dns_name_len(owner, LIM_NAME_MAX), pos = 0;
	ldns_rr *rr = NULL;
	ldns_status st;

	if (olen == 0 || rdlen > 65535)
		return -EINVAL;
	memcpy(wire, owner, olen);
	wire[olen] = (uint8_t)(type >> 8);
	wire[olen + 1] = (uint8_t)type;
	wire[olen + 2] = (uint8_t)(rclass >> 8);
	wire[olen + 3] = (uint8_t)rclass;
	wire[olen + 4] = (uint8_t)(ttl >> 24);
	wire[olen + 5] = (uint8_t)(ttl >> 16);
	wire[olen + 6] = (uint8_t)(ttl >> 8);
	wire[olen + 7] = (uint8_t)ttl;
	wire[olen + 8] = (uint8_t)(rdlen >> 8);
	wire[olen + 9] = (uint8_t)rdlen;
	memcpy(wire + olen + 10, rd, rdlen);
	if (ldns_wire2rr(&rr, wire, olen + 10 + rdlen, &pos,
	        LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
		return -EINVAL;
	ldns_buffer_clear(b);
	st = ldns_rr2buffer_str_fmt(b, ldns_output_format_nocomments, rr);
	ldns_rr_free(rr);
	if (st != LDNS_STATUS_OK || !ldns_buffer_reserve(b, 1))
		return -EINVAL;
	/* strip the newline ldns ends the record with */
	while (ldns_buffer_position(b) > 0 &&
	    (ldns_buffer_current(b)[-1] == '\n' ||
	        ldns_buffer_current(b)[-1] == ' ' ||
	        ldns_buffer_current(b)[-1] == '\t'))
		ldns_buffer_skip(b, -1);
	ldns_buffer_write_u8(b, 0);
	return 0;
}

const char *
dump_sec_str(uint8_t sec)
{
	switch (sec) {
	case CACHE_SEC_SECURE:
		return "secure";
	case CACHE_SEC_BOGUS:
		return "bogus";
	case CACHE_SEC_UNCHECKED:
		return "unchecked";
	default:
		return "insecure";
	}
}

const char *
dump_kind_str(uint8_t kind, uint8_t rank, uint16_t type)
{
	if (kind == CACHE_NXDOMAIN)
		return "NXDOMAIN";
	if (kind == CACHE_NODATA)
		return "NODATA";
	switch (rank) {
	case CACHE_RANK_GLUE:
		return "glue";
	case CACHE_RANK_REFERRAL:
		return "delegation";
	case CACHE_RANK_AUTH_AUTHORITY:
		return "authority";
	case CACHE_RANK_PRIMED:
		return type == DNS_T_NS ? "delegation" : "answer";
	default:
		return "answer";
	}
}

static void
source_text(char *out, size_t cap, const uint8_t *src, uint8_t family)
{
	if ((family != AF_INET && family != AF_INET6) ||
	    inet_ntop(family, src, out, (socklen_t)cap) == NULL)
		snprintf(out, cap, "-");
}

static void
meta_text(
    char *out, size_t cap, const struct cache_rrset_out *e, const char *tier)
{
	char name[DNS_NAME_TEXT_MAX], type[DNS_MNEMONIC_MAX], when[40],
	    from[64];
	int n;

	n = snprintf(
	    out, cap, "kind=%s", dump_kind_str(e->kind, e->rank, e->type));
	if (e->kind != CACHE_RRSET && n > 0 && (size_t)n < cap) {
		dns_name_to_text(name, sizeof(name), e->owner);
		n += snprintf(out + n, cap - (size_t)n, " name=%s", name);
		if (e->kind == CACHE_NODATA && (size_t)n < cap) {
			n += snprintf(out + n, cap - (size_t)n, " type=%s",
			    dns_type_str(e->type, type));
		}
	}
	dump_time(when, sizeof(when), e->stored_ms);
	source_text(from, sizeof(from), e->source, e->source_family);
	if (n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n,
		    " rank=%u orig_ttl=%" PRIu32 " stored=%s hits=%" PRIu32
		    " from=%s dnssec=%s%s%s",
		    e->rank, e->orig_ttl, when, e->hits, from,
		    dump_sec_str(e->sec), e->cut ? " cut=1" : "",
		    e->nproof ? " proof=lost" : "");
	n = (int)strlen(out);
	if (tier != NULL && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, " tier=%s", tier);
}

/* Walk an rdata list: @return the next record's rdata or NULL at the end. */
static const uint8_t *
rd_next(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *rd;

	if (end - *p < 2)
		return NULL;
	*len = (size_t)(*p)[0] << 8 | (*p)[1];
	if ((size_t)(end - *p - 2) < *len)
		return NULL;
	rd = *p + 2;
	*p = rd + *len;
	return rd;
}

/* ------------------------------------------------------------ filters */

bool
dump_match(const struct dump_filter *f, const struct cache_rrset_out *e)
{
	if (f == NULL)
		return true;
	if (f->type != 0 && e->type != f->type && e->kind != CACHE_NXDOMAIN)
		return false;
	if (!f->has_name)
		return true;
	if (f->exact)
		return dns_name_eq(e->owner, f->name);
	return dns_name_under(e->owner, f->name);
}

/* ------------------------------------------------------------- output */

void
dump_header(FILE *out, uint64_t now_ms, const char *tier)
{
	char when[40];

	dump_time(when, sizeof(when), now_ms);
	fprintf(out, "%s%d time=%" PRIu64 " (%s) tier=%s\n", DUMP_MAGIC,
	    DUMP_VERSION, now_ms, when, tier ? tier : "main");
}

int
dump_entry_text(FILE *out, const struct cache_rrset_out *e, const char *tier)
{
	char meta[META_MAX];
	const uint8_t *p = e->rdata, *end = e->rdata + e->rdata_len, *rd;
	const uint8_t *owner = e->kind == CACHE_RRSET ? e->owner : e->soa_owner;
	uint16_t type = e->kind == CACHE_RRSET ? e->type : DNS_T_SOA;
	ldns_buffer *b = ldns_buffer_new(1024);
	size_t len;
	int rc = 0;

	if (b == NULL)
		return -ENOMEM;
	if (owner == NULL) {
		ldns_buffer_free(b);
		return -EINVAL;
	}
	meta_text(meta, sizeof(meta), e, tier);
	while ((rd = rd_next(&p, end, &len)) != NULL) {
		if (rr_text(b, owner, type, e->rclass, e->ttl, rd, len) < 0) {
			rc = -EINVAL;
			continue;
		}
		fprintf(out, "%s\t; %s\n", (char *)ldns_buffer_begin(b), meta);
	}
	p = e->sigs;
	end = e->sigs ? e->sigs + e->sigs_len : NULL;
	while (p != NULL && (rd = rd_next(&p, end, &len)) != NULL) {
		if (rr_text(b, owner, DNS_T_RRSIG, e->rclass, e->ttl, rd, len) <
		    0) {
			rc = -EINVAL;
			continue;
		}
		fprintf(
		    out, "%s\t; sig %s\n", (char *)ldns_buffer_begin(b), meta);
	}
	ldns_buffer_free(b);
	return rc;
}

/* The rdata part of a rendered record: what follows the fourth tab. */
static const char *
rdata_part(const char *s)
{
	for (int i = 0; i < 4 && s != NULL; i++) {
		s = strchr(s, '\t');
		if (s != NULL)
			s++;
	}
	return s ? s : "";
}

static void
json_rdata_list(FILE *out, ldns_buffer *b, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *list, size_t list_len)
{
	const uint8_t *p = list, *end = list ? list + list_len : NULL, *rd;
	size_t len;
	bool first = true;

	fputc('[', out);
	while (p != NULL && (rd = rd_next(&p, end, &len)) != NULL) {
		if (rr_text(b, owner, type, rclass, ttl, rd, len) < 0)
			continue;
		if (!first)
			fputc(',', out);
		first = false;
		trace_json_str(out, rdata_part((char *)ldns_buffer_begin(b)));
	}
	fputc(']', out);
}

int
dump_entry_json(FILE *out, const struct cache_rrset_out *e, const char *tier)
{
	char name[DNS_NAME_TEXT_MAX], type[DNS_MNEMONIC_MAX], when[40],
	    from[64];
	char *cls = ldns_rr_class2str((ldns_rr_class)e->rclass);
	ldns_buffer *b = ldns_buffer_new(1024);
	const uint8_t *owner = e->kind == CACHE_RRSET ? e->owner : e->soa_owner;

	if (b == NULL || owner == NULL) {
		free(cls);
		ldns_buffer_free(b);
		return b == NULL ? -ENOMEM : -EINVAL;
	}
	dns_name_to_text(name, sizeof(name), e->owner);
	fputs("{\"owner\":", out);
	trace_json_str(out, name);
	fputs(",\"class\":", out);
	trace_json_str(out, cls ? cls : "?");
	fputs(",\"type\":", out);
	if (e->kind == CACHE_NXDOMAIN) {
		fputs("null", out);
	} else {
		trace_json_str(out, dns_type_str(e->type, type));
	}
	dump_time(when, sizeof(when), e->stored_ms);
	source_text(from, sizeof(from), e->source, e->source_family);
	fprintf(out,
	    ",\"ttl\":%" PRIu32 ",\"orig_ttl\":%" PRIu32
	    ",\"kind\":\"%s\",\"rank\":%u,\"dnssec\":\"%s\",\"from\":",
	    e->ttl, e->orig_ttl, dump_kind_str(e->kind, e->rank, e->type),
	    e->rank, dump_sec_str(e->sec));
	if (e->source_family)
		trace_json_str(out, from);
	else
		fputs("null", out);
	fprintf(out,
	    ",\"stored\":\"%s\",\"stored_ms\":%" PRIu64 ",\"hits\":%" PRIu32
	    ",\"rdata\":",
	    when, e->stored_ms, e->hits);
	if (e->kind == CACHE_RRSET) {
		json_rdata_list(out, b, owner, e->type, e->rclass, e->ttl,
		    e->rdata, e->rdata_len);
	} else {
		fputs("[],\"soa_owner\":", out);
		dns_name_to_text(name, sizeof(name), e->soa_owner);
		trace_json_str(out, name);
		fputs(",\"soa\":", out);
		json_rdata_list(out, b, owner, DNS_T_SOA, e->rclass, e->ttl,
		    e->rdata, e->rdata_len);
	}
	fputs(",\"rrsigs\":", out);
	json_rdata_list(out, b, owner, DNS_T_RRSIG, e->rclass, e->ttl, e->sigs,
	    e->sigs_len);
	if (tier != NULL) {
		fputs(",\"tier\":", out);
		trace_json_str(out, tier);
	}
	fputs("}\n", out);
	free(cls);
	ldns_buffer_free(b);
	return 0;
}

static const char *
edns_str(uint8_t edns)
{
	return edns == INFRA_EDNS_WORKS ? "works"
	    : edns == INFRA_EDNS_BROKEN ? "broken"
	                                : "unknown";
}

void
dump_infra(FILE *out, const struct infra_entry_out *e, uint64_t now_ms,
    bool json, const char *tier, const uint8_t *name)
{
	char addr[64], zone[LIM_NAME_MAX * 4 + 2], ns[DNS_NAME_TEXT_MAX];
	const struct infra_info *i = &e->info;

	source_text(addr, sizeof(addr), e->addr, e->family);
	if (name != NULL)
		dns_name_to_text(ns, sizeof(ns), name);
	else
		snprintf(ns, sizeof(ns), "-");
	if (json) {
		fputc('{', out);
		if (tier != NULL) {
			fputs("\"tier\":", out);
			trace_json_str(out, tier);
			fputc(',', out);
		}
		fputs("\"name\":", out);
		if (name != NULL)
			trace_json_str(out, ns);
		else
			fputs("null", out);
		fprintf(out,
		    ",\"server\":\"%s\",\"srtt_ms\":%" PRIu32
		    ",\"rttvar_ms\":%" PRIu32 ",\"rto_ms\":%" PRIu32
		    ",\"timeouts\":%" PRIu32 ",\"timeouts_total\":%" PRIu32
		    ",\"edns\":\"%s\",\"tcp_only\":%s,\"lame\":[",
		    addr, i->srtt_ms, i->rttvar_ms, i->rto_ms, i->timeouts,
		    i->timeouts_total, edns_str(i->edns),
		    i->tcp_only ? "true" : "false");
		for (unsigned k = 0; k < e->nlame && k < INFRA_LAME_MAX; k++) {
			dns_name_to_text(zone, sizeof(zone), e->lame[k].zone);
			fprintf(out, "%s{\"zone\":", k ? "," : "");
			trace_json_str(out, zone);
			fprintf(out, ",\"remaining_s\":%" PRIu64 "}",
			    e->lame[k].until_ms > now_ms
			        ? (e->lame[k].until_ms - now_ms + 999) / 1000
			        : 0);
		}
		fputs("]}\n", out);
		return;
	}
	if (tier != NULL)
		fprintf(out, "%-8s ", tier);
	fprintf(out, "%-24s ", ns);
	fprintf(out,
	    "%-20s rtt %5" PRIu32 " ms (var %" PRIu32 ", timeout %" PRIu32
	    " ms)  timeouts %" PRIu32 " in a row, %" PRIu32 " total  edns %s%s",
	    addr, i->srtt_ms, i->rttvar_ms, i->rto_ms, i->timeouts,
	    i->timeouts_total, edns_str(i->edns),
	    i->tcp_only ? "  tcp-only" : "");
	for (unsigned k = 0; k < e->nlame && k < INFRA_LAME_MAX; k++) {
		dns_name_to_text(zone, sizeof(zone), e->lame[k].zone);
		fprintf(out, "%s%s (%" PRIu64 " s)", k ? ", " : "  lame for ",
		    zone,
		    e->lame[k].until_ms > now_ms
		        ? (e->lame[k].until_ms - now_ms + 999) / 1000
		        : 0);
	}
	fputc('\n', out);
}

/* ---------------------------------------------------------- snapshots */

int
dump_snap_add(struct dump_snap *s, const struct cache_rrset_out *e)
{
	struct snap_hdr h;
	size_t olen = dns_name_len(e->owner, LIM_NAME_MAX);
	size_t slen =
	    e->soa_owner ? dns_name_len(e->soa_owner, LIM_NAME_MAX) : 0;
	size_t need = sizeof(h) + olen + slen + e->rdata_len + e->sigs_len;
	uint8_t *p;

	need = (need + 7) & ~(size_t)7;
	if (s->len + need > s->cap) {
		size_t ncap = s->cap ? s->cap : 1 << 20;
		while (ncap < s->len + need)
			ncap *= 2;
		p = realloc(s->buf, ncap);
		if (p == NULL) {
			s->oom = true;
			return -ENOMEM;
		}
		s->buf = p;
		s->cap = ncap;
	}
	memset(&h, 0, sizeof(h));
	h.stored_ms = e->stored_ms;
	h.ttl = e->ttl;
	h.orig_ttl = e->orig_ttl;
	h.hits = e->hits;
	h.rdata_len = (uint32_t)e->rdata_len;
	h.sigs_len = (uint32_t)e->sigs_len;
	h.type = e->type;
	h.rclass = e->rclass;
	h.nrr = e->nrr;
	h.nsig = e->nsig;
	h.kind = e->kind;
	h.rank = e->rank;
	h.source_family = e->source_family;
	h.sec = e->sec;
	h.cut = e->cut;
	h.nproof = e->nproof;
	h.owner_len = (uint8_t)olen;
	h.soa_len = (uint8_t)slen;
	memcpy(h.source, e->source, sizeof(h.source));
	p = s->buf + s->len;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, e->owner, olen);
	p += olen;
	if (slen)
		memcpy(p, e->soa_owner, slen);
	p += slen;
	if (e->rdata_len)
		memcpy(p, e->rdata, e->rdata_len);
	p += e->rdata_len;
	if (e->sigs_len)
		memcpy(p, e->sigs, e->sigs_len);
	s->len += need;
	s->n++;
	return 0;
}

/* The size of the entry at @p off, padded: where the next one starts. */
static size_t
snap_next(const struct dump_snap *s, size_t off)
{
	struct snap_hdr h;
	size_t need;

	memcpy(&h, s->buf + off, sizeof(h));
	need = sizeof(h) + h.owner_len + h.soa_len + h.rdata_len + h.sigs_len;
	return off + ((need + 7) & ~(size_t)7);
}

/* qsort has no context argument: the buffer being sorted. One sort at a
 * time per thread. */
static __thread const uint8_t *sort_buf;

static int
snap_cmp(const void *a, const void *b)
{
	size_t oa = *(const size_t *)a, ob = *(const size_t *)b;
	struct snap_hdr ha, hb;
	int c;

	memcpy(&ha, sort_buf + oa, sizeof(ha));
	memcpy(&hb, sort_buf + ob, sizeof(hb));
	c = dns_name_cmp(
	    sort_buf + oa + sizeof(ha), sort_buf + ob + sizeof(hb));
	if (c != 0)
		return c;
	if (ha.type != hb.type)
		return ha.type < hb.type ? -1 : 1;
	if (ha.kind != hb.kind)
		return ha.kind < hb.kind ? -1 : 1;
	return oa < ob ? -1 : oa > ob; /* stable */
}

int
dump_snap_sort(struct dump_snap *s)
{
	size_t *order, k = 0;

	free(s->order);
	s->order = NULL;
	if (s->n == 0)
		return 0;
	order = malloc(s->n * sizeof(*order));
	if (order == NULL)
		return -ENOMEM;
	for (size_t off = 0;
	     off + sizeof(struct snap_hdr) <= s->len && k < s->n;
	     off = snap_next(s, off))
		order[k++] = off;
	sort_buf = s->buf;
	qsort(order, k, sizeof(*order), snap_cmp);
	sort_buf = NULL;
	s->order = order;
	s->n = k;
	return 0;
}

int
dump_snap_foreach(const struct dump_snap *s,
    int (*cb)(const struct cache_rrset_out *e, void *arg), void *arg)
{
	size_t off = 0, k = 0;

	while (s->order != NULL ? k < s->n
	                        : off + sizeof(struct snap_hdr) <= s->len) {
		struct snap_hdr h;
		struct cache_rrset_out e;
		const uint8_t *p;
		size_t need;
		int stop;

		if (s->order != NULL)
			off = s->order[k++];
		p = s->buf + off + sizeof(h);
		memcpy(&h, s->buf + off, sizeof(h));
		memset(&e, 0, sizeof(e));
		e.owner = p;
		p += h.owner_len;
		e.soa_owner = h.soa_len ? p : NULL;
		p += h.soa_len;
		e.rdata = p;
		e.rdata_len = h.rdata_len;
		p += h.rdata_len;
		e.sigs = h.sigs_len ? p : NULL;
		e.sigs_len = h.sigs_len;
		e.type = h.type;
		e.rclass = h.rclass;
		e.kind = h.kind;
		e.rank = h.rank;
		e.ttl = h.ttl;
		e.orig_ttl = h.orig_ttl;
		e.stored_ms = h.stored_ms;
		e.hits = h.hits;
		e.nrr = h.nrr;
		e.nsig = h.nsig;
		e.source_family = h.source_family;
		e.sec = h.sec;
		e.cut = h.cut;
		e.nproof = h.nproof; /* (the records are not kept) */
		memcpy(e.source, h.source, sizeof(e.source));
		stop = cb(&e, arg);
		if (stop)
			return stop;
		need = sizeof(h) + h.owner_len + h.soa_len + h.rdata_len +
		    h.sigs_len;
		off += (need + 7) & ~(size_t)7;
	}
	return 0;
}

void
dump_snap_free(struct dump_snap *s)
{
	free(s->order);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* -------------------------------------------------------------- load */

static int
grow(uint8_t **p, size_t *cap, size_t need)
{
	uint8_t *n;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 512;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*p, ncap);
	if (n == NULL)
		return -ENOMEM;
	*p = n;
	*cap = ncap;
	return 0;
}

/* Append one rdata, with its 2-byte length, to an rdata list of @p *n
 * records (at most 65535). @return 0 or -ENOMEM. */
static int
rdlist_add(uint8_t **p, size_t *len, size_t *cap, uint16_t *n,
    const uint8_t *rd, size_t rdlen)
{
	if (grow(p, cap, *len + 2 + rdlen) < 0)
		return -ENOMEM;
	if (*n == 0xffff)
		return 0;
	(*p)[*len] = (uint8_t)(rdlen >> 8);
	(*p)[*len + 1] = (uint8_t)rdlen;
	memcpy(*p + *len + 2, rd, rdlen);
	*len += 2 + rdlen;
	(*n)++;
	return 0;
}

static int
rank_of(const char *kind, unsigned rank)
{
	if (rank >= CACHE_RANK_GLUE && rank <= CACHE_RANK_PRIMED)
		return (int)rank;
	if (strcmp(kind, "glue") == 0)
		return CACHE_RANK_GLUE;
	if (strcmp(kind, "delegation") == 0)
		return CACHE_RANK_REFERRAL;
	if (strcmp(kind, "authority") == 0)
		return CACHE_RANK_AUTH_AUTHORITY;
	return CACHE_RANK_AUTH_ANSWER;
}

/* Parse "kind=answer name=... type=AAAA rank=5 orig_ttl=300 ..." in place.
 * Unknown keys are ignored (later versions may add some). */
static int
parse_meta(char *s, struct meta *m, const char **why)
{
	static const char *const kinds[] = {
	    "answer", "authority", "glue", "delegation", "NXDOMAIN", "NODATA"};
	char *tok, *save = NULL;

	memset(m, 0, sizeof(*m));
	m->sec = -1;
	for (tok = strtok_r(s, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *v = strchr(tok, '=');
		if (v == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(tok, "kind") == 0) {
			for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]);
			     i++)
				if (strcmp(v, kinds[i]) == 0)
					m->kind = kinds[i];
			if (m->kind == NULL) {
				*why = "unknown kind";
				return -EINVAL;
			}
		} else if (strcmp(tok, "name") == 0) {
			snprintf(m->name, sizeof(m->name), "%s", v);
		} else if (strcmp(tok, "type") == 0) {
			snprintf(m->type, sizeof(m->type), "%s", v);
		} else if (strcmp(tok, "rank") == 0) {
			m->rank = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(tok, "orig_ttl") == 0) {
			char *end;
			unsigned long u = strtoul(v, &end, 10);
			if (*end == '\0' && u <= 0x7fffffffu) {
				m->orig_ttl = (uint32_t)u;
				m->has_orig = true;
			}
		} else if (strcmp(tok, "dnssec") == 0) {
			static const uint8_t secs[] = {CACHE_SEC_INSECURE,
			    CACHE_SEC_SECURE, CACHE_SEC_BOGUS,
			    CACHE_SEC_UNCHECKED};
			for (size_t i = 0; i < sizeof(secs); i++)
				if (strcmp(v, dump_sec_str(secs[i])) == 0)
					m->sec = secs[i];
		} else if (strcmp(tok, "proof") == 0) {
			m->proof_lost = true;
		} else if (strcmp(tok, "cut") == 0) {
			m->cut = strcmp(v, "1") == 0;
		} else if (strcmp(tok, "tier") == 0) {
			snprintf(m->tier, sizeof(m->tier), "%s", v);
		} else if (strcmp(tok, "from") == 0) {
			if (inet_pton(AF_INET, v, m->source) == 1)
				m->family = AF_INET;
			else if (inet_pton(AF_INET6, v, m->source) == 1)
				m->family = AF_INET6;
		}
	}
	if (m->kind == NULL) {
		*why = "no kind= in the comment";
		return -EINVAL;
	}
	if ((strcmp(m->kind, "NXDOMAIN") == 0 ||
	        strcmp(m->kind, "NODATA") == 0) &&
	    m->name[0] == '\0') {
		*why = "a negative entry needs name=";
		return -EINVAL;
	}
	if (strcmp(m->kind, "NODATA") == 0 && m->type[0] == '\0') {
		*why = "a NODATA entry needs type=";
		return -EINVAL;
	}
	return 0;
}

/* Store the group assembled so far, and close it. */
static void
flush_group(struct group *g, uint64_t dump_ms, uint64_t now_ms,
    dump_store_fn store, dump_bad_fn bad, void *arg, struct dump_load_stats *st)
{
	struct cache_rrset_in in;
	struct meta m;
	const char *why = NULL;
	char msg[160];
	uint8_t name[LIM_NAME_MAX];
	uint64_t expire, stored;
	uint32_t ttl;
	int rc;

	if (!g->open)
		return;
	g->open = false;
	if (g->nrr == 0)
		goto out;
	if (parse_meta(g->meta, &m, &why) < 0)
		goto bad; /* cannot happen: checked per line */
	memset(&in, 0, sizeof(in));
	in.rclass = g->rclass;
	in.rank = (uint8_t)rank_of(m.kind, m.rank);
	in.nrr = g->nrr;
	in.rdata = g->rd;
	in.rdata_len = g->rd_len;
	in.nsig = g->nsig;
	in.sigs = g->nsig ? g->sig : NULL;
	in.sigs_len = g->nsig ? g->sig_len : 0;
	memcpy(in.source, m.source, sizeof(in.source));
	in.source_family = m.family;
	/* the validation state as dumped; without one (older dumps, files
	 * written by hand) the entry is taken as the operator gives it:
	 * insecure, answered without AD; a bogus one is not brought back
	 * (asked again, it is validated again) */
	if (m.sec == CACHE_SEC_BOGUS) {
		st->bogus++;
		goto out;
	}
	in.sec = m.sec < 0 ? CACHE_SEC_INSECURE : (uint8_t)m.sec;
	/* a secure entry is answered with its proof to DO clients; without
	 * it, it waits to be validated again */
	if (in.sec == CACHE_SEC_SECURE && m.proof_lost)
		in.sec = CACHE_SEC_UNCHECKED;
	in.cut = m.cut;
	if (strcmp(m.kind, "NXDOMAIN") == 0 || strcmp(m.kind, "NODATA") == 0) {
		ldns_rdf *d = NULL;
		if (g->type != DNS_T_SOA || g->nrr != 1) {
			why = "a negative entry is one SOA record";
			goto bad;
		}
		if (ldns_str2rdf_dname(&d, m.name) != LDNS_STATUS_OK ||
		    ldns_rdf_size(d) > LIM_NAME_MAX) {
			ldns_rdf_deep_free(d);
			why = "bad name= in the comment";
			goto bad;
		}
		memcpy(name, ldns_rdf_data(d), ldns_rdf_size(d));
		ldns_rdf_deep_free(d);
		in.owner = name;
		in.soa_owner = g->owner;
		if (strcmp(m.kind, "NXDOMAIN") == 0) {
			in.kind = CACHE_NXDOMAIN;
			in.type = CACHE_TYPE_NXDOMAIN;
		} else {
			in.kind = CACHE_NODATA;
			in.type = (uint16_t)ldns_get_rr_type_by_name(m.type);
			if (in.type == 0) {
				why = "bad type= in the comment";
				goto bad;
			}
		}
	} else {
		in.kind = CACHE_RRSET;
		in.type = g->type;
		in.owner = g->owner;
	}
	/* it dies when it would have died in the dumping cache */
	expire = dump_ms + (uint64_t)g->ttl * 1000;
	if (expire <= now_ms) {
		st->expired++;
		goto out;
	}
	ttl = m.has_orig && m.orig_ttl >= g->ttl ? m.orig_ttl : g->ttl;
	stored = expire - (uint64_t)ttl * 1000;
	in.ttl = ttl;
	rc = store(arg, &in, stored, m.tier);
	if (rc == 1) {
		st->entries++;
		st->records += g->nrr + g->nsig;
	} else {
		st->refused++;
		if (rc < 0 && bad != NULL) {
			snprintf(msg, sizeof(msg),
			    "the cache refused the "
			    "entry: %s",
			    strerror(-rc));
			bad(arg, g->line, msg);
		}
	}
	goto out;
bad:
	st->bad++;
	if (bad != NULL)
		bad(arg, g->line, why);
out:
	g->rd_len = g->sig_len = 0;
	g->nrr = g->nsig = 0;
}

/* Find the metadata comment: the last "; kind=" or "; sig kind=". */
static char *
find_meta(char *line, bool *sig)
{
	char *p = line, *found = NULL;

	*sig = false;
	while ((p = strchr(p, ';')) != NULL) {
		if (strncmp(p, "; kind=", 7) == 0) {
			found = p;
			*sig = false;
		} else if (strncmp(p, "; sig kind=", 11) == 0) {
			found = p;
			*sig = true;
		}
		p++;
	}
	return found;
}

/* One RR line. @return 0, or -EINVAL with *why set. */
static int
load_line(struct group *g, char *line, unsigned lineno, uint64_t dump_ms,
    uint64_t now_ms, dump_store_fn store, dump_bad_fn bad, void *arg,
    struct dump_load_stats *st, const char **why)
{
	bool sig;
	char *c = find_meta(line, &sig), *meta;
	char metacopy[META_MAX];
	struct meta m;
	ldns_rr *rr = NULL;
	ldns_buffer *b;
	uint8_t owner[LIM_NAME_MAX];
	size_t olen, rdlen;
	uint16_t type, rclass;
	uint32_t ttl;
	int rc = 0;

	if (c == NULL) {
		*why = "no \"; kind=...\" comment: not a resolverd dump line";
		return -EINVAL;
	}
	*c = '\0';
	meta = c + (sig ? 6 : 2);
	if (strlen(meta) >= META_MAX) {
		*why = "comment too long";
		return -EINVAL;
	}
	snprintf(metacopy, sizeof(metacopy), "%s", meta);
	if (parse_meta(metacopy, &m, why) < 0)
		return -EINVAL;
	if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK ||
	    rr == NULL) {
		*why = "not a valid resource record";
		return -EINVAL;
	}
	olen = ldns_rdf_size(ldns_rr_owner(rr));
	if (olen > LIM_NAME_MAX || olen == 0) {
		ldns_rr_free(rr);
		*why = "bad owner name";
		return -EINVAL;
	}
	dns_name_lower(owner, rr_owner(rr));
	type = (uint16_t)ldns_rr_get_type(rr);
	rclass = (uint16_t)ldns_rr_get_class(rr);
	ttl = ldns_rr_ttl(rr);
	if (sig) {
		if (type != DNS_T_RRSIG ||
		    ldns_rr_rrsig_typecovered(rr) == NULL) {
			ldns_rr_free(rr);
			*why = "a \"; sig\" line must be an RRSIG";
			return -EINVAL;
		}
		type =
		    (uint16_t)ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
		if (strcmp(m.kind, "NXDOMAIN") == 0 ||
		    strcmp(m.kind, "NODATA") == 0)
			type = DNS_T_SOA;
	}
	/* a new entry? */
	if (!g->open || g->type != type || g->rclass != rclass ||
	    g->ttl != ttl || strcmp(g->meta, meta) != 0 ||
	    !dns_name_eq(g->owner, owner)) {
		flush_group(g, dump_ms, now_ms, store, bad, arg, st);
		g->open = true;
		g->line = lineno;
		memcpy(g->owner, owner, olen);
		g->owner_len = olen;
		g->type = type;
		g->rclass = rclass;
		g->ttl = ttl;
		snprintf(g->meta, sizeof(g->meta), "%s", meta);
	}
	b = ldns_buffer_new(512);
	if (b == NULL || ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
		ldns_buffer_free(b);
		ldns_rr_free(rr);
		*why = "cannot encode the rdata";
		return b == NULL ? -ENOMEM : -EINVAL;
	}
	rdlen = ldns_buffer_position(b);
	if (sig)
		rc = rdlist_add(&g->sig, &g->sig_len, &g->sig_cap, &g->nsig,
		    ldns_buffer_begin(b), rdlen);
	else
		rc = rdlist_add(&g->rd, &g->rd_len, &g->rd_cap, &g->nrr,
		    ldns_buffer_begin(b), rdlen);
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	if (rc < 0)
		*why = "out of memory";
	return rc;
}

/* The header: ";; resolverd-dump VERSION time=MS ...". */
static int
load_header(const char *line, uint64_t *dump_ms, const char **why)
{
	const char *p = line + strlen(DUMP_MAGIC), *t;
	char *end;
	unsigned long v = strtoul(p, &end, 10);

	if (end == p || v != DUMP_VERSION) {
		*why = "unsupported dump format version";
		return -EINVAL;
	}
	t = strstr(end, "time=");
	if (t == NULL) {
		*why = "no time= in the dump header";
		return -EINVAL;
	}
	*dump_ms = strtoull(t + 5, &end, 10);
	if (end == t + 5) {
		*why = "bad time= in the dump header";
		return -EINVAL;
	}
	return 0;
}

int
dump_load(const char *text, size_t len, uint64_t now_ms, dump_store_fn store,
    dump_bad_fn bad, void *arg, struct dump_load_stats *st)
{
	struct group g;
	char *line = malloc(LINE_MAX_LEN);
	uint64_t dump_ms = now_ms;
	size_t off = 0;
	unsigned lineno = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	memset(&g, 0, sizeof(g));
	if (line == NULL)
		return -ENOMEM;
	while (off < len && rc != -ENOMEM) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		const char *why = NULL;
		size_t k;

		lineno++;
		st->lines++;
		if (n >= LINE_MAX_LEN) {
			why = "line too long";
		} else {
			size_t m = n;

			memcpy(line, text + off, n);
			line[m] = '\0';
			while (m > 0 &&
			    (line[m - 1] == '\r' || line[m - 1] == ' ' ||
			        line[m - 1] == '\t'))
				line[--m] = '\0';
			for (k = 0; line[k] == ' ' || line[k] == '\t'; k++)
				;
			if (strncmp(line, DUMP_MAGIC, strlen(DUMP_MAGIC)) ==
			    0) {
				flush_group(
				    &g, dump_ms, now_ms, store, bad, arg, st);
				if (load_header(line, &dump_ms, &why) == 0)
					why = NULL;
			} else if (line[k] == '\0' || line[k] == ';') {
				/* blank or comment */
			} else if (line[0] == '$') {
				why = "directives ($ORIGIN, $TTL) are not "
				      "supported in a dump";
			} else if (k > 0) {
				why = "a dump line starts with its owner name";
			} else {
				rc = load_line(&g, line, lineno, dump_ms,
				    now_ms, store, bad, arg, st, &why);
			}
		}
		if (why != NULL) {
			st->bad++;
			if (bad != NULL)
				bad(arg, lineno, why);
		}
		off += n + (nl ? 1 : 0);
		if (nl == NULL)
			off = len;
	}
	flush_group(&g, dump_ms, now_ms, store, bad, arg, st);
	free(g.rd);
	free(g.sig);
	free(line);
	return rc == -ENOMEM ? -ENOMEM : 0;
}

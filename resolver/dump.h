/**
 * @file dump.h
 * Cache dumps: the text and JSON renderings of cache entries and of the
 * infra cache, and the parser that loads a text dump back into a cache.
 * Pure: no libuv, no sockets, no clock (now_ms is a parameter); ldns does
 * the presentation format of rdata.
 *
 * The text format (version DUMP_VERSION) is a zone file that ldns-read-zone
 * reads: one RR per line, the TTL being what remains, and everything the
 * cache knows beyond the RR in a trailing comment:
 *
 * @code
 * ;; resolverd-dump 1 time=1748772000123 (2025-06-01T10:00:00.123Z) tier=main
 * www.example.com.	287	IN	A	127.53.200.1	; kind=answer
 * rank=5 orig_ttl=300 stored=2025-06-01T09:59:47.001Z hits=2 from=127.53.10.1
 * example.com.	300	IN	SOA	ns1.example.com. ...	; kind=NXDOMAIN
 * name=nope.example.com. rank=5 orig_ttl=300 ...
 * @endcode
 *
 * A negative entry (NXDOMAIN, NODATA) is written as the SOA record that
 * proves it, owned by the zone, with the denied name (and for NODATA the
 * type) in the comment. An RRset of n records is n lines with the same
 * comment; its RRSIGs follow as RRSIG lines whose comment starts "; sig ".
 * With cache tiers every entry's comment ends "tier=NAME" (JSON: "tier"),
 * and dump_load hands that label to its store callback.
 * The JSON format is one object per entry and line.
 */
#ifndef RESOLVERD_DUMP_H
#define RESOLVERD_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cache/cache.h"
#include "cache/infra.h"

#define DUMP_VERSION  1
#define DUMP_MAGIC    ";; resolverd-dump "
#define DUMP_TIER_MAX 64 /* longest tier label kept by dump_load */

/** Which entries a dump shows. */
struct dump_filter {
	uint8_t name[256]; /**< wire, lowercased; used when has_name */
	bool has_name;
	bool exact;    /**< the owner must be @c name, not below it */
	uint16_t type; /**< 0: every type */
};

/** @return true if @p e passes @p f (NULL passes everything). A negative
 *  entry matches by the name it denies and, for NODATA, the denied type;
 *  an NXDOMAIN entry matches every type. */
bool dump_match(const struct dump_filter *f, const struct cache_rrset_out *e);

/** The validation state shown for an entry (dnssec=): "secure",
 *  "insecure" (proven so, or not validated: validation off), "bogus" or
 *  "unchecked" (stored before validation; never answered). */
const char *dump_sec_str(uint8_t sec);

/** The kind shown for an entry: "answer", "authority", "glue",
 *  "delegation", "NXDOMAIN" or "NODATA" (static strings). */
const char *dump_kind_str(uint8_t kind, uint8_t rank, uint16_t type);

/** Write the header line of a text dump taken at @p now_ms by @p tier. */
void dump_header(FILE *out, uint64_t now_ms, const char *tier);

/** Write @p e as zone-file lines; with a @p tier (not NULL) the comment
 *  ends "tier=NAME". @return 0, or -EINVAL if the entry's rdata could not
 *  be rendered (nothing is written then). */
int dump_entry_text(
    FILE *out, const struct cache_rrset_out *e, const char *tier);

/** Write @p e as one JSON object and a newline (with "tier" unless @p tier
 *  is NULL). @return 0 or -EINVAL. */
int dump_entry_json(
    FILE *out, const struct cache_rrset_out *e, const char *tier);

/** Write one infra-cache entry as a text line, or (@p json) a JSON line;
 *  with a @p tier (not NULL) the line starts with it (JSON: "tier"). The
 *  server's name @p name (wire; NULL when unknown: "-", JSON null) is
 *  shown before its address. */
void dump_infra(FILE *out, const struct infra_entry_out *e, uint64_t now_ms,
    bool json, const char *tier, const uint8_t *name);

/**
 * A copy of cache entries taken under the cache's shard locks (cheap:
 * memcpy only) and rendered later, outside them. Grows in chunks.
 */
struct dump_snap {
	uint8_t *buf; /**< owned */
	size_t len, cap;
	size_t n;      /**< entries */
	bool oom;      /**< an entry could not be added */
	size_t *order; /**< owned: entry offsets in the order to render, once
	                    dump_snap_sort() ran; NULL: as added */
};

/** Append a copy of @p e. @return 0 or -ENOMEM (then s->oom is set). */
int dump_snap_add(struct dump_snap *s, const struct cache_rrset_out *e);
/** Sort the entries for reading: by owner name in canonical DNS order
 *  (RFC 4034 6.1: a zone's names together, the zone first), then type,
 *  then kind. A negative entry sorts by the name it denies. @return 0, or
 *  -ENOMEM (the order is then left as added). */
int dump_snap_sort(struct dump_snap *s);
/** Call @p cb for every entry in order (sorted, after dump_snap_sort());
 *  stops when it returns non-zero.
 *  The entry is valid during the call only. @return the stop value or 0. */
int dump_snap_foreach(const struct dump_snap *s,
    int (*cb)(const struct cache_rrset_out *e, void *arg), void *arg);
/** Release the buffer; the struct may be reused. */
void dump_snap_free(struct dump_snap *s);

/** What dump_load() did. */
struct dump_load_stats {
	unsigned lines;   /**< lines read */
	unsigned entries; /**< entries stored */
	unsigned records; /**< RRs (and RRSIGs) in them */
	unsigned expired; /**< entries skipped: dead by now */
	unsigned bad;     /**< lines rejected */
	unsigned refused; /**< entries the cache refused */
	unsigned bogus;   /**< entries skipped: dumped as dnssec=bogus */
};

/** Store one entry. @p stored_ms is the time to store it at (earlier than
 *  now for an entry that has aged); @p tier is the entry's tier= label, ""
 *  without one. @return what cache_store returns. */
typedef int (*dump_store_fn)(void *arg, const struct cache_rrset_in *in,
    uint64_t stored_ms, const char *tier);
/** Report a bad line: @p line is its 1-based number. */
typedef void (*dump_bad_fn)(void *arg, unsigned line, const char *msg);

/**
 * Parse the text dump @p text (@p len bytes, need not be NUL-terminated)
 * and store every entry still alive at @p now_ms. Each entry expires when it
 * would have expired in the dumping cache: at the dump's time (its header;
 * @p now_ms without one) plus the remaining TTL written; its original TTL
 * is kept. Bad lines are reported through @p bad (may be NULL) and skipped
 * with the rest of their entry; the others are loaded.
 * @return 0, or -ENOMEM.
 */
int dump_load(const char *text, size_t len, uint64_t now_ms,
    dump_store_fn store, dump_bad_fn bad, void *arg,
    struct dump_load_stats *st);

/** Write @p ms since the epoch as "2025-06-01T10:00:00.123Z". */
void dump_time(char *out, size_t cap, uint64_t ms);

#endif

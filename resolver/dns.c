/*
 * dns.c: names in wire form and the mnemonics of types, classes and rcodes
 * (see dns.h). The one table of type names and the one of rcode names in
 * resolverd: the log, trace, dump and resolverctl all print through them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "resolver/dns.h"

/* ---------------------------------------------------------------- names */

size_t
dns_name_len(const uint8_t *n, size_t max)
{
	size_t off = 0;

	if (n == NULL)
		return 0;
	for (;;) {
		if (off >= max)
			return 0;
		uint8_t l = n[off];
		if (l > 63) /* also rejects compression pointers */
			return 0;
		off += 1 + (size_t)l;
		if (off > LIM_NAME_MAX)
			return 0;
		if (l == 0)
			return off;
	}
}

bool
dns_name_eq(const uint8_t *a, const uint8_t *b)
{
	size_t i = 0;

	for (;;) {
		uint8_t l = a[i];
		if (l != b[i])
			return false;
		if (l == 0)
			return true;
		for (size_t k = i + 1; k <= i + l; k++)
			if (dns_lc(a[k]) != dns_lc(b[k]))
				return false;
		i += 1 + (size_t)l;
	}
}

size_t
dns_name_lower(uint8_t *dst, const uint8_t *src)
{
	size_t i = 0;

	for (;;) {
		uint8_t l = src[i];
		dst[i] = l;
		if (l == 0)
			return i + 1;
		for (size_t k = i + 1; k <= i + l; k++)
			dst[k] = dns_lc(src[k]);
		i += 1 + (size_t)l;
	}
}

unsigned
dns_name_labels(const uint8_t *n)
{
	unsigned l = 0;

	while (*n) {
		l++;
		n += 1 + *n;
	}
	return l;
}

uint16_t
dns_key_tag(const uint8_t *rdata, size_t len)
{
	uint32_t ac = 0;

	for (size_t i = 0; i < len; i++)
		ac += i & 1 ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += ac >> 16 & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

const uint8_t *
dns_name_suffix(const uint8_t *n, unsigned keep)
{
	unsigned l = dns_name_labels(n);

	while (l > keep) {
		n += 1 + *n;
		l--;
	}
	return n;
}

bool
dns_name_under(const uint8_t *name, const uint8_t *zone)
{
	unsigned nl = dns_name_labels(name), zl = dns_name_labels(zone);

	if (nl < zl)
		return false;
	return dns_name_eq(dns_name_suffix(name, zl), zone);
}

bool
dns_name_below(const uint8_t *name, const uint8_t *zone)
{
	return dns_name_labels(name) > dns_name_labels(zone) &&
	    dns_name_under(name, zone);
}

const uint8_t *
dns_name_common(const uint8_t *a, const uint8_t *b)
{
	unsigned la = dns_name_labels(a), lb = dns_name_labels(b);
	unsigned n = la < lb ? la : lb;

	a = dns_name_suffix(a, n);
	b = dns_name_suffix(b, n);
	while (!dns_name_eq(a, b)) {
		a = dns_name_parent(a);
		b = dns_name_parent(b);
	}
	return a;
}

/* Compare two labels (length-prefixed) as lowercased bytes, a shorter
 * label first when one is a prefix of the other. */
static int
label_cmp(const uint8_t *a, const uint8_t *b)
{
	unsigned la = a[0], lb = b[0];

	for (unsigned i = 1; i <= la && i <= lb; i++) {
		uint8_t ca = dns_lc(a[i]), cb = dns_lc(b[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return la == lb ? 0 : la < lb ? -1 : 1;
}

int
dns_name_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[LIM_LABELS_MAX], *lb[LIM_LABELS_MAX];
	unsigned na = 0, nb = 0;

	for (const uint8_t *p = a; *p && na < LIM_LABELS_MAX; p += 1 + *p)
		la[na++] = p;
	for (const uint8_t *p = b; *p && nb < LIM_LABELS_MAX; p += 1 + *p)
		lb[nb++] = p;
	while (na > 0 && nb > 0) {
		int c = label_cmp(la[--na], lb[--nb]);
		if (c != 0)
			return c;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

/* Bytes written as \DDD in presentation text, besides non-printables. */
static bool
must_escape_ddd(uint8_t c)
{
	return c <= ' ' || c >= 127 || c == '"' || c == '(' || c == ')' ||
	    c == ';' || c == '@' || c == '$';
}

size_t
dns_name_to_text(char *out, size_t cap, const uint8_t *name)
{
	size_t o = 0;
	char tmp[5];

#define PUT(ch)                        \
	do {                           \
		if (o + 1 < cap)       \
			out[o] = (ch); \
		o++;                   \
	} while (0)

	if (name == NULL || name[0] == 0) {
		PUT('.');
	} else {
		while (*name) {
			unsigned l = *name++;
			for (unsigned i = 0; i < l; i++) {
				uint8_t c = dns_lc(name[i]);
				if (c == '.' || c == '\\') {
					PUT('\\');
					PUT((char)c);
				} else if (must_escape_ddd(c)) {
					snprintf(tmp, sizeof(tmp), "\\%03u", c);
					for (int k = 0; k < 4; k++)
						PUT(tmp[k]);
				} else {
					PUT((char)c);
				}
			}
			name += l;
			PUT('.');
		}
	}
#undef PUT
	if (cap > 0)
		out[o < cap ? o : cap - 1] = 0;
	return o;
}

size_t
dns_name_from_text(uint8_t out[LIM_NAME_MAX], const char *text)
{
	size_t o = 0, lab = 0; /* lab: offset of the current label's length */
	const char *p = text;

	if (text == NULL)
		return 0;
	if (strcmp(text, ".") == 0 || *text == 0) {
		out[0] = 0;
		return 1;
	}
	out[o++] = 0;
	while (*p) {
		uint8_t c;
		if (*p == '.') {
			if (out[lab] == 0)
				return 0; /* empty label */
			p++;
			if (*p == 0)
				break;
			if (o >= LIM_NAME_MAX)
				return 0;
			lab = o;
			out[o++] = 0;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (p[0] >= '0' && p[0] <= '9') {
				if (!(p[1] >= '0' && p[1] <= '9') ||
				    !(p[2] >= '0' && p[2] <= '9'))
					return 0;
				unsigned v = (unsigned)(p[0] - '0') * 100 +
				    (unsigned)(p[1] - '0') * 10 +
				    (unsigned)(p[2] - '0');
				if (v > 255)
					return 0;
				c = (uint8_t)v;
				p += 3;
			} else if (*p == 0) {
				return 0;
			} else {
				c = (uint8_t)*p++;
			}
		} else {
			c = (uint8_t)*p++;
		}
		if (out[lab] == 63 || o + 1 >= LIM_NAME_MAX)
			return 0;
		out[o++] = dns_lc(c);
		out[lab]++;
	}
	if (out[lab] == 0)
		return 0;
	if (o >= LIM_NAME_MAX)
		return 0;
	out[o++] = 0;
	return o;
}

/* ------------------------------------------------------------ mnemonics */

static const struct {
	uint16_t type;
	const char *name;
} types[] = {
    {1, "A"},
    {2, "NS"},
    {5, "CNAME"},
    {6, "SOA"},
    {12, "PTR"},
    {13, "HINFO"},
    {15, "MX"},
    {16, "TXT"},
    {17, "RP"},
    {18, "AFSDB"},
    {24, "SIG"},
    {25, "KEY"},
    {28, "AAAA"},
    {29, "LOC"},
    {33, "SRV"},
    {35, "NAPTR"},
    {36, "KX"},
    {37, "CERT"},
    {39, "DNAME"},
    {41, "OPT"},
    {42, "APL"},
    {43, "DS"},
    {44, "SSHFP"},
    {45, "IPSECKEY"},
    {46, "RRSIG"},
    {47, "NSEC"},
    {48, "DNSKEY"},
    {49, "DHCID"},
    {50, "NSEC3"},
    {51, "NSEC3PARAM"},
    {52, "TLSA"},
    {53, "SMIMEA"},
    {55, "HIP"},
    {59, "CDS"},
    {60, "CDNSKEY"},
    {61, "OPENPGPKEY"},
    {62, "CSYNC"},
    {63, "ZONEMD"},
    {64, "SVCB"},
    {65, "HTTPS"},
    {99, "SPF"},
    {108, "EUI48"},
    {109, "EUI64"},
    {249, "TKEY"},
    {250, "TSIG"},
    {251, "IXFR"},
    {252, "AXFR"},
    {255, "ANY"},
    {256, "URI"},
    {257, "CAA"},
};

const char *
dns_type_str(uint16_t type, char buf[DNS_MNEMONIC_MAX])
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	snprintf(buf, DNS_MNEMONIC_MAX, "TYPE%u", type);
	return buf;
}

/* "PREFIXn" with n a decimal 0..65535. @return 0 or -EINVAL. */
static int
generic_number(const char *s, const char *prefix, uint16_t *out)
{
	size_t pl = strlen(prefix);
	char *end;
	unsigned long v;

	if (strncasecmp(s, prefix, pl) != 0 || s[pl] < '0' || s[pl] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s + pl, &end, 10);
	if (errno != 0 || *end != 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int
dns_type_from_str(const char *s, uint16_t *type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(types[i].name, s) == 0) {
			*type = types[i].type;
			return 0;
		}
	}
	return generic_number(s, "TYPE", type);
}

const char *
dns_class_str(uint16_t rclass, char buf[DNS_MNEMONIC_MAX])
{
	switch (rclass) {
	case DNS_C_IN:
		return "IN";
	case DNS_C_CH:
		return "CH";
	case 4:
		return "HS";
	case DNS_C_NONE:
		return "NONE";
	case DNS_C_ANY:
		return "ANY";
	default:
		snprintf(buf, DNS_MNEMONIC_MAX, "CLASS%u", rclass);
		return buf;
	}
}

const char *
dns_rcode_str(unsigned rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
	    "NOTAUTH", "NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL,
	    "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG",
	    "BADTRUNC", "BADCOOKIE"};

	if (rcode < sizeof(names) / sizeof(names[0]) && names[rcode] != NULL)
		return names[rcode];
	return "RCODE?";
}

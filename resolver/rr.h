/**
 * @file rr.h
 * What the readers of ldns records share: the owner of a record as a wire
 * name. Header only.
 */
#ifndef RESOLVERD_RR_H
#define RESOLVERD_RR_H

#include <ldns/ldns.h>
#include <stdint.h>

/** The owner of @p rr as a wire name. ldns makes it a well-formed,
 *  uncompressed name whenever it parses a record (from the wire or from
 *  text); resolver/validate.c checks it as well, for records of any
 *  origin. */
static inline const uint8_t *
rr_owner(const ldns_rr *rr)
{
	return ldns_rdf_data(ldns_rr_owner(rr));
}

#endif

/*
 * rrfile: what the readers of record files (root hints, trust anchors)
 * share on top of ldns_rr_new_frm_fp_l.
 */
#ifndef RESOLVER_RRFILE_H
#define RESOLVER_RRFILE_H

#include <stdio.h>

/**
 * The line of the record ldns_rr_new_frm_fp_l just read from @p f, whose
 * line counter says @p counted: ldns counts the newline that ends the
 * record, so the counter is one past unless the record ended at end of
 * file without a newline. Reads the byte before the file position to tell
 * (and leaves the position where it was).
 */
int rrfile_line(FILE *f, int counted);

#endif

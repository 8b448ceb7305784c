/* rrfile: see rrfile.h. */
#include "resolver/rrfile.h"

int
rrfile_line(FILE *f, int counted)
{
	long pos = ftell(f);
	int c;

	if (pos <= 0 || fseek(f, pos - 1, SEEK_SET) != 0)
		return counted;
	c = fgetc(f); /* back at pos */
	return c == '\n' && counted > 1 ? counted - 1 : counted;
}

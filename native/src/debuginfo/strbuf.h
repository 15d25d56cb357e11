/* strbuf.h — small text helpers of the DWARF formatters (dwtype.c,
 * dwvalue.c): a bounded string builder and allocating printf/strdup. */
#ifndef FK_STRBUF_H
#define FK_STRBUF_H

#include <stddef.h>

/* A bounded string: text past its capacity is cut. Zero-initialise. */
struct sb {
	char buf[256];
	size_t n;
};

void sb_add(struct sb *b, const char *s);

/* strdup(s ? s : ""); NULL when out of memory. */
char *xstrdup(const char *s);
/* vasprintf; NULL when out of memory. */
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

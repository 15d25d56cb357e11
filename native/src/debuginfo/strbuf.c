/* strbuf.c — text helpers (see strbuf.h). */
#include "debuginfo/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_add(struct sb *b, const char *s)
{
	size_t l = strlen(s);
	if (b->n + l >= sizeof b->buf)
		l = sizeof b->buf - 1 - b->n;
	memcpy(b->buf + b->n, s, l);
	b->n += l;
	b->buf[b->n] = '\0';
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	return p;
}

char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

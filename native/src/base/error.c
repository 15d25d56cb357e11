#include "base/error.h"

#include <stdbool.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fk_fail(struct fk_err *e, int errnum, const char *kind, const char *step, const char *fmt, ...)
{
	if (!e || e->kind)
		return -1;
	e->errnum = errnum;
	e->kind = kind;
	snprintf(e->step, sizeof e->step, "%s", step ? step : "");
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* Only an unexpected failure carries the errno text: the other kinds'
	 * messages already say what errno would. */
	if (errnum && kind && strcmp(kind, FK_KIND_FAILED) == 0 && (size_t)n < sizeof e->msg)
		snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
	return -1;
}

void fk_err_clear(struct fk_err *e)
{
	memset(e, 0, sizeof *e);
}

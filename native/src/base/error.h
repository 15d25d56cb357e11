/* error.h — one error value per operation: what failed, why, and the errno.
 *
 * Library code never prints and never exits: it fills a struct fk_err and
 * returns -1 (or NULL). The tracer turns it into a result message. Expected
 * races (a thread exiting while we look at it) are not errors; callers check
 * for ESRCH where a tracee may vanish.
 */
#ifndef FK_ERROR_H
#define FK_ERROR_H

#include <stddef.h>

/* error kinds (native/protocol/schema.json, ErrorKind) */
#define FK_KIND_NOPROC "no-such-process"
#define FK_KIND_PERM "not-permitted"
#define FK_KIND_TRACED "already-traced"
#define FK_KIND_EXITED "exited"
#define FK_KIND_BADREQ "bad-request"
#define FK_KIND_UNKNOWN_OP "unknown-op"
#define FK_KIND_FAILED "failed"

struct fk_err {
	int errnum;	  /* errno value, 0 if none */
	const char *kind; /* FK_KIND_*, NULL while no error is set */
	char step[48];	  /* the step that failed, e.g. "seize", "fork" */
	int tracer_pid;	  /* for FK_KIND_TRACED */
	char msg[768];
};

/* Set the error (first one wins: a later failure during cleanup does not
 * overwrite the cause). msg is formatted; for FK_KIND_FAILED with errnum != 0
 * ": strerror" is appended (the other kinds name their cause themselves). Returns -1 for "return fk_fail(...)". */
int fk_fail(struct fk_err *e, int errnum, const char *kind, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Forget a previous error. */
void fk_err_clear(struct fk_err *e);

/* True when an error is set. */
static inline int fk_err_isset(const struct fk_err *e)
{
	return e->kind != NULL;
}

#endif

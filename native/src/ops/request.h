/* request.h — from request JSON to an operation's handler.
 *
 * protocol_dispatch() (dispatch.c) parses the text (base/jsonread), finds
 * the operation named by "op" in the generated table (ops/protocol.generated.c), whose
 * decoder checks every member against the schema and fills the
 * operation's struct rq_NAME, and runs its handler. The rq_* helpers are
 * what the generated decoders call. */
#ifndef FK_REQUEST_H
#define FK_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"
#include "base/jsonread.h"
#include "ops/protocol.generated.h"

struct fk_tracer;

/* Run one request. `opname` receives the operation's name for messages
 * (a static string, "?" when the request names none). Returns the handler's
 * result: 0, or -1 with err set (bad-request for a malformed request,
 * unknown-op for an operation this library does not have). */
int protocol_dispatch(struct fk_tracer *tr, const char *text, size_t len, struct jw *body, struct fk_err *err,
		      const char **opname);

bool rq_key_is(const struct jr_value *m, const char *key);
int rq_int(const struct jr_value *m, const char *op, const char *key, long long min, long long max, int64_t *out,
	   struct fk_err *err);
int rq_hex(const struct jr_value *m, const char *op, const char *key, uint64_t *out, struct fk_err *err);
int rq_bool(const struct jr_value *m, const char *op, const char *key, bool *out, struct fk_err *err);
int rq_str(const struct jr_value *m, const char *op, const char *key, size_t minlen, const char **out,
	   struct fk_err *err);
int rq_strv(const struct jr_value *m, const char *op, const char *key, struct jr_doc *doc, const char *const **out,
	    size_t *n, struct fk_err *err);
int rq_hexmap(const struct jr_value *m, const char *op, const char *key, struct jr_doc *doc,
	      const struct rq_hexkv **out, size_t *n, struct fk_err *err);
int rq_unknown_member(const struct jr_value *m, const char *op, struct fk_err *err);
int rq_missing(const char *op, const char *key, struct fk_err *err);

#endif

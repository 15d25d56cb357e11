/* dispatch.c — protocol_dispatch (see request.h): above the generated
 * table (protocol.generated.c), whose decoders use request.c's rq_*
 * helpers, so that request.c needs nothing of the table. */
#include "ops/request.h"

#include <errno.h>
#include <string.h>

#define BAD(err, ...) fk_fail(err, EINVAL, FK_KIND_BADREQ, "request", __VA_ARGS__)

int protocol_dispatch(struct fk_tracer *tr, const char *text, size_t len, struct jw *body, struct fk_err *err,
		      const char **opname)
{
	*opname = "?";
	struct jr_doc doc;
	char perr[160];
	if (jr_parse(&doc, text, len, perr, sizeof perr) < 0)
		return BAD(err, "request: %s", perr);
	int rc;
	const struct jr_value *op = jr_get(doc.root, "op");
	const char *name = jr_cstr(op);
	if (doc.root->type != JR_OBJECT) {
		rc = BAD(err, "request: must be a JSON object {\"op\":NAME, ...} (got %s)",
			 jr_type_name(doc.root->type));
	} else if (!name) {
		rc = BAD(err, "request: \"op\" must be the name of an operation (a string)");
	} else {
		const struct op_entry *e = NULL;
		for (size_t i = 0; i < fk_op_count; i++)
			if (strcmp(fk_op_table[i].name, name) == 0)
				e = &fk_op_table[i];
		if (!e) {
			rc = fk_fail(err, EOPNOTSUPP, FK_KIND_UNKNOWN_OP, "request",
				     "unknown operation \"%.64s\" (fk_protocol() lists the operations of this library)",
				     name);
		} else {
			*opname = e->name;
			rc = e->run(tr, doc.root, &doc, body, err);
		}
	}
	jr_free(&doc);
	return rc;
}

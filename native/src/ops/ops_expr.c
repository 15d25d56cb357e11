/* ops_expr.c — what C expressions need from DWARF besides frameVars
 * (ops_symbols.c): type layouts ("typeInfo") and typed memory formatted
 * like locals ("typedValue"), on top of debuginfo/exprtypes.c; file-scope
 * names by prefix ("globalNames") and functions and constants by name
 * ("fileScope"), on top of debuginfo/dwnames.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/dwnames.h"
#include "debuginfo/exprtypes.h"
#include "ops/ops.h"

int op_type_info(struct fk_tracer *tr, const struct rq_type_info *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "typeInfo", "process %d is not attached", (int)rq->pid);
	if (!rq->has_id && !rq->has_name)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "typeInfo", "give the type's id or its name");
	struct fk_symbols *s = sym_of_proc(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "typeInfo", "out of memory");
	jw_kint(body, "pid", rq->pid);
	return exprtypes_info_json(s, rq->has_id ? rq->id : NULL, rq->has_name ? rq->name : NULL, rq->tag, body, err);
}

static int unhex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

int op_typed_value(struct fk_tracer *tr, const struct rq_typed_value *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "typedValue", "process %d is not attached", (int)rq->pid);
	if (rq->has_address == rq->has_bytes)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "typedValue", "give either address or bytes");
	uint8_t bytes[64];
	size_t len = 0;
	if (rq->has_bytes) {
		size_t n = strlen(rq->bytes);
		if (n % 2 || n / 2 > sizeof bytes)
			return fk_fail(err, EINVAL, FK_KIND_BADREQ, "typedValue", "bytes: 1 to %zu bytes in hex",
				       sizeof bytes);
		for (size_t i = 0; i < n; i += 2) {
			int hi = unhex(rq->bytes[i]), lo = unhex(rq->bytes[i + 1]);
			if (hi < 0 || lo < 0)
				return fk_fail(err, EINVAL, FK_KIND_BADREQ, "typedValue", "bytes: not hex at %zu", i);
			bytes[len++] = (uint8_t)(hi * 16 + lo);
		}
	}
	struct fk_symbols *s = sym_of_proc(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "typedValue", "out of memory");
	jw_kint(body, "pid", rq->pid);
	return exprtypes_value_json(s, p->pid, rq->type, rq->address, rq->has_bytes ? bytes : NULL, len, rq->count,
				    rq->name, rq->expr, body, err);
}

int op_global_names(struct fk_tracer *tr, const struct rq_global_names *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "globalNames", "process %d is not attached", (int)rq->pid);
	if (rq->max < 1 || rq->max > 1000)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "globalNames", "max: 1 to 1000, not %d", (int)rq->max);
	struct fk_symbols *s = sym_of_proc(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "globalNames", "out of memory");
	jw_kint(body, "pid", rq->pid);
	return dwnames_json(s, rq->prefix, rq->max, body, err);
}

int op_file_scope(struct fk_tracer *tr, const struct rq_file_scope *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "fileScope", "process %d is not attached", (int)rq->pid);
	struct fk_symbols *s = sym_of_proc(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "fileScope", "out of memory");
	jw_kint(body, "pid", rq->pid);
	return dwscope_json(s, rq->name, rq->has_pc, rq->pc, body, err);
}

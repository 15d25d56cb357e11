/* request.c — see request.h. */
#include "ops/request.h"

#include <errno.h>
#include <string.h>

#define BAD(err, ...) fk_fail(err, EINVAL, FK_KIND_BADREQ, "request", __VA_ARGS__)

bool rq_key_is(const struct jr_value *m, const char *key)
{
	size_t n = strlen(key);
	return m->keylen == n && memcmp(m->key, key, n) == 0;
}

static const char *got(const struct jr_value *v)
{
	return jr_type_name(v->type);
}

int rq_int(const struct jr_value *m, const char *op, const char *key, long long min, long long max, int64_t *out,
	   struct fk_err *err)
{
	int64_t v;
	if (!jr_i64(m, &v))
		return BAD(err, "%s: \"%s\" must be an integer (got %.40s)", op, key,
			   m->type == JR_NUMBER ? m->str : got(m));
	if (v < min || v > max)
		return BAD(err, "%s: \"%s\" must be in %lld..%lld (got %lld)", op, key, min, max, (long long)v);
	*out = v;
	return 0;
}

/* As the schema's Hex: a string "0x" + 1..16 hex digits (JSON numbers are
 * exact only to 2^53, so addresses never travel as numbers). */
static bool is_hex_string(const struct jr_value *v)
{
	return v->type == JR_STRING && v->len > 2 && v->str[0] == '0' && (v->str[1] == 'x' || v->str[1] == 'X');
}

int rq_hex(const struct jr_value *m, const char *op, const char *key, uint64_t *out, struct fk_err *err)
{
	if (!is_hex_string(m) || !jr_u64(m, out)) {
		if (m->type == JR_STRING)
			return BAD(err, "%s: \"%s\" must be a 64-bit value \"0x…\" (got \"%.40s\")", op, key,
				   jr_cstr(m) ? m->str : "?");
		return BAD(err, "%s: \"%s\" must be a 64-bit value as a string \"0x…\" (got %s)", op, key, got(m));
	}
	return 0;
}

int rq_bool(const struct jr_value *m, const char *op, const char *key, bool *out, struct fk_err *err)
{
	if (m->type != JR_BOOL)
		return BAD(err, "%s: \"%s\" must be true or false (got %s)", op, key, got(m));
	*out = m->boolean;
	return 0;
}

int rq_str(const struct jr_value *m, const char *op, const char *key, size_t minlen, const char **out,
	   struct fk_err *err)
{
	const char *s = jr_cstr(m);
	if (!s)
		return BAD(err, "%s: \"%s\" must be a string without NUL characters (got %s)", op, key, got(m));
	if (m->len < minlen)
		return BAD(err, "%s: \"%s\" must not be empty", op, key);
	*out = s;
	return 0;
}

int rq_strv(const struct jr_value *m, const char *op, const char *key, struct jr_doc *doc, const char *const **out,
	    size_t *n, struct fk_err *err)
{
	if (m->type != JR_ARRAY)
		return BAD(err, "%s: \"%s\" must be an array of strings (got %s)", op, key, got(m));
	const char **v = jr_alloc(doc, (m->n + 1) * sizeof *v);
	if (!v)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "request", "out of memory");
	size_t i = 0;
	for (const struct jr_value *e = m->child; e; e = e->next, i++) {
		v[i] = jr_cstr(e);
		if (!v[i])
			return BAD(err, "%s: \"%s\"[%zu] must be a string without NUL characters (got %s)", op, key, i,
				   got(e));
	}
	v[i] = NULL;
	*out = v;
	*n = i;
	return 0;
}

int rq_hexmap(const struct jr_value *m, const char *op, const char *key, struct jr_doc *doc,
	      const struct rq_hexkv **out, size_t *n, struct fk_err *err)
{
	if (m->type != JR_OBJECT)
		return BAD(err, "%s: \"%s\" must be an object (got %s)", op, key, got(m));
	struct rq_hexkv *v = jr_alloc(doc, (m->n + 1) * sizeof *v);
	if (!v)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "request", "out of memory");
	size_t i = 0;
	for (const struct jr_value *e = m->child; e; e = e->next, i++) {
		if (memchr(e->key, '\0', e->keylen))
			return BAD(err, "%s: \"%s\" has a name with a NUL character", op, key);
		v[i].name = e->key;
		if (!is_hex_string(e) || !jr_u64(e, &v[i].value))
			return BAD(err, "%s: \"%s\".%s must be a 64-bit value as a string \"0x…\" (got %s)", op, key,
				   e->key, got(e));
	}
	*out = v;
	*n = i;
	return 0;
}

int rq_unknown_member(const struct jr_value *m, const char *op, struct fk_err *err)
{
	if (memchr(m->key, '\0', m->keylen))
		return BAD(err, "%s: a member name with a NUL character", op);
	return BAD(err, "%s: unknown member \"%s\" (native/PROTOCOL.md lists the members of each operation)", op,
		   m->key);
}

int rq_missing(const char *op, const char *key, struct fk_err *err)
{
	return BAD(err, "%s: missing \"%s\"", op, key);
}

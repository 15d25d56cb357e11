/* dwvalue.c — the value of an object of a DWARF type (see dwvalue.h).
 *
 * A struct's or an array's one-line summary is made from its children, so
 * the tree is built first and written out afterwards (locals.c).
 */
#include "debuginfo/dwvalue.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "debuginfo/dwtype.h"
#include "debuginfo/strbuf.h"

void dwvalue_free(struct lvar *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		dwvalue_free(&v->kids[i]);
	free(v->kids);
	free(v->name);
	free(v->type);
	free(v->value);
	free(v->expr);
}

static void set_raw(struct lvar *v, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_raw(struct lvar *v, const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->raw, sizeof v->raw, fmt, ap);
	va_end(ap);
	v->raw_kind = kind;
}

static bool src_read(struct dwvalue_ctx *c, const struct dwsrc *s, uint64_t off, void *buf, size_t n)
{
	if (s->bad)
		return false;
	if (s->mem)
		return mem_read_exact(c->pid, s->addr + off, buf, n) == 0;
	if (off > s->len || n > s->len - off)
		return false;
	memcpy(buf, s->bytes + off, n);
	return true;
}

static struct dwsrc src_at(const struct dwsrc *s, uint64_t off)
{
	struct dwsrc r = *s;
	if (r.mem) {
		r.addr += off;
	} else if (!r.bad) {
		if (off > r.len) {
			r.len = 0;
		} else {
			r.bytes += off;
			r.len -= off;
		}
	}
	return r;
}

static void esc_char(struct sb *b, unsigned char ch, char quote)
{
	char t[8];
	switch (ch) {
	case '\n': sb_add(b, "\\n"); return;
	case '\t': sb_add(b, "\\t"); return;
	case '\r': sb_add(b, "\\r"); return;
	case '\0': sb_add(b, "\\0"); return;
	case '\\': sb_add(b, "\\\\"); return;
	default: break;
	}
	if (ch == (unsigned char)quote) {
		t[0] = '\\';
		t[1] = (char)ch;
		t[2] = '\0';
	} else if (ch < 0x20 || ch >= 0x7f) {
		snprintf(t, sizeof t, "\\%03o", ch);
	} else {
		t[0] = (char)ch;
		t[1] = '\0';
	}
	sb_add(b, t);
}

/* "text" from bytes up to a NUL (or n), with … when cut. */
static void quote_str(struct sb *b, const uint8_t *p, size_t n, bool cut)
{
	sb_add(b, "\"");
	for (size_t i = 0; i < n && p[i]; i++) {
		if (b->n > sizeof b->buf - 16) {
			cut = true;
			break;
		}
		esc_char(b, p[i], '"');
	}
	sb_add(b, "\"");
	if (cut)
		sb_add(b, "...");
}

static void fmt_double(char *buf, size_t cap, double d)
{
	for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back */
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static void fmt_float(char *buf, size_t cap, float f)
{
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(buf, cap, "%.*g", prec, (double)f);
		if (strtof(buf, NULL) == f)
			return;
	}
}

static uint64_t sext(uint64_t v, size_t size)
{
	if (size >= 8)
		return v;
	unsigned bits = (unsigned)size * 8;
	uint64_t m = 1ull << (bits - 1);
	v &= (1ull << bits) - 1;
	return (v ^ m) - m;
}

static char *fmt_base(Dwarf_Die *t, const uint8_t *raw, size_t size, struct lvar *out)
{
	uint64_t enc = 0;
	dwtype_udata(t, DW_AT_encoding, &enc);
	uint64_t v = 0;
	if (size <= 8)
		memcpy(&v, raw, size);
	char buf[80];
	switch (enc) {
	case DW_ATE_boolean:
		if (size > 8)
			break;
		set_raw(out, "bool", "%" PRIu64, v);
		return xstrdup(v == 0 ? "false" : v == 1 ? "true" : "true (nonzero)");
	case DW_ATE_float:
		if (size == 4) {
			float f;
			memcpy(&f, raw, 4);
			fmt_float(buf, sizeof buf, f);
		} else if (size == 8) {
			double d;
			memcpy(&d, raw, 8);
			fmt_double(buf, sizeof buf, d);
		} else if (size == 16 || size == 10 || size == 12) { /* x87 long double (the host is x86-64 too) */
			long double ld = 0;
			memcpy(&ld, raw, 10);
			snprintf(buf, sizeof buf, "%.21Lg", ld);
		} else {
			break;
		}
		set_raw(out, "float", "%s", buf);
		return xstrdup(buf);
	case DW_ATE_signed_char:
	case DW_ATE_unsigned_char:
	case DW_ATE_signed:
	case DW_ATE_unsigned:
	case DW_ATE_UTF: {
		if (size > 8)
			break;
		bool sign = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
		int64_t sv = (int64_t)sext(v, size);
		if (sign)
			snprintf(buf, sizeof buf, "%" PRId64, sv);
		else
			snprintf(buf, sizeof buf, "%" PRIu64, v);
		set_raw(out, sign ? "int" : "uint", "%s", buf);
		if (size == 1 && enc != DW_ATE_signed && enc != DW_ATE_unsigned) {
			struct sb b = { 0 };
			sb_add(&b, buf);
			sb_add(&b, " '");
			esc_char(&b, (unsigned char)v, '\'');
			sb_add(&b, "'");
			return xstrdup(b.buf);
		}
		return xstrdup(buf);
	}
	default: break;
	}
	struct sb b = { 0 };
	sb_add(&b, "<unsupported base type: 0x");
	for (size_t i = size; i-- > 0 && b.n < 200;) {
		char h[4];
		snprintf(h, sizeof h, "%02x", raw[i]);
		sb_add(&b, h);
	}
	sb_add(&b, ">");
	return xstrdup(b.buf);
}

static void build(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *type, const struct dwsrc *s, int depth);

static struct lvar *kids_alloc(struct dwvalue_ctx *c, struct lvar *v, size_t n)
{
	if (n == 0 || c->nodes + n > LOCALS_MAX_NODES)
		return NULL;
	v->kids = calloc(n, sizeof *v->kids);
	if (!v->kids)
		return NULL;
	c->nodes += n;
	v->has_children = true;
	return v->kids;
}

/* "{a = 1, b = 2}" or "{1, 2, 3}" from the children, at most ~100 chars. */
static char *summary(const struct lvar *v, bool named)
{
	struct sb b = { 0 };
	sb_add(&b, "{");
	for (size_t i = 0; i < v->nkids; i++) {
		const struct lvar *k = &v->kids[i];
		if (i)
			sb_add(&b, ", ");
		if (b.n > 100) {
			sb_add(&b, "...");
			break;
		}
		if (named) {
			sb_add(&b, k->name);
			sb_add(&b, " = ");
		}
		sb_add(&b, k->value ? k->value : "?");
	}
	sb_add(&b, "}");
	return xstrdup(b.buf);
}

static void build_members(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *st, const struct dwsrc *s, int depth,
			  const char *sep)
{
	Dwarf_Die ch;
	size_t n = 0;
	if (DW->dwarf_child(st, &ch) == 0) {
		do {
			if (DW->dwarf_tag(&ch) == DW_TAG_member)
				n++;
		} while (DW->dwarf_siblingof(&ch, &ch) == 0);
	}
	if (n == 0 || DW->dwarf_child(st, &ch) != 0 || !kids_alloc(c, v, n))
		return;
	do {
		if (DW->dwarf_tag(&ch) != DW_TAG_member)
			continue;
		struct lvar *k = &v->kids[v->nkids++];
		const char *nm = DW->dwarf_diename(&ch);
		k->name = xstrdup(nm ? nm : "<anonymous>");
		k->kind = "member";
		k->expr = nm ? xprintf("%s%s%s", v->expr ? v->expr : "", sep, nm) : NULL;
		Dwarf_Die mt;
		bool has_t = dwtype_ref(&ch, DW_AT_type, &mt);
		uint64_t off = 0, bits = 0, bitoff = 0;
		Dwarf_Attribute a;
		bool ok_off = !DW->dwarf_attr_integrate(&ch, DW_AT_data_member_location, &a) ||
			      DW->dwarf_formudata(&a, &off) == 0;
		struct dwsrc ms = src_at(s, off);
		if (!ok_off)
			ms.bad = "<unsupported: member location expression>";
		if (dwtype_udata(&ch, DW_AT_bit_size, &bits) && bits > 0) {
			/* a bit-field: DWARF 4+ DW_AT_data_bit_offset from the struct start */
			k->type = has_t ? dwtype_name(&mt) : xstrdup("int");
			uint64_t dbo = 0;
			if (!dwtype_udata(&ch, DW_AT_data_bit_offset, &dbo) &&
			    dwtype_udata(&ch, DW_AT_bit_offset, &bitoff)) {
				k->value = xstrdup("<unsupported: DWARF 2 bit-field>");
				continue;
			}
			dbo += off * 8;
			uint64_t byte = dbo / 8, shift = dbo % 8, raw = 0;
			size_t nb = (size_t)((shift + bits + 7) / 8);
			if (bits > 56 || nb > 8 || !src_read(c, s, byte, &raw, nb)) {
				k->value = xstrdup(s->bad ? s->bad : "<unreadable>");
				continue;
			}
			uint64_t val = (raw >> shift) & ((1ull << bits) - 1);
			bool sign = has_t && dwtype_signed(&mt);
			if (sign && (val >> (bits - 1)) & 1)
				set_raw(k, "int", "%" PRId64, (int64_t)(val | ~((1ull << bits) - 1)));
			else
				set_raw(k, sign ? "int" : "uint", "%" PRIu64, val);
			k->value = xstrdup(k->raw);
			continue;
		}
		build(c, k, has_t ? &mt : NULL, &ms, depth + 1);
	} while (DW->dwarf_siblingof(&ch, &ch) == 0 && v->nkids < n);
}

/* Dimension dim.. of an array of elem (nd dims). */
static void build_array(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *elem, const int64_t *counts, int nd,
			const struct dwsrc *s, int depth)
{
	uint64_t esz = 0;
	if (!dwtype_size(elem, &esz))
		esz = 0;
	for (int i = 1; i < nd; i++)
		esz *= counts[i] > 0 ? (uint64_t)counts[i] : 0;
	int64_t cnt = counts[0];
	if (nd == 1 && dwtype_is_char(elem) && cnt > 0) {
		uint8_t buf[200];
		size_t n = (size_t)cnt < sizeof buf ? (size_t)cnt : sizeof buf;
		if (!src_read(c, s, 0, buf, n)) {
			v->value = xstrdup(s->bad ? s->bad : "<unreadable>");
			return;
		}
		struct sb b = { 0 };
		quote_str(&b, buf, n, memchr(buf, 0, n) == NULL && (size_t)cnt > n);
		v->value = xstrdup(b.buf);
	}
	if (cnt < 0) {
		if (!v->value)
			v->value = xstrdup("[]");
		return;
	}
	if (depth >= LOCALS_MAX_DEPTH || esz == 0) {
		if (!v->value)
			v->value = xprintf("[%" PRId64 "]", cnt);
		return;
	}
	size_t n = cnt > LOCALS_MAX_ELEMENTS ? LOCALS_MAX_ELEMENTS : (size_t)cnt;
	if (kids_alloc(c, v, n)) {
		for (size_t i = 0; i < n; i++) {
			struct lvar *k = &v->kids[v->nkids++];
			k->name = xprintf("[%zu]", i);
			k->kind = "element";
			k->expr = v->expr ? xprintf("%s[%zu]", v->expr, i) : NULL;
			struct dwsrc es = src_at(s, i * esz);
			if (nd > 1) {
				k->type = dwtype_dims_name(elem, counts + 1, nd - 1);
				if (es.mem) {
					k->has_addr = true;
					k->addr = es.addr;
				}
				build_array(c, k, elem, counts + 1, nd - 1, &es, depth + 1);
			} else {
				build(c, k, elem, &es, depth + 1);
			}
		}
	}
	if (!v->value) {
		v->value = summary(v, false);
		if ((size_t)cnt > n) {
			size_t l = strlen(v->value);
			if (l > 1 && v->value[l - 1] == '}') {
				v->value[l - 1] = '\0';
				char *t = xprintf("%s, ...}", v->value);
				free(v->value);
				v->value = t;
			}
		}
	}
}

/* Fill v (name, kind, expr set) with an object of type `type` (NULL:
 * void) whose bytes are at s. */
static void build(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *type, const struct dwsrc *s, int depth)
{
	if (!v->type)
		v->type = dwtype_name(type);
	if (s->mem) {
		v->has_addr = true;
		v->addr = s->addr;
	}
	Dwarf_Die t;
	if (!type || !dwtype_peel(type, &t)) {
		v->value = xstrdup(s->bad ? s->bad : "<void>");
		return;
	}
	if (s->bad) {
		v->value = xstrdup(s->bad);
		return;
	}
	int tag = DW->dwarf_tag(&t);
	uint64_t size = 0;
	dwtype_size(&t, &size);
	uint8_t raw[16];
	switch (tag) {
	case DW_TAG_base_type:
	case DW_TAG_enumeration_type:
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: {
		if (size == 0 && tag != DW_TAG_base_type)
			size = 8;
		if (size == 0 || size > sizeof raw) {
			v->value = xstrdup("<unsupported size>");
			return;
		}
		if (!src_read(c, s, 0, raw, (size_t)size)) {
			v->value =
				s->mem ? xprintf("<unreadable at 0x%" PRIx64 ">", s->addr) : xstrdup("<unavailable>");
			return;
		}
		break;
	}
	default: break;
	}
	switch (tag) {
	case DW_TAG_base_type:
		v->raw_size = (unsigned)size;
		v->value = fmt_base(&t, raw, (size_t)size, v);
		return;
	case DW_TAG_enumeration_type: {
		v->raw_size = (unsigned)size;
		uint64_t u = 0;
		memcpy(&u, raw, size > 8 ? 8 : (size_t)size);
		Dwarf_Die ut, ch;
		bool sign = dwtype_ref(&t, DW_AT_type, &ut) && dwtype_signed(&ut);
		uint64_t val = sign ? sext(u, (size_t)size) : u;
		if (sign)
			set_raw(v, "int", "%" PRId64, (int64_t)val);
		else
			set_raw(v, "uint", "%" PRIu64, val);
		if (DW->dwarf_child(&t, &ch) == 0) {
			do {
				Dwarf_Attribute a;
				Dwarf_Sword sv;
				Dwarf_Word uv;
				if (DW->dwarf_tag(&ch) != DW_TAG_enumerator ||
				    !DW->dwarf_attr_integrate(&ch, DW_AT_const_value, &a))
					continue;
				uint64_t ev;
				unsigned form = DW->dwarf_whatform(&a);
				if ((form == DW_FORM_sdata || form == DW_FORM_implicit_const) &&
				    DW->dwarf_formsdata(&a, &sv) == 0)
					ev = (uint64_t)sv;
				else if (DW->dwarf_formudata(&a, &uv) == 0)
					ev = sign ? sext(uv, (size_t)size) : uv;
				else
					continue;
				if (sign ? ev == val
					 : (ev & (size >= 8 ? UINT64_MAX : (1ull << size * 8) - 1)) == val) {
					v->value = xstrdup(DW->dwarf_diename(&ch));
					return;
				}
			} while (DW->dwarf_siblingof(&ch, &ch) == 0);
		}
		v->value = xstrdup(v->raw);
		return;
	}
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: {
		uint64_t p = 0;
		memcpy(&p, raw, size > 8 ? 8 : (size_t)size);
		v->raw_size = (unsigned)size;
		v->has_ptr = true;
		v->ptr = p;
		set_raw(v, "pointer", "0x%" PRIx64, p);
		Dwarf_Die pt, pp;
		bool has_pt = dwtype_ref(&t, DW_AT_type, &pt);
		bool is_void = !has_pt || !dwtype_peel(&pt, &pp);
		int ptag = is_void ? 0 : DW->dwarf_tag(&pp);
		if (ptag == DW_TAG_subroutine_type) {
			struct sym_info si;
			if (p && sym_describe(c->s, p, false, &si) == 0 && si.has_function && si.offset == 0)
				v->value = xprintf("0x%" PRIx64 " <%s>", p, si.function);
			else
				v->value = xprintf("0x%" PRIx64, p);
			return;
		}
		if (!is_void && dwtype_is_char(&pt) && tag == DW_TAG_pointer_type) {
			if (p == 0) {
				v->value = xstrdup("0x0");
				return;
			}
			uint8_t buf[64];
			ssize_t r = mem_read(c->pid, p, buf, sizeof buf);
			if (r <= 0) {
				v->value = xprintf("0x%" PRIx64 " <unreadable>", p);
				return;
			}
			struct sb b = { 0 };
			quote_str(&b, buf, (size_t)r, memchr(buf, 0, (size_t)r) == NULL);
			v->value = xprintf("0x%" PRIx64 " %s", p, b.buf);
			return;
		}
		v->value = xprintf("0x%" PRIx64, p);
		if (is_void || p == 0 || depth >= LOCALS_MAX_DEPTH)
			return;
		struct dwsrc ps = { .mem = true, .addr = p };
		if (ptag == DW_TAG_structure_type || ptag == DW_TAG_union_type) {
			/* the members right under the pointer (p->x) */
			build_members(c, v, &pp, &ps, depth, "->");
			return;
		}
		if (kids_alloc(c, v, 1)) {
			struct lvar *k = &v->kids[v->nkids++];
			k->name = xprintf("*%s", v->name ? v->name : "");
			k->kind = "deref";
			k->expr = v->expr ? xprintf("*%s", v->expr) : NULL;
			build(c, k, &pt, &ps, depth + 1);
		}
		return;
	}
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		if (depth >= LOCALS_MAX_DEPTH) {
			v->value = xstrdup("{...}");
			return;
		}
		build_members(c, v, &t, s, depth, ".");
		v->value = summary(v, true);
		return;
	case DW_TAG_array_type: {
		int64_t counts[8];
		int nd = dwtype_array_dims(&t, counts, 8);
		Dwarf_Die et;
		if (nd == 0 || !dwtype_ref(&t, DW_AT_type, &et)) {
			v->value = xstrdup("<unsupported array>");
			return;
		}
		build_array(c, v, &et, counts, nd, s, depth);
		return;
	}
	case DW_TAG_subroutine_type: v->value = xstrdup("<function>"); return;
	default: v->value = xprintf("<unsupported type (DWARF tag 0x%x)>", tag); return;
	}
}

void dwvalue_build(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *type, const struct dwsrc *s)
{
	build(c, v, type, s, 0);
}

void dwvalue_json(struct jw *w, const struct lvar *v)
{
	jw_obj_begin(w);
	jw_kstr(w, "name", v->name ? v->name : "?");
	jw_kstr(w, "type", v->type ? v->type : "?");
	jw_kstr(w, "value", v->value ? v->value : "?");
	jw_key(w, "address");
	if (v->has_addr)
		jw_hex(w, v->addr);
	else
		jw_null(w);
	jw_kstr(w, "kind", v->kind);
	jw_key(w, "expr");
	if (v->expr)
		jw_str(w, v->expr);
	else
		jw_null(w);
	if (v->has_ptr)
		jw_khex(w, "pointer", v->ptr);
	if (v->type_id[0])
		jw_kstr(w, "typeId", v->type_id);
	if (v->raw_kind) {
		jw_key(w, "raw");
		jw_obj_begin(w);
		jw_kstr(w, "kind", v->raw_kind);
		jw_kstr(w, "value", v->raw);
		if (v->raw_size)
			jw_kint(w, "size", v->raw_size);
		jw_obj_end(w);
	}
	jw_key(w, "children");
	if (v->has_children) {
		jw_arr_begin(w);
		for (size_t i = 0; i < v->nkids; i++)
			dwvalue_json(w, &v->kids[i]);
		jw_arr_end(w);
	} else {
		jw_null(w);
	}
	jw_obj_end(w);
}

void dwvalue_build_array(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *elem, int64_t count, const struct dwsrc *s)
{
	int64_t counts[1] = { count };
	if (!v->type)
		v->type = dwtype_dims_name(elem, counts, 1);
	if (s->mem) {
		v->has_addr = true;
		v->addr = s->addr;
	}
	if (s->bad) {
		v->value = xstrdup(s->bad);
		return;
	}
	build_array(c, v, elem, counts, 1, s, 0);
}

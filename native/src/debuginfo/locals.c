/* locals.c — variables of a stack frame from DWARF (see locals.h).
 *
 * Like symbols.c, libdw is not linked: the machine has no elfutils
 * headers, so the few functions used are looked up by name in the
 * libdw.so.1 symbols.c loaded (sym_libdw), and the structures libdw fills
 * by value are declared here with their public layout from libdw.h
 * (Dwarf_Die, Dwarf_Attribute, Dwarf_Op, Dwarf_Block: stable ABI since
 * elfutils 0.122). Everything else is an opaque pointer.
 *
 * The answer is built as a tree of struct lvar first (a struct's or an
 * array's one-line summary is made from its children), then written out.
 */
#include "debuginfo/locals.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "debuginfo/dw.h"

/* The libdw binding (dw.h): locals_json runs only with a Dwfl, so libdw
 * is loaded wherever this is used. */
#define D (dw_get(NULL))

/* ------------------------------------------------------------------ */
/* the tree                                                            */
/* ------------------------------------------------------------------ */

struct lvar {
	char *name, *type, *value, *expr;
	const char *kind; /* "param" "local" "member" "element" "deref" */
	bool has_addr, has_ptr, has_children;
	uint64_t addr, ptr;
	struct lvar *kids;
	size_t nkids;
};

static void lvar_free(struct lvar *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		lvar_free(&v->kids[i]);
	free(v->kids);
	free(v->name);
	free(v->type);
	free(v->value);
	free(v->expr);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

/* Where an object's bytes are: memory of the process, bytes we hold (a
 * register, DW_OP_stack_value, a constant), or nowhere (bad says why). */
struct src {
	bool mem;
	uint64_t addr;
	const uint8_t *bytes;
	size_t len;
	const char *bad;
};

struct lctx {
	struct fk_symbols *s;
	pid_t pid;
	Dwfl *dwfl;
	uint64_t at;   /* pc for lookups (pc-1 for a caller) */
	uint64_t bias; /* module load bias */
	const struct sym_regs *regs;
	bool has_cfa;
	uint64_t cfa;
	Dwarf_Die fn; /* the subprogram, for DW_AT_frame_base */
	bool has_fn;
	int fb_state; /* 0 not computed, 1 ok, -1 unavailable */
	uint64_t fb;
	size_t nodes;
	char why[160]; /* a reason with numbers, for src.bad (one per variable) */
};

static bool src_read(struct lctx *c, const struct src *s, uint64_t off, void *buf, size_t n)
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

static struct src src_at(const struct src *s, uint64_t off)
{
	struct src r = *s;
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

/* ------------------------------------------------------------------ */
/* DIE helpers                                                         */
/* ------------------------------------------------------------------ */

static bool die_ref(Dwarf_Die *die, unsigned at, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	return D->dwarf_attr_integrate(die, at, &a) && D->dwarf_formref_die(&a, out);
}

static bool die_udata(Dwarf_Die *die, unsigned at, uint64_t *out)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	if (!D->dwarf_attr_integrate(die, at, &a) || D->dwarf_formudata(&a, &v) != 0)
		return false;
	*out = v;
	return true;
}

static bool die_flag(Dwarf_Die *die, unsigned at)
{
	Dwarf_Attribute a;
	bool f = false;
	return D->dwarf_attr_integrate(die, at, &a) && D->dwarf_formflag(&a, &f) == 0 && f;
}

static bool die_size(Dwarf_Die *die, uint64_t *out)
{
	Dwarf_Word w;
	if (D->dwarf_aggregate_size(die, &w) == 0) {
		*out = w;
		return true;
	}
	return die_udata(die, DW_AT_byte_size, out);
}

static bool is_qualifier(int tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
	       tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type;
}

/* Drop typedefs and qualifiers. False: void (no DW_AT_type on the way). */
static bool peel(Dwarf_Die *type, Dwarf_Die *out)
{
	Dwarf_Die cur = *type;
	for (int i = 0; i < 64 && is_qualifier(D->dwarf_tag(&cur)); i++) {
		Dwarf_Die next;
		if (!die_ref(&cur, DW_AT_type, &next))
			return false;
		cur = next;
	}
	*out = cur;
	return true;
}

static bool is_char_type(Dwarf_Die *type)
{
	Dwarf_Die t;
	uint64_t enc = 0, size = 0;
	if (!peel(type, &t) || D->dwarf_tag(&t) != DW_TAG_base_type || !die_udata(&t, DW_AT_encoding, &enc) ||
	    !die_udata(&t, DW_AT_byte_size, &size) || size != 1)
		return false;
	if (enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char || enc == DW_ATE_UTF)
		return true;
	const char *n = D->dwarf_diename(&t);
	return n && strstr(n, "char");
}

/* ---- type names, C style ---- */

struct sb {
	char buf[256];
	size_t n;
};

static void sb_add(struct sb *b, const char *s)
{
	size_t l = strlen(s);
	if (b->n + l >= sizeof b->buf)
		l = sizeof b->buf - 1 - b->n;
	memcpy(b->buf + b->n, s, l);
	b->n += l;
	b->buf[b->n] = '\0';
}

/* Array dimensions of an array DIE: counts[0..*nd). -1: unknown. */
static int array_dims(Dwarf_Die *arr, int64_t *counts, int max)
{
	Dwarf_Die ch;
	int nd = 0;
	if (D->dwarf_child(arr, &ch) != 0)
		return 0;
	do {
		if (D->dwarf_tag(&ch) != DW_TAG_subrange_type || nd >= max)
			continue;
		uint64_t v;
		Dwarf_Attribute a;
		Dwarf_Sword sv;
		if (die_udata(&ch, DW_AT_count, &v)) {
			counts[nd] = (int64_t)v;
		} else if (D->dwarf_attr_integrate(&ch, DW_AT_upper_bound, &a)) {
			/* gcc writes -1 (sdata or all-ones data) for [] of unknown size */
			if (D->dwarf_formsdata(&a, &sv) == 0 && sv >= 0 && sv < INT32_MAX)
				counts[nd] = sv + 1;
			else
				counts[nd] = -1;
		} else {
			counts[nd] = -1;
		}
		nd++;
	} while (D->dwarf_siblingof(&ch, &ch) == 0);
	return nd;
}

/* prefix and suffix of a declarator: "int" + " *" / "int" + " [4]" */
static void type_name_rec(Dwarf_Die *type, struct sb *pre, struct sb *suf, int depth);

static void type_name_of_ref(Dwarf_Die *die, struct sb *pre, struct sb *suf, int depth)
{
	Dwarf_Die t;
	if (!die_ref(die, DW_AT_type, &t))
		sb_add(pre, "void");
	else
		type_name_rec(&t, pre, suf, depth + 1);
}

static void type_name_rec(Dwarf_Die *type, struct sb *pre, struct sb *suf, int depth)
{
	if (depth > 16) {
		sb_add(pre, "?");
		return;
	}
	int tag = D->dwarf_tag(type);
	const char *name = D->dwarf_diename(type);
	switch (tag) {
	case DW_TAG_base_type:
	case DW_TAG_typedef: sb_add(pre, name ? name : "?"); return;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		sb_add(pre, tag == DW_TAG_structure_type ? "struct " : tag == DW_TAG_union_type ? "union " : "enum ");
		sb_add(pre, name ? name : "{...}");
		return;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type: {
		const char *q = tag == DW_TAG_const_type      ? "const"
				: tag == DW_TAG_volatile_type ? "volatile"
				: tag == DW_TAG_restrict_type ? "restrict"
							      : "_Atomic";
		Dwarf_Die t, p;
		bool ptr = die_ref(type, DW_AT_type, &t) && peel(&t, &p) && D->dwarf_tag(&t) == DW_TAG_pointer_type;
		if (ptr) { /* char *const */
			type_name_of_ref(type, pre, suf, depth);
			sb_add(pre, " ");
			sb_add(pre, q);
		} else {
			sb_add(pre, q);
			sb_add(pre, " ");
			type_name_of_ref(type, pre, suf, depth);
		}
		return;
	}
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: {
		const char *star = tag == DW_TAG_pointer_type ? "*" : tag == DW_TAG_reference_type ? "&" : "&&";
		Dwarf_Die t;
		int tt = die_ref(type, DW_AT_type, &t) ? D->dwarf_tag(&t) : 0;
		if (tt == DW_TAG_subroutine_type || tt == DW_TAG_array_type) {
			struct sb inner = { 0 };
			type_name_of_ref(type, pre, &inner, depth);
			sb_add(pre, " (");
			sb_add(pre, star);
			char tmp[2 * sizeof suf->buf + 2];
			snprintf(tmp, sizeof tmp, ")%s%s", inner.buf, suf->buf);
			suf->n = 0;
			suf->buf[0] = '\0';
			sb_add(suf, tmp);
		} else {
			type_name_of_ref(type, pre, suf, depth);
			if (!(pre->n && pre->buf[pre->n - 1] == '*'))
				sb_add(pre, " ");
			sb_add(pre, star);
		}
		return;
	}
	case DW_TAG_array_type: {
		int64_t counts[8];
		int nd = array_dims(type, counts, 8);
		char tmp[256];
		size_t k = 0;
		tmp[0] = '\0';
		for (int i = 0; i < nd && k < sizeof tmp; i++) {
			int r = counts[i] >= 0 ? snprintf(tmp + k, sizeof tmp - k, "[%" PRId64 "]", counts[i])
					       : snprintf(tmp + k, sizeof tmp - k, "[]");
			if (r > 0)
				k += (size_t)r;
		}
		sb_add(suf, tmp);
		type_name_of_ref(type, pre, suf, depth);
		return;
	}
	case DW_TAG_subroutine_type: {
		type_name_of_ref(type, pre, suf, depth);
		struct sb params = { 0 };
		sb_add(&params, "(");
		Dwarf_Die ch;
		int np = 0;
		if (D->dwarf_child(type, &ch) == 0) {
			do {
				int t = D->dwarf_tag(&ch);
				if (t != DW_TAG_formal_parameter && t != DW_TAG_unspecified_parameters)
					continue;
				if (np++)
					sb_add(&params, ", ");
				if (t == DW_TAG_unspecified_parameters) {
					sb_add(&params, "...");
					continue;
				}
				struct sb ppre = { 0 }, psuf = { 0 };
				type_name_of_ref(&ch, &ppre, &psuf, depth + 4);
				sb_add(&params, ppre.buf);
				sb_add(&params, psuf.buf);
			} while (D->dwarf_siblingof(&ch, &ch) == 0);
		}
		if (np == 0 && die_flag(type, DW_AT_prototyped))
			sb_add(&params, "void");
		sb_add(&params, ")");
		sb_add(suf, params.buf);
		return;
	}
	default: sb_add(pre, name ? name : "?"); return;
	}
}

static char *type_name(Dwarf_Die *type)
{
	struct sb pre = { 0 }, suf = { 0 };
	if (!type)
		return xstrdup("void");
	type_name_rec(type, &pre, &suf, 0);
	if (suf.n && suf.buf[0] == '[' && !(pre.n && pre.buf[pre.n - 1] == '*'))
		return xprintf("%s %s", pre.buf, suf.buf);
	return xprintf("%s%s", pre.buf, suf.buf);
}

/* ------------------------------------------------------------------ */
/* locations                                                           */
/* ------------------------------------------------------------------ */

enum loc_kind {
	LOC_MEM,
	LOC_REG,
	LOC_VAL,
	LOC_BAD
};

struct loc {
	enum loc_kind kind;
	uint64_t addr;	   /* LOC_MEM */
	unsigned reg;	   /* LOC_REG */
	uint8_t bytes[16]; /* LOC_VAL */
	size_t nbytes;
	const char *bad; /* LOC_BAD */
};

static const char *reg_unavailable(struct lctx *c, unsigned reg)
{
	if (reg >= SYM_NREGS)
		snprintf(c->why, sizeof c->why, "<unavailable: in DWARF register %u (not read)>", reg);
	else
		snprintf(c->why, sizeof c->why, "<unavailable: DWARF register %u not recovered in this frame>", reg);
	return c->why;
}

static bool reg_get(struct lctx *c, unsigned reg, uint64_t *out)
{
	if (reg >= SYM_NREGS || !(c->regs->known & (1u << reg)))
		return false;
	*out = c->regs->v[reg];
	return true;
}

static bool frame_base(struct lctx *c, uint64_t *out);

static int eval(struct lctx *c, const Dwarf_Op *ops, size_t n, Dwarf_Attribute *attr, struct loc *out, int depth)
{
	uint64_t st[64];
	size_t sp = 0;
	memset(out, 0, sizeof *out);
	out->kind = LOC_BAD;
#define BAD(msg)                     \
	do {                         \
		out->kind = LOC_BAD; \
		out->bad = (msg);    \
		return -1;           \
	} while (0)
#define PUSH(v)                                                     \
	do {                                                        \
		if (sp >= 64)                                       \
			BAD("<unsupported: DWARF stack overflow>"); \
		uint64_t pv_ = (v);                                 \
		st[sp++] = pv_;                                     \
	} while (0)
#define NEED(k)                                                           \
	do {                                                              \
		if (sp < (k))                                             \
			BAD("<unsupported: malformed DWARF expression>"); \
	} while (0)
	if (n == 0)
		BAD("<optimized out>");
	for (size_t i = 0; i < n; i++) {
		const Dwarf_Op *op = &ops[i];
		uint8_t a = op->atom;
		bool last = i + 1 == n;
		if (a >= DW_OP_lit0 && a <= DW_OP_lit31) {
			PUSH((uint64_t)(a - DW_OP_lit0));
		} else if ((a >= DW_OP_reg0 && a <= DW_OP_reg31) || a == DW_OP_regx) {
			if (!last) {
				if (ops[i + 1].atom == DW_OP_piece)
					BAD("<unsupported: DW_OP_piece>");
				BAD("<unsupported: DWARF register location not at the end>");
			}
			out->kind = LOC_REG;
			out->reg = a == DW_OP_regx ? (unsigned)op->number : (unsigned)(a - DW_OP_reg0);
			return 0;
		} else if ((a >= DW_OP_breg0 && a <= DW_OP_breg31) || a == DW_OP_bregx) {
			unsigned r = a == DW_OP_bregx ? (unsigned)op->number : (unsigned)(a - DW_OP_breg0);
			uint64_t v;
			if (!reg_get(c, r, &v))
				BAD(reg_unavailable(c, r));
			PUSH(v + (a == DW_OP_bregx ? op->number2 : op->number));
		} else {
			switch (a) {
			case DW_OP_addr: PUSH(op->number + c->bias); break;
			case DW_OP_deref:
			case DW_OP_deref_size: {
				NEED(1);
				size_t sz = a == DW_OP_deref ? 8 : (size_t)op->number;
				uint64_t v = 0;
				if (sz > 8 || mem_read_exact(c->pid, st[sp - 1], &v, sz) < 0)
					BAD("<unavailable: DW_OP_deref of unreadable memory>");
				st[sp - 1] = v;
				break;
			}
			case DW_OP_constu:
			case DW_OP_consts: PUSH(op->number); break;
			case DW_OP_dup:
				NEED(1);
				PUSH(st[sp - 1]);
				break;
			case DW_OP_drop:
				NEED(1);
				sp--;
				break;
			case DW_OP_over:
				NEED(2);
				PUSH(st[sp - 2]);
				break;
			case DW_OP_swap: {
				NEED(2);
				uint64_t t = st[sp - 1];
				st[sp - 1] = st[sp - 2];
				st[sp - 2] = t;
				break;
			}
			case DW_OP_neg:
				NEED(1);
				st[sp - 1] = (uint64_t)-(int64_t)st[sp - 1];
				break;
			case DW_OP_not:
				NEED(1);
				st[sp - 1] = ~st[sp - 1];
				break;
			case DW_OP_plus_uconst:
				NEED(1);
				st[sp - 1] += op->number;
				break;
			case DW_OP_and:
			case DW_OP_minus:
			case DW_OP_mul:
			case DW_OP_or:
			case DW_OP_plus:
			case DW_OP_shl:
			case DW_OP_shr:
			case DW_OP_shra:
			case DW_OP_xor: {
				NEED(2);
				sp--;
				uint64_t y = st[sp], x = st[sp - 1], r;
				switch (a) {
				case DW_OP_and: r = x & y; break;
				case DW_OP_minus: r = x - y; break;
				case DW_OP_mul: r = x * y; break;
				case DW_OP_or: r = x | y; break;
				case DW_OP_plus: r = x + y; break;
				case DW_OP_shl: r = y >= 64 ? 0 : x << y; break;
				case DW_OP_shr: r = y >= 64 ? 0 : x >> y; break;
				case DW_OP_shra: r = (uint64_t)((int64_t)x >> (y >= 63 ? 63 : y)); break;
				default: r = x ^ y; break;
				}
				st[sp - 1] = r;
				break;
			}
			case DW_OP_nop: break;
			case DW_OP_fbreg: {
				uint64_t fb;
				if (depth > 0 || !frame_base(c, &fb))
					BAD("<unavailable: no frame base>");
				PUSH(fb + op->number);
				break;
			}
			case DW_OP_call_frame_cfa:
				if (!c->has_cfa)
					BAD("<unavailable: no CFA for this frame>");
				PUSH(c->cfa);
				break;
			case DW_OP_stack_value:
				NEED(1);
				if (!last && ops[i + 1].atom == DW_OP_piece)
					BAD("<unsupported: DW_OP_piece>");
				if (!last)
					BAD("<unsupported: DW_OP_stack_value not at the end>");
				out->kind = LOC_VAL;
				memcpy(out->bytes, &st[sp - 1], 8);
				out->nbytes = 8;
				return 0;
			case DW_OP_implicit_value: {
				Dwarf_Block b;
				if (!attr || D->dwarf_getlocation_implicit_value(attr, op, &b) != 0 ||
				    b.length > sizeof out->bytes)
					BAD("<unsupported: DW_OP_implicit_value>");
				if (!last)
					BAD("<unsupported: DW_OP_piece>");
				out->kind = LOC_VAL;
				memcpy(out->bytes, b.data, b.length);
				out->nbytes = b.length;
				return 0;
			}
			case DW_OP_piece: BAD("<unsupported: DW_OP_piece>");
			case DW_OP_entry_value:
			case DW_OP_GNU_entry_value:
			case DW_OP_GNU_parameter_ref: BAD("<optimized out>");
			case DW_OP_implicit_pointer:
			case DW_OP_GNU_implicit_pointer: BAD("<unsupported: implicit pointer>");
			default:
				if (a >= DW_OP_const1u && a <= DW_OP_const8s) {
					PUSH(op->number);
					break;
				}
				snprintf(c->why, sizeof c->why, "<unsupported: DWARF operation 0x%02x>", a);
				BAD(c->why);
			}
		}
	}
	if (sp == 0)
		BAD("<optimized out>");
	out->kind = LOC_MEM;
	out->addr = st[sp - 1];
	return 0;
#undef BAD
#undef PUSH
#undef NEED
}

/* The value of the function's DW_AT_frame_base at this pc (usually
 * DW_OP_call_frame_cfa). */
static bool frame_base(struct lctx *c, uint64_t *out)
{
	if (c->fb_state == 0) {
		c->fb_state = -1;
		Dwarf_Attribute a;
		Dwarf_Op *ops;
		size_t nops;
		struct loc l;
		if (c->has_fn && D->dwarf_attr_integrate(&c->fn, DW_AT_frame_base, &a) &&
		    D->dwarf_getlocation_addr(&a, c->at, &ops, &nops, 1) == 1 && eval(c, ops, nops, &a, &l, 1) == 0) {
			if (l.kind == LOC_MEM) {
				c->fb = l.addr;
				c->fb_state = 1;
			} else if (l.kind == LOC_REG && reg_get(c, l.reg, &c->fb)) {
				c->fb_state = 1;
			}
		}
	}
	*out = c->fb;
	return c->fb_state == 1;
}

/* Where a variable is at this pc; bytes (16) holds register or implicit
 * values the returned src points to. */
static struct src var_src(struct lctx *c, Dwarf_Die *var, uint8_t *bytes)
{
	struct src s = { 0 };
	Dwarf_Attribute a;
	if (!D->dwarf_attr_integrate(var, DW_AT_location, &a)) {
		if (!D->dwarf_attr_integrate(var, DW_AT_const_value, &a)) {
			s.bad = "<optimized out>";
			return s;
		}
		unsigned form = D->dwarf_whatform(&a);
		Dwarf_Block b;
		if (form == DW_FORM_block || form == DW_FORM_block1 || form == DW_FORM_block2 ||
		    form == DW_FORM_block4 || form == DW_FORM_data16) {
			if (D->dwarf_formblock(&a, &b) != 0 || b.length > 16) {
				s.bad = "<unsupported: DW_AT_const_value>";
				return s;
			}
			memcpy(bytes, b.data, b.length);
			s.bytes = bytes;
			s.len = b.length;
			return s;
		}
		uint64_t v = 0;
		Dwarf_Sword sv;
		Dwarf_Word uv;
		if ((form == DW_FORM_sdata || form == DW_FORM_implicit_const) && D->dwarf_formsdata(&a, &sv) == 0)
			v = (uint64_t)sv;
		else if (D->dwarf_formudata(&a, &uv) == 0)
			v = uv;
		else {
			s.bad = "<unsupported: DW_AT_const_value>";
			return s;
		}
		memcpy(bytes, &v, 8);
		s.bytes = bytes;
		s.len = 8;
		return s;
	}
	Dwarf_Op *ops;
	size_t nops;
	int n = D->dwarf_getlocation_addr(&a, c->at, &ops, &nops, 1);
	if (n < 0) {
		snprintf(c->why, sizeof c->why, "<unsupported: %s>", D->dwarf_errmsg(-1));
		s.bad = c->why;
		return s;
	}
	if (n == 0) {
		s.bad = "<optimized out>";
		return s;
	}
	struct loc l;
	if (eval(c, ops, nops, &a, &l, 0) < 0) {
		s.bad = l.bad;
		return s;
	}
	switch (l.kind) {
	case LOC_MEM:
		s.mem = true;
		s.addr = l.addr;
		break;
	case LOC_REG: {
		uint64_t v;
		if (!reg_get(c, l.reg, &v)) {
			s.bad = reg_unavailable(c, l.reg);
			break;
		}
		memcpy(bytes, &v, 8);
		s.bytes = bytes;
		s.len = 8;
		break;
	}
	case LOC_VAL:
		memcpy(bytes, l.bytes, l.nbytes);
		s.bytes = bytes;
		s.len = l.nbytes;
		break;
	default: s.bad = l.bad ? l.bad : "<unsupported>";
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* values                                                              */
/* ------------------------------------------------------------------ */

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

static char *fmt_base(Dwarf_Die *t, const uint8_t *raw, size_t size)
{
	uint64_t enc = 0;
	die_udata(t, DW_AT_encoding, &enc);
	uint64_t v = 0;
	if (size <= 8)
		memcpy(&v, raw, size);
	char buf[80];
	switch (enc) {
	case DW_ATE_boolean:
		if (size > 8)
			break;
		return xstrdup(v == 0 ? "false" : v == 1 ? "true" : "true (nonzero)");
	case DW_ATE_float:
		if (size == 4) {
			float f;
			memcpy(&f, raw, 4);
			fmt_float(buf, sizeof buf, f);
			return xstrdup(buf);
		}
		if (size == 8) {
			double d;
			memcpy(&d, raw, 8);
			fmt_double(buf, sizeof buf, d);
			return xstrdup(buf);
		}
		if (size == 16 || size == 10 || size == 12) { /* x87 long double (the host is x86-64 too) */
			long double ld = 0;
			memcpy(&ld, raw, 10);
			snprintf(buf, sizeof buf, "%.21Lg", ld);
			return xstrdup(buf);
		}
		break;
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

static void build(struct lctx *c, struct lvar *v, Dwarf_Die *type, const struct src *s, int depth);

static struct lvar *kids_alloc(struct lctx *c, struct lvar *v, size_t n)
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

static void build_members(struct lctx *c, struct lvar *v, Dwarf_Die *st, const struct src *s, int depth,
			  const char *sep)
{
	Dwarf_Die ch;
	size_t n = 0;
	if (D->dwarf_child(st, &ch) == 0) {
		do {
			if (D->dwarf_tag(&ch) == DW_TAG_member)
				n++;
		} while (D->dwarf_siblingof(&ch, &ch) == 0);
	}
	if (n == 0 || D->dwarf_child(st, &ch) != 0 || !kids_alloc(c, v, n))
		return;
	do {
		if (D->dwarf_tag(&ch) != DW_TAG_member)
			continue;
		struct lvar *k = &v->kids[v->nkids++];
		const char *nm = D->dwarf_diename(&ch);
		k->name = xstrdup(nm ? nm : "<anonymous>");
		k->kind = "member";
		k->expr = nm ? xprintf("%s%s%s", v->expr ? v->expr : "", sep, nm) : NULL;
		Dwarf_Die mt;
		bool has_t = die_ref(&ch, DW_AT_type, &mt);
		uint64_t off = 0, bits = 0, bitoff = 0;
		Dwarf_Attribute a;
		bool ok_off = !D->dwarf_attr_integrate(&ch, DW_AT_data_member_location, &a) ||
			      D->dwarf_formudata(&a, &off) == 0;
		struct src ms = src_at(s, off);
		if (!ok_off)
			ms.bad = "<unsupported: member location expression>";
		if (die_udata(&ch, DW_AT_bit_size, &bits) && bits > 0) {
			/* a bit-field: DWARF 4+ DW_AT_data_bit_offset from the struct start */
			k->type = has_t ? type_name(&mt) : xstrdup("int");
			uint64_t dbo = 0;
			if (!die_udata(&ch, DW_AT_data_bit_offset, &dbo) && die_udata(&ch, DW_AT_bit_offset, &bitoff)) {
				k->value = xstrdup("<unsupported: DWARF 2 bit-field>");
				continue;
			}
			dbo += off * 8;
			uint64_t byte = dbo / 8, shift = dbo % 8, raw = 0;
			size_t nb = (size_t)((shift + bits + 7) / 8);
			Dwarf_Die pt;
			uint64_t enc = 0;
			if (bits > 56 || nb > 8 || !src_read(c, s, byte, &raw, nb)) {
				k->value = xstrdup(s->bad ? s->bad : "<unreadable>");
				continue;
			}
			uint64_t val = (raw >> shift) & ((1ull << bits) - 1);
			bool sign = has_t && peel(&mt, &pt) && die_udata(&pt, DW_AT_encoding, &enc) &&
				    (enc == DW_ATE_signed || enc == DW_ATE_signed_char);
			if (sign && (val >> (bits - 1)) & 1)
				k->value = xprintf("%" PRId64, (int64_t)(val | ~((1ull << bits) - 1)));
			else
				k->value = xprintf("%" PRIu64, val);
			continue;
		}
		build(c, k, has_t ? &mt : NULL, &ms, depth + 1);
	} while (D->dwarf_siblingof(&ch, &ch) == 0 && v->nkids < n);
}

/* Dimension dim.. of an array of elem (nd dims). */
static void build_array(struct lctx *c, struct lvar *v, Dwarf_Die *elem, const int64_t *counts, int nd,
			const struct src *s, int depth)
{
	uint64_t esz = 0;
	if (!die_size(elem, &esz))
		esz = 0;
	for (int i = 1; i < nd; i++)
		esz *= counts[i] > 0 ? (uint64_t)counts[i] : 0;
	int64_t cnt = counts[0];
	if (nd == 1 && is_char_type(elem) && cnt > 0) {
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
			struct src es = src_at(s, i * esz);
			if (nd > 1) {
				struct sb pre = { 0 }, suf = { 0 };
				type_name_rec(elem, &pre, &suf, 0);
				char dims[128];
				size_t dl = 0;
				dims[0] = '\0';
				for (int d = 1; d < nd && dl < sizeof dims; d++) {
					int r = snprintf(dims + dl, sizeof dims - dl, "[%" PRId64 "]", counts[d]);
					if (r > 0)
						dl += (size_t)r;
				}
				k->type = xprintf("%s%s %s", pre.buf, suf.buf, dims);
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
static void build(struct lctx *c, struct lvar *v, Dwarf_Die *type, const struct src *s, int depth)
{
	if (!v->type)
		v->type = type_name(type);
	if (s->mem) {
		v->has_addr = true;
		v->addr = s->addr;
	}
	Dwarf_Die t;
	if (!type || !peel(type, &t)) {
		v->value = xstrdup(s->bad ? s->bad : "<void>");
		return;
	}
	if (s->bad) {
		v->value = xstrdup(s->bad);
		return;
	}
	int tag = D->dwarf_tag(&t);
	uint64_t size = 0;
	die_size(&t, &size);
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
	case DW_TAG_base_type: v->value = fmt_base(&t, raw, (size_t)size); return;
	case DW_TAG_enumeration_type: {
		uint64_t u = 0;
		memcpy(&u, raw, size > 8 ? 8 : (size_t)size);
		Dwarf_Die ut, ch;
		uint64_t enc = 0;
		bool sign = die_ref(&t, DW_AT_type, &ut) && peel(&ut, &ut) && die_udata(&ut, DW_AT_encoding, &enc) &&
			    (enc == DW_ATE_signed || enc == DW_ATE_signed_char);
		uint64_t val = sign ? sext(u, (size_t)size) : u;
		if (D->dwarf_child(&t, &ch) == 0) {
			do {
				Dwarf_Attribute a;
				Dwarf_Sword sv;
				Dwarf_Word uv;
				if (D->dwarf_tag(&ch) != DW_TAG_enumerator ||
				    !D->dwarf_attr_integrate(&ch, DW_AT_const_value, &a))
					continue;
				uint64_t ev;
				unsigned form = D->dwarf_whatform(&a);
				if ((form == DW_FORM_sdata || form == DW_FORM_implicit_const) &&
				    D->dwarf_formsdata(&a, &sv) == 0)
					ev = (uint64_t)sv;
				else if (D->dwarf_formudata(&a, &uv) == 0)
					ev = sign ? sext(uv, (size_t)size) : uv;
				else
					continue;
				if (sign ? ev == val
					 : (ev & (size >= 8 ? UINT64_MAX : (1ull << size * 8) - 1)) == val) {
					v->value = xstrdup(D->dwarf_diename(&ch));
					return;
				}
			} while (D->dwarf_siblingof(&ch, &ch) == 0);
		}
		v->value = sign ? xprintf("%" PRId64, (int64_t)val) : xprintf("%" PRIu64, val);
		return;
	}
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: {
		uint64_t p = 0;
		memcpy(&p, raw, size > 8 ? 8 : (size_t)size);
		v->has_ptr = true;
		v->ptr = p;
		Dwarf_Die pt, pp;
		bool has_pt = die_ref(&t, DW_AT_type, &pt);
		bool is_void = !has_pt || !peel(&pt, &pp);
		int ptag = is_void ? 0 : D->dwarf_tag(&pp);
		if (ptag == DW_TAG_subroutine_type) {
			struct sym_info si;
			if (p && sym_describe(c->s, p, false, &si) == 0 && si.has_function && si.offset == 0)
				v->value = xprintf("0x%" PRIx64 " <%s>", p, si.function);
			else
				v->value = xprintf("0x%" PRIx64, p);
			return;
		}
		if (!is_void && is_char_type(&pt) && tag == DW_TAG_pointer_type) {
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
		struct src ps = { .mem = true, .addr = p };
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
		int nd = array_dims(&t, counts, 8);
		Dwarf_Die et;
		if (nd == 0 || !die_ref(&t, DW_AT_type, &et)) {
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

/* ------------------------------------------------------------------ */
/* output                                                              */
/* ------------------------------------------------------------------ */

static void lvar_json(struct jw *w, const struct lvar *v)
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
	jw_key(w, "children");
	if (v->has_children) {
		jw_arr_begin(w);
		for (size_t i = 0; i < v->nkids; i++)
			lvar_json(w, &v->kids[i]);
		jw_arr_end(w);
	} else {
		jw_null(w);
	}
	jw_obj_end(w);
}

/* The CFA of the frame from CFI (when the unwinder gave no caller). */
static bool cfa_from_cfi(struct lctx *c, uint64_t pc)
{
	Dwfl_Module *mod = D->dwfl_addrmodule(c->dwfl, pc);
	if (!mod)
		return false;
	Dwarf_CFI *(*getters[2])(Dwfl_Module *, Dwarf_Addr *) = { D->dwfl_module_eh_cfi, D->dwfl_module_dwarf_cfi };
	for (int g = 0; g < 2; g++) {
		Dwarf_Addr bias;
		Dwarf_CFI *cfi = getters[g](mod, &bias);
		Dwarf_Frame *frame = NULL;
		if (!cfi || D->dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0 || !frame)
			continue;
		Dwarf_Op *ops;
		size_t nops;
		struct loc l;
		bool ok = D->dwarf_frame_cfa(frame, &ops, &nops) == 0 && eval(c, ops, nops, NULL, &l, 1) == 0 &&
			  l.kind == LOC_MEM;
		free(frame);
		if (ok) {
			c->cfa = l.addr;
			return true;
		}
	}
	return false;
}

static bool wanted_var(Dwarf_Die *d)
{
	int tag = D->dwarf_tag(d);
	return (tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) && !die_flag(d, DW_AT_declaration) &&
	       !die_flag(d, DW_AT_artificial) && D->dwarf_diename(d);
}

static void vars_of_scope(struct lctx *c, Dwarf_Die *scope, struct lvar **vars, size_t *n, size_t *cap)
{
	Dwarf_Die ch;
	if (D->dwarf_child(scope, &ch) != 0)
		return;
	do {
		if (!wanted_var(&ch))
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct lvar *p = realloc(*vars, nc * sizeof *p);
			if (!p)
				return;
			*vars = p;
			*cap = nc;
		}
		struct lvar *v = &(*vars)[(*n)++];
		memset(v, 0, sizeof *v);
		const char *nm = D->dwarf_diename(&ch);
		v->name = xstrdup(nm);
		v->expr = xstrdup(nm);
		v->kind = D->dwarf_tag(&ch) == DW_TAG_formal_parameter ? "param" : "local";
		c->nodes++;
		uint8_t bytes[16];
		struct src s = var_src(c, &ch, bytes);
		Dwarf_Die t;
		bool has_t = die_ref(&ch, DW_AT_type, &t);
		build(c, v, has_t ? &t : NULL, &s, 0);
	} while (D->dwarf_siblingof(&ch, &ch) == 0);
}

static void no_vars(struct jw *w, const char *fn, const char *note)
{
	jw_key(w, "function");
	if (fn)
		jw_str(w, fn);
	else
		jw_null(w);
	jw_kstr(w, "note", note);
	jw_key(w, "variables");
	jw_arr_begin(w);
	jw_arr_end(w);
}

int locals_json(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
		const struct sym_regs *regs, struct jw *w, struct fk_err *err)
{
	if (!s || !frames || !regs || index < 0 || index >= n)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "locals", "bad frame %d of %d", index, n);
	char note[256];
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl) {
		snprintf(note, sizeof note, "no DWARF reader: %s", sym_note(s) ? sym_note(s) : "libdw is not in use");
		no_vars(w, NULL, note);
		return 0;
	}
	const struct sym_frame *f = &frames[index];
	struct lctx c = { .s = s, .pid = pid, .dwfl = dwfl, .regs = regs };
	uint64_t pc = f->activation || f->pc == 0 ? f->pc : f->pc - 1;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = D->dwfl_addrdie(dwfl, pc, &bias);
	if (!cu) {
		snprintf(note, sizeof note, "no DWARF debug information at 0x%" PRIx64, f->pc);
		no_vars(w, NULL, note);
		return 0;
	}
	c.bias = bias;
	c.at = pc - bias;
	Dwarf_Die *scopes = NULL;
	int ns = D->dwarf_getscopes(cu, c.at, &scopes);
	int fi = -1; /* the innermost function-like scope */
	for (int i = 0; i < ns; i++) {
		int tag = D->dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			fi = i;
			break;
		}
	}
	if (fi < 0) {
		free(scopes);
		snprintf(note, sizeof note, "no DWARF function at 0x%" PRIx64, f->pc);
		no_vars(w, NULL, note);
		return 0;
	}
	/* the frame base is the out-of-line function's (inlined code uses it) */
	for (int i = fi; i < ns && !c.has_fn; i++) {
		if (D->dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			c.fn = scopes[i];
			c.has_fn = true;
		}
	}
	if (!c.has_fn) { /* inlined: dwarf_getscopes went on in the abstract origin */
		Dwarf_Die ch;
		if (D->dwarf_child(cu, &ch) == 0) {
			do {
				if (D->dwarf_tag(&ch) == DW_TAG_subprogram && D->dwarf_haspc(&ch, c.at) > 0) {
					c.fn = ch;
					c.has_fn = true;
					break;
				}
			} while (D->dwarf_siblingof(&ch, &ch) == 0);
		}
	}
	/* the CFA: the caller's sp after the return (the unwinder's), else CFI */
	if (index + 1 < n && frames[index + 1].sp) {
		c.cfa = frames[index + 1].sp;
		c.has_cfa = true;
	} else {
		c.has_cfa = cfa_from_cfi(&c, pc);
	}
	struct lvar *vars = NULL;
	size_t nv = 0, cap = 0;
	for (int i = 0; i <= fi; i++)
		vars_of_scope(&c, &scopes[i], &vars, &nv, &cap);
	const char *fname = D->dwarf_diename(&scopes[fi]);
	jw_key(w, "function");
	if (fname)
		jw_str(w, fname);
	else
		jw_null(w);
	jw_key(w, "note");
	jw_null(w);
	jw_key(w, "variables");
	jw_arr_begin(w);
	for (size_t i = 0; i < nv; i++) {
		lvar_json(w, &vars[i]);
		lvar_free(&vars[i]);
	}
	jw_arr_end(w);
	free(vars);
	free(scopes);
	return 0;
}

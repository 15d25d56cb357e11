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

/* ------------------------------------------------------------------ */
/* libdw ABI (libdw.h, dwarf.h)                                        */
/* ------------------------------------------------------------------ */

typedef uint64_t Dwarf_Addr;
typedef uint64_t Dwarf_Word;
typedef int64_t Dwarf_Sword;

typedef struct {
	void *addr;
	void *cu;
	void *abbrev;
	long int padding__;
} Dwarf_Die;

typedef struct {
	unsigned int code;
	unsigned int form;
	unsigned char *valp;
	void *cu;
} Dwarf_Attribute;

typedef struct {
	uint8_t atom;
	Dwarf_Word number;
	Dwarf_Word number2;
	Dwarf_Word offset;
} Dwarf_Op;

typedef struct {
	Dwarf_Word length;
	unsigned char *data;
} Dwarf_Block;

struct ldw {
	Dwarf_Die *(*addrdie)(void *dwfl, Dwarf_Addr, Dwarf_Addr *bias);
	int (*getscopes)(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes);
	int (*tag)(Dwarf_Die *);
	const char *(*diename)(Dwarf_Die *);
	int (*child)(Dwarf_Die *, Dwarf_Die *);
	int (*siblingof)(Dwarf_Die *, Dwarf_Die *);
	int (*haspc)(Dwarf_Die *, Dwarf_Addr);
	Dwarf_Attribute *(*attr_integrate)(Dwarf_Die *, unsigned, Dwarf_Attribute *);
	int (*hasattr_integrate)(Dwarf_Die *, unsigned);
	Dwarf_Die *(*formref_die)(Dwarf_Attribute *, Dwarf_Die *);
	int (*formudata)(Dwarf_Attribute *, Dwarf_Word *);
	int (*formsdata)(Dwarf_Attribute *, Dwarf_Sword *);
	int (*formflag)(Dwarf_Attribute *, bool *);
	int (*formblock)(Dwarf_Attribute *, Dwarf_Block *);
	unsigned (*whatform)(Dwarf_Attribute *);
	int (*getlocation_addr)(Dwarf_Attribute *, Dwarf_Addr, Dwarf_Op **, size_t *, size_t);
	int (*getlocation_implicit_value)(Dwarf_Attribute *, const Dwarf_Op *, Dwarf_Block *);
	int (*aggregate_size)(Dwarf_Die *, Dwarf_Word *);
	const char *(*errmsg)(int);
	/* the CFA from CFI when the unwinder has no caller frame */
	void *(*addrmodule)(void *dwfl, Dwarf_Addr);
	void *(*module_eh_cfi)(void *mod, Dwarf_Addr *bias);
	void *(*module_dwarf_cfi)(void *mod, Dwarf_Addr *bias);
	int (*cfi_addrframe)(void *cfi, Dwarf_Addr, void **frame);
	int (*frame_cfa)(void *frame, Dwarf_Op **ops, size_t *nops);
};

static const struct {
	const char *name;
	size_t off;
} ldw_syms[] = {
#define S(field, sym) { sym, offsetof(struct ldw, field) }
	S(addrdie, "dwfl_addrdie"),
	S(getscopes, "dwarf_getscopes"),
	S(tag, "dwarf_tag"),
	S(diename, "dwarf_diename"),
	S(child, "dwarf_child"),
	S(siblingof, "dwarf_siblingof"),
	S(haspc, "dwarf_haspc"),
	S(attr_integrate, "dwarf_attr_integrate"),
	S(hasattr_integrate, "dwarf_hasattr_integrate"),
	S(formref_die, "dwarf_formref_die"),
	S(formudata, "dwarf_formudata"),
	S(formsdata, "dwarf_formsdata"),
	S(formflag, "dwarf_formflag"),
	S(formblock, "dwarf_formblock"),
	S(whatform, "dwarf_whatform"),
	S(getlocation_addr, "dwarf_getlocation_addr"),
	S(getlocation_implicit_value, "dwarf_getlocation_implicit_value"),
	S(aggregate_size, "dwarf_aggregate_size"),
	S(errmsg, "dwarf_errmsg"),
	S(addrmodule, "dwfl_addrmodule"),
	S(module_eh_cfi, "dwfl_module_eh_cfi"),
	S(module_dwarf_cfi, "dwfl_module_dwarf_cfi"),
	S(cfi_addrframe, "dwarf_cfi_addrframe"),
	S(frame_cfa, "dwarf_frame_cfa"),
#undef S
};

static struct {
	pthread_once_t once;
	struct ldw api;
	bool ok;
	const char *missing;
} L = { .once = PTHREAD_ONCE_INIT };

static void ldw_load(void)
{
	for (size_t i = 0; i < sizeof ldw_syms / sizeof ldw_syms[0]; i++) {
		void *p = sym_libdw(ldw_syms[i].name);
		if (!p) {
			L.missing = ldw_syms[i].name;
			return;
		}
		memcpy((char *)&L.api + ldw_syms[i].off, &p, sizeof p);
	}
	L.ok = true;
}

/* dwarf.h */
enum {
	TAG_array = 0x01,
	TAG_enumeration = 0x04,
	TAG_formal_parameter = 0x05,
	TAG_lexical_block = 0x0b,
	TAG_member = 0x0d,
	TAG_pointer = 0x0f,
	TAG_unspecified_parameters = 0x18,
	TAG_reference = 0x10,
	TAG_structure = 0x13,
	TAG_subroutine_type = 0x15,
	TAG_typedef = 0x16,
	TAG_union = 0x17,
	TAG_inlined_subroutine = 0x1d,
	TAG_subrange = 0x21,
	TAG_base = 0x24,
	TAG_const = 0x26,
	TAG_enumerator = 0x28,
	TAG_subprogram = 0x2e,
	TAG_variable = 0x34,
	TAG_volatile = 0x35,
	TAG_restrict = 0x37,
	TAG_rvalue_reference = 0x42,
	TAG_atomic = 0x47,
};
enum {
	AT_location = 0x02,
	AT_name = 0x03,
	AT_byte_size = 0x0b,
	AT_bit_offset = 0x0c,
	AT_bit_size = 0x0d,
	AT_const_value = 0x1c,
	AT_prototyped = 0x27,
	AT_upper_bound = 0x2f,
	AT_artificial = 0x34,
	AT_count = 0x37,
	AT_data_member_location = 0x38,
	AT_declaration = 0x3c,
	AT_encoding = 0x3e,
	AT_frame_base = 0x40,
	AT_type = 0x49,
	AT_data_bit_offset = 0x6b,
};
enum {
	ATE_boolean = 0x02,
	ATE_float = 0x04,
	ATE_signed = 0x05,
	ATE_signed_char = 0x06,
	ATE_unsigned = 0x07,
	ATE_unsigned_char = 0x08,
	ATE_UTF = 0x10,
};
enum {
	FORM_block2 = 0x03,
	FORM_block4 = 0x04,
	FORM_data2 = 0x05,
	FORM_data4 = 0x06,
	FORM_data8 = 0x07,
	FORM_block = 0x09,
	FORM_block1 = 0x0a,
	FORM_data1 = 0x0b,
	FORM_sdata = 0x0d,
	FORM_udata = 0x0f,
	FORM_data16 = 0x1e,
	FORM_implicit_const = 0x21,
};
enum {
	OP_addr = 0x03,
	OP_deref = 0x06,
	OP_const1u = 0x08,
	OP_const8s = 0x0f,
	OP_constu = 0x10,
	OP_consts = 0x11,
	OP_dup = 0x12,
	OP_drop = 0x13,
	OP_over = 0x14,
	OP_swap = 0x16,
	OP_and = 0x1a,
	OP_minus = 0x1c,
	OP_mul = 0x1e,
	OP_neg = 0x1f,
	OP_not = 0x20,
	OP_or = 0x21,
	OP_plus = 0x22,
	OP_plus_uconst = 0x23,
	OP_shl = 0x24,
	OP_shr = 0x25,
	OP_shra = 0x26,
	OP_xor = 0x27,
	OP_lit0 = 0x30,
	OP_lit31 = 0x4f,
	OP_reg0 = 0x50,
	OP_reg31 = 0x6f,
	OP_breg0 = 0x70,
	OP_breg31 = 0x8f,
	OP_regx = 0x90,
	OP_fbreg = 0x91,
	OP_bregx = 0x92,
	OP_piece = 0x93,
	OP_deref_size = 0x94,
	OP_nop = 0x96,
	OP_call_frame_cfa = 0x9c,
	OP_implicit_value = 0x9e,
	OP_stack_value = 0x9f,
	OP_implicit_pointer = 0xa0,
	OP_entry_value = 0xa3,
	OP_GNU_implicit_pointer = 0xf2,
	OP_GNU_entry_value = 0xf3,
	OP_GNU_parameter_ref = 0xfa,
};

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
	void *dwfl;
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
	return L.api.attr_integrate(die, at, &a) && L.api.formref_die(&a, out);
}

static bool die_udata(Dwarf_Die *die, unsigned at, uint64_t *out)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	if (!L.api.attr_integrate(die, at, &a) || L.api.formudata(&a, &v) != 0)
		return false;
	*out = v;
	return true;
}

static bool die_flag(Dwarf_Die *die, unsigned at)
{
	Dwarf_Attribute a;
	bool f = false;
	return L.api.attr_integrate(die, at, &a) && L.api.formflag(&a, &f) == 0 && f;
}

static bool die_size(Dwarf_Die *die, uint64_t *out)
{
	Dwarf_Word w;
	if (L.api.aggregate_size(die, &w) == 0) {
		*out = w;
		return true;
	}
	return die_udata(die, AT_byte_size, out);
}

static bool is_qualifier(int tag)
{
	return tag == TAG_typedef || tag == TAG_const || tag == TAG_volatile || tag == TAG_restrict ||
	       tag == TAG_atomic;
}

/* Drop typedefs and qualifiers. False: void (no DW_AT_type on the way). */
static bool peel(Dwarf_Die *type, Dwarf_Die *out)
{
	Dwarf_Die cur = *type;
	for (int i = 0; i < 64 && is_qualifier(L.api.tag(&cur)); i++) {
		Dwarf_Die next;
		if (!die_ref(&cur, AT_type, &next))
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
	if (!peel(type, &t) || L.api.tag(&t) != TAG_base || !die_udata(&t, AT_encoding, &enc) ||
	    !die_udata(&t, AT_byte_size, &size) || size != 1)
		return false;
	if (enc == ATE_signed_char || enc == ATE_unsigned_char || enc == ATE_UTF)
		return true;
	const char *n = L.api.diename(&t);
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
	if (L.api.child(arr, &ch) != 0)
		return 0;
	do {
		if (L.api.tag(&ch) != TAG_subrange || nd >= max)
			continue;
		uint64_t v;
		Dwarf_Attribute a;
		Dwarf_Sword sv;
		if (die_udata(&ch, AT_count, &v)) {
			counts[nd] = (int64_t)v;
		} else if (L.api.attr_integrate(&ch, AT_upper_bound, &a)) {
			/* gcc writes -1 (sdata or all-ones data) for [] of unknown size */
			if (L.api.formsdata(&a, &sv) == 0 && sv >= 0 && sv < INT32_MAX)
				counts[nd] = sv + 1;
			else
				counts[nd] = -1;
		} else {
			counts[nd] = -1;
		}
		nd++;
	} while (L.api.siblingof(&ch, &ch) == 0);
	return nd;
}

/* prefix and suffix of a declarator: "int" + " *" / "int" + " [4]" */
static void type_name_rec(Dwarf_Die *type, struct sb *pre, struct sb *suf, int depth);

static void type_name_of_ref(Dwarf_Die *die, struct sb *pre, struct sb *suf, int depth)
{
	Dwarf_Die t;
	if (!die_ref(die, AT_type, &t))
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
	int tag = L.api.tag(type);
	const char *name = L.api.diename(type);
	switch (tag) {
	case TAG_base:
	case TAG_typedef: sb_add(pre, name ? name : "?"); return;
	case TAG_structure:
	case TAG_union:
	case TAG_enumeration:
		sb_add(pre, tag == TAG_structure ? "struct " : tag == TAG_union ? "union " : "enum ");
		sb_add(pre, name ? name : "{...}");
		return;
	case TAG_const:
	case TAG_volatile:
	case TAG_restrict:
	case TAG_atomic: {
		const char *q = tag == TAG_const      ? "const"
				: tag == TAG_volatile ? "volatile"
				: tag == TAG_restrict ? "restrict"
						      : "_Atomic";
		Dwarf_Die t, p;
		bool ptr = die_ref(type, AT_type, &t) && peel(&t, &p) && L.api.tag(&t) == TAG_pointer;
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
	case TAG_pointer:
	case TAG_reference:
	case TAG_rvalue_reference: {
		const char *star = tag == TAG_pointer ? "*" : tag == TAG_reference ? "&" : "&&";
		Dwarf_Die t;
		int tt = die_ref(type, AT_type, &t) ? L.api.tag(&t) : 0;
		if (tt == TAG_subroutine_type || tt == TAG_array) {
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
	case TAG_array: {
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
	case TAG_subroutine_type: {
		type_name_of_ref(type, pre, suf, depth);
		struct sb params = { 0 };
		sb_add(&params, "(");
		Dwarf_Die ch;
		int np = 0;
		if (L.api.child(type, &ch) == 0) {
			do {
				int t = L.api.tag(&ch);
				if (t != TAG_formal_parameter && t != TAG_unspecified_parameters)
					continue;
				if (np++)
					sb_add(&params, ", ");
				if (t == TAG_unspecified_parameters) {
					sb_add(&params, "...");
					continue;
				}
				struct sb ppre = { 0 }, psuf = { 0 };
				type_name_of_ref(&ch, &ppre, &psuf, depth + 4);
				sb_add(&params, ppre.buf);
				sb_add(&params, psuf.buf);
			} while (L.api.siblingof(&ch, &ch) == 0);
		}
		if (np == 0 && die_flag(type, AT_prototyped))
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
		if (a >= OP_lit0 && a <= OP_lit31) {
			PUSH((uint64_t)(a - OP_lit0));
		} else if ((a >= OP_reg0 && a <= OP_reg31) || a == OP_regx) {
			if (!last) {
				if (ops[i + 1].atom == OP_piece)
					BAD("<unsupported: DW_OP_piece>");
				BAD("<unsupported: DWARF register location not at the end>");
			}
			out->kind = LOC_REG;
			out->reg = a == OP_regx ? (unsigned)op->number : (unsigned)(a - OP_reg0);
			return 0;
		} else if ((a >= OP_breg0 && a <= OP_breg31) || a == OP_bregx) {
			unsigned r = a == OP_bregx ? (unsigned)op->number : (unsigned)(a - OP_breg0);
			uint64_t v;
			if (!reg_get(c, r, &v))
				BAD(reg_unavailable(c, r));
			PUSH(v + (a == OP_bregx ? op->number2 : op->number));
		} else {
			switch (a) {
			case OP_addr: PUSH(op->number + c->bias); break;
			case OP_deref:
			case OP_deref_size: {
				NEED(1);
				size_t sz = a == OP_deref ? 8 : (size_t)op->number;
				uint64_t v = 0;
				if (sz > 8 || mem_read_exact(c->pid, st[sp - 1], &v, sz) < 0)
					BAD("<unavailable: DW_OP_deref of unreadable memory>");
				st[sp - 1] = v;
				break;
			}
			case OP_constu:
			case OP_consts: PUSH(op->number); break;
			case OP_dup:
				NEED(1);
				PUSH(st[sp - 1]);
				break;
			case OP_drop:
				NEED(1);
				sp--;
				break;
			case OP_over:
				NEED(2);
				PUSH(st[sp - 2]);
				break;
			case OP_swap: {
				NEED(2);
				uint64_t t = st[sp - 1];
				st[sp - 1] = st[sp - 2];
				st[sp - 2] = t;
				break;
			}
			case OP_neg:
				NEED(1);
				st[sp - 1] = (uint64_t)-(int64_t)st[sp - 1];
				break;
			case OP_not:
				NEED(1);
				st[sp - 1] = ~st[sp - 1];
				break;
			case OP_plus_uconst:
				NEED(1);
				st[sp - 1] += op->number;
				break;
			case OP_and:
			case OP_minus:
			case OP_mul:
			case OP_or:
			case OP_plus:
			case OP_shl:
			case OP_shr:
			case OP_shra:
			case OP_xor: {
				NEED(2);
				sp--;
				uint64_t y = st[sp], x = st[sp - 1], r;
				switch (a) {
				case OP_and: r = x & y; break;
				case OP_minus: r = x - y; break;
				case OP_mul: r = x * y; break;
				case OP_or: r = x | y; break;
				case OP_plus: r = x + y; break;
				case OP_shl: r = y >= 64 ? 0 : x << y; break;
				case OP_shr: r = y >= 64 ? 0 : x >> y; break;
				case OP_shra: r = (uint64_t)((int64_t)x >> (y >= 63 ? 63 : y)); break;
				default: r = x ^ y; break;
				}
				st[sp - 1] = r;
				break;
			}
			case OP_nop: break;
			case OP_fbreg: {
				uint64_t fb;
				if (depth > 0 || !frame_base(c, &fb))
					BAD("<unavailable: no frame base>");
				PUSH(fb + op->number);
				break;
			}
			case OP_call_frame_cfa:
				if (!c->has_cfa)
					BAD("<unavailable: no CFA for this frame>");
				PUSH(c->cfa);
				break;
			case OP_stack_value:
				NEED(1);
				if (!last && ops[i + 1].atom == OP_piece)
					BAD("<unsupported: DW_OP_piece>");
				if (!last)
					BAD("<unsupported: DW_OP_stack_value not at the end>");
				out->kind = LOC_VAL;
				memcpy(out->bytes, &st[sp - 1], 8);
				out->nbytes = 8;
				return 0;
			case OP_implicit_value: {
				Dwarf_Block b;
				if (!attr || L.api.getlocation_implicit_value(attr, op, &b) != 0 ||
				    b.length > sizeof out->bytes)
					BAD("<unsupported: DW_OP_implicit_value>");
				if (!last)
					BAD("<unsupported: DW_OP_piece>");
				out->kind = LOC_VAL;
				memcpy(out->bytes, b.data, b.length);
				out->nbytes = b.length;
				return 0;
			}
			case OP_piece: BAD("<unsupported: DW_OP_piece>");
			case OP_entry_value:
			case OP_GNU_entry_value:
			case OP_GNU_parameter_ref: BAD("<optimized out>");
			case OP_implicit_pointer:
			case OP_GNU_implicit_pointer: BAD("<unsupported: implicit pointer>");
			default:
				if (a >= OP_const1u && a <= OP_const8s) {
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
		if (c->has_fn && L.api.attr_integrate(&c->fn, AT_frame_base, &a) &&
		    L.api.getlocation_addr(&a, c->at, &ops, &nops, 1) == 1 && eval(c, ops, nops, &a, &l, 1) == 0) {
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
	if (!L.api.attr_integrate(var, AT_location, &a)) {
		if (!L.api.attr_integrate(var, AT_const_value, &a)) {
			s.bad = "<optimized out>";
			return s;
		}
		unsigned form = L.api.whatform(&a);
		Dwarf_Block b;
		if (form == FORM_block || form == FORM_block1 || form == FORM_block2 || form == FORM_block4 ||
		    form == FORM_data16) {
			if (L.api.formblock(&a, &b) != 0 || b.length > 16) {
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
		if ((form == FORM_sdata || form == FORM_implicit_const) && L.api.formsdata(&a, &sv) == 0)
			v = (uint64_t)sv;
		else if (L.api.formudata(&a, &uv) == 0)
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
	int n = L.api.getlocation_addr(&a, c->at, &ops, &nops, 1);
	if (n < 0) {
		snprintf(c->why, sizeof c->why, "<unsupported: %s>", L.api.errmsg(-1));
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
	die_udata(t, AT_encoding, &enc);
	uint64_t v = 0;
	if (size <= 8)
		memcpy(&v, raw, size);
	char buf[80];
	switch (enc) {
	case ATE_boolean:
		if (size > 8)
			break;
		return xstrdup(v == 0 ? "false" : v == 1 ? "true" : "true (nonzero)");
	case ATE_float:
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
	case ATE_signed_char:
	case ATE_unsigned_char:
	case ATE_signed:
	case ATE_unsigned:
	case ATE_UTF: {
		if (size > 8)
			break;
		bool sign = enc == ATE_signed || enc == ATE_signed_char;
		int64_t sv = (int64_t)sext(v, size);
		if (sign)
			snprintf(buf, sizeof buf, "%" PRId64, sv);
		else
			snprintf(buf, sizeof buf, "%" PRIu64, v);
		if (size == 1 && enc != ATE_signed && enc != ATE_unsigned) {
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
	if (L.api.child(st, &ch) == 0) {
		do {
			if (L.api.tag(&ch) == TAG_member)
				n++;
		} while (L.api.siblingof(&ch, &ch) == 0);
	}
	if (n == 0 || L.api.child(st, &ch) != 0 || !kids_alloc(c, v, n))
		return;
	do {
		if (L.api.tag(&ch) != TAG_member)
			continue;
		struct lvar *k = &v->kids[v->nkids++];
		const char *nm = L.api.diename(&ch);
		k->name = xstrdup(nm ? nm : "<anonymous>");
		k->kind = "member";
		k->expr = nm ? xprintf("%s%s%s", v->expr ? v->expr : "", sep, nm) : NULL;
		Dwarf_Die mt;
		bool has_t = die_ref(&ch, AT_type, &mt);
		uint64_t off = 0, bits = 0, bitoff = 0;
		Dwarf_Attribute a;
		bool ok_off = !L.api.attr_integrate(&ch, AT_data_member_location, &a) || L.api.formudata(&a, &off) == 0;
		struct src ms = src_at(s, off);
		if (!ok_off)
			ms.bad = "<unsupported: member location expression>";
		if (die_udata(&ch, AT_bit_size, &bits) && bits > 0) {
			/* a bit-field: DWARF 4+ DW_AT_data_bit_offset from the struct start */
			k->type = has_t ? type_name(&mt) : xstrdup("int");
			uint64_t dbo = 0;
			if (!die_udata(&ch, AT_data_bit_offset, &dbo) && die_udata(&ch, AT_bit_offset, &bitoff)) {
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
			bool sign = has_t && peel(&mt, &pt) && die_udata(&pt, AT_encoding, &enc) &&
				    (enc == ATE_signed || enc == ATE_signed_char);
			if (sign && (val >> (bits - 1)) & 1)
				k->value = xprintf("%" PRId64, (int64_t)(val | ~((1ull << bits) - 1)));
			else
				k->value = xprintf("%" PRIu64, val);
			continue;
		}
		build(c, k, has_t ? &mt : NULL, &ms, depth + 1);
	} while (L.api.siblingof(&ch, &ch) == 0 && v->nkids < n);
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
	int tag = L.api.tag(&t);
	uint64_t size = 0;
	die_size(&t, &size);
	uint8_t raw[16];
	switch (tag) {
	case TAG_base:
	case TAG_enumeration:
	case TAG_pointer:
	case TAG_reference:
	case TAG_rvalue_reference: {
		if (size == 0 && tag != TAG_base)
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
	case TAG_base: v->value = fmt_base(&t, raw, (size_t)size); return;
	case TAG_enumeration: {
		uint64_t u = 0;
		memcpy(&u, raw, size > 8 ? 8 : (size_t)size);
		Dwarf_Die ut, ch;
		uint64_t enc = 0;
		bool sign = die_ref(&t, AT_type, &ut) && peel(&ut, &ut) && die_udata(&ut, AT_encoding, &enc) &&
			    (enc == ATE_signed || enc == ATE_signed_char);
		uint64_t val = sign ? sext(u, (size_t)size) : u;
		if (L.api.child(&t, &ch) == 0) {
			do {
				Dwarf_Attribute a;
				Dwarf_Sword sv;
				Dwarf_Word uv;
				if (L.api.tag(&ch) != TAG_enumerator || !L.api.attr_integrate(&ch, AT_const_value, &a))
					continue;
				uint64_t ev;
				unsigned form = L.api.whatform(&a);
				if ((form == FORM_sdata || form == FORM_implicit_const) &&
				    L.api.formsdata(&a, &sv) == 0)
					ev = (uint64_t)sv;
				else if (L.api.formudata(&a, &uv) == 0)
					ev = sign ? sext(uv, (size_t)size) : uv;
				else
					continue;
				if (sign ? ev == val
					 : (ev & (size >= 8 ? UINT64_MAX : (1ull << size * 8) - 1)) == val) {
					v->value = xstrdup(L.api.diename(&ch));
					return;
				}
			} while (L.api.siblingof(&ch, &ch) == 0);
		}
		v->value = sign ? xprintf("%" PRId64, (int64_t)val) : xprintf("%" PRIu64, val);
		return;
	}
	case TAG_pointer:
	case TAG_reference:
	case TAG_rvalue_reference: {
		uint64_t p = 0;
		memcpy(&p, raw, size > 8 ? 8 : (size_t)size);
		v->has_ptr = true;
		v->ptr = p;
		Dwarf_Die pt, pp;
		bool has_pt = die_ref(&t, AT_type, &pt);
		bool is_void = !has_pt || !peel(&pt, &pp);
		int ptag = is_void ? 0 : L.api.tag(&pp);
		if (ptag == TAG_subroutine_type) {
			struct sym_info si;
			if (p && sym_describe(c->s, p, false, &si) == 0 && si.has_function && si.offset == 0)
				v->value = xprintf("0x%" PRIx64 " <%s>", p, si.function);
			else
				v->value = xprintf("0x%" PRIx64, p);
			return;
		}
		if (!is_void && is_char_type(&pt) && tag == TAG_pointer) {
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
		if (ptag == TAG_structure || ptag == TAG_union) {
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
	case TAG_structure:
	case TAG_union:
		if (depth >= LOCALS_MAX_DEPTH) {
			v->value = xstrdup("{...}");
			return;
		}
		build_members(c, v, &t, s, depth, ".");
		v->value = summary(v, true);
		return;
	case TAG_array: {
		int64_t counts[8];
		int nd = array_dims(&t, counts, 8);
		Dwarf_Die et;
		if (nd == 0 || !die_ref(&t, AT_type, &et)) {
			v->value = xstrdup("<unsupported array>");
			return;
		}
		build_array(c, v, &et, counts, nd, s, depth);
		return;
	}
	case TAG_subroutine_type: v->value = xstrdup("<function>"); return;
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
	void *mod = L.api.addrmodule(c->dwfl, pc);
	if (!mod)
		return false;
	void *(*getters[2])(void *, Dwarf_Addr *) = { L.api.module_eh_cfi, L.api.module_dwarf_cfi };
	for (int g = 0; g < 2; g++) {
		Dwarf_Addr bias;
		void *cfi = getters[g](mod, &bias);
		void *frame = NULL;
		if (!cfi || L.api.cfi_addrframe(cfi, pc - bias, &frame) != 0 || !frame)
			continue;
		Dwarf_Op *ops;
		size_t nops;
		struct loc l;
		bool ok = L.api.frame_cfa(frame, &ops, &nops) == 0 && eval(c, ops, nops, NULL, &l, 1) == 0 &&
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
	int tag = L.api.tag(d);
	return (tag == TAG_formal_parameter || tag == TAG_variable) && !die_flag(d, AT_declaration) &&
	       !die_flag(d, AT_artificial) && L.api.diename(d);
}

static void vars_of_scope(struct lctx *c, Dwarf_Die *scope, struct lvar **vars, size_t *n, size_t *cap)
{
	Dwarf_Die ch;
	if (L.api.child(scope, &ch) != 0)
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
		const char *nm = L.api.diename(&ch);
		v->name = xstrdup(nm);
		v->expr = xstrdup(nm);
		v->kind = L.api.tag(&ch) == TAG_formal_parameter ? "param" : "local";
		c->nodes++;
		uint8_t bytes[16];
		struct src s = var_src(c, &ch, bytes);
		Dwarf_Die t;
		bool has_t = die_ref(&ch, AT_type, &t);
		build(c, v, has_t ? &t : NULL, &s, 0);
	} while (L.api.siblingof(&ch, &ch) == 0);
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
	void *dwfl = sym_dwfl(s);
	if (!dwfl) {
		snprintf(note, sizeof note, "no DWARF reader: %s", sym_note(s) ? sym_note(s) : "libdw is not in use");
		no_vars(w, NULL, note);
		return 0;
	}
	pthread_once(&L.once, ldw_load);
	if (!L.ok) {
		snprintf(note, sizeof note, "libdw.so.1 has no %s", L.missing ? L.missing : "?");
		no_vars(w, NULL, note);
		return 0;
	}
	const struct sym_frame *f = &frames[index];
	struct lctx c = { .s = s, .pid = pid, .dwfl = dwfl, .regs = regs };
	uint64_t pc = f->activation || f->pc == 0 ? f->pc : f->pc - 1;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = L.api.addrdie(dwfl, pc, &bias);
	if (!cu) {
		snprintf(note, sizeof note, "no DWARF debug information at 0x%" PRIx64, f->pc);
		no_vars(w, NULL, note);
		return 0;
	}
	c.bias = bias;
	c.at = pc - bias;
	Dwarf_Die *scopes = NULL;
	int ns = L.api.getscopes(cu, c.at, &scopes);
	int fi = -1; /* the innermost function-like scope */
	for (int i = 0; i < ns; i++) {
		int tag = L.api.tag(&scopes[i]);
		if (tag == TAG_subprogram || tag == TAG_inlined_subroutine) {
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
		if (L.api.tag(&scopes[i]) == TAG_subprogram) {
			c.fn = scopes[i];
			c.has_fn = true;
		}
	}
	if (!c.has_fn) { /* inlined: dwarf_getscopes went on in the abstract origin */
		Dwarf_Die ch;
		if (L.api.child(cu, &ch) == 0) {
			do {
				if (L.api.tag(&ch) == TAG_subprogram && L.api.haspc(&ch, c.at) > 0) {
					c.fn = ch;
					c.has_fn = true;
					break;
				}
			} while (L.api.siblingof(&ch, &ch) == 0);
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
	const char *fname = L.api.diename(&scopes[fi]);
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

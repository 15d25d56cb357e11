/* condprog.c — compiled breakpoint conditions: parse and evaluate (see condprog.h). */
#include "debuginfo/condprog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/dwexpr.h"

static int fail(char *why, size_t cap, const char *fmt, const char *arg)
{
	snprintf(why, cap, fmt, arg);
	return -1;
}

static const struct {
	const char *tok;
	enum cp_op op;
} OPS[] = {
	{ "<", CP_LT },	 { "<=", CP_LE },   { ">", CP_GT },    { ">=", CP_GE },	  { "==", CP_EQ },
	{ "!=", CP_NE }, { "&&", CP_LAND }, { "||", CP_LOR },  { "+", CP_ADD },	  { "-", CP_SUB },
	{ "*", CP_MUL }, { "/", CP_DIV },   { "%", CP_MOD },   { "&", CP_AND },	  { "|", CP_OR },
	{ "^", CP_XOR }, { "!", CP_NOT },   { "neg", CP_NEG }, { "~", CP_COMPL },
};

static bool unary(enum cp_op op)
{
	return op == CP_NOT || op == CP_NEG || op == CP_COMPL;
}

static int parse_const(const char *t, struct cp_value *k)
{
	const char *colon = strchr(t, ':');
	size_t n = (size_t)(colon - t);
	static const struct {
		const char *name;
		enum cp_cls cls;
	} C[] = { { "i32", CP_I32 }, { "u32", CP_U32 }, { "i64", CP_I64 }, { "u64", CP_U64 }, { "f64", CP_F64 } };
	for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
		if (strlen(C[i].name) != n || strncmp(C[i].name, t, n) != 0)
			continue;
		const char *v = colon + 1;
		char *end;
		errno = 0;
		k->cls = C[i].cls;
		if (C[i].cls == CP_F64)
			k->f = strtod(v, &end);
		else if (C[i].cls == CP_I32 || C[i].cls == CP_I64)
			k->i = strtoll(v, &end, 10);
		else
			k->u = strtoull(v, &end, 10);
		if (errno || end == v || *end)
			return -1;
		if (k->cls == CP_I32 && (k->i < INT32_MIN || k->i > INT32_MAX))
			return -1;
		if (k->cls == CP_U32 && k->u > UINT32_MAX)
			return -1;
		return 0;
	}
	return -1;
}

int condprog_parse(const char *text, struct condprog *cp, char *why, size_t cap)
{
	memset(cp, 0, sizeof *cp);
	int depth = 0;
	const char *s = text;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		const char *e = strchr(s, ' ');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		char tok[CP_NAME_MAX + 8];
		if (len >= sizeof tok)
			return fail(why, cap, "condition program: token too long: %.40s", s);
		memcpy(tok, s, len);
		tok[len] = '\0';
		s += len;
		if (cp->ncode == CP_MAX_CODE)
			return fail(why, cap, "condition program: more than %s operations", "48");
		struct cp_insn *in = &cp->code[cp->ncode];
		if (strncmp(tok, "v:", 2) == 0) {
			const char *name = tok + 2;
			size_t nlen = strlen(name);
			if (!nlen || nlen >= CP_NAME_MAX)
				return fail(why, cap, "condition program: bad variable %s", tok);
			size_t k = 0;
			while (k < cp->nvars && strcmp(cp->vars[k].name, name) != 0)
				k++;
			if (k == cp->nvars) {
				if (cp->nvars == CP_MAX_VARS)
					return fail(why, cap, "condition program: more than %s variables", "6");
				memcpy(cp->vars[k].name, name, nlen + 1);
				cp->nvars++;
			}
			in->op = CP_PUSH_VAR;
			in->var = (unsigned)k;
			depth++;
		} else if (strchr(tok, ':')) {
			if (parse_const(tok, &in->k) < 0)
				return fail(why, cap, "condition program: bad constant %s", tok);
			in->op = CP_PUSH_CONST;
			depth++;
		} else {
			size_t i = 0;
			while (i < sizeof OPS / sizeof OPS[0] && strcmp(OPS[i].tok, tok) != 0)
				i++;
			if (i == sizeof OPS / sizeof OPS[0])
				return fail(why, cap, "condition program: unknown operation %s", tok);
			in->op = OPS[i].op;
			int need = unary(in->op) ? 1 : 2;
			if (depth < need)
				return fail(why, cap, "condition program: %s lacks an operand", tok);
			depth -= need - 1;
		}
		cp->ncode++;
	}
	if (depth != 1)
		return fail(why, cap, "condition program: %s", cp->ncode ? "does not leave one value" : "empty");
	return 0;
}

/* ---- evaluation ---- */

struct env_arg {
	const struct cp_frame *f;
	const struct cp_var *v;
};

static bool e_reg(void *arg, unsigned reg, uint64_t *out)
{
	const struct env_arg *a = arg;
	if (reg >= a->f->nregs)
		return false;
	*out = a->f->regs[reg];
	return true;
}

static bool e_read(void *arg, uint64_t addr, void *buf, size_t n)
{
	const struct env_arg *a = arg;
	return a->f->read(a->f->arg, addr, buf, n);
}

static bool e_cfa(void *arg, uint64_t *out)
{
	const struct env_arg *a = arg;
	struct dwexpr_env env = { .arg = arg, .reg = e_reg, .nregs = a->f->nregs, .read = e_read, .bias = a->v->bias };
	struct dwexpr_result r;
	if (!a->v->ncfa || dwexpr_eval(a->v->cfa, a->v->ncfa, &env, &r) < 0 || r.npieces != 1 ||
	    r.piece[0].kind != DWEXPR_MEM)
		return false;
	*out = r.piece[0].addr;
	return true;
}

static bool e_fb(void *arg, uint64_t *out)
{
	const struct env_arg *a = arg;
	struct dwexpr_env env = {
		.arg = arg, .reg = e_reg, .nregs = a->f->nregs, .cfa = e_cfa, .read = e_read, .bias = a->v->bias
	};
	struct dwexpr_result r;
	if (!a->v->nfb || dwexpr_eval(a->v->fb, a->v->nfb, &env, &r) < 0 || r.npieces != 1)
		return false;
	if (r.piece[0].kind == DWEXPR_MEM) {
		*out = r.piece[0].addr;
		return true;
	}
	return r.piece[0].kind == DWEXPR_REG && e_reg(arg, r.piece[0].reg, out);
}

static int load(const struct cp_var *v, const struct cp_frame *f, struct cp_value *out, char *why, size_t cap)
{
	uint8_t b[8] = { 0 };
	if (v->absolute) {
		if (!f->read(f->arg, v->addr, b, v->size)) {
			snprintf(why, cap, "%s: cannot read memory at 0x%" PRIx64, v->name, v->addr);
			return -1;
		}
	} else {
		struct env_arg a = { f, v };
		struct dwexpr_env env = { .arg = &a,
					  .reg = e_reg,
					  .nregs = f->nregs,
					  .frame_base = e_fb,
					  .cfa = e_cfa,
					  .read = e_read,
					  .bias = v->bias };
		struct dwexpr_result r;
		if (dwexpr_eval(v->loc, v->nloc, &env, &r) < 0) {
			snprintf(why, cap, "%s: %s", v->name, r.bad);
			return -1;
		}
		const struct dwexpr_loc *p = &r.piece[0];
		if (r.npieces != 1 || (p->size && p->size < v->size)) {
			snprintf(why, cap, "%s: in pieces", v->name);
			return -1;
		}
		uint64_t reg;
		switch (p->kind) {
		case DWEXPR_MEM:
			if (!f->read(f->arg, p->addr, b, v->size)) {
				snprintf(why, cap, "%s: cannot read memory at 0x%" PRIx64, v->name, p->addr);
				return -1;
			}
			break;
		case DWEXPR_REG:
			if (v->is_float || !dwexpr_reg(&env, p->reg, &reg, &r)) {
				snprintf(why, cap, "%s: in DWARF register %u", v->name, p->reg);
				return -1;
			}
			memcpy(b, &reg, v->size);
			break;
		case DWEXPR_VAL:
			if (p->nbytes < v->size) {
				snprintf(why, cap, "%s: a computed value too short", v->name);
				return -1;
			}
			memcpy(b, p->bytes, v->size);
			break;
		case DWEXPR_EMPTY: snprintf(why, cap, "%s: <optimized out>", v->name); return -1;
		}
	}
	if (v->is_float) {
		out->cls = CP_F64;
		if (v->size == 4) {
			float x;
			memcpy(&x, b, 4);
			out->f = x;
		} else {
			memcpy(&out->f, b, 8);
		}
		return 0;
	}
	uint64_t u = 0;
	memcpy(&u, b, v->size); /* little-endian */
	if (v->is_signed && v->size < 8) {
		unsigned sh = 64 - 8 * v->size;
		out->i = (int64_t)(u << sh) >> sh;
	} else {
		out->u = u;
	}
	/* C's integer promotions: narrower than int becomes int */
	out->cls = v->size < 4	  ? CP_I32
		   : v->size == 4 ? (v->is_signed ? CP_I32 : CP_U32)
		   : v->is_signed ? CP_I64
				  : CP_U64;
	if (out->cls == CP_U32)
		out->u &= 0xffffffffu;
	return 0;
}

static int rank(enum cp_cls c)
{
	return c == CP_I32 || c == CP_U32 ? 1 : 2;
}

static bool uns(enum cp_cls c)
{
	return c == CP_U32 || c == CP_U64;
}

/* v as class c (an integer class, or double) */
static struct cp_value conv(struct cp_value v, enum cp_cls c)
{
	struct cp_value o = { .cls = c };
	if (c == CP_F64) {
		o.f = v.cls == CP_F64 ? v.f : uns(v.cls) ? (double)v.u : (double)v.i;
		return o;
	}
	uint64_t bits = v.cls == CP_F64 ? (uns(c) ? (uint64_t)v.f : (uint64_t)(int64_t)v.f) : v.u;
	switch (c) {
	case CP_I32: o.i = (int32_t)(uint32_t)bits; break;
	case CP_U32: o.u = (uint32_t)bits; break;
	default: o.u = bits; break;
	}
	return o;
}

/* the usual arithmetic conversions */
static enum cp_cls common(enum cp_cls a, enum cp_cls b)
{
	if (a == CP_F64 || b == CP_F64)
		return CP_F64;
	int r = rank(a) > rank(b) ? rank(a) : rank(b);
	bool u = (rank(a) == r && uns(a)) || (rank(b) == r && uns(b));
	return r == 1 ? (u ? CP_U32 : CP_I32) : (u ? CP_U64 : CP_I64);
}

static bool truth(struct cp_value v)
{
	return v.cls == CP_F64 ? v.f != 0 : v.u != 0;
}

static struct cp_value bool_of(bool b)
{
	struct cp_value o = { .cls = CP_I32, .i = b };
	return o;
}

static int binary(enum cp_op op, struct cp_value a, struct cp_value b, struct cp_value *out, char *why, size_t cap)
{
	if (op == CP_LAND || op == CP_LOR) {
		*out = bool_of(op == CP_LAND ? truth(a) && truth(b) : truth(a) || truth(b));
		return 0;
	}
	enum cp_cls c = common(a.cls, b.cls);
	a = conv(a, c);
	b = conv(b, c);
	if (c == CP_F64) {
		double x = a.f, y = b.f;
		switch (op) {
		case CP_LT: *out = bool_of(x < y); return 0;
		case CP_LE: *out = bool_of(x <= y); return 0;
		case CP_GT: *out = bool_of(x > y); return 0;
		case CP_GE: *out = bool_of(x >= y); return 0;
		case CP_EQ: *out = bool_of(x == y); return 0;
		case CP_NE: *out = bool_of(x != y); return 0;
		case CP_ADD: out->f = x + y; break;
		case CP_SUB: out->f = x - y; break;
		case CP_MUL: out->f = x * y; break;
		case CP_DIV: out->f = x / y; break;
		default: snprintf(why, cap, "invalid operands to a bitwise operator (double)"); return -1;
		}
		out->cls = CP_F64;
		return 0;
	}
	bool u = uns(c);
	uint64_t x = a.u, y = b.u;
	int64_t sx = a.i, sy = b.i;
	uint64_t r;
	switch (op) {
	case CP_LT: *out = bool_of(u ? x < y : sx < sy); return 0;
	case CP_LE: *out = bool_of(u ? x <= y : sx <= sy); return 0;
	case CP_GT: *out = bool_of(u ? x > y : sx > sy); return 0;
	case CP_GE: *out = bool_of(u ? x >= y : sx >= sy); return 0;
	case CP_EQ: *out = bool_of(x == y); return 0;
	case CP_NE: *out = bool_of(x != y); return 0;
	case CP_ADD: r = x + y; break;
	case CP_SUB: r = x - y; break;
	case CP_MUL: r = x * y; break;
	case CP_DIV:
	case CP_MOD:
		if (y == 0) {
			snprintf(why, cap, "division by zero");
			return -1;
		}
		if (u)
			r = op == CP_DIV ? x / y : x % y;
		else if (sy == -1) /* INT64_MIN / -1 traps on x86 */
			r = op == CP_DIV ? (uint64_t)0 - x : 0;
		else
			r = (uint64_t)(op == CP_DIV ? sx / sy : sx % sy);
		break;
	case CP_AND: r = x & y; break;
	case CP_OR: r = x | y; break;
	case CP_XOR: r = x ^ y; break;
	default: snprintf(why, cap, "bad operation"); return -1;
	}
	struct cp_value v = { .cls = CP_U64, .u = r };
	*out = conv(v, c); /* wrap to the type's width */
	return 0;
}

int condprog_eval(const struct condprog *cp, const struct cp_frame *f, char *why, size_t cap)
{
	struct cp_value st[CP_MAX_CODE];
	size_t sp = 0;
	for (size_t i = 0; i < cp->ncode; i++) {
		const struct cp_insn *in = &cp->code[i];
		switch (in->op) {
		case CP_PUSH_VAR:
			if (in->var >= cp->nvars || !cp->vars[in->var].resolved) {
				snprintf(why, cap, "variable %u not resolved", in->var);
				return -1;
			}
			if (load(&cp->vars[in->var], f, &st[sp], why, cap) < 0)
				return -1;
			sp++;
			break;
		case CP_PUSH_CONST: st[sp++] = in->k; break;
		case CP_NOT: st[sp - 1] = bool_of(!truth(st[sp - 1])); break;
		case CP_NEG:
		case CP_COMPL: {
			struct cp_value v = st[sp - 1];
			if (v.cls == CP_F64) {
				if (in->op == CP_COMPL) {
					snprintf(why, cap, "invalid operand to ~ (double)");
					return -1;
				}
				v.f = -v.f;
			} else {
				struct cp_value w = { .cls = CP_U64, .u = in->op == CP_NEG ? (uint64_t)0 - v.u : ~v.u };
				v = conv(w, v.cls);
			}
			st[sp - 1] = v;
			break;
		}
		default:
			if (binary(in->op, st[sp - 2], st[sp - 1], &st[sp - 2], why, cap) < 0)
				return -1;
			sp--;
			break;
		}
	}
	if (sp != 1) {
		snprintf(why, cap, "malformed condition program");
		return -1;
	}
	return truth(st[0]) ? 1 : 0;
}

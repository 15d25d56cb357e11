/* dwexpr.c — DWARF location expressions (see dwexpr.h). */
#include "debuginfo/dwexpr.h"

#include <dwarf.h>
#include <stdio.h>
#include <string.h>

static int bad(struct dwexpr_result *out, const char *why)
{
	out->bad = why;
	out->npieces = 0;
	return -1;
}

static int badf(struct dwexpr_result *out, const char *fmt, unsigned v) __attribute__((format(printf, 2, 0)));
static int badf(struct dwexpr_result *out, const char *fmt, unsigned v)
{
	snprintf(out->why, sizeof out->why, fmt, v);
	return bad(out, out->why);
}

bool dwexpr_reg(const struct dwexpr_env *env, unsigned reg, uint64_t *out, struct dwexpr_result *why)
{
	if (reg < env->nregs && env->reg && env->reg(env->arg, reg, out))
		return true;
	if (reg >= env->nregs)
		badf(why, "<unavailable: in DWARF register %u (not read)>", reg);
	else
		badf(why, "<unavailable: DWARF register %u not recovered in this frame>", reg);
	return false;
}

int dwexpr_eval(const Dwarf_Op *ops, size_t n, const struct dwexpr_env *env, struct dwexpr_result *out)
{
	uint64_t st[DWEXPR_STACK];
	size_t sp = 0;
	struct dwexpr_loc cur; /* a register or value location, until its DW_OP_piece or the end
				* (only a piece or the end may follow one: checked where it is made) */
	bool have = false;
	memset(out, 0, sizeof *out);
	memset(&cur, 0, sizeof cur);
#define PUSH(v)                                                                 \
	do {                                                                    \
		if (sp >= DWEXPR_STACK)                                         \
			return bad(out, "<unsupported: DWARF stack overflow>"); \
		uint64_t pv_ = (v);                                             \
		st[sp++] = pv_;                                                 \
	} while (0)
#define NEED(k)                                                                       \
	do {                                                                          \
		if (sp < (k))                                                         \
			return bad(out, "<unsupported: malformed DWARF expression>"); \
	} while (0)
	if (n == 0)
		return bad(out, "<optimized out>");
	for (size_t i = 0; i < n; i++) {
		const Dwarf_Op *op = &ops[i];
		uint8_t a = op->atom;
		bool ends = i + 1 == n || ops[i + 1].atom == DW_OP_piece; /* a location may stand here */
		if (a >= DW_OP_lit0 && a <= DW_OP_lit31) {
			PUSH((uint64_t)(a - DW_OP_lit0));
		} else if ((a >= DW_OP_reg0 && a <= DW_OP_reg31) || a == DW_OP_regx) {
			if (!ends)
				return bad(out, "<unsupported: DWARF register location not at the end>");
			cur.kind = DWEXPR_REG;
			cur.reg = a == DW_OP_regx ? (unsigned)op->number : (unsigned)(a - DW_OP_reg0);
			have = true;
		} else if ((a >= DW_OP_breg0 && a <= DW_OP_breg31) || a == DW_OP_bregx) {
			unsigned r = a == DW_OP_bregx ? (unsigned)op->number : (unsigned)(a - DW_OP_breg0);
			uint64_t v;
			if (!dwexpr_reg(env, r, &v, out))
				return -1;
			PUSH(v + (a == DW_OP_bregx ? op->number2 : op->number));
		} else {
			switch (a) {
			case DW_OP_addr: PUSH(op->number + env->bias); break;
			case DW_OP_deref:
			case DW_OP_deref_size: {
				NEED(1);
				size_t sz = a == DW_OP_deref ? 8 : (size_t)op->number;
				uint64_t v = 0;
				if (sz > 8 || !env->read || !env->read(env->arg, st[sp - 1], &v, sz))
					return bad(out, "<unavailable: DW_OP_deref of unreadable memory>");
				st[sp - 1] = v;
				break;
			}
			case DW_OP_const1u:
			case DW_OP_const1s:
			case DW_OP_const2u:
			case DW_OP_const2s:
			case DW_OP_const4u:
			case DW_OP_const4s:
			case DW_OP_const8u:
			case DW_OP_const8s:
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
				if (!env->frame_base || !env->frame_base(env->arg, &fb))
					return bad(out, "<unavailable: no frame base>");
				PUSH(fb + op->number);
				break;
			}
			case DW_OP_call_frame_cfa: {
				uint64_t cfa;
				if (!env->cfa || !env->cfa(env->arg, &cfa))
					return bad(out, "<unavailable: no CFA for this frame>");
				PUSH(cfa);
				break;
			}
			case DW_OP_stack_value:
				NEED(1);
				if (!ends)
					return bad(out, "<unsupported: DW_OP_stack_value not at the end>");
				cur.kind = DWEXPR_VAL;
				memcpy(cur.bytes, &st[sp - 1], 8);
				cur.nbytes = 8;
				sp = 0;
				have = true;
				break;
			case DW_OP_implicit_value: {
				const uint8_t *data;
				size_t len;
				if (!env->implicit_value || !env->implicit_value(env->arg, op, &data, &len) ||
				    len > sizeof cur.bytes)
					return bad(out, "<unsupported: DW_OP_implicit_value>");
				if (!ends)
					return bad(out, "<unsupported: DW_OP_implicit_value not at the end>");
				cur.kind = DWEXPR_VAL;
				memcpy(cur.bytes, data, len);
				cur.nbytes = len;
				have = true;
				break;
			}
			case DW_OP_piece: {
				if (out->npieces == DWEXPR_MAX_PIECES)
					return badf(out, "<unsupported: more than %u DW_OP_piece parts>",
						    DWEXPR_MAX_PIECES);
				if (!have && sp > 0) {
					cur.kind = DWEXPR_MEM;
					cur.addr = st[sp - 1];
				} else if (!have) {
					cur.kind = DWEXPR_EMPTY;
				}
				cur.size = op->number;
				out->piece[out->npieces++] = cur;
				memset(&cur, 0, sizeof cur);
				have = false;
				sp = 0;
				break;
			}
			case DW_OP_bit_piece: return bad(out, "<unsupported: DW_OP_bit_piece>");
			case DW_OP_entry_value:
			case DW_OP_GNU_entry_value:
			case DW_OP_GNU_parameter_ref: return bad(out, "<optimized out>");
			case DW_OP_implicit_pointer:
			case DW_OP_GNU_implicit_pointer: return bad(out, "<unsupported: implicit pointer>");
			default: return badf(out, "<unsupported: DWARF operation 0x%02x>", a);
			}
		}
	}
#undef PUSH
#undef NEED
	if (out->npieces) {
		if (have || sp)
			return bad(out, "<unsupported: DWARF location after the last DW_OP_piece>");
		return 0;
	}
	if (!have) {
		if (sp == 0)
			return bad(out, "<optimized out>");
		cur.kind = DWEXPR_MEM;
		cur.addr = st[sp - 1];
	}
	out->piece[0] = cur;
	out->npieces = 1;
	return 0;
}

/* ---- decoding ---- */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t rd_fixed(struct rd *r, unsigned n, bool sign)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	if (sign && n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ull << (8 * n);
	return v;
}

static uint64_t rd_leb(struct rd *r, bool sign)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (;;) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (sign && shift < 64 && (b & 0x40))
				v |= ~0ull << shift;
			return v;
		}
	}
}

/* A block operand: its length in number, its offset in number2. */
static void rd_block(struct rd *r, const uint8_t *code, Dwarf_Op *op)
{
	op->number = rd_leb(r, false);
	op->number2 = (Dwarf_Word)(r->p - code);
	if (r->bad || op->number > (uint64_t)(r->end - r->p))
		r->bad = true;
	else
		r->p += op->number;
}

int dwexpr_decode(const uint8_t *code, size_t len, Dwarf_Op *ops, size_t max)
{
	struct rd r = { code, code + len, false };
	size_t n = 0;
	while (r.p < r.end) {
		if (n == max)
			return -1;
		Dwarf_Op *op = &ops[n++];
		memset(op, 0, sizeof *op);
		op->offset = (Dwarf_Word)(r.p - code);
		uint8_t a = *r.p++;
		op->atom = a;
		if ((a >= DW_OP_lit0 && a <= DW_OP_lit31) || (a >= DW_OP_reg0 && a <= DW_OP_reg31))
			continue;
		if (a >= DW_OP_breg0 && a <= DW_OP_breg31) {
			op->number = rd_leb(&r, true);
		} else {
			switch (a) {
			case DW_OP_addr: op->number = rd_fixed(&r, 8, false); break;
			case DW_OP_const1u:
			case DW_OP_pick:
			case DW_OP_deref_size:
			case DW_OP_xderef_size: op->number = rd_fixed(&r, 1, false); break;
			case DW_OP_const1s: op->number = rd_fixed(&r, 1, true); break;
			case DW_OP_const2u:
			case DW_OP_call2: op->number = rd_fixed(&r, 2, false); break;
			case DW_OP_const2s:
			case DW_OP_skip:
			case DW_OP_bra: op->number = rd_fixed(&r, 2, true); break;
			case DW_OP_const4u:
			case DW_OP_call4:
			case DW_OP_GNU_parameter_ref: op->number = rd_fixed(&r, 4, false); break;
			case DW_OP_const4s: op->number = rd_fixed(&r, 4, true); break;
			case DW_OP_const8u:
			case DW_OP_const8s: op->number = rd_fixed(&r, 8, false); break;
			case DW_OP_constu:
			case DW_OP_plus_uconst:
			case DW_OP_regx:
			case DW_OP_piece: op->number = rd_leb(&r, false); break;
			case DW_OP_consts:
			case DW_OP_fbreg: op->number = rd_leb(&r, true); break;
			case DW_OP_bregx:
				op->number = rd_leb(&r, false);
				op->number2 = rd_leb(&r, true);
				break;
			case DW_OP_bit_piece:
				op->number = rd_leb(&r, false);
				op->number2 = rd_leb(&r, false);
				break;
			case DW_OP_implicit_pointer:
			case DW_OP_GNU_implicit_pointer:
				op->number = rd_fixed(&r, 4, false); /* a DIE offset (DWARF 32) */
				op->number2 = rd_leb(&r, true);
				break;
			case DW_OP_implicit_value:
			case DW_OP_entry_value:
			case DW_OP_GNU_entry_value: rd_block(&r, code, op); break;
			case DW_OP_deref:
			case DW_OP_dup:
			case DW_OP_drop:
			case DW_OP_over:
			case DW_OP_swap:
			case DW_OP_rot:
			case DW_OP_xderef:
			case DW_OP_abs:
			case DW_OP_and:
			case DW_OP_div:
			case DW_OP_minus:
			case DW_OP_mod:
			case DW_OP_mul:
			case DW_OP_neg:
			case DW_OP_not:
			case DW_OP_or:
			case DW_OP_plus:
			case DW_OP_shl:
			case DW_OP_shr:
			case DW_OP_shra:
			case DW_OP_xor:
			case DW_OP_eq:
			case DW_OP_ge:
			case DW_OP_gt:
			case DW_OP_le:
			case DW_OP_lt:
			case DW_OP_ne:
			case DW_OP_nop:
			case DW_OP_push_object_address:
			case DW_OP_form_tls_address:
			case DW_OP_call_frame_cfa:
			case DW_OP_stack_value:
			case DW_OP_GNU_push_tls_address: break;
			default: return -1;
			}
		}
		if (r.bad)
			return -1;
	}
	return (int)n;
}

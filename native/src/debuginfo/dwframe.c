/* dwframe.c — a frame's scopes and where its variables are (see dwframe.h). */
#include "debuginfo/dwframe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "debuginfo/dwexpr.h"
#include "debuginfo/dwtype.h"
#include "debuginfo/dwtypeid.h"

/* ---- the frame, as dwexpr.c asks for it ---- */

static bool env_reg(void *arg, unsigned reg, uint64_t *out)
{
	const struct dwframe *c = arg;
	if (reg >= SYM_NREGS || !(c->regs->known & (1u << reg)))
		return false;
	*out = c->regs->v[reg];
	return true;
}

static bool env_cfa(void *arg, uint64_t *out)
{
	const struct dwframe *c = arg;
	*out = c->cfa;
	return c->has_cfa;
}

static bool env_read(void *arg, uint64_t addr, void *buf, size_t n)
{
	const struct dwframe *c = arg;
	return mem_read_exact(c->pid, addr, buf, n) == 0;
}

static bool frame_base(void *arg, uint64_t *out);

/* with_fb: DW_OP_fbreg allowed (not inside DW_AT_frame_base itself) */
static struct dwexpr_env env_of(struct dwframe *c, bool with_fb)
{
	struct dwexpr_env e = {
		.arg = c,
		.reg = env_reg,
		.nregs = SYM_NREGS,
		.frame_base = with_fb ? frame_base : NULL,
		.cfa = env_cfa,
		.read = env_read,
		.bias = c->bias,
	};
	return e;
}

/* The block of a DW_OP_implicit_value in the location being evaluated
 * (libdw keeps it with the attribute). */
static bool implicit_value(void *arg, const Dwarf_Op *op, const uint8_t **data, size_t *len)
{
	const struct dwframe *c = arg;
	Dwarf_Block b;
	if (!c->attr || DW->dwarf_getlocation_implicit_value(c->attr, op, &b) != 0)
		return false;
	*data = b.data;
	*len = b.length;
	return true;
}

/* The value of the function's DW_AT_frame_base at this pc (usually
 * DW_OP_call_frame_cfa). */
static bool frame_base(void *arg, uint64_t *out)
{
	struct dwframe *c = arg;
	if (c->fb_state == 0) {
		c->fb_state = -1;
		Dwarf_Attribute a;
		Dwarf_Op *ops;
		size_t nops;
		struct dwexpr_result r;
		struct dwexpr_env env = env_of(c, false);
		if (c->has_fn && DW->dwarf_attr_integrate(&c->fn, DW_AT_frame_base, &a) &&
		    DW->dwarf_getlocation_addr(&a, c->at, &ops, &nops, 1) == 1 &&
		    dwexpr_eval(ops, nops, &env, &r) == 0 && r.npieces == 1) {
			if (r.piece[0].kind == DWEXPR_MEM) {
				c->fb = r.piece[0].addr;
				c->fb_state = 1;
			} else if (r.piece[0].kind == DWEXPR_REG && env_reg(c, r.piece[0].reg, &c->fb)) {
				c->fb_state = 1;
			}
		}
	}
	*out = c->fb;
	return c->fb_state == 1;
}

bool dwframe_cfa_rule(Dwfl *dwfl, uint64_t pc, bool (*use)(const Dwarf_Op *ops, size_t nops, void *arg), void *arg)
{
	Dwfl_Module *mod = DW->dwfl_addrmodule(dwfl, pc);
	if (!mod)
		return false;
	Dwarf_CFI *(*getters[2])(Dwfl_Module *, Dwarf_Addr *) = { DW->dwfl_module_eh_cfi, DW->dwfl_module_dwarf_cfi };
	for (int g = 0; g < 2; g++) {
		Dwarf_Addr bias;
		Dwarf_CFI *cfi = getters[g](mod, &bias);
		Dwarf_Frame *frame = NULL;
		if (!cfi || DW->dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0 || !frame)
			continue;
		Dwarf_Op *ops;
		size_t nops;
		bool ok = DW->dwarf_frame_cfa(frame, &ops, &nops) == 0 && use(ops, nops, arg);
		free(frame);
		if (ok)
			return true;
	}
	return false;
}

/* The CFA from CFI (when the unwinder gave no caller): a CFA rule run
 * in the frame's registers, taken when it gives an address. */
static bool eval_cfa(const Dwarf_Op *ops, size_t nops, void *arg)
{
	struct dwframe *c = arg;
	struct dwexpr_env env = env_of(c, false);
	struct dwexpr_result r;
	if (dwexpr_eval(ops, nops, &env, &r) != 0 || r.npieces != 1 || r.piece[0].kind != DWEXPR_MEM)
		return false;
	c->cfa = r.piece[0].addr;
	return true;
}

/* ---- where a variable is ---- */

static struct dwsrc bad_src(struct dwframe *c, const char *why)
{
	struct dwsrc s = { 0 };
	snprintf(c->why, sizeof c->why, "%s", why);
	s.bad = c->why;
	return s;
}

/* The bytes of a location: one register or value, or pieces put together. */
static struct dwsrc located(struct dwframe *c, const struct dwexpr_env *env, const struct dwexpr_result *r,
			    uint8_t *bytes)
{
	struct dwsrc s = { 0 };
	if (r->npieces == 1 && r->piece[0].size == 0 && r->piece[0].kind == DWEXPR_REG) {
		s.in_reg = true;
		s.reg = r->piece[0].reg;
	}
	if (r->npieces == 1 && r->piece[0].size == 0 && r->piece[0].kind == DWEXPR_MEM) {
		s.mem = true;
		s.addr = r->piece[0].addr;
		return s;
	}
	size_t off = 0;
	for (size_t i = 0; i < r->npieces; i++) {
		const struct dwexpr_loc *p = &r->piece[i];
		size_t n = p->size ? (size_t)p->size : 8; /* a whole register or stack value: 8 bytes */
		if (p->kind == DWEXPR_VAL && !p->size)
			n = p->nbytes;
		if (p->size > DWFRAME_VAR_BYTES || n > DWFRAME_VAR_BYTES - off)
			return bad_src(c, "<unsupported: DW_OP_piece object larger than 64 bytes>");
		struct dwexpr_result why;
		uint64_t v;
		switch (p->kind) {
		case DWEXPR_EMPTY: return bad_src(c, "<optimized out>");
		case DWEXPR_MEM:
			if (mem_read_exact(c->pid, p->addr, bytes + off, n) < 0) {
				struct dwsrc u = { .bad = c->why };
				snprintf(c->why, sizeof c->why, "<unreadable at 0x%" PRIx64 ">", p->addr);
				return u;
			}
			break;
		case DWEXPR_REG:
			if (n > 8)
				return bad_src(c, "<unsupported: a piece larger than a general register>");
			if (!dwexpr_reg(env, p->reg, &v, &why))
				return bad_src(c, why.bad);
			memcpy(bytes + off, &v, n);
			break;
		case DWEXPR_VAL:
			if (n > p->nbytes)
				return bad_src(c, "<unsupported: a piece larger than its value>");
			memcpy(bytes + off, p->bytes, n);
			break;
		}
		off += n;
	}
	s.bytes = bytes;
	s.len = off;
	return s;
}

/* Where a variable is at this pc; bytes (DWFRAME_VAR_BYTES) holds the register,
 * implicit or assembled values the returned src points to. */
struct dwsrc dwframe_var_src(struct dwframe *c, Dwarf_Die *var, uint8_t *bytes)
{
	struct dwsrc s = { 0 };
	Dwarf_Attribute a;
	if (!DW->dwarf_attr_integrate(var, DW_AT_location, &a)) {
		if (!DW->dwarf_attr_integrate(var, DW_AT_const_value, &a)) {
			s.bad = "<optimized out>";
			return s;
		}
		unsigned form = DW->dwarf_whatform(&a);
		Dwarf_Block b;
		if (form == DW_FORM_block || form == DW_FORM_block1 || form == DW_FORM_block2 ||
		    form == DW_FORM_block4 || form == DW_FORM_data16) {
			if (DW->dwarf_formblock(&a, &b) != 0 || b.length > DWFRAME_VAR_BYTES) {
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
		if ((form == DW_FORM_sdata || form == DW_FORM_implicit_const) && DW->dwarf_formsdata(&a, &sv) == 0)
			v = (uint64_t)sv;
		else if (DW->dwarf_formudata(&a, &uv) == 0)
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
	int n = DW->dwarf_getlocation_addr(&a, c->at, &ops, &nops, 1);
	if (n < 0) {
		snprintf(c->why, sizeof c->why, "<unsupported: %s>", DW->dwarf_errmsg(-1));
		s.bad = c->why;
		return s;
	}
	if (n == 0) {
		s.bad = "<optimized out>";
		return s;
	}
	struct dwexpr_env env = env_of(c, true);
	env.implicit_value = implicit_value;
	struct dwexpr_result r;
	c->attr = &a;
	int rc = dwexpr_eval(ops, nops, &env, &r);
	c->attr = NULL;
	if (rc < 0)
		return bad_src(c, r.bad);
	return located(c, &env, &r, bytes);
}

bool dwframe_wanted_var(Dwarf_Die *d)
{
	int tag = DW->dwarf_tag(d);
	return (tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) && !dwtype_flag(d, DW_AT_declaration) &&
	       !dwtype_flag(d, DW_AT_artificial) && DW->dwarf_diename(d);
}

/* The frame's function and scopes: 0 with *scopes (free it) and *fi (the
 * innermost function-like scope), or 1 with note (no variables). */
int dwframe_open(struct dwframe *c, const struct sym_frame *frames, int n, int index, Dwarf_Die **scopes, int *fi,
		 char *note, size_t cap)
{
	const struct sym_frame *f = &frames[index];
	uint64_t pc = f->activation || f->pc == 0 ? f->pc : f->pc - 1;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = DW->dwfl_addrdie(c->dwfl, pc, &bias);
	if (!cu) {
		snprintf(note, cap, "no DWARF debug information at 0x%" PRIx64, f->pc);
		return 1;
	}
	c->bias = bias;
	c->at = pc - bias;
	c->mod_start = dwtypeid_module_at(c->dwfl, pc);
	*scopes = NULL;
	int ns = DW->dwarf_getscopes(cu, c->at, scopes);
	*fi = -1;
	for (int i = 0; i < ns; i++) {
		int tag = DW->dwarf_tag(&(*scopes)[i]);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			*fi = i;
			break;
		}
	}
	if (*fi < 0) {
		free(*scopes);
		*scopes = NULL;
		snprintf(note, cap, "no DWARF function at 0x%" PRIx64, f->pc);
		return 1;
	}
	/* the frame base is the out-of-line function's (inlined code uses it) */
	for (int i = *fi; i < ns && !c->has_fn; i++) {
		if (DW->dwarf_tag(&(*scopes)[i]) == DW_TAG_subprogram) {
			c->fn = (*scopes)[i];
			c->has_fn = true;
		}
	}
	if (!c->has_fn) { /* inlined: dwarf_getscopes went on in the abstract origin */
		Dwarf_Die ch;
		if (DW->dwarf_child(cu, &ch) == 0) {
			do {
				if (DW->dwarf_tag(&ch) == DW_TAG_subprogram && DW->dwarf_haspc(&ch, c->at) > 0) {
					c->fn = ch;
					c->has_fn = true;
					break;
				}
			} while (DW->dwarf_siblingof(&ch, &ch) == 0);
		}
	}
	/* the CFA: the caller's sp after the return (the unwinder's), else CFI */
	if (index + 1 < n && frames[index + 1].sp) {
		c->cfa = frames[index + 1].sp;
		c->has_cfa = true;
	} else {
		c->has_cfa = dwframe_cfa_rule(c->dwfl, pc, eval_cfa, c);
	}
	return 0;
}

/* locals.c — the variables of a stack frame (see locals.h): the function
 * and scopes at the frame's pc, where each variable is (its location
 * expression run by dwexpr.c in this frame's registers, CFA and frame
 * base), its value (dwvalue.c), and the JSON answer.
 */
#include "debuginfo/locals.h"
#include "debuginfo/dwglobals.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "debuginfo/dw.h"
#include "debuginfo/dwexpr.h"
#include "debuginfo/dwtype.h"
#include "debuginfo/dwtypeid.h"
#include "arch/arch.h"
#include "debuginfo/dwvalue.h"
#include "debuginfo/strbuf.h"

#define VAR_BYTES 64 /* the largest value held here (a constant, pieces) */

struct lctx {
	struct fk_symbols *s;
	pid_t pid;
	Dwfl *dwfl;
	uint64_t at;	    /* pc for lookups (pc-1 for a caller) */
	uint64_t bias;	    /* module load bias */
	uint64_t mod_start; /* the module's load address (type ids) */
	const struct sym_regs *regs;
	bool has_cfa;
	uint64_t cfa;
	Dwarf_Die fn; /* the subprogram, for DW_AT_frame_base */
	bool has_fn;
	int fb_state; /* 0 not computed, 1 ok, -1 unavailable */
	uint64_t fb;
	Dwarf_Attribute *attr; /* the location being evaluated (implicit_value) */
	struct dwvalue_ctx values;
	char why[160]; /* a reason with numbers, for src.bad (one per variable) */
};

/* ---- the frame, as dwexpr.c asks for it ---- */

static bool env_reg(void *arg, unsigned reg, uint64_t *out)
{
	const struct lctx *c = arg;
	if (reg >= SYM_NREGS || !(c->regs->known & (1u << reg)))
		return false;
	*out = c->regs->v[reg];
	return true;
}

static bool env_cfa(void *arg, uint64_t *out)
{
	const struct lctx *c = arg;
	*out = c->cfa;
	return c->has_cfa;
}

static bool env_read(void *arg, uint64_t addr, void *buf, size_t n)
{
	const struct lctx *c = arg;
	return mem_read_exact(c->pid, addr, buf, n) == 0;
}

static bool frame_base(void *arg, uint64_t *out);

/* with_fb: DW_OP_fbreg allowed (not inside DW_AT_frame_base itself) */
static struct dwexpr_env env_of(struct lctx *c, bool with_fb)
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
	const struct lctx *c = arg;
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
	struct lctx *c = arg;
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

/* The CFA of the frame from CFI (when the unwinder gave no caller). */
static bool cfa_from_cfi(struct lctx *c, uint64_t pc)
{
	Dwfl_Module *mod = DW->dwfl_addrmodule(c->dwfl, pc);
	if (!mod)
		return false;
	Dwarf_CFI *(*getters[2])(Dwfl_Module *, Dwarf_Addr *) = { DW->dwfl_module_eh_cfi, DW->dwfl_module_dwarf_cfi };
	struct dwexpr_env env = env_of(c, false);
	for (int g = 0; g < 2; g++) {
		Dwarf_Addr bias;
		Dwarf_CFI *cfi = getters[g](mod, &bias);
		Dwarf_Frame *frame = NULL;
		if (!cfi || DW->dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0 || !frame)
			continue;
		Dwarf_Op *ops;
		size_t nops;
		struct dwexpr_result r;
		bool ok = DW->dwarf_frame_cfa(frame, &ops, &nops) == 0 && dwexpr_eval(ops, nops, &env, &r) == 0 &&
			  r.npieces == 1 && r.piece[0].kind == DWEXPR_MEM;
		free(frame);
		if (ok) {
			c->cfa = r.piece[0].addr;
			return true;
		}
	}
	return false;
}

/* ---- where a variable is ---- */

static struct dwsrc bad_src(struct lctx *c, const char *why)
{
	struct dwsrc s = { 0 };
	snprintf(c->why, sizeof c->why, "%s", why);
	s.bad = c->why;
	return s;
}

/* The bytes of a location: one register or value, or pieces put together. */
static struct dwsrc located(struct lctx *c, const struct dwexpr_env *env, const struct dwexpr_result *r, uint8_t *bytes)
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
		if (p->size > VAR_BYTES || n > VAR_BYTES - off)
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

/* Where a variable is at this pc; bytes (VAR_BYTES) holds the register,
 * implicit or assembled values the returned src points to. */
static struct dwsrc var_src(struct lctx *c, Dwarf_Die *var, uint8_t *bytes)
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
			if (DW->dwarf_formblock(&a, &b) != 0 || b.length > VAR_BYTES) {
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

/* ---- the answer ---- */

static bool wanted_var(Dwarf_Die *d)
{
	int tag = DW->dwarf_tag(d);
	return (tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) && !dwtype_flag(d, DW_AT_declaration) &&
	       !dwtype_flag(d, DW_AT_artificial) && DW->dwarf_diename(d);
}

static void vars_of_scope(struct lctx *c, Dwarf_Die *scope, struct lvar **vars, size_t *n, size_t *cap)
{
	Dwarf_Die ch;
	if (DW->dwarf_child(scope, &ch) != 0)
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
		const char *nm = DW->dwarf_diename(&ch);
		v->name = xstrdup(nm);
		v->expr = xstrdup(nm);
		v->kind = DW->dwarf_tag(&ch) == DW_TAG_formal_parameter ? "param" : "local";
		c->values.nodes++;
		uint8_t bytes[VAR_BYTES];
		struct dwsrc s = var_src(c, &ch, bytes);
		Dwarf_Die t;
		bool has_t = dwtype_ref(&ch, DW_AT_type, &t);
		dwvalue_build(&c->values, v, has_t ? &t : NULL, &s);
	} while (DW->dwarf_siblingof(&ch, &ch) == 0);
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

/* The frame's function and scopes: 0 with *scopes (free it) and *fi (the
 * innermost function-like scope), or 1 with note (no variables). */
static int frame_open(struct lctx *c, const struct sym_frame *frames, int n, int index, Dwarf_Die **scopes, int *fi,
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
		c->has_cfa = cfa_from_cfi(c, pc);
	}
	return 0;
}

static void function_json(struct jw *w, Dwarf_Die *fn)
{
	const char *fname = DW->dwarf_diename(fn);
	jw_key(w, "function");
	if (fname)
		jw_str(w, fname);
	else
		jw_null(w);
	jw_key(w, "note");
	jw_null(w);
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
	struct lctx c = { .s = s, .pid = pid, .dwfl = dwfl, .regs = regs, .values = { .s = s, .pid = pid } };
	Dwarf_Die *scopes;
	int fi;
	if (frame_open(&c, frames, n, index, &scopes, &fi, note, sizeof note)) {
		no_vars(w, NULL, note);
		return 0;
	}
	struct lvar *vars = NULL;
	size_t nv = 0, cap = 0;
	for (int i = 0; i <= fi; i++)
		vars_of_scope(&c, &scopes[i], &vars, &nv, &cap);
	function_json(w, &scopes[fi]);
	jw_key(w, "variables");
	jw_arr_begin(w);
	for (size_t i = 0; i < nv; i++) {
		dwvalue_json(w, &vars[i]);
		dwvalue_free(&vars[i]);
	}
	jw_arr_end(w);
	free(vars);
	free(scopes);
	return 0;
}

/* ---- where each variable is, with its type's id (expressions) ---- */

static void place_json(struct jw *w, const struct dwsrc *src)
{
	if (src->bad) {
		jw_kstr(w, "unavailable", src->bad);
		return;
	}
	if (src->mem) {
		jw_khex(w, "address", src->addr);
		return;
	}
	const char *rn = src->in_reg ? arch_dwarf_reg_name(src->reg) : NULL;
	if (rn)
		jw_kstr(w, "register", rn);
	char hexbytes[2 * VAR_BYTES + 1];
	size_t k = 0;
	for (size_t i = 0; i < src->len && i < VAR_BYTES; i++)
		k += (size_t)snprintf(hexbytes + k, sizeof hexbytes - k, "%02x", src->bytes[i]);
	hexbytes[k] = '\0';
	jw_kstr(w, "bytes", hexbytes);
}

static void places_of_scope(struct lctx *c, Dwarf_Die *scope, struct jw *w)
{
	Dwarf_Die ch;
	if (DW->dwarf_child(scope, &ch) != 0)
		return;
	do {
		if (!wanted_var(&ch))
			continue;
		jw_obj_begin(w);
		jw_kstr(w, "name", DW->dwarf_diename(&ch));
		jw_kstr(w, "kind", DW->dwarf_tag(&ch) == DW_TAG_formal_parameter ? "param" : "local");
		Dwarf_Die t;
		jw_key(w, "type");
		if (dwtype_ref(&ch, DW_AT_type, &t)) {
			char id[DWTYPEID_MAX];
			dwtypeid_format(c->mod_start, &t, id);
			jw_str(w, id);
		} else {
			jw_null(w);
		}
		uint8_t bytes[VAR_BYTES];
		struct dwsrc src = var_src(c, &ch, bytes);
		place_json(w, &src);
		jw_obj_end(w);
	} while (DW->dwarf_siblingof(&ch, &ch) == 0);
}

int frame_vars_json(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
		    const struct sym_regs *regs, struct jw *w, struct fk_err *err)
{
	if (!s || !frames || !regs || index < 0 || index >= n)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "frameVars", "bad frame %d of %d", index, n);
	char note[256];
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl) {
		snprintf(note, sizeof note, "no DWARF reader: %s", sym_note(s) ? sym_note(s) : "libdw is not in use");
		no_vars(w, NULL, note);
		return 0;
	}
	struct lctx c = { .s = s, .pid = pid, .dwfl = dwfl, .regs = regs, .values = { .s = s, .pid = pid } };
	Dwarf_Die *scopes;
	int fi;
	if (frame_open(&c, frames, n, index, &scopes, &fi, note, sizeof note)) {
		no_vars(w, NULL, note);
		return 0;
	}
	function_json(w, &scopes[fi]);
	jw_key(w, "variables");
	jw_arr_begin(w);
	for (int i = 0; i <= fi; i++)
		places_of_scope(&c, &scopes[i], w);
	jw_arr_end(w);
	free(scopes);
	return 0;
}

/* ---- globals and file statics by name ---- */

struct gfind {
	const char *name;
	Dwfl *dwfl;
	struct dwvalue_ctx values;
	struct lvar *vars;
	size_t n, cap;
};

static bool cb_named(Dwarf_Die *var, uint64_t addr, void *arg)
{
	struct gfind *g = arg;
	if (strcmp(DW->dwarf_diename(var), g->name) != 0 || dwtype_flag(var, DW_AT_declaration))
		return true;
	for (size_t i = 0; i < g->n; i++)
		if (g->vars[i].has_addr && g->vars[i].addr == addr)
			return true; /* the same object, described by another unit */
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 4;
		struct lvar *p = realloc(g->vars, nc * sizeof *p);
		if (!p)
			return false;
		g->vars = p;
		g->cap = nc;
	}
	struct lvar *v = &g->vars[g->n++];
	memset(v, 0, sizeof *v);
	v->name = xstrdup(g->name);
	v->expr = xstrdup(g->name);
	v->kind = "global";
	g->values.nodes++;
	struct dwsrc src = { .mem = true, .addr = addr };
	Dwarf_Die t;
	bool has_t = dwtype_ref(var, DW_AT_type, &t);
	if (has_t)
		dwtypeid_format(dwtypeid_module_at(g->dwfl, addr), &t, v->type_id);
	dwvalue_build(&g->values, v, has_t ? &t : NULL, &src);
	return g->n < 16;
}

int globals_json(struct fk_symbols *s, pid_t pid, const char *name, struct jw *w, struct fk_err *err)
{
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl)
		return fk_fail(err, ENOSYS, FK_KIND_FAILED, "global", "no libdw: globals need DWARF (%s)",
			       sym_note(s) ? sym_note(s) : "libdw not loaded");
	struct gfind g = { .name = name, .dwfl = dwfl, .values = { .s = s, .pid = pid } };
	dw_each_global(dwfl, cb_named, &g);
	jw_key(w, "variables");
	jw_arr_begin(w);
	for (size_t i = 0; i < g.n; i++) {
		dwvalue_json(w, &g.vars[i]);
		dwvalue_free(&g.vars[i]);
	}
	jw_arr_end(w);
	free(g.vars);
	return 0;
}

/* locals.c — the variables of a stack frame (see locals.h): each variable
 * of the frame's scopes (dwframe.c: where it is), its value (dwvalue.c),
 * and the JSON answers: values (locals), places (frameVars), globals.
 */
#include "debuginfo/locals.h"
#include "debuginfo/dwglobals.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/dw.h"
#include "debuginfo/dwframe.h"
#include "debuginfo/dwtype.h"
#include "debuginfo/dwtypeid.h"
#include "arch/arch.h"
#include "debuginfo/dwvalue.h"
#include "debuginfo/strbuf.h"

/* ---- the answer ---- */

static void vars_of_scope(struct dwframe *c, Dwarf_Die *scope, struct lvar **vars, size_t *n, size_t *cap)
{
	Dwarf_Die ch;
	if (DW->dwarf_child(scope, &ch) != 0)
		return;
	do {
		if (!dwframe_wanted_var(&ch))
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
		uint8_t bytes[DWFRAME_VAR_BYTES];
		struct dwsrc s = dwframe_var_src(c, &ch, bytes);
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

/* The answer of op (locals, frameVars) for frames[index]: its function,
 * then "variables", which members() writes from the frame's scopes (from
 * the innermost out to fi, the function's); no variables when the frame
 * has none to show (no DWARF, and why, in "note"). */
static int frame_answer(const char *op, struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n,
			int index, const struct sym_regs *regs, struct jw *w, struct fk_err *err,
			void (*members)(struct dwframe *c, Dwarf_Die *scopes, int fi, struct jw *w))
{
	if (!s || !frames || !regs || index < 0 || index >= n)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, op, "bad frame %d of %d", index, n);
	char note[256];
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl) {
		snprintf(note, sizeof note, "no DWARF reader: %s", sym_note(s) ? sym_note(s) : "libdw is not in use");
		no_vars(w, NULL, note);
		return 0;
	}
	struct dwframe c = { .s = s, .pid = pid, .dwfl = dwfl, .regs = regs, .values = { .s = s, .pid = pid } };
	Dwarf_Die *scopes;
	int fi;
	if (dwframe_open(&c, frames, n, index, &scopes, &fi, note, sizeof note)) {
		no_vars(w, NULL, note);
		return 0;
	}
	function_json(w, &scopes[fi]);
	jw_key(w, "variables");
	jw_arr_begin(w);
	members(&c, scopes, fi, w);
	jw_arr_end(w);
	free(scopes);
	return 0;
}

/* the values of the frame's variables */
static void values_json(struct dwframe *c, Dwarf_Die *scopes, int fi, struct jw *w)
{
	struct lvar *vars = NULL;
	size_t nv = 0, cap = 0;
	for (int i = 0; i <= fi; i++)
		vars_of_scope(c, &scopes[i], &vars, &nv, &cap);
	for (size_t i = 0; i < nv; i++) {
		dwvalue_json(w, &vars[i]);
		dwvalue_free(&vars[i]);
	}
	free(vars);
}

int locals_json(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
		const struct sym_regs *regs, struct jw *w, struct fk_err *err)
{
	return frame_answer("locals", s, pid, frames, n, index, regs, w, err, values_json);
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
	char hexbytes[2 * DWFRAME_VAR_BYTES + 1];
	size_t k = 0;
	for (size_t i = 0; i < src->len && i < DWFRAME_VAR_BYTES; i++)
		k += (size_t)snprintf(hexbytes + k, sizeof hexbytes - k, "%02x", src->bytes[i]);
	hexbytes[k] = '\0';
	jw_kstr(w, "bytes", hexbytes);
}

static void places_of_scope(struct dwframe *c, Dwarf_Die *scope, struct jw *w)
{
	Dwarf_Die ch;
	if (DW->dwarf_child(scope, &ch) != 0)
		return;
	do {
		if (!dwframe_wanted_var(&ch))
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
		uint8_t bytes[DWFRAME_VAR_BYTES];
		struct dwsrc src = dwframe_var_src(c, &ch, bytes);
		place_json(w, &src);
		jw_obj_end(w);
	} while (DW->dwarf_siblingof(&ch, &ch) == 0);
}

/* where the frame's variables are */
static void places_json(struct dwframe *c, Dwarf_Die *scopes, int fi, struct jw *w)
{
	for (int i = 0; i <= fi; i++)
		places_of_scope(c, &scopes[i], w);
}

int frame_vars_json(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
		    const struct sym_regs *regs, struct jw *w, struct fk_err *err)
{
	return frame_answer("frameVars", s, pid, frames, n, index, regs, w, err, places_json);
}

/* ---- globals and file statics by name ---- */

struct gfind {
	const char *name;
	Dwfl *dwfl;
	struct Dwarf_CU *prefer; /* the unit of the pc asked about: its object first */
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
	if (g->prefer && var->cu == g->prefer && g->n > 1) { /* file scope: this unit's object hides the others */
		struct lvar first = g->vars[0];
		g->vars[0] = *v;
		*v = first;
	}
	return g->n < 16;
}

int globals_json(struct fk_symbols *s, pid_t pid, const char *name, bool has_pc, uint64_t pc, struct jw *w,
		 struct fk_err *err)
{
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl)
		return fk_fail(err, ENOSYS, FK_KIND_FAILED, "global", "no libdw: globals need DWARF (%s)",
			       sym_note(s) ? sym_note(s) : "libdw not loaded");
	struct gfind g = { .name = name, .dwfl = dwfl, .values = { .s = s, .pid = pid } };
	if (has_pc) {
		Dwarf_Addr bias;
		Dwarf_Die *cu = DW->dwfl_addrdie(dwfl, pc, &bias);
		g.prefer = cu ? cu->cu : NULL;
	}
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

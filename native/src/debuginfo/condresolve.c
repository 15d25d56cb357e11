/* condresolve.c — the variables of a compiled condition (condprog.h),
 * resolved once at a breakpoint's pc from DWARF (libdw): the innermost
 * local or parameter of that name in the scopes of the pc (as frameVars
 * lists them), else a global or file static (the pc's unit first, as the
 * `global` op orders them). For a local: its location expression at the
 * pc, the function's DW_AT_frame_base and the CFA rule of the CFI at the
 * pc, copied; the evaluation (condprog.c) runs them on the registers of
 * the thread that hit. Only scalar types: base types of 1, 2, 4 or 8 bytes
 * (float, double), pointers, enums with an underlying type. */
#include "debuginfo/condresolve.h"

#include <dwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/dw.h"
#include "debuginfo/dwframe.h"
#include "debuginfo/dwglobals.h"
#include "debuginfo/dwtype.h"

static int fail(char *why, size_t cap, const char *fmt, const char *name)
{
	snprintf(why, cap, fmt, name);
	return -1;
}

static bool copy_ops(Dwarf_Op *dst, size_t *n, const Dwarf_Op *src, size_t ns)
{
	if (ns > CP_MAX_OPS)
		return false;
	for (size_t i = 0; i < ns; i++) {
		uint8_t a = src[i].atom;
		/* what the evaluator cannot do without the DIE's attribute */
		if (a == DW_OP_implicit_value || a == DW_OP_entry_value || a == DW_OP_GNU_entry_value ||
		    a == DW_OP_implicit_pointer || a == DW_OP_GNU_implicit_pointer || a == DW_OP_call2 ||
		    a == DW_OP_call4 || a == DW_OP_call_ref)
			return false;
		dst[i] = src[i];
	}
	*n = ns;
	return true;
}

/* size, signedness and float-ness of a scalar type */
static bool scalar_type(Dwarf_Die *var, struct cp_var *v)
{
	Dwarf_Die t0, t;
	if (!dwtype_ref(var, DW_AT_type, &t0) || !dwtype_peel(&t0, &t))
		return false;
	int tag = DW->dwarf_tag(&t);
	uint64_t size = 0, enc = 0;
	if (tag == DW_TAG_pointer_type) {
		v->size = 8;
		v->is_signed = false;
		v->is_float = false;
		return true;
	}
	if (tag == DW_TAG_enumeration_type) {
		Dwarf_Die u0;
		if (!dwtype_ref(&t, DW_AT_type, &u0) || !dwtype_peel(&u0, &t))
			return false;
		tag = DW->dwarf_tag(&t);
	}
	if (tag != DW_TAG_base_type || !dwtype_udata(&t, DW_AT_byte_size, &size) ||
	    !dwtype_udata(&t, DW_AT_encoding, &enc))
		return false;
	switch (enc) {
	case DW_ATE_float:
		if (size != 4 && size != 8)
			return false; /* long double, _Float16 */
		v->is_float = true;
		v->is_signed = true;
		break;
	case DW_ATE_signed:
	case DW_ATE_signed_char: v->is_signed = true; break;
	case DW_ATE_unsigned:
	case DW_ATE_unsigned_char:
	case DW_ATE_boolean: v->is_signed = false; break;
	default: return false;
	}
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	v->size = (unsigned)size;
	return true;
}

static bool find_in_scope(Dwarf_Die *scope, const char *name, Dwarf_Die *out)
{
	Dwarf_Die ch;
	if (DW->dwarf_child(scope, &ch) != 0)
		return false;
	do {
		if (dwframe_wanted_var(&ch) && strcmp(DW->dwarf_diename(&ch), name) == 0) {
			*out = ch;
			return true;
		}
	} while (DW->dwarf_siblingof(&ch, &ch) == 0);
	return false;
}

struct gfind {
	const char *name;
	struct Dwarf_CU *prefer;
	bool found, preferred;
	Dwarf_Die die;
	uint64_t addr;
};

static bool cb_global(Dwarf_Die *var, uint64_t addr, void *arg)
{
	struct gfind *g = arg;
	if (strcmp(DW->dwarf_diename(var), g->name) != 0 || dwtype_flag(var, DW_AT_declaration))
		return true;
	bool pref = g->prefer && var->cu == g->prefer;
	if (!g->found || (pref && !g->preferred)) {
		g->found = true;
		g->preferred = pref;
		g->die = *var;
		g->addr = addr;
	}
	return !g->preferred;
}

/* a CFA rule, copied into the variable (arg) */
static bool copy_cfa(const Dwarf_Op *ops, size_t nops, void *arg)
{
	struct cp_var *v = arg;
	return copy_ops(v->cfa, &v->ncfa, ops, nops);
}

int condresolve(struct condprog *cp, Dwfl *dwfl, uint64_t pc, char *why, size_t cap)
{
	if (!dwfl)
		return fail(why, cap, "%s", "no DWARF reader");
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = DW->dwfl_addrdie(dwfl, pc, &bias);
	if (!cu)
		return fail(why, cap, "%s", "no DWARF debug information at the breakpoint");
	uint64_t at = pc - bias;
	Dwarf_Die *scopes = NULL;
	int ns = DW->dwarf_getscopes(cu, at, &scopes);
	int fi = -1;
	for (int i = 0; i < ns && fi < 0; i++) {
		int tag = DW->dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
			fi = i;
	}
	int rc = 0;
	for (size_t k = 0; k < cp->nvars && rc == 0; k++) {
		struct cp_var *v = &cp->vars[k];
		Dwarf_Die var;
		bool local = false;
		for (int i = 0; i <= fi && !local; i++)
			local = find_in_scope(&scopes[i], v->name, &var);
		if (!local) {
			struct gfind g = { .name = v->name, .prefer = cu->cu };
			dw_each_global(dwfl, cb_global, &g);
			if (!g.found) {
				rc = fail(why, cap, "no symbol \"%s\" in this frame", v->name);
				break;
			}
			if (!scalar_type(&g.die, v)) {
				rc = fail(why, cap, "%s: not a scalar", v->name);
				break;
			}
			v->absolute = true;
			v->addr = g.addr;
			v->resolved = true;
			continue;
		}
		if (!scalar_type(&var, v)) {
			rc = fail(why, cap, "%s: not a scalar", v->name);
			break;
		}
		Dwarf_Attribute a;
		Dwarf_Op *ops;
		size_t nops;
		if (!DW->dwarf_attr_integrate(&var, DW_AT_location, &a) ||
		    DW->dwarf_getlocation_addr(&a, at, &ops, &nops, 1) != 1 || !copy_ops(v->loc, &v->nloc, ops, nops)) {
			rc = fail(why, cap, "%s: no simple location at the breakpoint", v->name);
			break;
		}
		v->bias = bias;
		/* the out-of-line function's frame base (inlined code uses it) */
		Dwarf_Die fn;
		bool has_fn = false;
		for (int i = fi; i >= 0 && i < ns && !has_fn; i++) {
			if (DW->dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
				fn = scopes[i];
				has_fn = true;
			}
		}
		if (has_fn && DW->dwarf_attr_integrate(&fn, DW_AT_frame_base, &a) &&
		    DW->dwarf_getlocation_addr(&a, at, &ops, &nops, 1) == 1)
			copy_ops(v->fb, &v->nfb, ops, nops);
		dwframe_cfa_rule(dwfl, pc, copy_cfa, v); /* none: an expression that needs it fails at the hit */
		v->resolved = true;
	}
	free(scopes);
	return rc;
}

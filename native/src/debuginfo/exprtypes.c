/* exprtypes.c — type layouts and typed values for expressions (see
 * exprtypes.h). */
#include "debuginfo/exprtypes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/dw.h"
#include "debuginfo/dwtype.h"
#include "debuginfo/dwtypeid.h"
#include "debuginfo/dwvalue.h"
#include "debuginfo/strbuf.h"

static void id_json(struct jw *w, const char *key, uint64_t mod, Dwarf_Die *die)
{
	char id[DWTYPEID_MAX];
	jw_key(w, key);
	if (!die) {
		jw_null(w);
		return;
	}
	dwtypeid_format(mod, die, id);
	jw_str(w, id);
}

static void ref_json(struct jw *w, const char *key, uint64_t mod, Dwarf_Die *die)
{
	Dwarf_Die t;
	id_json(w, key, mod, dwtype_ref(die, DW_AT_type, &t) ? &t : NULL);
}

static const char *encoding(Dwarf_Die *t)
{
	uint64_t enc = 0;
	dwtype_udata(t, DW_AT_encoding, &enc);
	switch (enc) {
	case DW_ATE_signed: return "signed";
	case DW_ATE_unsigned: return "unsigned";
	case DW_ATE_signed_char: return "signedChar";
	case DW_ATE_unsigned_char:
	case DW_ATE_UTF: return "unsignedChar";
	case DW_ATE_boolean: return "bool";
	case DW_ATE_float: return "float";
	default: return "other";
	}
}

static void fields_json(struct jw *w, uint64_t mod, Dwarf_Die *st)
{
	Dwarf_Die ch;
	jw_key(w, "fields");
	jw_arr_begin(w);
	if (DW->dwarf_child(st, &ch) == 0) {
		do {
			if (DW->dwarf_tag(&ch) != DW_TAG_member)
				continue;
			jw_obj_begin(w);
			const char *nm = DW->dwarf_diename(&ch);
			jw_key(w, "name");
			if (nm)
				jw_str(w, nm);
			else
				jw_null(w);
			ref_json(w, "type", mod, &ch);
			uint64_t off = 0, bits = 0, dbo = 0;
			dwtype_udata(&ch, DW_AT_data_member_location, &off);
			jw_kint(w, "offset", (int64_t)off);
			if (dwtype_udata(&ch, DW_AT_bit_size, &bits) && bits > 0) {
				jw_kint(w, "bitSize", (int64_t)bits);
				if (dwtype_udata(&ch, DW_AT_data_bit_offset, &dbo))
					jw_kint(w, "bitOffset", (int64_t)(dbo + off * 8));
			}
			jw_obj_end(w);
		} while (DW->dwarf_siblingof(&ch, &ch) == 0);
	}
	jw_arr_end(w);
}

static void enumerators_json(struct jw *w, Dwarf_Die *t, bool sign)
{
	Dwarf_Die ch;
	jw_key(w, "enumerators");
	jw_arr_begin(w);
	if (DW->dwarf_child(t, &ch) == 0) {
		do {
			Dwarf_Attribute a;
			Dwarf_Sword sv;
			Dwarf_Word uv;
			if (DW->dwarf_tag(&ch) != DW_TAG_enumerator ||
			    !DW->dwarf_attr_integrate(&ch, DW_AT_const_value, &a))
				continue;
			char buf[32];
			unsigned form = DW->dwarf_whatform(&a);
			if ((sign || form == DW_FORM_sdata || form == DW_FORM_implicit_const) &&
			    DW->dwarf_formsdata(&a, &sv) == 0)
				snprintf(buf, sizeof buf, "%" PRId64, (int64_t)sv);
			else if (DW->dwarf_formudata(&a, &uv) == 0)
				snprintf(buf, sizeof buf, "%" PRIu64, (uint64_t)uv);
			else
				continue;
			jw_obj_begin(w);
			jw_kstr(w, "name", DW->dwarf_diename(&ch));
			jw_kstr(w, "value", buf);
			jw_obj_end(w);
		} while (DW->dwarf_siblingof(&ch, &ch) == 0);
	}
	jw_arr_end(w);
}

/* ---- types by name ---- */

struct tfind {
	const char *name;
	int tag;	  /* DW_TAG_… wanted; DW_TAG_enumerator: the enum that has one */
	bool found, decl; /* decl: only a declaration so far */
	Dwarf_Die die;
	uint64_t mod;
};

static bool matches(struct tfind *f, Dwarf_Die *d)
{
	int tag = DW->dwarf_tag(d);
	if (f->tag == DW_TAG_enumerator) {
		Dwarf_Die ch;
		if (tag != DW_TAG_enumeration_type || DW->dwarf_child(d, &ch) != 0)
			return false;
		do {
			const char *n = DW->dwarf_diename(&ch);
			if (DW->dwarf_tag(&ch) == DW_TAG_enumerator && n && strcmp(n, f->name) == 0)
				return true;
		} while (DW->dwarf_siblingof(&ch, &ch) == 0);
		return false;
	}
	const char *n = DW->dwarf_diename(d);
	if (!n || strcmp(n, f->name) != 0)
		return false;
	return tag == f->tag || (f->tag == DW_TAG_typedef && tag == DW_TAG_base_type);
}

static int cb_types(Dwfl_Module *mod, void **ud, const char *mname, Dwarf_Addr start, void *arg)
{
	(void)ud, (void)mname;
	struct tfind *f = arg;
	Dwarf_Addr bias;
	for (Dwarf_Die *cu = NULL; (cu = DW->dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
		Dwarf_Die d;
		if (DW->dwarf_child(cu, &d) != 0)
			continue;
		do {
			if (!matches(f, &d))
				continue;
			bool decl = dwtype_flag(&d, DW_AT_declaration);
			if (f->found && (decl || !f->decl))
				continue;
			f->found = true;
			f->decl = decl;
			f->die = d;
			f->mod = start;
			if (!decl)
				return DWARF_CB_ABORT;
		} while (DW->dwarf_siblingof(&d, &d) == 0);
	}
	return DWARF_CB_OK;
}

static int tag_of(const char *tag)
{
	return !tag				? DW_TAG_typedef
	       : strcmp(tag, "struct") == 0	? DW_TAG_structure_type
	       : strcmp(tag, "union") == 0	? DW_TAG_union_type
	       : strcmp(tag, "enum") == 0	? DW_TAG_enumeration_type
	       : strcmp(tag, "enumerator") == 0 ? DW_TAG_enumerator
						: DW_TAG_typedef;
}

/* ---- the layout ---- */

static void layout_json(struct jw *w, uint64_t mod, Dwarf_Die *t)
{
	jw_obj_begin(w);
	id_json(w, "id", mod, t);
	char *name = dwtype_name(t);
	jw_kstr(w, "name", name ? name : "?");
	free(name);
	int tag = DW->dwarf_tag(t);
	uint64_t size = 0;
	bool has_size = dwtype_size(t, &size);
	switch (tag) {
	case DW_TAG_base_type:
		jw_kstr(w, "kind", "base");
		jw_kstr(w, "encoding", encoding(t));
		break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		jw_kstr(w, "kind", "pointer");
		ref_json(w, "target", mod, t);
		break;
	case DW_TAG_typedef:
		jw_kstr(w, "kind", "typedef");
		ref_json(w, "target", mod, t);
		break;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		jw_kstr(w, "kind", "qualified");
		ref_json(w, "target", mod, t);
		break;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		jw_kstr(w, "kind", tag == DW_TAG_structure_type ? "struct" : "union");
		jw_kbool(w, "declaration", dwtype_flag(t, DW_AT_declaration));
		fields_json(w, mod, t);
		break;
	case DW_TAG_enumeration_type: {
		jw_kstr(w, "kind", "enum");
		Dwarf_Die ut;
		bool sign = dwtype_ref(t, DW_AT_type, &ut) && dwtype_signed(&ut);
		jw_kbool(w, "signed", sign);
		enumerators_json(w, t, sign);
		break;
	}
	case DW_TAG_array_type: {
		jw_kstr(w, "kind", "array");
		ref_json(w, "target", mod, t);
		int64_t counts[8];
		int nd = dwtype_array_dims(t, counts, 8);
		jw_key(w, "dims");
		jw_arr_begin(w);
		for (int i = 0; i < nd; i++)
			jw_int(w, counts[i]);
		jw_arr_end(w);
		break;
	}
	case DW_TAG_subroutine_type:
	case DW_TAG_subprogram: jw_kstr(w, "kind", "function"); break;
	default: jw_kstr(w, "kind", "other"); break;
	}
	if (has_size)
		jw_kint(w, "size", (int64_t)size);
	jw_obj_end(w);
}

int exprtypes_info_json(struct fk_symbols *s, const char *id, const char *name, const char *tag, struct jw *w,
			struct fk_err *err)
{
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl)
		return fk_fail(err, ENOSYS, FK_KIND_FAILED, "typeInfo", "no libdw: types need DWARF (%s)",
			       sym_note(s) ? sym_note(s) : "libdw not loaded");
	Dwarf_Die t;
	uint64_t mod = 0;
	if (id) {
		if (!dwtypeid_find(dwfl, id, &t, &mod))
			return fk_fail(err, EINVAL, FK_KIND_BADREQ, "typeInfo",
				       "no type %s here (malformed, or its module is gone)", id);
		if (dwtype_flag(&t, DW_AT_declaration) && DW->dwarf_diename(&t)) {
			/* an incomplete struct: its definition, from any unit */
			int tg = DW->dwarf_tag(&t);
			struct tfind f = { .name = DW->dwarf_diename(&t), .tag = tg };
			DW->dwfl_getmodules(dwfl, cb_types, &f, 0);
			if (f.found && !f.decl) {
				t = f.die;
				mod = f.mod;
			}
		}
	} else {
		struct tfind f = { .name = name ? name : "", .tag = tag_of(tag) };
		DW->dwfl_getmodules(dwfl, cb_types, &f, 0);
		if (!f.found) {
			jw_key(w, "type");
			jw_null(w);
			return 0;
		}
		t = f.die;
		mod = f.mod;
	}
	jw_key(w, "type");
	layout_json(w, mod, &t);
	return 0;
}

int exprtypes_value_json(struct fk_symbols *s, pid_t pid, const char *id, uint64_t addr, const uint8_t *bytes,
			 size_t len, int64_t count, const char *name, const char *expr, struct jw *w,
			 struct fk_err *err)
{
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl)
		return fk_fail(err, ENOSYS, FK_KIND_FAILED, "typedValue", "no libdw: typed values need DWARF (%s)",
			       sym_note(s) ? sym_note(s) : "libdw not loaded");
	Dwarf_Die t;
	if (!dwtypeid_find(dwfl, id, &t, NULL))
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "typedValue",
			       "no type %s here (malformed, or its module is gone)", id);
	struct dwvalue_ctx c = { .s = s, .pid = pid };
	struct lvar v = { 0 };
	v.name = xstrdup(name);
	v.expr = xstrdup(expr);
	v.kind = "local";
	struct dwsrc src = { 0 };
	if (bytes) {
		src.bytes = bytes;
		src.len = len;
	} else {
		src.mem = true;
		src.addr = addr;
	}
	if (count > 0)
		dwvalue_build_array(&c, &v, &t, count, &src);
	else
		dwvalue_build(&c, &v, &t, &src);
	jw_key(w, "variable");
	dwvalue_json(w, &v);
	dwvalue_free(&v);
	return 0;
}

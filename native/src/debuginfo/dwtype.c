/* dwtype.c — DWARF types: attributes of DIEs and C type names (see
 * dwtype.h). */
#include "debuginfo/dwtype.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "debuginfo/strbuf.h"

bool dwtype_ref(Dwarf_Die *die, unsigned at, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	return DW->dwarf_attr_integrate(die, at, &a) && DW->dwarf_formref_die(&a, out);
}

bool dwtype_udata(Dwarf_Die *die, unsigned at, uint64_t *out)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	if (!DW->dwarf_attr_integrate(die, at, &a) || DW->dwarf_formudata(&a, &v) != 0)
		return false;
	*out = v;
	return true;
}

bool dwtype_flag(Dwarf_Die *die, unsigned at)
{
	Dwarf_Attribute a;
	bool f = false;
	return DW->dwarf_attr_integrate(die, at, &a) && DW->dwarf_formflag(&a, &f) == 0 && f;
}

bool dwtype_size(Dwarf_Die *die, uint64_t *out)
{
	Dwarf_Word w;
	if (DW->dwarf_aggregate_size(die, &w) == 0) {
		*out = w;
		return true;
	}
	return dwtype_udata(die, DW_AT_byte_size, out);
}

static bool is_qualifier(int tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
	       tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type;
}

/* Drop typedefs and qualifiers. False: void (no DW_AT_type on the way). */
bool dwtype_peel(Dwarf_Die *type, Dwarf_Die *out)
{
	Dwarf_Die cur = *type;
	for (int i = 0; i < 64 && is_qualifier(DW->dwarf_tag(&cur)); i++) {
		Dwarf_Die next;
		if (!dwtype_ref(&cur, DW_AT_type, &next))
			return false;
		cur = next;
	}
	*out = cur;
	return true;
}

bool dwtype_is_char(Dwarf_Die *type)
{
	Dwarf_Die t;
	uint64_t enc = 0, size = 0;
	if (!dwtype_peel(type, &t) || DW->dwarf_tag(&t) != DW_TAG_base_type ||
	    !dwtype_udata(&t, DW_AT_encoding, &enc) || !dwtype_udata(&t, DW_AT_byte_size, &size) || size != 1)
		return false;
	if (enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char || enc == DW_ATE_UTF)
		return true;
	const char *n = DW->dwarf_diename(&t);
	return n && strstr(n, "char");
}

/* ---- type names, C style ---- */

/* Array dimensions of an array DIE: counts[0..*nd). -1: unknown. */
int dwtype_array_dims(Dwarf_Die *arr, int64_t *counts, int max)
{
	Dwarf_Die ch;
	int nd = 0;
	if (DW->dwarf_child(arr, &ch) != 0)
		return 0;
	do {
		if (DW->dwarf_tag(&ch) != DW_TAG_subrange_type || nd >= max)
			continue;
		uint64_t v;
		Dwarf_Attribute a;
		Dwarf_Sword sv;
		if (dwtype_udata(&ch, DW_AT_count, &v)) {
			counts[nd] = (int64_t)v;
		} else if (DW->dwarf_attr_integrate(&ch, DW_AT_upper_bound, &a)) {
			/* gcc writes -1 (sdata or all-ones data) for [] of unknown size */
			if (DW->dwarf_formsdata(&a, &sv) == 0 && sv >= 0 && sv < INT32_MAX)
				counts[nd] = sv + 1;
			else
				counts[nd] = -1;
		} else {
			counts[nd] = -1;
		}
		nd++;
	} while (DW->dwarf_siblingof(&ch, &ch) == 0);
	return nd;
}

/* prefix and suffix of a declarator: "int" + " *" / "int" + " [4]" */
static void type_name_rec(Dwarf_Die *type, struct sb *pre, struct sb *suf, int depth);

static void type_name_of_ref(Dwarf_Die *die, struct sb *pre, struct sb *suf, int depth)
{
	Dwarf_Die t;
	if (!dwtype_ref(die, DW_AT_type, &t))
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
	int tag = DW->dwarf_tag(type);
	const char *name = DW->dwarf_diename(type);
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
		bool ptr = dwtype_ref(type, DW_AT_type, &t) && dwtype_peel(&t, &p) &&
			   DW->dwarf_tag(&t) == DW_TAG_pointer_type;
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
		int tt = dwtype_ref(type, DW_AT_type, &t) ? DW->dwarf_tag(&t) : 0;
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
		int nd = dwtype_array_dims(type, counts, 8);
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
	case DW_TAG_subroutine_type:
	case DW_TAG_subprogram: { /* a function's own DIE: its type, "int (int)" */
		type_name_of_ref(type, pre, suf, depth);
		struct sb params = { 0 };
		sb_add(&params, "(");
		Dwarf_Die ch;
		int np = 0;
		if (DW->dwarf_child(type, &ch) == 0) {
			do {
				int t = DW->dwarf_tag(&ch);
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
			} while (DW->dwarf_siblingof(&ch, &ch) == 0);
		}
		if (np == 0 && dwtype_flag(type, DW_AT_prototyped))
			sb_add(&params, "void");
		sb_add(&params, ")");
		sb_add(suf, params.buf);
		return;
	}
	default: sb_add(pre, name ? name : "?"); return;
	}
}

char *dwtype_name(Dwarf_Die *type)
{
	struct sb pre = { 0 }, suf = { 0 };
	if (!type)
		return xstrdup("void");
	type_name_rec(type, &pre, &suf, 0);
	if (suf.n && (suf.buf[0] == '[' || suf.buf[0] == '(') && !(pre.n && pre.buf[pre.n - 1] == '*'))
		return xprintf("%s %s", pre.buf, suf.buf);
	return xprintf("%s%s", pre.buf, suf.buf);
}

char *dwtype_dims_name(Dwarf_Die *elem, const int64_t *counts, int nd)
{
	struct sb pre = { 0 }, suf = { 0 };
	type_name_rec(elem, &pre, &suf, 0);
	char dims[128];
	size_t dl = 0;
	dims[0] = '\0';
	for (int d = 0; d < nd && dl < sizeof dims; d++) {
		int r = snprintf(dims + dl, sizeof dims - dl, "[%" PRId64 "]", counts[d]);
		if (r > 0)
			dl += (size_t)r;
	}
	return xprintf("%s%s %s", pre.buf, suf.buf, dims);
}

bool dwtype_signed(Dwarf_Die *type)
{
	Dwarf_Die t;
	uint64_t enc = 0;
	return dwtype_peel(type, &t) && dwtype_udata(&t, DW_AT_encoding, &enc) &&
	       (enc == DW_ATE_signed || enc == DW_ATE_signed_char);
}

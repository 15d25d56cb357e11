/* dwtype.h — DWARF types: what a DIE's attributes say, and its C type
 * name ("const char *", "int [4][2]", "void (*)(int)", "struct point").
 *
 * Through libdw (dw.h); only called while a Dwfl exists (locals.c), so
 * libdw is loaded. Pure functions of the DIEs: no process.
 */
#ifndef FK_DWTYPE_H
#define FK_DWTYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "debuginfo/dw.h"

/* The DIE an attribute (DW_AT_type, …) refers to. */
bool dwtype_ref(Dwarf_Die *die, unsigned at, Dwarf_Die *out);
/* An unsigned constant attribute (DW_AT_byte_size, DW_AT_encoding, …). */
bool dwtype_udata(Dwarf_Die *die, unsigned at, uint64_t *out);
/* A flag attribute that is present and true. */
bool dwtype_flag(Dwarf_Die *die, unsigned at);
/* The size in bytes of a type (dwarf_aggregate_size, else DW_AT_byte_size). */
bool dwtype_size(Dwarf_Die *die, uint64_t *out);

/* Drop typedefs and qualifiers. False: void (no DW_AT_type on the way). */
bool dwtype_peel(Dwarf_Die *type, Dwarf_Die *out);
/* A one-byte character type (char, signed/unsigned char, char8_t). */
bool dwtype_is_char(Dwarf_Die *type);
/* A base type (typedefs and qualifiers peeled) with a signed encoding. */
bool dwtype_signed(Dwarf_Die *type);
/* Array dimensions of an array DIE: counts[0..return). -1: unknown ([]). */
int dwtype_array_dims(Dwarf_Die *arr, int64_t *counts, int max);

/* The C name of a type (NULL: "void"); malloc'ed, NULL when out of memory. */
char *dwtype_name(Dwarf_Die *type);
/* The name of an array of elem with these dimensions: "int [3][2]". */
char *dwtype_dims_name(Dwarf_Die *elem, const int64_t *counts, int nd);

#endif

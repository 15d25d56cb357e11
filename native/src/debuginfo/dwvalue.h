/* dwvalue.h — the value of an object of a DWARF type, C-style: base
 * types, enums, pointers (char * with a string preview, function pointers
 * with their symbol), arrays, structs and unions with children (depth and
 * element limits of locals.h), typedefs and qualifiers peeled but named.
 *
 * Each node also carries its scalar's raw value with its kind ("int",
 * "uint", "float", "bool", "pointer"), so readers compare numbers and never
 * parse display text. What cannot be shown is said in the value
 * ("<unreadable at 0x…>", "<unsupported …>"), never guessed.
 *
 * Memory through mem_read (no ptrace); DIEs through libdw (dw.h).
 */
#ifndef FK_DWVALUE_H
#define FK_DWVALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "debuginfo/dw.h"
#include "debuginfo/dwtypeid.h"
#include "debuginfo/symbols.h"

/* Limits of one answer. */
#define LOCALS_MAX_DEPTH 3     /* children of children of children */
#define LOCALS_MAX_ELEMENTS 64 /* array elements listed */
#define LOCALS_MAX_NODES 4096  /* values in one answer */

/* Where an object's bytes are: memory of the process, bytes we hold (a
 * register, DW_OP_stack_value, a constant), or nowhere (bad says why). */
struct dwsrc {
	bool mem;
	uint64_t addr;
	const uint8_t *bytes;
	size_t len;
	const char *bad;
	bool in_reg;  /* bytes are the whole of one general register */
	unsigned reg; /* its DWARF number */
};

/* One node: a variable, or a member/element/pointee of one. */
struct lvar {
	char *name, *type, *value, *expr;
	const char *kind; /* "param" "local" "member" "element" "deref" */
	bool has_addr, has_ptr, has_children;
	uint64_t addr, ptr;
	const char *raw_kind; /* NULL: no raw value (aggregates, unreadable) */
	char raw[48];	      /* decimal ("-3", "2.5"), or "0x…" for pointers */
	unsigned raw_size;    /* bytes of the object (0: not a whole-byte object, e.g. a bit-field) */
	struct lvar *kids;
	size_t nkids;
	char type_id[DWTYPEID_MAX]; /* "" or the dwtypeid of its type (globals, for expressions) */
};

struct dwvalue_ctx {
	struct fk_symbols *s; /* function names of function pointers */
	pid_t pid;	      /* whose memory */
	size_t nodes;	      /* nodes made so far (LOCALS_MAX_NODES) */
};

/* Fill v (name, kind and expr already set) with an object of type `type`
 * (NULL: void) whose bytes are at s. */
void dwvalue_build(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *type, const struct dwsrc *s);

/* Fill v with `count` objects of type elem from s on (an array made by
 * the caller: gdb's x@count). */
void dwvalue_build_array(struct dwvalue_ctx *c, struct lvar *v, Dwarf_Die *elem, int64_t count, const struct dwsrc *s);

/* Write v as a LocalVariable object ({"name","type","value",…,"children"}). */
struct jw;
void dwvalue_json(struct jw *w, const struct lvar *v);

/* Free what v holds (not v itself). */
void dwvalue_free(struct lvar *v);

#endif

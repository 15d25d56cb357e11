/* dwexpr.h — DWARF location expressions: a pure evaluator and a decoder.
 *
 * dwexpr_eval runs a location description (DWARF 5 §2.5/§2.6) given as
 * libdw's decoded operations (Dwarf_Op, from <elfutils/libdw.h>; the type
 * only: nothing here calls libdw) against an environment of callbacks for
 * registers, memory, the frame base and the CFA. It answers where the
 * object is: in memory, in a register, a computed value, or in pieces
 * (DW_OP_piece) of those. No process, no DIE: unit-tested with byte
 * programs (test/native/test_dwexpr.c) that dwexpr_decode turns into the
 * operations libdw would give.
 *
 * What it does not do is said, never guessed: "<optimized out>" (an empty
 * location, DW_OP_entry_value), "<unavailable: …>" (a register or memory
 * the environment does not have), "<unsupported: …>" (DW_OP_bit_piece,
 * implicit pointers, other operations).
 */
#ifndef FK_DWEXPR_H
#define FK_DWEXPR_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DWEXPR_STACK 64	     /* DWARF stack entries */
#define DWEXPR_MAX_PIECES 16 /* DW_OP_piece parts of one object */
#define DWEXPR_MAX_VALUE 16  /* bytes of DW_OP_implicit_value */

enum dwexpr_kind {
	DWEXPR_MEM,   /* at addr in the process's memory */
	DWEXPR_REG,   /* in DWARF register reg */
	DWEXPR_VAL,   /* the value itself: bytes (DW_OP_stack_value, DW_OP_implicit_value) */
	DWEXPR_EMPTY, /* nowhere: this piece is optimized out */
};

struct dwexpr_loc {
	enum dwexpr_kind kind;
	uint64_t addr;			 /* DWEXPR_MEM */
	unsigned reg;			 /* DWEXPR_REG */
	uint8_t bytes[DWEXPR_MAX_VALUE]; /* DWEXPR_VAL (little-endian) */
	size_t nbytes;
	uint64_t size; /* bytes of this piece; 0: the whole object (no DW_OP_piece) */
};

struct dwexpr_result {
	struct dwexpr_loc piece[DWEXPR_MAX_PIECES];
	size_t npieces;	 /* 1 without DW_OP_piece */
	const char *bad; /* NULL: evaluated; else why not ("<optimized out>", …) */
	char why[160];	 /* storage for a bad text with numbers */
};

/* What an expression may ask of its frame. A callback returns false when
 * it does not know; NULL callbacks know nothing. */
struct dwexpr_env {
	void *arg;
	/* DWARF register regno of this frame */
	bool (*reg)(void *arg, unsigned regno, uint64_t *out);
	unsigned nregs; /* registers >= nregs are never read (the message says so) */
	/* DW_AT_frame_base of the function, for DW_OP_fbreg */
	bool (*frame_base)(void *arg, uint64_t *out);
	/* the canonical frame address, for DW_OP_call_frame_cfa */
	bool (*cfa)(void *arg, uint64_t *out);
	/* n (<= 8) bytes at addr, for DW_OP_deref and DW_OP_deref_size */
	bool (*read)(void *arg, uint64_t addr, void *buf, size_t n);
	/* the block of a DW_OP_implicit_value operation */
	bool (*implicit_value)(void *arg, const Dwarf_Op *op, const uint8_t **data, size_t *len);
	uint64_t bias; /* the module's load bias, added to DW_OP_addr */
};

/* Evaluate ops[0..n). 0 and out->piece[0..npieces), or -1 with out->bad. */
int dwexpr_eval(const Dwarf_Op *ops, size_t n, const struct dwexpr_env *env, struct dwexpr_result *out);

/* The value of DWARF register reg from env, or false with why->bad saying
 * why not (for DWEXPR_REG locations). */
bool dwexpr_reg(const struct dwexpr_env *env, unsigned reg, uint64_t *out, struct dwexpr_result *why);

/* Decode an expression's bytes (an exprloc block, x86-64: 8-byte
 * addresses) into at most max operations as libdw does: atom, number,
 * number2 and offset (the operation's byte offset). DW_OP_implicit_value:
 * number is the block's length and number2 its offset in code. Returns
 * the count, or -1 for a truncated program, an operation it does not know
 * or more than max operations. */
int dwexpr_decode(const uint8_t *code, size_t len, Dwarf_Op *ops, size_t max);

#endif

/* condprog.h — a breakpoint condition compiled for the tracer thread (gdb's
 * agent expressions, in small): a postfix program over C scalars whose
 * operands are variables located by DWARF expressions, evaluated at a
 * breakpoint hit from the thread's registers and memory, without the
 * adapter.
 *
 * The text form (what the adapter sends, bpCondition), tokens separated by
 * spaces:
 *   v:NAME             a variable (local, parameter, global), resolved at
 *                      the breakpoint's pc by condresolve.c
 *   i32:N u32:N i64:N u64:N   an integer constant of that C type (decimal)
 *   f64:X              a double constant
 *   < <= > >= == != && || + - * / % & | ^   binary, C semantics (the usual
 *                      arithmetic conversions; && and || give int 0/1 and
 *                      evaluate both sides: no side effects here)
 *   ! neg ~            unary
 * The program must leave one value; it holds when that value is not 0.
 *
 * Values are int, unsigned int, long, unsigned long or double: narrower
 * integers (char, short, _Bool) are promoted to int as C does, float to
 * double, pointers are unsigned long. Division by zero, an unreadable
 * operand, a register not in the thread's general registers: an error,
 * and the caller reports the stop (the adapter evaluates it as before).
 *
 * condprog_eval is pure: registers and memory come from the caller (unit
 * tested without a process, test/native/test_condprog.c). */
#ifndef FK_CONDPROG_H
#define FK_CONDPROG_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CP_MAX_CODE 48
#define CP_MAX_VARS 6
#define CP_MAX_OPS 12 /* DWARF operations of one location, frame base or CFA rule */
#define CP_NAME_MAX 64

enum cp_cls {
	CP_I32,
	CP_U32,
	CP_I64,
	CP_U64,
	CP_F64
};

enum cp_op {
	CP_PUSH_VAR,
	CP_PUSH_CONST,
	CP_LT,
	CP_LE,
	CP_GT,
	CP_GE,
	CP_EQ,
	CP_NE,
	CP_LAND,
	CP_LOR,
	CP_ADD,
	CP_SUB,
	CP_MUL,
	CP_DIV,
	CP_MOD,
	CP_AND,
	CP_OR,
	CP_XOR,
	CP_NOT,
	CP_NEG,
	CP_COMPL,
};

struct cp_value {
	enum cp_cls cls;
	union {
		int64_t i;
		uint64_t u;
		double f;
	};
};

struct cp_insn {
	enum cp_op op;
	unsigned var;	   /* CP_PUSH_VAR: index in vars */
	struct cp_value k; /* CP_PUSH_CONST */
};

/* How a variable's bytes are read and typed (condresolve.c fills it). */
struct cp_var {
	char name[CP_NAME_MAX];
	bool resolved;
	/* its type: size in bytes (1, 2, 4, 8), signed or not, floating or not */
	unsigned size;
	bool is_signed, is_float;
	/* absolute: at addr (a global). Else its DW_AT_location at the pc,
	 * with the function's frame base and the CFA rule at the pc. */
	bool absolute;
	uint64_t addr;
	Dwarf_Op loc[CP_MAX_OPS], fb[CP_MAX_OPS], cfa[CP_MAX_OPS];
	size_t nloc, nfb, ncfa;
	uint64_t bias; /* the module's load bias, for DW_OP_addr */
};

struct condprog {
	struct cp_insn code[CP_MAX_CODE];
	size_t ncode;
	struct cp_var vars[CP_MAX_VARS];
	size_t nvars;
};

/* Parse the text form into cp (variables unresolved). 0, or -1 with why. */
int condprog_parse(const char *text, struct condprog *cp, char *why, size_t cap);

/* The thread at the breakpoint: its general registers in DWARF numbering
 * (regs[0..nregs)) and a memory reader. */
struct cp_frame {
	const uint64_t *regs;
	unsigned nregs;
	bool (*read)(void *arg, uint64_t addr, void *buf, size_t n);
	void *arg;
};

/* Evaluate: 1 holds, 0 does not, -1 an error (why). Every variable must be
 * resolved. */
int condprog_eval(const struct condprog *cp, const struct cp_frame *f, char *why, size_t cap);

#endif

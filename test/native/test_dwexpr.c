/* The DWARF expression evaluator (native/src/debuginfo/dwexpr.c) on byte
 * programs: each program is decoded as libdw would (dwexpr_decode) and
 * run against a fake frame (registers, memory, frame base, CFA). No
 * process, no libdw: the evaluator is pure. */
#include "support.h"

#include <dwarf.h>
#include <stdio.h>
#include <string.h>

#include "debuginfo/dwexpr.h"

static int n_checks;

/* ---- the fake frame ---- */

#define NREGS 17
static uint64_t regs[NREGS];
static uint32_t known; /* bit i: regs[i] is known */
static uint8_t memory[256];
static const uint64_t mem_base = 0x7ffd0000;
static bool has_fb, has_cfa;
static uint64_t fb_value, cfa_value;
static const uint8_t *cur_code; /* the program, for implicit_value */

static bool f_reg(void *arg, unsigned r, uint64_t *out)
{
	(void)arg;
	if (r >= NREGS || !(known & (1u << r)))
		return false;
	*out = regs[r];
	return true;
}

static bool f_fb(void *arg, uint64_t *out)
{
	(void)arg;
	*out = fb_value;
	return has_fb;
}

static bool f_cfa(void *arg, uint64_t *out)
{
	(void)arg;
	*out = cfa_value;
	return has_cfa;
}

static bool f_read(void *arg, uint64_t addr, void *buf, size_t n)
{
	(void)arg;
	if (addr < mem_base || addr - mem_base > sizeof memory || n > sizeof memory - (addr - mem_base))
		return false;
	memcpy(buf, memory + (addr - mem_base), n);
	return true;
}

static bool f_implicit(void *arg, const Dwarf_Op *op, const uint8_t **data, size_t *len)
{
	(void)arg;
	*data = cur_code + op->number2;
	*len = (size_t)op->number;
	return true;
}

static void reset(void)
{
	memset(regs, 0, sizeof regs);
	known = 0;
	for (size_t i = 0; i < sizeof memory; i++)
		memory[i] = (uint8_t)i;
	has_fb = has_cfa = false;
	fb_value = cfa_value = 0;
}

static struct dwexpr_env env(void)
{
	struct dwexpr_env e = {
		.reg = f_reg,
		.nregs = NREGS,
		.frame_base = f_fb,
		.cfa = f_cfa,
		.read = f_read,
		.implicit_value = f_implicit,
		.bias = 0x555555554000,
	};
	return e;
}

/* Decode and run; returns dwexpr_eval's answer. */
static int run(const uint8_t *code, size_t len, struct dwexpr_result *r)
{
	Dwarf_Op ops[80];
	int n = dwexpr_decode(code, len, ops, 80);
	CHECK(n >= 0, "decode failed (first byte 0x%02x)", len ? code[0] : 0);
	struct dwexpr_env e = env();
	cur_code = code;
	return dwexpr_eval(ops, (size_t)n, &e, r);
}

#define RUN(r, ...)                                             \
	({                                                      \
		static const uint8_t code_[] = { __VA_ARGS__ }; \
		run(code_, sizeof code_, (r));                  \
	})

static void want_mem(const struct dwexpr_result *r, int rc, uint64_t addr, const char *what)
{
	n_checks++;
	CHECK(rc == 0 && r->npieces == 1 && r->piece[0].kind == DWEXPR_MEM && r->piece[0].size == 0,
	      "%s: want memory at 0x%llx, got rc %d, %zu pieces, kind %d, bad %s", what, (unsigned long long)addr, rc,
	      r->npieces, r->npieces ? (int)r->piece[0].kind : -1, r->bad ? r->bad : "-");
	CHECK(r->piece[0].addr == addr, "%s: address 0x%llx, want 0x%llx", what, (unsigned long long)r->piece[0].addr,
	      (unsigned long long)addr);
}

static void want_val(const struct dwexpr_result *r, int rc, uint64_t v, const char *what)
{
	n_checks++;
	CHECK(rc == 0 && r->npieces == 1 && r->piece[0].kind == DWEXPR_VAL && r->piece[0].nbytes == 8,
	      "%s: want a value, got rc %d kind %d bad %s", what, rc, r->npieces ? (int)r->piece[0].kind : -1,
	      r->bad ? r->bad : "-");
	uint64_t got;
	memcpy(&got, r->piece[0].bytes, 8);
	CHECK(got == v, "%s: value 0x%llx, want 0x%llx", what, (unsigned long long)got, (unsigned long long)v);
}

static void want_bad(const struct dwexpr_result *r, int rc, const char *text, const char *what)
{
	n_checks++;
	CHECK(rc < 0 && r->bad && strcmp(r->bad, text) == 0, "%s: want \"%s\", got rc %d bad \"%s\"", what, text, rc,
	      r->bad ? r->bad : "(null)");
	CHECK(r->npieces == 0, "%s: a failed evaluation has no pieces", what);
}

/* ---- the programs ---- */

static void test_frame_base_and_cfa(void)
{
	struct dwexpr_result r;
	reset();
	has_fb = true;
	fb_value = 0x7ffd1000;
	/* DW_OP_fbreg -20 (sleb 0x6c) */
	want_mem(&r, RUN(&r, DW_OP_fbreg, 0x6c), 0x7ffd1000 - 20, "fbreg -20");
	/* DW_OP_fbreg 200 (sleb 0xc8 0x01) */
	want_mem(&r, RUN(&r, DW_OP_fbreg, 0xc8, 0x01), 0x7ffd1000 + 200, "fbreg 200");
	has_fb = false;
	want_bad(&r, RUN(&r, DW_OP_fbreg, 0x6c), "<unavailable: no frame base>", "fbreg without a frame base");

	has_cfa = true;
	cfa_value = 0x7ffd2000;
	want_mem(&r, RUN(&r, DW_OP_call_frame_cfa), 0x7ffd2000, "call_frame_cfa");
	/* the usual frame base of gcc: DW_OP_call_frame_cfa; a variable at cfa-24 */
	want_mem(&r, RUN(&r, DW_OP_call_frame_cfa, DW_OP_consts, 0x68, DW_OP_plus), 0x7ffd2000 - 24, "cfa + -24");
	has_cfa = false;
	want_bad(&r, RUN(&r, DW_OP_call_frame_cfa), "<unavailable: no CFA for this frame>", "no CFA");
}

static void test_registers(void)
{
	struct dwexpr_result r;
	reset();
	regs[6] = 0x7ffd0100; /* rbp */
	regs[7] = 0x7ffd0080; /* rsp */
	known = 1u << 6 | 1u << 7;
	want_mem(&r, RUN(&r, DW_OP_breg6, 0x70), 0x7ffd0100 - 16, "breg6 (rbp) -16");
	want_mem(&r, RUN(&r, DW_OP_breg7, 0x08), 0x7ffd0088, "breg7 (rsp) +8");
	/* DW_OP_bregx 6, 4 */
	want_mem(&r, RUN(&r, DW_OP_bregx, 0x06, 0x04), 0x7ffd0104, "bregx 6 +4");
	want_bad(&r, RUN(&r, DW_OP_breg3, 0x00), "<unavailable: DWARF register 3 not recovered in this frame>",
		 "breg of an unknown register");
	want_bad(&r, RUN(&r, DW_OP_bregx, 0x11, 0x00), "<unavailable: in DWARF register 17 (not read)>",
		 "bregx of a vector register");

	/* a register location: DW_OP_reg3 (rbx), DW_OP_regx 17 */
	int rc = RUN(&r, DW_OP_reg3);
	n_checks++;
	CHECK(rc == 0 && r.npieces == 1 && r.piece[0].kind == DWEXPR_REG && r.piece[0].reg == 3, "reg3: kind %d reg %u",
	      (int)r.piece[0].kind, r.piece[0].reg);
	rc = RUN(&r, DW_OP_regx, 0x11);
	n_checks++;
	CHECK(rc == 0 && r.piece[0].kind == DWEXPR_REG && r.piece[0].reg == 17, "regx 17");
	want_bad(&r, RUN(&r, DW_OP_reg3, DW_OP_lit1), "<unsupported: DWARF register location not at the end>",
		 "reg then more");

	/* dwexpr_reg: the register's value, or why not */
	struct dwexpr_env e = env();
	uint64_t v = 0;
	n_checks++;
	CHECK(dwexpr_reg(&e, 6, &v, &r) && v == 0x7ffd0100, "dwexpr_reg 6");
	CHECK(!dwexpr_reg(&e, 0, &v, &r) && strstr(r.bad, "register 0 not recovered"), "dwexpr_reg 0: %s", r.bad);
}

static void test_constants_and_arithmetic(void)
{
	struct dwexpr_result r;
	reset();
	want_val(&r, RUN(&r, DW_OP_lit5, DW_OP_stack_value), 5, "lit5 stack_value");
	want_val(&r, RUN(&r, DW_OP_lit31, DW_OP_stack_value), 31, "lit31");
	want_val(&r, RUN(&r, DW_OP_lit1, DW_OP_plus_uconst, 0xe4, 0x00, DW_OP_stack_value), 101, "plus_uconst 100");
	want_val(&r, RUN(&r, DW_OP_const1s, 0xfe, DW_OP_stack_value), (uint64_t)-2, "const1s -2");
	want_val(&r, RUN(&r, DW_OP_const2u, 0x34, 0x12, DW_OP_stack_value), 0x1234, "const2u");
	want_val(&r, RUN(&r, DW_OP_const4s, 0xff, 0xff, 0xff, 0xff, DW_OP_stack_value), (uint64_t)-1, "const4s -1");
	want_val(&r, RUN(&r, DW_OP_constu, 0x80, 0x01, DW_OP_stack_value), 128, "constu 128");
	want_val(&r, RUN(&r, DW_OP_consts, 0x7f, DW_OP_stack_value), (uint64_t)-1, "consts -1");
	want_val(&r, RUN(&r, DW_OP_lit7, DW_OP_lit3, DW_OP_minus, DW_OP_stack_value), 4, "7 - 3");
	want_val(&r, RUN(&r, DW_OP_lit6, DW_OP_lit7, DW_OP_mul, DW_OP_stack_value), 42, "6 * 7");
	want_val(&r, RUN(&r, DW_OP_lit1, DW_OP_lit4, DW_OP_shl, DW_OP_stack_value), 16, "1 << 4");
	want_val(&r, RUN(&r, DW_OP_lit16, DW_OP_neg, DW_OP_lit2, DW_OP_shra, DW_OP_stack_value), (uint64_t)-4,
		 "-16 >> 2 (arithmetic)");
	want_val(&r, RUN(&r, DW_OP_lit12, DW_OP_lit10, DW_OP_and, DW_OP_stack_value), 8, "12 & 10");
	want_val(&r, RUN(&r, DW_OP_lit12, DW_OP_lit10, DW_OP_xor, DW_OP_stack_value), 6, "12 ^ 10");
	want_val(&r, RUN(&r, DW_OP_lit1, DW_OP_lit2, DW_OP_swap, DW_OP_minus, DW_OP_stack_value), 1, "swap: 2 - 1");
	want_val(&r, RUN(&r, DW_OP_lit1, DW_OP_lit2, DW_OP_over, DW_OP_plus, DW_OP_plus, DW_OP_stack_value), 4,
		 "over: 1 + (2 + 1)");
	want_val(&r, RUN(&r, DW_OP_lit9, DW_OP_dup, DW_OP_drop, DW_OP_nop, DW_OP_stack_value), 9, "dup drop nop");
	/* DW_OP_addr is relocated by the module's load bias */
	want_mem(&r, RUN(&r, DW_OP_addr, 0x10, 0x40, 0, 0, 0, 0, 0, 0), 0x555555554000 + 0x4010, "addr + bias");
	want_bad(&r, RUN(&r, DW_OP_plus), "<unsupported: malformed DWARF expression>", "plus on an empty stack");
	want_bad(&r, RUN(&r, DW_OP_lit1, DW_OP_stack_value, DW_OP_lit2),
		 "<unsupported: DW_OP_stack_value not at the end>", "stack_value then more");
}

static void test_deref(void)
{
	struct dwexpr_result r;
	reset();
	regs[7] = mem_base + 0x10;
	known = 1u << 7;
	uint64_t word;
	memcpy(&word, memory + 0x10, 8);
	/* DW_OP_breg7 0; DW_OP_deref: a pointer held at [rsp] */
	want_mem(&r, RUN(&r, DW_OP_breg7, 0x00, DW_OP_deref), word, "breg7 deref");
	/* DW_OP_deref_size 2 */
	want_val(&r, RUN(&r, DW_OP_breg7, 0x00, DW_OP_deref_size, 2, DW_OP_stack_value), 0x1110, "deref_size 2");
	want_bad(&r, RUN(&r, DW_OP_lit0, DW_OP_deref), "<unavailable: DW_OP_deref of unreadable memory>",
		 "deref of address 0");
	want_bad(&r, RUN(&r, DW_OP_breg7, 0x00, DW_OP_deref_size, 9), "<unavailable: DW_OP_deref of unreadable memory>",
		 "deref_size 9");
}

static void test_pieces(void)
{
	struct dwexpr_result r;
	reset();
	has_fb = true;
	fb_value = 0x7ffd1000;
	regs[3] = 0x1122334455667788;
	known = 1u << 3;
	/* a 16-byte struct: 8 bytes in rbx, 4 at fb-8, 4 optimized out */
	int rc = RUN(&r, DW_OP_reg3, DW_OP_piece, 8, DW_OP_fbreg, 0x78, DW_OP_piece, 4, DW_OP_piece, 4);
	n_checks++;
	CHECK(rc == 0 && r.npieces == 3, "3 pieces: rc %d n %zu bad %s", rc, r.npieces, r.bad ? r.bad : "-");
	CHECK(r.piece[0].kind == DWEXPR_REG && r.piece[0].reg == 3 && r.piece[0].size == 8, "piece 0: rbx, 8 bytes");
	CHECK(r.piece[1].kind == DWEXPR_MEM && r.piece[1].addr == 0x7ffd1000 - 8 && r.piece[1].size == 4,
	      "piece 1: fb-8, 4 bytes");
	CHECK(r.piece[2].kind == DWEXPR_EMPTY && r.piece[2].size == 4, "piece 2: empty (optimized out)");
	/* values in pieces: DW_OP_lit3 DW_OP_stack_value DW_OP_piece 4, DW_OP_implicit_value 4 … DW_OP_piece 4 */
	rc = RUN(&r, DW_OP_lit3, DW_OP_stack_value, DW_OP_piece, 4, DW_OP_implicit_value, 4, 1, 2, 3, 4, DW_OP_piece,
		 4);
	n_checks++;
	CHECK(rc == 0 && r.npieces == 2 && r.piece[0].kind == DWEXPR_VAL && r.piece[0].bytes[0] == 3 &&
		      r.piece[1].kind == DWEXPR_VAL && r.piece[1].nbytes == 4 && r.piece[1].bytes[3] == 4,
	      "stack_value and implicit_value pieces: rc %d bad %s", rc, r.bad ? r.bad : "-");
	want_bad(&r, RUN(&r, DW_OP_reg3, DW_OP_piece, 8, DW_OP_lit1),
		 "<unsupported: DWARF location after the last DW_OP_piece>", "a location after the last piece");
	want_bad(&r, RUN(&r, DW_OP_fbreg, 0x00, DW_OP_bit_piece, 3, 0), "<unsupported: DW_OP_bit_piece>", "bit_piece");
	/* 17 pieces: more than DWEXPR_MAX_PIECES */
	want_bad(&r,
		 RUN(&r, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1,
		     DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1,
		     DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1, DW_OP_piece, 1),
		 "<unsupported: more than 16 DW_OP_piece parts>", "17 pieces");
}

static void test_implicit_and_unsupported(void)
{
	struct dwexpr_result r;
	reset();
	int rc = RUN(&r, DW_OP_implicit_value, 8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40);
	n_checks++;
	double d = 0;
	if (rc == 0)
		memcpy(&d, r.piece[0].bytes, 8);
	CHECK(rc == 0 && r.piece[0].kind == DWEXPR_VAL && r.piece[0].nbytes == 8 && d == 2.5, "implicit_value 2.5");
	want_bad(&r, RUN(&r, DW_OP_implicit_value, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		 "<unsupported: DW_OP_implicit_value>", "implicit_value of 17 bytes");
	want_bad(&r, RUN(&r, DW_OP_entry_value, 1, DW_OP_reg5, DW_OP_stack_value), "<optimized out>", "entry_value");
	want_bad(&r, RUN(&r, DW_OP_GNU_entry_value, 1, DW_OP_reg5, DW_OP_stack_value), "<optimized out>",
		 "GNU_entry_value");
	want_bad(&r, RUN(&r, DW_OP_implicit_pointer, 0x10, 0, 0, 0, 0x00), "<unsupported: implicit pointer>",
		 "implicit_pointer");
	want_bad(&r, RUN(&r, DW_OP_lit1, DW_OP_lit2, DW_OP_eq, DW_OP_stack_value),
		 "<unsupported: DWARF operation 0x29>", "an operation not evaluated");
	struct dwexpr_env e = env();
	n_checks++;
	CHECK(dwexpr_eval(NULL, 0, &e, &r) < 0 && strcmp(r.bad, "<optimized out>") == 0, "empty expression");
	/* a stack of 65 */
	uint8_t deep[65];
	memset(deep, DW_OP_lit1, sizeof deep);
	want_bad(&r, run(deep, sizeof deep, &r), "<unsupported: DWARF stack overflow>", "65 pushes");
}

static void test_decode(void)
{
	Dwarf_Op ops[8];
	/* DW_OP_bregx 6 -8; DW_OP_piece 8; DW_OP_fbreg -200 */
	static const uint8_t code[] = { DW_OP_bregx, 0x06, 0x78, DW_OP_piece, 8, DW_OP_fbreg, 0xb8, 0x7e };
	int n = dwexpr_decode(code, sizeof code, ops, 8);
	n_checks++;
	CHECK(n == 3, "decode: %d ops", n);
	CHECK(ops[0].atom == DW_OP_bregx && ops[0].number == 6 && (int64_t)ops[0].number2 == -8 && ops[0].offset == 0,
	      "bregx operands");
	CHECK(ops[1].atom == DW_OP_piece && ops[1].number == 8 && ops[1].offset == 3, "piece operand");
	CHECK(ops[2].atom == DW_OP_fbreg && (int64_t)ops[2].number == -200 && ops[2].offset == 5, "fbreg -200");
	/* truncated operands, an unknown operation, too many operations */
	static const uint8_t trunc1[] = { DW_OP_addr, 1, 2, 3 };
	static const uint8_t trunc2[] = { DW_OP_constu, 0x80 };
	static const uint8_t trunc3[] = { DW_OP_implicit_value, 4, 1, 2 };
	static const uint8_t unknown[] = { 0xe5 };
	static const uint8_t many[] = { DW_OP_lit0, DW_OP_lit0, DW_OP_lit0 };
	n_checks++;
	CHECK(dwexpr_decode(trunc1, sizeof trunc1, ops, 8) < 0, "truncated addr");
	CHECK(dwexpr_decode(trunc2, sizeof trunc2, ops, 8) < 0, "truncated uleb");
	CHECK(dwexpr_decode(trunc3, sizeof trunc3, ops, 8) < 0, "truncated block");
	CHECK(dwexpr_decode(unknown, sizeof unknown, ops, 8) < 0, "unknown operation");
	CHECK(dwexpr_decode(many, sizeof many, ops, 2) < 0, "more than max");
	CHECK(dwexpr_decode(many, 0, ops, 2) == 0, "empty program");
}

int main(void)
{
	test_frame_base_and_cfa();
	test_registers();
	test_constants_and_arithmetic();
	test_deref();
	test_pieces();
	test_implicit_and_unsupported();
	test_decode();
	printf("test_dwexpr: ok (%d checks)\n", n_checks);
	return 0;
}

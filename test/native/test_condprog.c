/* Compiled breakpoint conditions (native/src/debuginfo/condprog.c) without
 * a process: programs in their text form over variables whose locations
 * are DWARF byte programs (decoded with dwexpr_decode as libdw would give
 * them), a fake thread's registers and memory; C's promotions and usual
 * arithmetic conversions; errors. And the x86-64 instruction decoder of
 * displaced steps (arch/x86_64/insn.c). Then the whole native path on
 * test/fixtures/condnative (through make check, under ASan too):
 * bpCondition on a breakpoint, hits passed by the tracer thread until the
 * one where it holds, and a RIP-relative instruction passed through its
 * slot (a copy that jumps back) while the program checks it read the right
 * variable. And what the slot's code is made of (relocation, jump back). */
#include "support.h"

#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "debuginfo/condprog.h"
#include "debuginfo/dwexpr.h"

static int n_checks;

#define NREGS 17
static uint64_t regs[NREGS];
static uint8_t memory[256];
static const uint64_t mem_base = 0x7ffd0000;

static bool f_read(void *arg, uint64_t addr, void *buf, size_t n)
{
	(void)arg;
	if (addr < mem_base || addr - mem_base > sizeof memory || n > sizeof memory - (addr - mem_base))
		return false;
	memcpy(buf, memory + (addr - mem_base), n);
	return true;
}

static void put(uint64_t addr, const void *v, size_t n)
{
	memcpy(memory + (addr - mem_base), v, n);
}

/* a variable's location from DWARF bytes */
static void loc(struct cp_var *v, Dwarf_Op *dst, size_t *n, const uint8_t *code, size_t len)
{
	int k = dwexpr_decode(code, len, dst, CP_MAX_OPS);
	CHECK(k >= 0, "decoding a location of %s", v->name);
	*n = (size_t)k;
}

enum kind {
	S,
	U,
	F
};

/* Resolve variable `name` of cp as the test's frame defines it:
 *   si  int       in memory at fb - 4      (DW_OP_fbreg -4; fb = CFA = rsp + 16)
 *   ui  unsigned  in rbx                   (DW_OP_reg3)
 *   sc  signed char in memory at fb - 5
 *   uc  unsigned char, a computed value    (DW_OP_lit7 DW_OP_stack_value)
 *   sl  long      in memory at fb - 16
 *   ul  unsigned long, global at mem_base + 0x80
 *   f   float     in memory at fb - 24
 *   d   double    in memory at fb - 32
 *   gone: optimized out (empty piece)     */
static void resolve(struct condprog *cp)
{
	static const uint8_t fb_cfa[] = { DW_OP_call_frame_cfa };
	static const uint8_t cfa_rsp16[] = { DW_OP_breg7, 16 };
	for (size_t k = 0; k < cp->nvars; k++) {
		struct cp_var *v = &cp->vars[k];
		v->resolved = true;
		loc(v, v->fb, &v->nfb, fb_cfa, sizeof fb_cfa);
		loc(v, v->cfa, &v->ncfa, cfa_rsp16, sizeof cfa_rsp16);
#define AT(off)                                                              \
	do {                                                                 \
		static const uint8_t c_[] = { DW_OP_fbreg, (uint8_t)(off) }; \
		loc(v, v->loc, &v->nloc, c_, sizeof c_);                     \
	} while (0)
		if (!strcmp(v->name, "si")) {
			v->size = 4, v->is_signed = true;
			AT(0x7c); /* sleb -4 */
		} else if (!strcmp(v->name, "ui")) {
			static const uint8_t c[] = { DW_OP_reg3 };
			v->size = 4;
			loc(v, v->loc, &v->nloc, c, sizeof c);
		} else if (!strcmp(v->name, "sc")) {
			v->size = 1, v->is_signed = true;
			AT(0x7b); /* -5 */
		} else if (!strcmp(v->name, "uc")) {
			static const uint8_t c[] = { DW_OP_lit7, DW_OP_stack_value };
			v->size = 1;
			loc(v, v->loc, &v->nloc, c, sizeof c);
		} else if (!strcmp(v->name, "sl")) {
			v->size = 8, v->is_signed = true;
			AT(0x70); /* -16 */
		} else if (!strcmp(v->name, "ul")) {
			v->size = 8, v->absolute = true, v->addr = mem_base + 0x80;
		} else if (!strcmp(v->name, "f")) {
			v->size = 4, v->is_float = true, v->is_signed = true;
			AT(0x68); /* -24 */
		} else if (!strcmp(v->name, "d")) {
			v->size = 8, v->is_float = true, v->is_signed = true;
			AT(0x60); /* -32 */
		} else if (!strcmp(v->name, "gone")) {
			static const uint8_t c[] = { DW_OP_piece, 4 };
			v->size = 4;
			loc(v, v->loc, &v->nloc, c, sizeof c);
		} else if (!strcmp(v->name, "far")) {
			v->size = 4, v->absolute = true, v->addr = 0x1000;
		} else {
			v->resolved = false;
		}
#undef AT
	}
}

static void frame(void)
{
	memset(regs, 0, sizeof regs);
	memset(memory, 0, sizeof memory);
	uint64_t rsp = mem_base + 0x40, fb = rsp + 16;
	regs[7] = rsp;
	regs[3] = 0xdead0000fffffffeull; /* ui = 0xfffffffe: only the low 4 bytes */
	int32_t si = -5;
	int8_t sc = -3;
	int64_t sl = -1;
	uint64_t ul = 0x8000000000000000ull;
	float f = 2.5f;
	double d = -0.25;
	put(fb - 4, &si, 4);
	put(fb - 5, &sc, 1);
	put(fb - 16, &sl, 8);
	put(mem_base + 0x80, &ul, 8);
	put(fb - 24, &f, 4);
	put(fb - 32, &d, 8);
}

/* the value of a program: 1, 0, or -1 (error) */
static int eval(const char *text, char *why, size_t cap)
{
	struct condprog cp;
	CHECK(condprog_parse(text, &cp, why, cap) == 0, "parse \"%s\": %s", text, why);
	resolve(&cp);
	struct cp_frame f = { .regs = regs, .nregs = NREGS, .read = f_read };
	return condprog_eval(&cp, &f, why, cap);
}

static void want(const char *text, int v)
{
	char why[200] = "";
	int got = eval(text, why, sizeof why);
	n_checks++;
	CHECK(got == v, "\"%s\": %d, want %d (%s)", text, got, v, why);
}

static void want_error(const char *text, const char *part)
{
	char why[200] = "";
	int got = eval(text, why, sizeof why);
	n_checks++;
	CHECK(got == -1 && strstr(why, part), "\"%s\": %d (%s), want an error with \"%s\"", text, got, why, part);
}

static void want_bad_parse(const char *text)
{
	struct condprog cp;
	char why[200];
	n_checks++;
	CHECK(condprog_parse(text, &cp, why, sizeof why) < 0, "\"%s\" parsed", text);
}

static void test_values(void)
{
	frame();
	want("v:si i32:-5 ==", 1); /* frame base = CFA = rsp + 16 */
	want("v:si i32:0 <", 1);
	want("v:ui u32:4294967294 ==", 1); /* low 4 bytes of rbx */
	want("v:sc i32:-3 ==", 1);	   /* sign-extended */
	want("v:uc i32:7 ==", 1);	   /* a computed value */
	want("v:sl i64:-1 ==", 1);
	want("v:ul u64:9223372036854775808 ==", 1);
	want("v:f f64:2.5 ==", 1);
	want("v:d f64:-0.25 ==", 1);
	want("v:d v:f <", 1);
}

static void test_conversions(void)
{
	frame();
	/* int vs unsigned int: unsigned (-5 becomes 4294967291) */
	want("v:si v:ui <", 1); /* 4294967291 < 4294967294 */
	want("v:si u32:5 >", 1);
	want("v:si u32:0 >", 1);
	/* unsigned int vs long: long holds every unsigned int */
	want("v:ui i64:-1 >", 1);
	/* unsigned int vs int -1: -1 becomes UINT_MAX */
	want("v:ui i32:-1 <", 1);
	want("v:ui i32:-1 >", 0);
	/* long -1 vs unsigned long: ULONG_MAX */
	want("v:sl v:ul >", 1);
	/* char promoted to int, not unsigned */
	want("v:sc i32:0 <", 1);
	/* int arithmetic wraps at 32 bits, signed division truncates */
	want("i32:2147483647 i32:1 + i32:0 <", 1);
	want("u32:4294967295 u32:1 + u32:0 ==", 1);
	want("v:si i32:2 / i32:-2 ==", 1);
	want("v:si i32:2 % i32:-1 ==", 1);
	want("u32:7 i32:2 / u32:3 ==", 1);
	/* unary: minus of an unsigned wraps, ! and ~ */
	want("u32:1 neg u32:4294967295 ==", 1);
	want("i32:0 !", 1);
	want("i32:5 ~ i32:-6 ==", 1);
	want("v:f neg f64:-2.5 ==", 1);
	/* mixed with double */
	want("v:si f64:-4.5 <", 1);
	want("v:ul f64:9.2e18 >", 1);
	/* logic, bits */
	want("v:si i32:0 < v:uc i32:7 == &&", 1);
	want("v:si i32:0 > v:uc i32:8 == ||", 0);
	want("i32:12 i32:10 & i32:8 == i32:1 i32:2 | i32:3 == &&", 1);
	want("i32:6 i32:3 ^ i32:5 ==", 1);
	want("i64:3 i64:4 * i64:12 ==", 1);
	want("i32:1 i32:2 -", 1); /* non-zero holds */
	want("i32:2 i32:2 -", 0);
}

static void test_errors(void)
{
	frame();
	want_error("v:si i32:0 / i32:1 ==", "division by zero");
	want_error("v:gone i32:0 ==", "optimized out");
	want_error("v:far i32:0 ==", "cannot read memory at 0x1000");
	want_error("v:nosuch i32:0 ==", "not resolved");
	want_error("v:d i32:1 &", "bitwise");
	want_bad_parse("");
	want("v:si", 1); /* a lone operand: holds when non-zero */
	want_bad_parse("v:si i32:1");
	want_bad_parse("<");
	want_bad_parse("i32:1 i32:2 <=>");
	want_bad_parse("i32:99999999999 i32:0 ==");
	want_bad_parse("u32:-1 i32:0 ==");
	want_bad_parse("q64:1 i32:0 ==");
	want_bad_parse("v: i32:0 ==");
}

static void decode(const uint8_t *code, size_t n, int rc, unsigned len, unsigned rip, bool rel, bool call)
{
	struct arch_insn in;
	int got = arch_insn_decode(code, n, &in);
	n_checks++;
	CHECK(got == rc, "instruction %02x %02x %02x: rc %d, want %d", code[0], code[1], code[2], got, rc);
	if (rc == 0)
		CHECK(in.len == len && in.rip_disp == rip && in.rel_branch == rel && in.call == call,
		      "instruction %02x %02x %02x: len %u rip %u rel %d call %d, want %u %u %d %d", code[0], code[1],
		      code[2], in.len, in.rip_disp, in.rel_branch, in.call, len, rip, rel, call);
}

#define INSN(rc, len, rip, rel, call, ...)                      \
	do {                                                    \
		static const uint8_t c_[16] = { __VA_ARGS__ };  \
		decode(c_, sizeof c_, rc, len, rip, rel, call); \
	} while (0)

static void test_insn(void)
{
	INSN(0, 7, 3, false, false, 0x48, 0x8b, 0x05, 0x82, 0x2d, 0, 0);	  /* mov 0x2d82(%rip),%rax */
	INSN(0, 3, 0, false, false, 0x48, 0x01, 0xf8);				  /* add %rdi,%rax */
	INSN(0, 1, 0, false, false, 0xc3);					  /* ret */
	INSN(0, 1, 0, false, false, 0x55);					  /* push %rbp */
	INSN(0, 4, 0, false, false, 0x48, 0x83, 0xec, 0x08);			  /* sub $8,%rsp */
	INSN(0, 6, 0, false, false, 0xf3, 0x0f, 0x10, 0x4c, 0x24, 0xfc);	  /* movss -0x4(%rsp),%xmm1 */
	INSN(0, 5, 0, true, true, 0xe8, 1, 2, 3, 4);				  /* call rel32 */
	INSN(0, 2, 0, true, false, 0x74, 0x10);					  /* je rel8 */
	INSN(0, 6, 0, true, false, 0x0f, 0x84, 1, 2, 3, 4);			  /* je rel32 */
	INSN(0, 6, 2, false, true, 0xff, 0x15, 1, 2, 3, 4);			  /* call *0x…(%rip) */
	INSN(0, 2, 0, false, true, 0xff, 0xd0);					  /* call *%rax */
	INSN(0, 10, 0, false, false, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8);	  /* movabs $imm64,%rax */
	INSN(0, 8, 0, false, false, 0xc7, 0x44, 0x24, 0x08, 1, 0, 0, 0);	  /* movl $1,8(%rsp) */
	INSN(0, 6, 0, false, false, 0x66, 0xc7, 0x45, 0xf8, 1, 0);		  /* movw $1,-8(%rbp) */
	INSN(0, 8, 4, false, false, 0xc5, 0xfb, 0x10, 0x05, 1, 2, 3, 4);	  /* vmovsd 0x…(%rip),%xmm0 */
	INSN(0, 6, 0, false, false, 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 8);		  /* palignr $8,%xmm1,%xmm0 */
	INSN(0, 4, 0, false, false, 0x0f, 0x1f, 0x40, 0x00);			  /* nopl 0(%rax) */
	INSN(-1, 0, 0, false, false, 0xcc);					  /* int3 */
	INSN(-1, 0, 0, false, false, 0xc7, 0xf8, 1, 2, 3, 4);			  /* xbegin */
	INSN(0, 4, 0, false, false, 0xf3, 0x0f, 0x1e, 0xfa);			  /* endbr64 */
	INSN(0, 9, 0, false, false, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0); /* mov %fs:0x28,%rax */
	INSN(-1, 0, 0, false, false, 0x0f, 0x05);				  /* syscall */
	INSN(-1, 0, 0, false, false, 0xf3, 0xa4);				  /* rep movsb */
	INSN(-1, 0, 0, false, false, 0x67, 0x8b, 0x05, 1, 2, 3, 4);		  /* addr32 */
	INSN(-1, 0, 0, false, false, 0x62, 0xf1, 0x7c, 0x48, 0x10, 0xc1);	  /* EVEX */
	struct arch_insn in;
	static const uint8_t cut[] = { 0x48, 0x8b, 0x05, 0x82 };
	n_checks++;
	CHECK(arch_insn_decode(cut, sizeof cut, &in) < 0, "a truncated instruction");
}

/* what a breakpoint slot takes (ptrace/bpslot.c): no control flow, the
 * RIP-relative displacement moved by the distance, the jump back */
static void test_slot_code(void)
{
	static const uint8_t flow[][3] = { { 0xc3 },	   { 0xe8, 1, 2 }, { 0x74, 0x10 },
					   { 0xff, 0xe0 }, { 0xff, 0xd0 }, { 0xeb, 1 } };
	struct arch_insn in;
	for (size_t i = 0; i < sizeof flow / sizeof flow[0]; i++) {
		uint8_t c[16] = { 0 };
		memcpy(c, flow[i], 3);
		n_checks++;
		CHECK(arch_insn_decode(c, sizeof c, &in) == 0 && in.flow, "%02x %02x: control flow", c[0], c[1]);
	}
	static const uint8_t mov[16] = { 0x48, 0x8b, 0x05, 0x82, 0x2d, 0, 0 }; /* mov 0x2d82(%rip),%rax */
	uint8_t out[16];
	int32_t d;
	n_checks += 4;
	CHECK(arch_insn_decode(mov, sizeof mov, &in) == 0 && !in.flow, "mov: no control flow");
	CHECK(arch_insn_relocate(mov, &in, 0x1000, 0x2000, out), "relocated 4 KiB up");
	memcpy(&d, out + 3, 4);
	CHECK(d == 0x2d82 - 0x1000 && memcmp(out, mov, 3) == 0, "displacement 0x%x", (unsigned)d);
	CHECK(!arch_insn_relocate(mov, &in, 0x1000, 0x1000 + (1ull << 32), out), "4 GiB away: out of reach");
	uint8_t j[16];
	size_t jl = arch_jump_abs(j, sizeof j, 0x1122334455667788ull);
	static const uint8_t want[14] = { 0xff, 0x25, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	n_checks += 2;
	CHECK(jl == 14 && memcmp(j, want, 14) == 0, "jmp *0(%%rip) + address");
	CHECK(arch_jump_abs(j, 13, 1) == 0, "no room: 0");
}

/* ---- on a real process ---- */

/* the first address of a symbols answer */
static unsigned long long first_addr(const char *json)
{
	const char *p = strstr(json, "\"addresses\":[\"");
	CHECK(p != NULL, "no addresses: %s", json);
	return strtoull(p + strlen("\"addresses\":[\""), NULL, 16);
}

static void test_process(const char *fx)
{
	char bin[4096], src[4096];
	snprintf(bin, sizeof bin, "%s/condnative", fx);
	snprintf(src, sizeof src, "%s/../condnative.c", fx);
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	char *r = t_req(fk, "{'op':'launch','path':'%s','cwd':'/','argv':['%s']}", bin, bin);
	CHECK(t_has(r, "\"ok\":true"), "launch: %s", r);
	pid_t pid = (pid_t)t_num(r, "\"pid\":");
	free(r);
	r = t_req(fk, "{'op':'symbols','pid':%d,'file':'condnative.c','line':%d}", pid, t_marker(src, "PROBE"));
	unsigned long long probe = first_addr(r);
	free(r);
	r = t_req(fk, "{'op':'symbols','pid':%d,'function':'check'}", pid);
	unsigned long long check = first_addr(r);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':%d,'addr':'0x%llx'}", pid, probe);
	CHECK(t_has(r, "\"ok\":true"), "bpInsert: %s", r);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':%d,'addr':'0x%llx'}", pid, check);
	free(r);
	/* main's i == 777 (i in a register), u == 4000000000 - i (unsigned, in a register), dl in memory */
	r = t_req(
		fk,
		"{'op':'bpCondition','pid':%d,'addr':'0x%llx','program':'v:i i64:777 == v:u u32:3999999223 == && v:dl f64:388.5 == &&'}",
		pid, probe);
	CHECK(t_has(r, "\"compiled\":true"), "bpCondition: %s", r);
	free(r);
	r = t_req(fk, "{'op':'bpCondition','pid':%d,'addr':'0x%llx','program':'v:i i32:0 <'}", pid, check);
	CHECK(t_has(r, "\"compiled\":true"), "bpCondition (check): %s", r);
	free(r);
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	char *ev = t_wait_message(fk, "\"stopped\"", 600);
	CHECK(ev != NULL && t_has(ev, "\"reason\":\"breakpoint\""), "no breakpoint stop: %s", ev ? ev : "(none)");
	CHECK((pid_t)t_num(ev, "\"tid\":") == pid, "main's hit: %s", ev);
	free(ev);
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	free(r);
	r = t_req(fk, "{'op':'bpCondition','pid':%d,'addr':'0x%llx','query':true}", pid, probe);
	CHECK(t_num(r, "\"holds\":") == 1 && t_num(r, "\"errors\":") == 0 && t_num(r, "\"passes\":") >= 777,
	      "counters at the probe: %s", r);
	free(r);
	r = t_req(fk, "{'op':'bpCondition','pid':%d,'addr':'0x%llx','query':true}", pid, check);
	CHECK(t_num(r, "\"holds\":") == 0 && t_num(r, "\"passes\":") == 778 && t_num(r, "\"slotPasses\":") == 778,
	      "counters at check() (every false hit through its slot): %s", r);
	free(r);
	r = t_req(fk, "{'op':'bpRemove','pid':%d,'addr':'0x%llx'}", pid, probe);
	free(r);
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	ev = t_wait_message(fk, "\"exited\"", 600);
	CHECK(ev != NULL && t_has(ev, "\"exitCode\":0"), "exit: %s", ev ? ev : "(none)");
	free(ev);
	n_checks += 4;
	fk_close(fk);
}

int main(void)
{
	test_values();
	test_conversions();
	test_errors();
	test_insn();
	test_slot_code();
	const char *fx = getenv("FK_FIXTURES");
	if (fx)
		test_process(fx);
	else
		printf("test_condprog: the process part skipped (FK_FIXTURES not set; run through make check)\n");
	printf("test_condprog: ok (%d checks)\n", n_checks);
	return 0;
}

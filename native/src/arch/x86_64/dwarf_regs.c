/* x86-64 registers in DWARF numbering (System V psABI, figure 3.36): the
 * order a CFI unwinder (libdw's set_initial_registers) expects. */
#include "arch/arch.h"

const unsigned arch_dwarf_sp_regno = 7;

/* rbx (3), rbp (6), r12..r15 (12..15) */
const uint32_t arch_dwarf_callee_saved = 1u << 3 | 1u << 6 | 1u << 12 | 1u << 13 | 1u << 14 | 1u << 15;

size_t arch_dwarf_gregs(const fk_gregs *r, uint64_t *out, size_t cap)
{
	const uint64_t v[17] = {
		r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8,
		r->r9,	r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip, /* 16: the return address column */
	};
	size_t n = cap < 17 ? cap : 17;
	for (size_t i = 0; i < n; i++)
		out[i] = v[i];
	return n;
}

uint64_t arch_fp(const fk_gregs *r)
{
	return r->rbp;
}

const char *arch_dwarf_reg_name(unsigned regno)
{
	static const char *const names[17] = { "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
					       "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip" };
	return regno < 17 ? names[regno] : NULL;
}

/* x86-64 general registers through PTRACE_GETREGS/SETREGS. fs_base and
 * gs_base are part of user_regs_struct, so the thread pointer comes along. */
#include "arch/arch.h"
#include "base/json.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>

int arch_get_gregs(pid_t tid, fk_gregs *out)
{
	if (ptrace(PTRACE_GETREGS, tid, 0, out) < 0)
		return -errno;
	return 0;
}

int arch_set_gregs(pid_t tid, const fk_gregs *in)
{
	if (ptrace(PTRACE_SETREGS, tid, 0, in) < 0)
		return -errno;
	return 0;
}

uint64_t arch_pc(const fk_gregs *r)
{
	return r->rip;
}
uint64_t arch_sp(const fk_gregs *r)
{
	return r->rsp;
}
void arch_set_pc(fk_gregs *r, uint64_t pc)
{
	r->rip = pc;
}
uint64_t arch_tp(const fk_gregs *r)
{
	return r->fs_base;
}

long arch_syscall_nr(const fk_gregs *r)
{
	return (long)r->orig_rax >= 0 ? (long)r->orig_rax : -1;
}

static const struct {
	const char *name;
	size_t off;
} greg_names[] = {
#define R(n) { #n, offsetof(fk_gregs, n) }
	R(rax),	     R(rbx), R(rcx), R(rdx), R(rsi), R(rdi), R(rbp), R(rsp),	 R(r8),
	R(r9),	     R(r10), R(r11), R(r12), R(r13), R(r14), R(r15), R(rip),	 R(eflags),
	R(orig_rax), R(cs),  R(ss),  R(ds),  R(es),  R(fs),  R(gs),  R(fs_base), R(gs_base),
#undef R
};

void arch_gregs_json(struct jw *w, const fk_gregs *r)
{
	for (size_t i = 0; i < sizeof greg_names / sizeof greg_names[0]; i++) {
		uint64_t v;
		memcpy(&v, (const char *)r + greg_names[i].off, sizeof v);
		jw_khex(w, greg_names[i].name, v);
	}
}

int arch_greg_set_by_name(fk_gregs *r, const char *name, uint64_t value)
{
	for (size_t i = 0; i < sizeof greg_names / sizeof greg_names[0]; i++) {
		if (strcmp(greg_names[i].name, name) == 0) {
			memcpy((char *)r + greg_names[i].off, &value, sizeof value);
			return 0;
		}
	}
	return -EINVAL;
}

bool arch_thread_area_is_tp(int idx)
{
	/* glibc: DB_THREAD_SELF = CONST_THREAD_AREA (64, FS); FS is index 25
	 * of user_regs_struct in <sys/reg.h>. */
	return idx == 25;
}

const uint8_t arch_bp_insn[] = { 0xcc };
const size_t arch_bp_len = 1;

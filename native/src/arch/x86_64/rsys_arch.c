/* x86-64 system call conventions for injected calls and restarts. */
#include "arch.h"

#include <sys/syscall.h>

const uint8_t arch_syscall_insn[] = {0x0f, 0x05};
const size_t arch_syscall_insn_len = 2;

void arch_setup_syscall(fk_gregs *r, uint64_t insn, long nr, const uint64_t a[6])
{
	r->rip = insn;
	r->rax = (uint64_t)nr;
	/* not inside a syscall: the kernel must not apply restart logic to
	 * these registers when the thread resumes */
	r->orig_rax = (uint64_t)-1;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

long arch_syscall_result(const fk_gregs *r)
{
	return (long)r->rax;
}

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

bool arch_fix_restart(fk_gregs *r, enum arch_fix_mode mode)
{
	if ((long)r->orig_rax < 0)
		return false;
	long rv = (long)r->rax;
	switch (-rv) {
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
		r->rax = r->orig_rax;
		r->rip -= 2;
		return true;
	case ERESTART_RESTARTBLOCK:
		r->rax = mode == FIX_SAME_TASK ? (uint64_t)SYS_restart_syscall : r->orig_rax;
		r->rip -= 2;
		return true;
	default:
		return false;
	}
}

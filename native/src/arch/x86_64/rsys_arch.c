/* x86-64 system call conventions for injected calls and restarts. */
#include "arch/arch.h"

#include <string.h>
#include <sys/syscall.h>

const uint8_t arch_syscall_insn[] = { 0x0f, 0x05 };
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
	default: return false;
	}
}

extern const uint8_t fk_reaper_start[];
extern const uint8_t fk_reaper_end[];

size_t arch_reaper_code(uint8_t *buf, size_t cap)
{
	size_t len = (size_t)(fk_reaper_end - fk_reaper_start);
	if (cap < len)
		return 0;
	memcpy(buf, fk_reaper_start, len);
	return len;
}

void arch_reaper_regs(fk_gregs *r, uint64_t code, pid_t child)
{
	r->rip = code;
	r->rbx = (uint64_t)child; /* reaper.S: the child whose end it repeats */
	r->orig_rax = (uint64_t)-1;
}

void arch_stub_regs(fk_gregs *r, uint64_t code, uint64_t table)
{
	r->rip = code;
	r->rbx = table; /* child_stub.S addresses everything through %rbx */
	r->orig_rax = (uint64_t)-1;
}

size_t arch_syscall_trap_code(uint8_t *buf, size_t cap)
{
	if (cap < 3)
		return 0;
	buf[0] = 0x0f; /* syscall */
	buf[1] = 0x05;
	buf[2] = 0xcc; /* int3 */
	return 3;
}

void arch_clone_args(uint64_t a[6], uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	a[0] = flags;
	a[1] = stack;
	a[2] = ptid;
	a[3] = ctid;
	a[4] = tls;
	a[5] = 0;
}

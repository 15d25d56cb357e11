/* x86-64 system call conventions for injected calls and restarts. */
#include "arch/arch.h"

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

size_t arch_reaper_code(uint8_t *buf, size_t cap)
{
	static const uint8_t code[] = {
		0xb8, 0x3d, 0x00, 0x00, 0x00,             /* 0:  mov $61,%eax (wait4) */
		0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff, /* 5:  mov $-1,%rdi */
		0x31, 0xf6,                               /* 12: xor %esi,%esi */
		0xba, 0x00, 0x00, 0x00, 0x40,             /* 14: mov $__WALL,%edx */
		0x4d, 0x31, 0xd2,                         /* 19: xor %r10,%r10 */
		0x0f, 0x05,                               /* 22: syscall */
		0x48, 0x83, 0xf8, 0xf6,                   /* 24: cmp $-ECHILD,%rax */
		0x75, 0xe2,                               /* 28: jne 0 */
		0xb8, 0xe7, 0x00, 0x00, 0x00,             /* 30: mov $231,%eax (exit_group) */
		0x31, 0xff,                               /* 35: xor %edi,%edi */
		0x0f, 0x05,                               /* 37: syscall */
	};
	if (cap < sizeof code)
		return 0;
	for (size_t i = 0; i < sizeof code; i++)
		buf[i] = code[i];
	return sizeof code;
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

/* debugreg.c — x86-64 hardware watchpoints: DR0..DR3 hold addresses, DR7
 * enables them (local enable bit, R/W and LEN fields per slot), DR6 says
 * which one fired. Written with PTRACE_POKEUSER at struct user's
 * u_debugreg (the kernel's UAPI, <sys/user.h>). */
#include "arch/arch.h"

#include <errno.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#define DR_OFF(i) (offsetof(struct user, u_debugreg) + (size_t)(i) * sizeof(long))

const unsigned arch_watch_slots = 4;

static int peek_dr(pid_t tid, int i, uint64_t *out)
{
	errno = 0;
	long v = ptrace(PTRACE_PEEKUSER, tid, (void *)DR_OFF(i), 0);
	if (v == -1 && errno)
		return -errno;
	*out = (uint64_t)v;
	return 0;
}

static int poke_dr(pid_t tid, int i, uint64_t v)
{
	return ptrace(PTRACE_POKEUSER, tid, (void *)DR_OFF(i), (void *)v) < 0 ? -errno : 0;
}

bool arch_watch_ok(uint64_t addr, unsigned len)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) && addr % len == 0;
}

int arch_watch_set(pid_t tid, unsigned slot, uint64_t addr, unsigned len, bool rw)
{
	if (slot >= arch_watch_slots || !arch_watch_ok(addr, len))
		return -EINVAL;
	uint64_t dr7 = 0;
	int rc = peek_dr(tid, 7, &dr7);
	if (rc < 0)
		return rc;
	/* R/W: 01 write, 11 read or write; LEN: 00 1, 01 2, 11 4, 10 8 bytes */
	uint64_t rwbits = rw ? 3 : 1;
	uint64_t lenbits = len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 3 : 2;
	unsigned sh = 16 + slot * 4;
	dr7 &= ~((uint64_t)0xf << sh) & ~((uint64_t)3 << (slot * 2));
	if ((rc = poke_dr(tid, 7, dr7)) < 0 || (rc = poke_dr(tid, (int)slot, addr)) < 0)
		return rc;
	dr7 |= ((rwbits | (lenbits << 2)) << sh) | ((uint64_t)1 << (slot * 2));
	return poke_dr(tid, 7, dr7);
}

int arch_watch_clear(pid_t tid, unsigned slot)
{
	if (slot >= arch_watch_slots)
		return -EINVAL;
	uint64_t dr7 = 0;
	int rc = peek_dr(tid, 7, &dr7);
	if (rc < 0)
		return rc;
	dr7 &= ~((uint64_t)3 << (slot * 2)) & ~((uint64_t)0xf << (16 + slot * 4));
	return poke_dr(tid, 7, dr7);
}

int arch_watch_hit(pid_t tid)
{
	uint64_t dr6 = 0;
	if (peek_dr(tid, 6, &dr6) < 0)
		return -1;
	for (unsigned i = 0; i < arch_watch_slots; i++) {
		if (dr6 & ((uint64_t)1 << i)) {
			poke_dr(tid, 6, 0); /* the kernel does not clear it */
			return (int)i;
		}
	}
	return -1;
}

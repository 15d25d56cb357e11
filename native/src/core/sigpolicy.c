/* sigpolicy.c — gdb's default signal table (see sigpolicy.h). */
#include "core/sigpolicy.h"

#include <signal.h>

#define BIT(s) (1ull << ((s) - 1))

void sig_policy_default(struct sig_policy *sp)
{
	/* glibc's SIGCANCEL and SIGSETXID: the first two real-time signals,
	 * which the kernel numbers 32 and 33 (SIGRTMIN is what glibc leaves
	 * to programs, after them) */
	uint64_t quiet = BIT(SIGALRM) | BIT(SIGURG) | BIT(SIGCHLD) | BIT(SIGWINCH) | BIT(SIGPROF) | BIT(SIGIO) |
			 BIT(SIGVTALRM) | BIT(32) | BIT(33);
	sp->nostop = quiet;
	sp->noprint = quiet;
	sp->nopass = BIT(SIGINT) | BIT(SIGTRAP);
}

/* sigpolicy.h — what a signal does to a debugged process, per signal, in
 * gdb's words: stop/nostop (all-stop and report), print/noprint (say that
 * it arrived when it does not stop), pass/nopass (deliver it to the
 * program when it resumes). Decided in the tracer thread: a signal that
 * does not stop never reaches the adapter as a stop.
 *
 * Defaults are gdb's: SIGALRM, SIGURG, SIGCHLD, SIGWINCH, SIGPROF, SIGIO,
 * SIGVTALRM and glibc's internal real-time signals (SIGCANCEL 32,
 * SIGSETXID 33) pass silently; every other signal stops and prints;
 * SIGINT and SIGTRAP are not passed. */
#ifndef FK_SIGPOLICY_H
#define FK_SIGPOLICY_H

#include <stdbool.h>
#include <stdint.h>

struct sig_policy {
	uint64_t nostop, noprint, nopass; /* bit sig-1 */
};

void sig_policy_default(struct sig_policy *sp);

static inline bool sig_stops(const struct sig_policy *sp, int sig)
{
	return sig < 1 || sig > 64 || !(sp->nostop & (1ull << (sig - 1)));
}
static inline bool sig_prints(const struct sig_policy *sp, int sig)
{
	return sig < 1 || sig > 64 || !(sp->noprint & (1ull << (sig - 1)));
}
static inline bool sig_passes(const struct sig_policy *sp, int sig)
{
	return sig < 1 || sig > 64 || !(sp->nopass & (1ull << (sig - 1)));
}

#endif

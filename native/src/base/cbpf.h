/* cbpf.h — a classic BPF interpreter for seccomp filters.
 *
 * Runs a program as the kernel's seccomp does: over a struct seccomp_data
 * (the system call number, audit arch, instruction pointer and six
 * arguments), returning the filter's 32-bit verdict. Pure: no system calls,
 * so it is unit-tested with hand-written programs.
 *
 * Only the instructions the kernel accepts in a seccomp filter are run (it
 * validated the program when it was installed); anything else, a jump out
 * of the program or a load outside seccomp_data makes the verdict
 * CBPF_INVALID, which callers treat as "cannot tell". A division by zero
 * returns 0 (SECCOMP_RET_KILL_THREAD), as in the kernel. */
#ifndef FK_CBPF_H
#define FK_CBPF_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>

/* Not a verdict any filter can return (bits of SECCOMP_RET_ACTION_FULL
 * that name no action, with a data part no kernel would produce). */
#define CBPF_INVALID 0x3fff0badu

uint32_t cbpf_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *data);

#endif

/* x86-64 register types for the generic code. */
#ifndef FK_ARCH_TYPES_H
#define FK_ARCH_TYPES_H

#include <linux/audit.h>
#include <sys/user.h>

typedef struct user_regs_struct fk_gregs;

/* seccomp_data.arch of this architecture's native system calls */
#define FK_AUDIT_ARCH AUDIT_ARCH_X86_64

#endif

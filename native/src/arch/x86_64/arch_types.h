/* x86-64 register types for the generic code. */
#ifndef FK_ARCH_TYPES_H
#define FK_ARCH_TYPES_H

#include <sys/user.h>

typedef struct user_regs_struct fk_gregs;

#endif

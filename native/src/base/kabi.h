/* kabi.h — kernel UAPI structures the system headers of older distributions
 * lack (stable ABI: they only ever grow at the end). */
#ifndef FK_KABI_H
#define FK_KABI_H

#include <stdint.h>

/* PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13; an enum in newer glibc
 * headers, absent in older ones) */
#define FK_PTRACE_GET_RSEQ_CONFIGURATION 0x420f

/* FK_PTRACE_GET_RSEQ_CONFIGURATION's answer */
struct ptrace_rseq_cfg {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

/* sched_setattr(2)'s struct */
struct sched_attr_k {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

#endif

/* child_stub.h — the table the thread-building stub reads in a forkall
 * child (layout shared by the generic engine and every arch's stub).
 *
 * The stub is a few dozen instructions copied into a private page of the
 * child (never into the parent). The child's leader runs it: one clone()
 * per thread to recreate, no ptrace stop in between; each new thread
 * registers its robust list, rseq area, name and alternate stack itself,
 * marks itself done and parks in futex_wait, where the tracer seizes it and
 * loads its final registers. The leader ends by sending itself SIGSTOP
 * (never int3: see the stub), which the tracer discards. */
#ifndef FK_CHILD_STUB_H
#define FK_CHILD_STUB_H

#include <stdint.h>

#define STUB_HEADER_SIZE 64
#define STUB_ENTRY_SIZE 192

struct stub_header {
	uint64_t n;		     /* 0: entries */
	uint64_t go;		     /* 8: futex word the threads park on */
	uint64_t leader_robust_head; /* 16: 0 = none */
	uint64_t leader_robust_len;  /* 24 */
	uint64_t leader_robust_ret;  /* 32: out */
	uint64_t pad[3];
};

struct stub_entry {
	uint64_t flags, stack, ptid, ctid, tls; /* 0..32: clone() */
	uint64_t robust_head, robust_len;	/* 40, 48: 0 = skip */
	uint64_t rseq_ptr, rseq_len, rseq_sig;	/* 56, 64, 72: 0 = skip */
	uint64_t name_ptr;			/* 80: 0 = skip */
	uint64_t ss_ptr;			/* 88: 0 = skip */
	int64_t result;				/* 96: out: clone's return */
	int64_t setup_err;			/* 104: out: -errno of the failed call */
	uint64_t setup_step;			/* 112: out: 1 robust 2 rseq 3 name 4 sigaltstack */
	uint64_t done;				/* 120: out: 1 when parked */
	char name[16];				/* 128 */
	uint8_t ss[24];				/* 144: stack_t */
	uint8_t pad[24];
};

_Static_assert(sizeof(struct stub_header) == STUB_HEADER_SIZE, "stub header layout");
_Static_assert(sizeof(struct stub_entry) == STUB_ENTRY_SIZE, "stub entry layout");

/* The arch's stub: code bytes to copy, and where the leader starts.
 * Entry contract: the table's address in the arch's "table register"
 * (arch_stub_set_table), the leader's pc at code + leader_offset. */
extern const uint8_t fk_child_stub_start[];
extern const uint8_t fk_child_stub_end[];
extern const uint8_t fk_child_stub_leader[];

#endif

/* arch.h — what the generic code needs from an architecture. The types and
 * the implementation live in arch/<arch>/ (x86_64 now; aarch64 later with
 * the same file names). Generic code has no #ifdef __x86_64__. */
#ifndef FK_ARCH_H
#define FK_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch_types.h" /* fk_gregs */

struct jw;

/* General registers of a stopped LWP (fs_base/gs_base included). */
int arch_get_gregs(pid_t tid, fk_gregs *out);
int arch_set_gregs(pid_t tid, const fk_gregs *in);

uint64_t arch_pc(const fk_gregs *r);
uint64_t arch_sp(const fk_gregs *r);
void arch_set_pc(fk_gregs *r, uint64_t pc);
/* The thread pointer (x86-64: fs_base, which is glibc's pthread_t). */
uint64_t arch_tp(const fk_gregs *r);
/* System call number the LWP is inside, or -1. */
long arch_syscall_nr(const fk_gregs *r);

/* JSON object members "rax":"0x…", … for every general register. */
void arch_gregs_json(struct jw *w, const fk_gregs *r);
/* Set one register by name from a value; -EINVAL for unknown names. */
int arch_greg_set_by_name(fk_gregs *r, const char *name, uint64_t value);

/* Extended state (x87/SSE/AVX/AVX-512/AMX …): size and layout come from the
 * kernel and CPUID, never from a fixed struct. */
size_t arch_xstate_bufsize(void);
/* Fills buf (cap >= arch_xstate_bufsize()); *len is what the kernel wrote. */
int arch_get_xstate(pid_t tid, void *buf, size_t cap, size_t *len);
int arch_set_xstate(pid_t tid, const void *buf, size_t len);
/* JSON members "fpu", "xstate", "vector" decoded from a buffer. */
void arch_xstate_json(struct jw *w, const void *buf, size_t len);

/* ---- remote system calls (rsys.c) ---- */

/* Registers that make a stopped LWP execute system call nr at `insn` (a
 * syscall instruction) with args, as if it had jumped there. */
void arch_setup_syscall(fk_gregs *r, uint64_t insn, long nr, const uint64_t args[6]);
/* The return value at syscall-exit (negative errno on failure). */
long arch_syscall_result(const fk_gregs *r);
/* Length of the syscall instruction ("0f 05": 2). */
extern const uint8_t arch_syscall_insn[];
extern const size_t arch_syscall_insn_len;

/* An LWP stopped inside an interrupted system call carries a kernel
 * restart code in its return register. The kernel applies the restart
 * only if it still knows about it; after we ran other code in the thread
 * (or made a new thread with these registers) it does not, so we do.
 *   FIX_SAME_TASK: the task's own restart_block is intact (the thread we
 *     injected into, or the fork child of it): -ERESTART_RESTARTBLOCK
 *     becomes restart_syscall, continuing with the remaining time.
 *   FIX_NEW_THREAD: a new thread has no restart_block of its own: the
 *     original call is issued again (a timed sleep waits its full time
 *     again: late, never early, never EINTR).
 * Returns true when the registers were changed. */
enum arch_fix_mode {
	FIX_SAME_TASK,
	FIX_NEW_THREAD
};
bool arch_fix_restart(fk_gregs *r, enum arch_fix_mode mode);

/* Code for a namespace init that reaps until it has no children, then
 * ends as the forkall child ended (its exit code, or its fatal signal:
 * re-raised by a fault for SIGSEGV/SIGILL/SIGFPE/SIGTRAP, else exit code
 * 128 + N). Returns its length (<= cap); 0 if cap is too small. */
size_t arch_reaper_code(uint8_t *buf, size_t cap);
/* Registers that start it at code, watching child (its pid in the namespace). */
void arch_reaper_regs(fk_gregs *r, uint64_t code, pid_t child);

/* The raw clone(2) argument order differs between architectures
 * (x86-64: flags, stack, parent_tid, child_tid, tls). */
void arch_clone_args(uint64_t a[6], uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls);

/* "syscall; breakpoint": for rsys_run_trap. Returns its length. */
size_t arch_syscall_trap_code(uint8_t *buf, size_t cap);

/* Registers that start the child stub (child_stub.h): pc at code, the
 * table's address where the stub expects it. */
void arch_stub_regs(fk_gregs *r, uint64_t code, uint64_t table);

/* libthread_db's ps_get_thread_area index answered with arch_tp(). */
bool arch_thread_area_is_tp(int idx);

/* Software breakpoint instruction and the pc adjustment after a hit. */
extern const uint8_t arch_bp_insn[];
extern const size_t arch_bp_len;

/* ---- hardware watchpoints (debugreg.c) ---- */

/* How many (x86-64: DR0..DR3). */
extern const unsigned arch_watch_slots;
/* Can one slot watch [addr, addr+len)? (x86-64: 1, 2, 4, 8 bytes, aligned) */
bool arch_watch_ok(uint64_t addr, unsigned len);
/* Watch writes (rw: reads too) of [addr, addr+len) in one stopped LWP. 0 or -errno. */
int arch_watch_set(pid_t tid, unsigned slot, uint64_t addr, unsigned len, bool rw);
int arch_watch_clear(pid_t tid, unsigned slot);
/* After a SIGTRAP (TRAP_HWBKPT): the slot that fired (and reset), or -1. */
int arch_watch_hit(pid_t tid);

/* ---- DWARF (dwarf_regs.c) ---- */
/* The general register with this DWARF number ("rax", "rbx", …), NULL: none. */
const char *arch_dwarf_reg_name(unsigned regno);

/* The general registers in DWARF numbering (x86-64: rax, rdx, rcx, rbx,
 * rsi, rdi, rbp, rsp, r8..r15, rip = 0..16: not the struct order), the
 * initial state of a CFI unwinder. Fills out[0..n) and returns n (at most
 * cap). */
size_t arch_dwarf_gregs(const fk_gregs *r, uint64_t *out, size_t cap);
/* DWARF number of the stack pointer (x86-64: 7). */
extern const unsigned arch_dwarf_sp_regno;
/* Bit i: DWARF register i is callee-saved (preserved across calls) in the
 * psABI (x86-64: rbx, rbp, r12..r15). */
extern const uint32_t arch_dwarf_callee_saved;
/* The frame pointer (x86-64: rbp). With frame pointers, [fp] holds the
 * caller's fp and [fp + 8] the return address (also true on aarch64). */
uint64_t arch_fp(const fk_gregs *r);

/* ---- displaced stepping (insn.c) ---- */

/* What executing one instruction somewhere else needs to know about it. */
struct arch_insn {
	unsigned len;
	unsigned rip_disp; /* offset of a pc-relative 32-bit displacement of a memory operand (0: none) */
	bool rel_branch;   /* a pc-relative jump, call or loop: the target moves with the copy */
	bool call;	   /* pushes a return address (the next instruction's) */
	bool flow;	   /* transfers control (any jump, call, return, loop): never falls through to a jump back */
};

/* Decode the instruction at code[0..n). 0 and *out, or -1: not one that can
 * be executed out of line (unknown, privileged, a trap, a string
 * instruction with a repeat prefix, an address-size prefix, EVEX…). */
int arch_insn_decode(const uint8_t *code, size_t n, struct arch_insn *out);

/* ---- out-of-line copies that jump back (insn.c; ptrace/bpslot.c) ---- */

/* An instruction runs as such a copy if it does not transfer control
 * (in.flow) and its pc-relative operand, if any, is in reach from there. */
/* The instruction code[0..in->len) at `from`, relocated to `to` (its
 * pc-relative displacement moved by the distance), into out; false: out
 * of range. */
bool arch_insn_relocate(const uint8_t *code, const struct arch_insn *in, uint64_t from, uint64_t to, uint8_t *out);
/* An absolute jump to target, position-independent (x86-64: jmp *0(%rip)
 * and the 8-byte address, 14 bytes). Its length (<= cap), 0: cap too small. */
size_t arch_jump_abs(uint8_t *buf, size_t cap, uint64_t target);
/* The longest out-of-line copy with its jump back (x86-64: 15 + 14). */
#define ARCH_SLOT_MAX 32

/* ---- PLT stubs (plt.c): naming "printf@plt" ---- */

/* The GOT slot a PLT entry jumps through: the memory operand of its
 * indirect jump (x86-64: jmp *disp32(%rip), after endbr64 and a bnd
 * prefix) for the entry's code[0..n) at link-time address at. */
bool arch_plt_slot(const uint8_t *code, size_t n, uint64_t at, uint64_t *slot);
/* Does a relocation of this type fill such a slot with a symbol's address
 * (x86-64: R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT)? */
bool arch_plt_reloc(uint32_t type);

#endif

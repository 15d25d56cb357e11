/* x86-64 code for the init of a --same-tids child's PID namespace (pid 1
 * there). Copied into a private RWX page of the init and run with every
 * signal blocked; %rbx holds the forkall child's pid in the namespace.
 *
 * Reaps every process of the namespace (wait4(-1, __WALL)) until none is
 * left, remembering the forkall child's wait status, then ends the way the
 * child ended, so whoever waits for the init sees the truth:
 *   - exit(code): exit_group(code)
 *   - killed by SIGSEGV, SIGILL, SIGFPE or SIGTRAP: the same signal, raised
 *     by a fault (an init ignores every signal it sends itself; a fault's
 *     forced signal with the default action kills it), RLIMIT_CORE 0 first
 *     so the init leaves no core dump of its own;
 *   - killed by any other signal N: exit_group(128 + N), as a shell reports it.
 * Data lives in the page itself (RIP-relative). */
	.section .rodata
	.balign 64
	.globl fk_reaper_start
	.hidden fk_reaper_start
	.globl fk_reaper_end
	.hidden fk_reaper_end
fk_reaper_start:
	xor %r12d, %r12d		/* the child's status */
	xor %r13d, %r13d		/* 1 once the child was reaped */
1:	mov $61, %eax			/* wait4(-1, &status, __WALL, NULL) */
	mov $-1, %rdi
	lea status(%rip), %rsi
	mov $0x40000000, %edx
	xor %r10d, %r10d
	syscall
	cmp $-10, %rax			/* ECHILD: nobody left */
	je 2f
	test %rax, %rax
	js 1b
	cmp %rbx, %rax
	jne 1b
	mov status(%rip), %r12d
	mov $1, %r13d
	jmp 1b
2:	xor %edi, %edi
	test %r13d, %r13d
	jz exit
	mov %r12d, %eax
	and $0x7f, %eax			/* WTERMSIG */
	jnz 3f
	mov %r12d, %edi			/* WEXITSTATUS */
	shr $8, %edi
	and $0xff, %edi
	jmp exit
3:	mov %eax, %r14d
	mov $160, %eax			/* setrlimit(RLIMIT_CORE, {0, 0}) */
	mov $4, %edi
	lea zeros(%rip), %rsi
	syscall
	mov $13, %eax			/* rt_sigaction(sig, {SIG_DFL}, NULL, 8) */
	mov %r14d, %edi
	lea zeros(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	mov $14, %eax			/* rt_sigprocmask(SIG_SETMASK, {}, NULL, 8) */
	mov $2, %edi
	lea zeros(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	cmp $11, %r14d
	je segv
	cmp $4, %r14d
	je ill
	cmp $8, %r14d
	je fpe
	cmp $5, %r14d
	je trap
	lea 128(%r14), %edi
	jmp exit
segv:	xor %eax, %eax
	mov (%rax), %rax
ill:	ud2
fpe:	xor %edx, %edx
	xor %eax, %eax
	xor %ecx, %ecx
	div %ecx
trap:	int3
	lea 128(%r14), %edi		/* not killed after all: say it */
exit:	mov $231, %eax			/* exit_group */
	syscall
	jmp exit
	.balign 8
status:	.long 0, 0
zeros:	.quad 0, 0, 0, 0
	.balign 16
fk_reaper_end:
	.section .note.GNU-stack,"",@progbits

/* x86-64 thread-building stub for a forkall child (see child_stub.h).
 * Data only to libforkall (.rodata): it is copied into the child and runs
 * there. Position independent: everything is addressed through %rbx, the
 * table's address, which the new threads inherit from the leader. Uses no
 * stack. Syscalls clobber rcx, r11 and rax only. */
	.section .rodata
	.balign 64
	.globl fk_child_stub_start
	.hidden fk_child_stub_start
	.globl fk_child_stub_end
	.hidden fk_child_stub_end
	.globl fk_child_stub_leader
	.hidden fk_child_stub_leader
fk_child_stub_start:
fk_child_stub_leader:
	/* the leader's own robust list (fork forgot it) */
	mov 16(%rbx), %rdi
	test %rdi, %rdi
	jz 0f
	mov 24(%rbx), %rsi
	mov $273, %eax			/* set_robust_list */
	syscall
	mov %rax, 32(%rbx)
0:	mov (%rbx), %r13		/* n */
	lea 64(%rbx), %r12		/* first entry */
1:	test %r13, %r13
	jz 9f
	mov 0(%r12), %rdi		/* flags */
	mov 8(%r12), %rsi		/* stack */
	mov 16(%r12), %rdx		/* parent_tid */
	mov 24(%r12), %r10		/* child_tid */
	mov 32(%r12), %r8		/* tls */
	mov $56, %eax			/* clone */
	syscall
	test %rax, %rax
	jz thread_setup			/* the new thread: %r12 is its entry */
	mov %rax, 96(%r12)
	js 9f				/* clone failed: stop here */
	add $192, %r12
	dec %r13
	jmp 1b
	/* Stop for the tracer with tgkill(getpid(), gettid(), SIGSTOP), which
	 * it catches at its delivery stop and discards. Not int3: the kernel
	 * forces the SIGTRAP of an int3, and a forced signal that is blocked
	 * (the leader blocks every signal here) or ignored resets the
	 * program's SIGTRAP disposition to SIG_DFL. */
9:	mov $39, %eax			/* getpid */
	syscall
	mov %rax, %rdi
	mov $186, %eax			/* gettid */
	syscall
	mov %rax, %rsi
	mov $19, %edx			/* SIGSTOP */
	mov $234, %eax			/* tgkill */
	syscall
	jmp 9b

thread_setup:
	mov 40(%r12), %rdi
	test %rdi, %rdi
	jz 2f
	mov 48(%r12), %rsi
	mov $273, %eax			/* set_robust_list */
	syscall
	mov $1, %ecx
	test %rax, %rax
	jnz fail
2:	mov 56(%r12), %rdi
	test %rdi, %rdi
	jz 3f
	mov 64(%r12), %rsi
	xor %edx, %edx
	mov 72(%r12), %r10
	mov $334, %eax			/* rseq */
	syscall
	mov $2, %ecx
	test %rax, %rax
	jnz fail
3:	mov 80(%r12), %rsi
	test %rsi, %rsi
	jz 4f
	mov $15, %edi			/* PR_SET_NAME */
	mov $157, %eax			/* prctl */
	syscall
	mov $3, %ecx
	test %rax, %rax
	jnz fail
4:	mov 88(%r12), %rdi
	test %rdi, %rdi
	jz 5f
	xor %esi, %esi
	mov $131, %eax			/* sigaltstack */
	syscall
	mov $4, %ecx
	test %rax, %rax
	jnz fail
	jmp 5f
fail:	mov %rax, 104(%r12)
	mov %rcx, 112(%r12)
5:	movq $1, 120(%r12)
6:	lea 8(%rbx), %rdi		/* park: futex(&go, FUTEX_WAIT_PRIVATE, 0) */
	mov $128, %esi
	xor %edx, %edx
	xor %r10d, %r10d
	mov $202, %eax
	syscall
	jmp 6b
	.balign 16
fk_child_stub_end:
	.section .note.GNU-stack,"",@progbits

/* cbpf.c — classic BPF over struct seccomp_data (see cbpf.h). */
#include "base/cbpf.h"

#include <stdbool.h>
#include <string.h>

uint32_t cbpf_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *data)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS];
	memset(M, 0, sizeof M);
	/* jumps only go forward: at most len steps */
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t k = f->k;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			switch (BPF_MODE(f->code)) {
			case BPF_IMM: v = k; break;
			case BPF_MEM:
				if (k >= BPF_MEMWORDS)
					return CBPF_INVALID;
				v = M[k];
				break;
			case BPF_LEN: v = (uint32_t)sizeof *data; break;
			case BPF_ABS:
				if (BPF_CLASS(f->code) != BPF_LD || BPF_SIZE(f->code) != BPF_W || (k & 3) ||
				    k > sizeof *data - sizeof v)
					return CBPF_INVALID;
				memcpy(&v, (const uint8_t *)data + k, sizeof v);
				break;
			default: return CBPF_INVALID;
			}
			if (BPF_CLASS(f->code) == BPF_LD)
				A = v;
			else
				X = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return CBPF_INVALID;
			M[k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU: { /* no BPF_MOD: the kernel refuses it in seccomp filters */
			uint32_t v = BPF_SRC(f->code) == BPF_X ? X : k;
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += v; break;
			case BPF_SUB: A -= v; break;
			case BPF_MUL: A *= v; break;
			case BPF_DIV:
				if (!v)
					return 0;
				A /= v;
				break;
			case BPF_OR: A |= v; break;
			case BPF_AND: A &= v; break;
			case BPF_XOR: A ^= v; break;
			case BPF_LSH: A = v >= 32 ? 0 : A << v; break;
			case BPF_RSH: A = v >= 32 ? 0 : A >> v; break;
			case BPF_NEG: A = (uint32_t)-A; break;
			default: return CBPF_INVALID;
			}
			break;
		}
		case BPF_JMP: {
			size_t off;
			if (BPF_OP(f->code) == BPF_JA) {
				off = k;
			} else {
				uint32_t v = BPF_SRC(f->code) == BPF_X ? X : k;
				bool taken;
				switch (BPF_OP(f->code)) {
				case BPF_JEQ: taken = A == v; break;
				case BPF_JGT: taken = A > v; break;
				case BPF_JGE: taken = A >= v; break;
				case BPF_JSET: taken = (A & v) != 0; break;
				default: return CBPF_INVALID;
				}
				off = taken ? f->jt : f->jf;
			}
			if (off >= len - pc - 1)
				return CBPF_INVALID;
			pc += off;
			break;
		}
		case BPF_RET:
			switch (BPF_RVAL(f->code)) {
			case BPF_K: return k;
			case BPF_A: return A;
			default: return CBPF_INVALID;
			}
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else if (BPF_MISCOP(f->code) == BPF_TXA)
				A = X;
			else
				return CBPF_INVALID;
			break;
		default: return CBPF_INVALID;
		}
	}
	return CBPF_INVALID; /* fell off the end: the kernel never accepts that */
}

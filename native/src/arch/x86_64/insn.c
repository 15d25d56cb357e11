/* insn.c — x86-64 instruction lengths and pc-relative operands, for
 * executing one instruction out of line (displaced stepping, as gdb does
 * it: ptrace/breakpoints.c bp_step_displaced). Legacy and REX prefixes,
 * the one-byte, 0F, 0F38 and 0F3A maps, VEX; whatever is not understood
 * is refused (the caller steps in place instead). */
#include "arch/arch.h"

#include <stdint.h>
#include <string.h>

/* one-byte map: has a ModRM byte */
static bool modrm1(uint8_t op)
{
	if (op < 0x40)
		return (op & 7) < 4;
	return op == 0x62 || op == 0x63 || op == 0x69 || op == 0x6b || (op >= 0x80 && op <= 0x8f) ||
	       (op >= 0xc0 && op <= 0xc1) || (op >= 0xc6 && op <= 0xc7) || (op >= 0xd0 && op <= 0xd3) ||
	       (op >= 0xd8 && op <= 0xdf) || op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff;
}

/* one-byte map: refused (invalid in 64-bit mode, traps, privileged, I/O,
 * far transfers, string instructions) */
static bool refused1(uint8_t op)
{
	static const uint8_t bad[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f,
				       0x60, 0x61, 0x62, 0x6c, 0x6d, 0x6e, 0x6f, 0x82, 0x9a, 0xa4, 0xa5,
				       0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xc4, 0xc5, 0xca,
				       0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd4, 0xd5, 0xd6, 0xe4, 0xe5, 0xe6,
				       0xe7, 0xea, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf4, 0xfa, 0xfb };
	return memchr(bad, op, sizeof bad) != NULL;
}

static unsigned imm1(uint8_t op, bool opsize16, bool rexw, uint8_t modrm_reg)
{
	unsigned z = opsize16 ? 2 : 4;
	if (op < 0x40 && (op & 7) == 4)
		return 1;
	if (op < 0x40 && (op & 7) == 5)
		return z;
	switch (op) {
	case 0x68:
	case 0x69:
	case 0x81:
	case 0xa9:
	case 0xc7: return z;
	case 0x6a:
	case 0x6b:
	case 0x80:
	case 0x83:
	case 0xa8:
	case 0xc0:
	case 0xc1:
	case 0xc6:
	case 0xcd: return 1;
	case 0xc2: return 2;
	case 0xc8: return 3;
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3: return 8; /* moffs */
	case 0xe8:
	case 0xe9: return 4;
	case 0xeb: return 1;
	case 0xf6: return modrm_reg < 2 ? 1 : 0;
	case 0xf7: return modrm_reg < 2 ? z : 0;
	default: break;
	}
	if (op >= 0x70 && op <= 0x7f)
		return 1;
	if (op >= 0xe0 && op <= 0xe3)
		return 1;
	if (op >= 0xb0 && op <= 0xb7)
		return 1;
	if (op >= 0xb8 && op <= 0xbf)
		return rexw ? 8 : z;
	return 0;
}

/* 0F map: no ModRM byte */
static bool nomodrm2(uint8_t op)
{
	return op == 0x05 || op == 0x06 || op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0b || op == 0x0e ||
	       (op >= 0x30 && op <= 0x37) || op == 0x77 || (op >= 0x80 && op <= 0x8f) || op == 0xa0 || op == 0xa1 ||
	       op == 0xa2 || op == 0xa8 || op == 0xa9 || op == 0xaa || (op >= 0xc8 && op <= 0xcf);
}

static bool refused2(uint8_t op)
{
	/* syscall/sysret and friends, invd, ud2, 3DNow!, msr/tsc/sysenter, rsm, the system group */
	return op == 0x00 || op == 0x01 || op == 0x05 || op == 0x06 || op == 0x07 || op == 0x08 || op == 0x09 ||
	       op == 0x0b || op == 0x0f || (op >= 0x30 && op <= 0x37) || op == 0xaa || op == 0xb9 || op == 0xff;
}

static unsigned imm2(uint8_t op)
{
	if ((op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba || op == 0xc2 ||
	    (op >= 0xc4 && op <= 0xc6))
		return 1;
	if (op >= 0x80 && op <= 0x8f)
		return 4;
	return 0;
}

/* ModRM (+ SIB + displacement) at code[i]: its length, and where a
 * RIP-relative displacement is (0: none). -1: truncated. */
static int modrm_len(const uint8_t *code, size_t n, size_t i, unsigned *rip_disp)
{
	if (i >= n)
		return -1;
	uint8_t m = code[i], mod = m >> 6, rm = m & 7;
	int len = 1;
	if (mod == 3)
		return len;
	if (rm == 4) {
		if (i + 1 >= n)
			return -1;
		uint8_t sib = code[i + 1];
		len++;
		if (mod == 0 && (sib & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		*rip_disp = (unsigned)(i + 1);
		len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

int arch_insn_decode(const uint8_t *code, size_t n, struct arch_insn *out)
{
	memset(out, 0, sizeof *out);
	size_t i = 0;
	bool opsize16 = false, rep = false, rexw = false;
	for (; i < n && i < 14; i++) {
		uint8_t b = code[i];
		if (b == 0x66)
			opsize16 = true;
		else if (b == 0xf2 || b == 0xf3)
			rep = true;
		else if (b == 0x67)
			return -1; /* 32-bit addressing: EIP-relative, not worth it */
		else if (b != 0xf0 && b != 0x2e && b != 0x36 && b != 0x3e && b != 0x26 && b != 0x64 && b != 0x65)
			break;
	}
	if (i < n && (code[i] & 0xf0) == 0x40) {
		rexw = code[i] & 8;
		i++;
	}
	if (i >= n)
		return -1;
	uint8_t op = code[i++];
	unsigned imm = 0;
	int ml = 0;
	if (op == 0xc4 || op == 0xc5) { /* VEX */
		unsigned map;
		if (op == 0xc5) {
			map = 1;
			i += 1;
		} else {
			if (i >= n)
				return -1;
			map = code[i] & 0x1f;
			i += 2;
		}
		if (i >= n || map < 1 || map > 3)
			return -1;
		uint8_t vop = code[i++];
		if (map == 1 && vop == 0x77) {
			out->len = (unsigned)i; /* vzeroupper, vzeroall */
			return 0;
		}
		ml = modrm_len(code, n, i, &out->rip_disp);
		imm = map == 3 || (map == 1 &&
				   ((vop >= 0x70 && vop <= 0x73) || vop == 0xc2 || (vop >= 0xc4 && vop <= 0xc6)))
			      ? 1
			      : 0;
	} else if (op == 0x0f) {
		if (i >= n)
			return -1;
		uint8_t op2 = code[i++];
		if (op2 == 0x38 || op2 == 0x3a) {
			if (i >= n)
				return -1;
			i++; /* the third opcode byte */
			ml = modrm_len(code, n, i, &out->rip_disp);
			imm = op2 == 0x3a ? 1 : 0;
		} else {
			if (refused2(op2))
				return -1;
			if (!nomodrm2(op2))
				ml = modrm_len(code, n, i, &out->rip_disp);
			imm = imm2(op2);
			if (op2 >= 0x80 && op2 <= 0x8f)
				out->rel_branch = true;
		}
	} else {
		if (refused1(op))
			return -1;
		if (rep && (op == 0xa4 || op == 0xa5 || op == 0xa6 || op == 0xa7 || (op >= 0xaa && op <= 0xaf)))
			return -1;
		uint8_t reg = 0;
		if (modrm1(op)) {
			if (i >= n)
				return -1;
			reg = (code[i] >> 3) & 7;
			ml = modrm_len(code, n, i, &out->rip_disp);
		}
		imm = imm1(op, opsize16, rexw, reg);
		if (op == 0xe8 || op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3))
			out->rel_branch = true;
		if (op == 0xe8 || (op == 0xff && (reg == 2 || reg == 3)))
			out->call = true;
		if (op == 0xc2 || op == 0xc3 || (op == 0xff && reg >= 2 && reg <= 5))
			out->flow = true; /* ret, indirect call/jmp */
		if (op == 0xff && (reg == 3 || reg == 5))
			return -1; /* far call/jmp */
		if (op == 0xc7 && code[i] == 0xf8)
			return -1; /* xbegin: its abort target is relative */
	}
	if (ml < 0)
		return -1;
	if (out->rel_branch || out->call)
		out->flow = true;
	size_t len = i + (size_t)ml + imm;
	if (len > 15 || len > n)
		return -1;
	out->len = (unsigned)len;
	return 0;
}

bool arch_insn_relocate(const uint8_t *code, const struct arch_insn *in, uint64_t from, uint64_t to, uint8_t *out)
{
	memcpy(out, code, in->len);
	if (!in->rip_disp)
		return true;
	/* the operand stays where it is: the displacement moves by the distance */
	int32_t d;
	memcpy(&d, code + in->rip_disp, 4);
	int64_t nd = (int64_t)d + (int64_t)(from - to);
	if (nd < INT32_MIN || nd > INT32_MAX)
		return false;
	d = (int32_t)nd;
	memcpy(out + in->rip_disp, &d, 4);
	return true;
}

size_t arch_jump_abs(uint8_t *buf, size_t cap, uint64_t target)
{
	static const uint8_t jmp[6] = { 0xff, 0x25, 0, 0, 0, 0 }; /* jmp *0(%rip): the address follows */
	if (cap < sizeof jmp + 8)
		return 0;
	memcpy(buf, jmp, sizeof jmp);
	memcpy(buf + sizeof jmp, &target, 8);
	return sizeof jmp + 8;
}

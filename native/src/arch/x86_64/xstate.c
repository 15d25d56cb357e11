/* x86-64 extended state: PTRACE_GETREGSET NT_X86_XSTATE.
 *
 * The buffer is the kernel's "UABI" XSAVE image in standard (non-compacted)
 * format: the 512-byte FXSAVE legacy area (x87, MXCSR, xmm0-15), the 64-byte
 * header (xstate_bv at 512, xcomp_bv at 520), then each component at the
 * offset CPUID leaf 0xD sub-leaf i reports in EBX (size in EAX). The kernel
 * writes the enabled user feature mask (XCR0) into the software-reserved
 * bytes at 464. Nothing here assumes
 * a total size: on an AMX machine the image is ~11 KB, without AVX-512 ~1 KB.
 */
#include "arch/arch.h"
#include "base/json.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

/* ptrace's NT_X86_XSTATE image keeps the enabled feature mask (XCR0) in
 * the first 8 software-reserved bytes (gdb: I386_LINUX_XSAVE_XCR0_OFFSET) */
#define PTRACE_XCR0_OFFSET 464
#define XSAVE_HDR_BV 512
#define XSAVE_HDR_COMP 520
#define LEGACY_XMM 160
#define LEGACY_ST 32

static const char *const comp_names[] = {
	[0] = "x87",
	[1] = "SSE",
	[2] = "AVX",
	[3] = "MPX-BNDREGS",
	[4] = "MPX-BNDCSR",
	[5] = "AVX-512-opmask",
	[6] = "AVX-512-ZMM_Hi256",
	[7] = "AVX-512-Hi16_ZMM",
	[8] = "PT",
	[9] = "PKRU",
	[10] = "PASID",
	[11] = "CET_U",
	[12] = "CET_S",
	[13] = "HDC",
	[14] = "UINTR",
	[15] = "LBR",
	[16] = "HWP",
	[17] = "AMX-TILECFG",
	[18] = "AMX-TILEDATA",
	[19] = "APX",
};

struct comp_layout {
	uint32_t offset, size;
};

/* XCR0: the feature mask the OS enabled (needs OSXSAVE, CPUID.1:ECX[27]). */
static uint64_t read_xcr0(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 3;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static struct comp_layout layout_of(unsigned i)
{
	struct comp_layout l = { 0, 0 };
	unsigned a, b, c, d;
	if (i < 2 || !__get_cpuid_count(0xd, i, &a, &b, &c, &d))
		return l;
	l.offset = b;
	l.size = a;
	return l;
}

size_t arch_xstate_bufsize(void)
{
	unsigned a, b, c, d;
	size_t sz = 0;
	if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
		sz = c > b ? c : b;
	if (sz < 4096)
		sz = 4096;
	return (sz + 63) & ~(size_t)63;
}

int arch_get_xstate(pid_t tid, void *buf, size_t cap, size_t *len)
{
	struct iovec iov = { buf, cap };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) == 0) {
		*len = iov.iov_len;
		return 0;
	}
	if (errno != EINVAL && errno != ENODEV)
		return -errno;
	/* No XSAVE: the 512-byte FXSAVE image only. */
	if (cap < sizeof(struct user_fpregs_struct))
		return -ENOSPC;
	if (ptrace(PTRACE_GETFPREGS, tid, 0, buf) < 0)
		return -errno;
	*len = sizeof(struct user_fpregs_struct);
	return 0;
}

int arch_set_xstate(pid_t tid, const void *buf, size_t len)
{
	if (len <= sizeof(struct user_fpregs_struct)) {
		if (ptrace(PTRACE_SETFPREGS, tid, 0, buf) < 0)
			return -errno;
		return 0;
	}
	struct iovec iov = { (void *)buf, len };
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return -errno;
	return 0;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;
	memcpy(&v, p + off, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, 2);
	return v;
}

/* Is component i present in the image (enabled and inside the buffer)? */
static bool comp_ok(uint64_t xcr0, unsigned i, struct comp_layout l, size_t len)
{
	return (xcr0 & (1ull << i)) && l.size && (size_t)l.offset + l.size <= len;
}

void arch_xstate_json(struct jw *w, const void *vbuf, size_t len)
{
	const uint8_t *b = vbuf;
	if (len < 512)
		return;
	jw_key(w, "fpu");
	jw_obj_begin(w);
	jw_khex(w, "fcw", rd16(b, 0));
	jw_khex(w, "fsw", rd16(b, 2));
	jw_khex(w, "ftw", b[4]);
	jw_khex(w, "fop", rd16(b, 6));
	jw_khex(w, "fip", rd64(b, 8));
	jw_khex(w, "fdp", rd64(b, 16));
	jw_khex(w, "mxcsr", rd32(b, 24));
	jw_khex(w, "mxcsr_mask", rd32(b, 28));
	jw_key(w, "st");
	jw_arr_begin(w);
	for (int i = 0; i < 8; i++)
		jw_hex_bytes(w, b + LEGACY_ST + 16 * i, 10);
	jw_arr_end(w);
	jw_obj_end(w);

	uint64_t xcr0 = 3, bv = 3;
	bool have_xsave = len > 576;
	if (have_xsave) {
		xcr0 = rd64(b, PTRACE_XCR0_OFFSET);
		if (!xcr0)
			xcr0 = read_xcr0(); /* an image that does not say: the CPU's */
		bv = rd64(b, XSAVE_HDR_BV);
	}
	jw_key(w, "xstate");
	jw_obj_begin(w);
	jw_kint(w, "size", (int64_t)len);
	jw_khex(w, "xcr0", xcr0);
	jw_khex(w, "xstate_bv", bv);
	jw_key(w, "components");
	jw_arr_begin(w);
	for (unsigned i = 0; i < 64; i++) {
		if (!(xcr0 & (1ull << i)))
			continue;
		struct comp_layout l = i == 0	? (struct comp_layout){ 0, 160 }
				       : i == 1 ? (struct comp_layout){ 160, 256 + 8 }
						: layout_of(i);
		jw_obj_begin(w);
		jw_kint(w, "id", i);
		jw_kstr(w, "name",
			i < sizeof comp_names / sizeof comp_names[0] && comp_names[i] ? comp_names[i] : "unknown");
		jw_kint(w, "offset", l.offset);
		jw_kint(w, "size", l.size);
		jw_kbool(w, "inUse", (bv >> i) & 1);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);

	struct comp_layout avx = layout_of(2), opm = layout_of(5), zhi = layout_of(6), hi16 = layout_of(7);
	bool has_avx = have_xsave && comp_ok(xcr0, 2, avx, len);
	bool has_512 =
		has_avx && comp_ok(xcr0, 5, opm, len) && comp_ok(xcr0, 6, zhi, len) && comp_ok(xcr0, 7, hi16, len);

	jw_key(w, "vector");
	jw_obj_begin(w);
	jw_key(w, "xmm");
	jw_arr_begin(w);
	for (int i = 0; i < 16; i++)
		jw_hex_bytes(w, b + LEGACY_XMM + 16 * i, 16);
	jw_arr_end(w);
	jw_key(w, "ymm");
	if (has_avx) {
		jw_arr_begin(w);
		for (int i = 0; i < 16; i++) {
			uint8_t y[32];
			memcpy(y, b + LEGACY_XMM + 16 * i, 16);
			memcpy(y + 16, b + avx.offset + 16 * i, 16);
			jw_hex_bytes(w, y, 32);
		}
		jw_arr_end(w);
	} else {
		jw_null(w);
	}
	jw_key(w, "k");
	if (has_512) {
		jw_arr_begin(w);
		for (int i = 0; i < 8; i++)
			jw_hex(w, rd64(b, opm.offset + 8 * i));
		jw_arr_end(w);
	} else {
		jw_null(w);
	}
	jw_key(w, "zmm");
	if (has_512) {
		jw_arr_begin(w);
		for (int i = 0; i < 32; i++) {
			uint8_t z[64];
			if (i < 16) {
				memcpy(z, b + LEGACY_XMM + 16 * i, 16);
				memcpy(z + 16, b + avx.offset + 16 * i, 16);
				memcpy(z + 32, b + zhi.offset + 32 * i, 32);
			} else {
				memcpy(z, b + hi16.offset + 64 * (i - 16), 64);
			}
			jw_hex_bytes(w, z, 64);
		}
		jw_arr_end(w);
	} else {
		jw_null(w);
	}
	jw_obj_end(w);
}

/* plt.c — x86-64 PLT stubs (see arch.h). */
#include "arch/arch.h"

#include <elf.h>
#include <string.h>

bool arch_plt_slot(const uint8_t *code, size_t n, uint64_t at, uint64_t *slot)
{
	size_t i = 0;
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	if (n >= sizeof endbr64 && memcmp(code, endbr64, sizeof endbr64) == 0)
		i = sizeof endbr64;
	if (i < n && code[i] == 0xf2) /* bnd */
		i++;
	if (i + 6 > n || code[i] != 0xff || code[i + 1] != 0x25) /* jmp *disp32(%rip) */
		return false;
	int32_t disp;
	memcpy(&disp, code + i + 2, sizeof disp);
	*slot = at + i + 6 + (uint64_t)(int64_t)disp;
	return true;
}

bool arch_plt_reloc(uint32_t type)
{
	return type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT;
}

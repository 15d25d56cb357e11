/* dw.h — the one binding of elfutils' libdw (and, through it, libelf).
 *
 * Types, enums and prototypes come from elfutils' own headers (Debian:
 * libdw-dev, libelf-dev): <elfutils/libdwfl.h>, <elfutils/libdw.h>,
 * <dwarf.h>, and the <libelf.h>/<gelf.h> they include. The library itself
 * is not linked: libdw.so.1 is loaded with dlopen on first use, so a
 * machine without it still runs Forkall (frame-pointer unwinding, ELF
 * symbols, no lines or locals) and says why. Each function is reached
 * through a pointer of the header's own type (__typeof__), so a call that
 * does not match elfutils' prototype does not compile.
 *
 * FORKALL_LIBDW=/path/libdw.so.1 loads another build of elfutils (tests
 * use a missing one). Thread-safe: loaded once (pthread_once); the handle
 * stays open for the life of the process.
 */
#ifndef FK_DW_H
#define FK_DW_H

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

/* Every libdw function Forkall calls. */
#define DW_REQUIRED(X)                      \
	X(dwfl_begin)                       \
	X(dwfl_end)                         \
	X(dwfl_errmsg)                      \
	X(dwfl_report_begin)                \
	X(dwfl_report_end)                  \
	X(dwfl_linux_proc_report)           \
	X(dwfl_linux_proc_find_elf)         \
	X(dwfl_standard_find_debuginfo)     \
	X(dwfl_build_id_find_debuginfo)     \
	X(dwfl_attach_state)                \
	X(dwfl_getthread_frames)            \
	X(dwfl_frame_pc)                    \
	X(dwfl_thread_state_registers)      \
	X(dwfl_thread_state_register_pc)    \
	X(dwfl_addrmodule)                  \
	X(dwfl_addrdie)                     \
	X(dwfl_module_info)                 \
	X(dwfl_module_getsrc)               \
	X(dwfl_lineinfo)                    \
	X(dwfl_line_comp_dir)               \
	X(dwfl_onesrcline)                  \
	X(dwfl_getmodules)                  \
	X(dwfl_module_getsymtab)            \
	X(dwfl_module_getsym_info)          \
	X(dwfl_module_addrdie)              \
	X(dwfl_module_nextcu)               \
	X(dwfl_module_eh_cfi)               \
	X(dwfl_module_dwarf_cfi)            \
	X(dwarf_getsrclines)                \
	X(dwarf_onesrcline)                 \
	X(dwarf_lineaddr)                   \
	X(dwarf_lineno)                     \
	X(dwarf_linesrc)                    \
	X(dwarf_linebeginstatement)         \
	X(dwarf_lineendsequence)            \
	X(dwarf_getscopes)                  \
	X(dwarf_tag)                        \
	X(dwarf_diename)                    \
	X(dwarf_child)                      \
	X(dwarf_siblingof)                  \
	X(dwarf_haspc)                      \
	X(dwarf_attr_integrate)             \
	X(dwarf_formref_die)                \
	X(dwarf_formudata)                  \
	X(dwarf_formsdata)                  \
	X(dwarf_formflag)                   \
	X(dwarf_formblock)                  \
	X(dwarf_whatform)                   \
	X(dwarf_getlocation_addr)           \
	X(dwarf_getlocation_implicit_value) \
	X(dwarf_aggregate_size)             \
	X(dwarf_errmsg)                     \
	X(dwarf_cfi_addrframe)              \
	X(dwarf_frame_cfa)                  \
	X(dwarf_dieoffset)                  \
	X(dwarf_offdie)                     \
	X(dwfl_module_getdwarf)

/* Newer ones: NULL when the loaded libdw lacks them (dwfl_frame_reg:
 * elfutils >= 0.188, the callers' registers). */
#define DW_OPTIONAL(X) X(dwfl_frame_reg)

struct dw_api {
#define DW_FIELD(f) __typeof__(f) *f;
	DW_REQUIRED(DW_FIELD)
	DW_OPTIONAL(DW_FIELD)
#undef DW_FIELD
};

/* The loaded libdw, or NULL with *why (when why is not NULL) saying what
 * is missing and what Forkall does instead. */
const struct dw_api *dw_get(const char **why);

/* The binding, for code that runs only where libdw is loaded (with a
 * process's Dwfl: symbols.c when use_dw, locals.c, dwtype.c, dwvalue.c):
 * never NULL there. */
#define DW (dw_get(NULL))

/* The Dwfl callbacks every process's Dwfl uses: ELF files from
 * /proc/PID/maps, debuginfo through build-id and .gnu_debuglink in the
 * default path. NULL when dw_get() is. */
const Dwfl_Callbacks *dw_callbacks(void);

#endif

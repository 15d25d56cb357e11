#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

static fk_log_sink g_sink;
static void *g_sink_arg;
static int g_min_level = FK_LOG_INFO;

void fk_log_set_sink(fk_log_sink sink, void *arg, int min_level)
{
	g_sink = sink;
	g_sink_arg = arg;
	g_min_level = min_level;
}

void fk_log(int level, const char *fmt, ...)
{
	fk_log_sink sink = g_sink;
	if (!sink || level < g_min_level)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sink(g_sink_arg, level, buf);
}

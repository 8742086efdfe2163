/* log.c - control-thread logging to stderr with a runtime level */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctrl/log.h"

static enum log_level cur_level = LOG_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

/**
 * log_set_level - messages above @l are dropped
 */
void log_set_level(enum log_level l)
{
	cur_level = l;
}

/**
 * log_parse_level - level by name
 */
int log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/**
 * log_msg - print one line "tas: HH:MM:SS.mmm level: message"
 */
void log_msg(enum log_level l, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char buf[512];
	va_list ap;

	if (l > cur_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tas: %02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[l], buf);
}

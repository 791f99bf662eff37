/* test_ini_line.c: the one INI line reader: line numbers, the BOM, indentation, NUL bytes, over-long lines, the end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ini_line.h"

/* A stream over the LEN bytes of TEXT. */
static FILE *
open_text(const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");

	cr_assert_not_null(f);
	return f;
}

Test(ini_line, lines_bom_and_indentation)
{
	static const char text[] = "\xEF\xBB\xBF[cache]\n   dir = /x\n\tsize=1G\nlast";
	char buf[64], why[64];
	FILE *f = open_text(text, sizeof text - 1);
	int line = 0;

	cr_assert_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), 1);
	cr_expect_str_eq(buf, "[cache]\n", "the BOM of line 1 is dropped");
	cr_expect_eq(line, 1);
	cr_assert_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), 1);
	cr_expect_str_eq(buf, "dir = /x\n", "indentation is dropped");
	cr_assert_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), 1);
	cr_expect_str_eq(buf, "size=1G\n");
	cr_assert_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), 1);
	cr_expect_str_eq(buf, "last", "a last line without a newline");
	cr_expect_eq(line, 4);
	cr_expect_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), 0, "the end");
	fclose(f);
}

Test(ini_line, nul_and_long_lines)
{
	static const char nul[] = "a = 1\nb = \0 2\n";
	static const char longline[] = "key = 0123456789012345678901234567890123456789\n";
	char buf[16], why[64];
	FILE *f = open_text(nul, sizeof nul - 1);
	int line = 0;

	cr_assert_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), 1);
	cr_expect_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), -EINVAL);
	cr_expect_str_eq(why, "NUL byte in line");
	cr_expect_eq(line, 1, "the bad line is line + 1");
	fclose(f);
	f = open_text(longline, sizeof longline - 1);
	line = 0;
	cr_expect_eq(ms_ini_read_line(f, &line, buf, sizeof buf, why, sizeof why), -EINVAL);
	cr_expect_str_eq(why, "line too long (max 14 characters)");
	fclose(f);
}

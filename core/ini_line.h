/*
 * ini_line.h: the one line reader behind the INI files that inih parses (the config and the
 * credentials file). Reads only; never keeps a copy of a line (credentials pass through it).
 */
#ifndef MS_INI_LINE_H
#define MS_INI_LINE_H

#include <stddef.h>
#include <stdio.h>

/* Longest line accepted, newline included: paths and session tokens run to kilobytes. */
#define MS_INI_LINE_MAX 4096

/*
 * The next line of F into BUF (NUM bytes, inih's), counted in *LINENO (Debian's inih keeps no
 * line numbers), with a leading UTF-8 BOM on line 1 and the indentation dropped (inih would glue
 * an indented line to the previous value). Returns 1 for a line, 0 at the end of F, -EINVAL for
 * a NUL byte or a line over NUM - 2 characters (at line *LINENO + 1), -EIO for a read error;
 * WHY says which in words.
 */
int ms_ini_read_line(FILE *f, int *lineno, char *buf, int num, char *why, size_t whylen);

#endif

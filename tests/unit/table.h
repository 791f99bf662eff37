/*
 * table.h: table-driven unit tests with criterion: one parameterized test per row of a table,
 * the row's index as the parameter. Test helpers only; never linked into anything shipped.
 */
#ifndef MS_TEST_TABLE_H
#define MS_TEST_TABLE_H

#include <stddef.h>

#include <criterion/parameterized.h>

/* How many rows the array T has. */
#define TABLE_LEN(t) (sizeof(t) / sizeof((t)[0]))

/* The indices 0..N-1 in IDX (static storage of N entries) as criterion's parameters. */
static inline struct criterion_test_params
table_rows(size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, n);
}

#endif

/*
 * array.c: growing an array by doubling (array.h). Returns -errno; the caller's array stays
 * valid and unchanged on failure. Never logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

int
ms_array_room(void *vp, size_t n, size_t *cap, size_t size, size_t first, size_t max)
{
	size_t want = *cap == 0 ? first : *cap * 2;
	void *old, *grown;

	if (n < *cap)
		return 0;
	if (max != 0 && want > max)
		return -EFBIG;
	memcpy(&old, vp, sizeof old); /* VP is a T **: its pointer copied, not read as a void * */
	grown = reallocarray(old, want, size);
	if (grown == NULL)
		return -ENOMEM;
	memcpy(vp, &grown, sizeof grown);
	*cap = want;
	/* cppcheck-suppress memleak ; GROWN is now the caller's array, through VP */
	return 0;
}

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
	void *v;

	if (n < *cap)
		return 0;
	if (max != 0 && want > max)
		return -EFBIG;
	memcpy(&v, vp, sizeof v); /* VP is a T **: its pointer copied, not read as a void * */
	v = reallocarray(v, want, size);
	if (v == NULL)
		return -ENOMEM;
	memcpy(vp, &v, sizeof v);
	*cap = want;
	return 0;
}

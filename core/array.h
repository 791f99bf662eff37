/*
 * array.h: room in the growing arrays that import, the eviction index and the CLI append to.
 * Only reallocates; never frees an array it was given, never logs.
 */
#ifndef MS_ARRAY_H
#define MS_ARRAY_H

#include <stddef.h>

/*
 * Room for element N of the array whose address is VP (a T ** for elements of SIZE bytes, *CAP
 * of them allotted): when N == *CAP it is reallocated to twice *CAP elements (FIRST the first
 * time). 0, -ENOMEM, or -EFBIG if that would pass MAX elements (0: no limit); the array and *CAP
 * change only on success.
 */
int ms_array_room(void *vp, size_t n, size_t *cap, size_t size, size_t first, size_t max)
	__attribute__((warn_unused_result));

#endif

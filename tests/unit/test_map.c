/* test_map.c: presence maps: create, mark, reopen, ranges, corruption and mismatch detection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "io.h"
#include "map.h"

static char dir[64];
static char path[128];

static void
setup(void)
{
	strlcpy(dir, "/tmp/ms-map-XXXXXX", sizeof dir);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/map", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(map, .init = setup, .fini = teardown);

Test(map, chunk_counts_and_lengths)
{
	struct ms_map_header h = { .chunk_size = 4096 };
	uint64_t sizes[] = { 0, 1, 4095, 4096, 4097, 8192 };
	uint32_t want[] = { 0, 1, 1, 1, 2, 2 };

	for (size_t i = 0; i < 6; i++)
		cr_expect_eq(ms_chunks_for(sizes[i], 4096), want[i], "size %llu",
		    (unsigned long long)sizes[i]);
	h.size = 4097;
	cr_expect_eq(ms_map_chunk_len(&h, 0), 4096);
	cr_expect_eq(ms_map_chunk_len(&h, 1), 1);
	cr_expect_eq(ms_map_chunk_len(&h, 2), 0);
}

Test(map, create_mark_reopen)
{
	struct ms_map m, r;
	uint64_t sum;

	cr_assert_eq(ms_map_create(path, 10 * 4096 + 7, 4096, 1234, 1700000000, "\"etag-1\""), 0);
	cr_assert_eq(ms_map_open(&m, path, true), 0);
	cr_expect_eq(m.hdr.nchunks, 11);
	cr_expect_eq(m.hdr.data_ino, 1234);
	cr_expect_str_eq(m.hdr.etag, "\"etag-1\"");
	cr_expect_eq(m.present, 0);
	cr_expect(!ms_map_complete(&m));
	cr_expect(ms_map_same_boot(&m));

	cr_assert_eq(ms_map_mark(&m, 0, 0xabc), 0);
	cr_assert_eq(ms_map_mark(&m, 10, 0xdef), 0);
	cr_assert_eq(ms_map_mark(&m, 10, 0xdef), 0); /* idempotent */
	cr_expect_eq(m.present, 2);
	cr_expect_eq(ms_map_mark(&m, 11, 1), -EINVAL);

	cr_assert_eq(ms_map_open(&r, path, false), 0);
	cr_expect(ms_map_has(&r, 0));
	cr_expect(!ms_map_has(&r, 1));
	cr_expect(ms_map_has(&r, 10));
	cr_expect_eq(r.present, 2);
	cr_assert_eq(ms_map_sum(&r, 10, &sum), 0);
	cr_expect_eq(sum, 0xdef);

	cr_expect(ms_map_range_present(&r, 0, 4096));
	cr_expect(!ms_map_range_present(&r, 0, 4097));
	cr_expect(ms_map_range_present(&r, 10 * 4096, 7));
	cr_expect(ms_map_range_present(&r, 10 * 4096 + 3, 1000)); /* clipped at the end */
	cr_expect(ms_map_range_present(&r, 5, 0));

	/* A reader sees later marks after a refresh. */
	cr_assert_eq(ms_map_mark(&m, 1, 1), 0);
	cr_expect(!ms_map_has(&r, 1));
	cr_assert_eq(ms_map_refresh(&r, 0, 11), 0);
	cr_expect(ms_map_has(&r, 1));
	cr_expect_eq(r.present, 3);

	cr_assert_eq(ms_map_clear(&m, 1), 0);
	cr_expect_eq(m.present, 2);
	ms_map_close(&r);
	ms_map_close(&m);
}

Test(map, complete_and_empty_objects)
{
	struct ms_map m;

	cr_assert_eq(ms_map_create(path, 0, 4096, 1, 0, "\"e\""), 0);
	cr_assert_eq(ms_map_open(&m, path, true), 0);
	cr_expect(ms_map_complete(&m));
	ms_map_close(&m);
	unlink(path);
	cr_assert_eq(ms_map_create(path, 5000, 4096, 1, 0, "\"e\""), 0);
	cr_assert_eq(ms_map_open(&m, path, true), 0);
	cr_assert_eq(ms_map_mark(&m, 0, 1), 0);
	cr_expect(!ms_map_complete(&m));
	cr_assert_eq(ms_map_mark(&m, 1, 2), 0);
	cr_expect(ms_map_complete(&m));
	ms_map_close(&m);
}

Test(map, refuses_damaged_files)
{
	struct ms_map m;
	int fd;

	cr_expect_eq(ms_map_open(&m, path, false), -ENOENT);
	cr_assert_eq(ms_map_create(path, 3 * 4096, 4096, 1, 0, "\"e\""), 0);
	cr_expect_eq(ms_map_create(path, 3 * 4096, 4096, 1, 0, "\"e\""), -EEXIST);

	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 100), 0); /* torn: shorter than a header */
	close(fd);
	cr_expect_eq(ms_map_open(&m, path, false), -EBADMSG);
	unlink(path);

	cr_assert_eq(ms_map_create(path, 3 * 4096, 4096, 1, 0, "\"e\""), 0);
	fd = open(path, O_RDWR);
	cr_assert_eq(ms_pwrite_full(fd, "XXXX", 4, 0), 0); /* bad magic */
	close(fd);
	cr_expect_eq(ms_map_open(&m, path, false), -EBADMSG);
	unlink(path);

	cr_assert_eq(ms_map_create(path, 3 * 4096, 4096, 1, 0, "\"e\""), 0);
	fd = open(path, O_RDWR);
	cr_assert_eq(ftruncate(fd, 4096), 0); /* wrong length for its chunk count */
	close(fd);
	cr_expect_eq(ms_map_open(&m, path, false), -EBADMSG);
}

Test(map, refuses_bad_arguments)
{
	char etag[200];

	memset(etag, 'e', sizeof etag - 1);
	etag[sizeof etag - 1] = '\0';
	cr_expect_eq(ms_map_create(path, 10, 0, 1, 0, "\"e\""), -EINVAL);
	cr_expect_eq(ms_map_create(path, 10, 4096, 1, 0, etag), -EINVAL);
	cr_expect_eq(ms_map_create(path, (uint64_t)1 << 62, 4096, 1, 0, "\"e\""), -EFBIG);
}

Test(map, other_boot_is_detected)
{
	struct ms_map m;

	cr_assert_eq(ms_map_create(path, 4096, 4096, 1, 0, "\"e\""), 0);
	cr_assert_eq(ms_map_open(&m, path, true), 0);
	memset(m.hdr.boot_id, 0x5a, sizeof m.hdr.boot_id);
	cr_expect(!ms_map_same_boot(&m));
	cr_assert_eq(ms_map_stamp_boot(&m), 0);
	cr_expect(ms_map_same_boot(&m));
	ms_map_close(&m);
}

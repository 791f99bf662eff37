/* test_keys.c: key validation (invariant 8): unsafe keys are classified, every other byte passes. */
#include <string.h>

#include <criterion/criterion.h>

#include "keys.h"

struct key_case {
	const char *key;
	size_t len; /* 0: strlen */
	enum ms_key_verdict want;
};

static const struct key_case cases[] = {
	{ "model.safetensors", 0, MS_KEY_OK },
	{ "a/b/c.bin", 0, MS_KEY_OK },
	{ "with space+plus=eq%pct~tilde.bin", 0, MS_KEY_OK },
	{ "-leading-dash", 0, MS_KEY_OK },
	{ "\xe4\xb8\xad\xe6\x96\x87/\xc3\xa9.bin", 0, MS_KEY_OK },
	{ "...", 0, MS_KEY_OK },
	{ "a/.hidden", 0, MS_KEY_OK },
	{ "dir/", 0, MS_KEY_DIR_MARKER },
	{ "a/b/", 0, MS_KEY_DIR_MARKER },
	{ "", 0, MS_KEY_EMPTY },
	{ "/etc/passwd", 0, MS_KEY_ABSOLUTE },
	{ "a//b", 0, MS_KEY_EMPTY_COMPONENT },
	{ "a//", 0, MS_KEY_EMPTY_COMPONENT },
	{ "..", 0, MS_KEY_DOT_COMPONENT },
	{ "../x", 0, MS_KEY_DOT_COMPONENT },
	{ "a/../../x", 0, MS_KEY_DOT_COMPONENT },
	{ "a/./b", 0, MS_KEY_DOT_COMPONENT },
	{ "a/..", 0, MS_KEY_DOT_COMPONENT },
	{ "../", 0, MS_KEY_DOT_COMPONENT },
	{ "a\nb", 0, MS_KEY_CONTROL_BYTE },
	{ "a\x7f", 0, MS_KEY_CONTROL_BYTE },
	{ "a\0b", 3, MS_KEY_CONTROL_BYTE },
	{ "tab\there", 0, MS_KEY_CONTROL_BYTE },
};

Test(keys, table)
{
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct key_case *c = &cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->key);
		cr_expect_eq(ms_key_check(c->key, len), c->want, "key #%zu \"%s\": got %d want %d", i,
		    c->key, ms_key_check(c->key, len), c->want);
	}
}

Test(keys, long_names)
{
	char name[300], key[1100];

	memset(name, 'n', 255);
	name[255] = '\0';
	cr_expect_eq(ms_key_check(name, 255), MS_KEY_OK);
	memset(name, 'n', 256);
	cr_expect_eq(ms_key_check(name, 256), MS_KEY_NAME_TOO_LONG);
	memset(key, 'k', sizeof key);
	for (size_t i = 100; i < sizeof key; i += 100)
		key[i] = '/';
	cr_expect_eq(ms_key_check(key, 1024), MS_KEY_OK);
	cr_expect_eq(ms_key_check(key, 1025), MS_KEY_TOO_LONG);
}

Test(keys, every_verdict_has_words)
{
	int v;

	for (v = MS_KEY_OK; v <= MS_KEY_TOO_LONG; v++)
		cr_expect(strlen(ms_key_verdict_str((enum ms_key_verdict)v)) > 0);
}

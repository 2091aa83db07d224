// SPDX-License-Identifier: GPL-2.0
/*
 * The pair key file reader (dsmd/pairkeys.c) on arbitrary bytes: it must
 * never read past the input, and whatever it accepts the writer writes as
 * a file it reads back to the same state, which the writer writes again
 * byte for byte (the two generations may come in either order in the
 * input; the writer puts them by slot). Then the input's state takes a few phases (a repeat of
 * its own, and a SWITCH and DROP_OLD of its newest generation): each is
 * done or refused, and a refusal leaves the state as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dsmd/pairkeys.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* What pairkeys.c takes from the rest of dsmd, unused by the parser. */
void log_msg(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

int log_errno(int level, int err, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
	return err;
}

int dsmd_uplink_write_at(int dirfd, const char *name, const void *buf, size_t len,
			 unsigned mode)
{
	(void)dirfd, (void)name, (void)buf, (void)len, (void)mode;
	return -EROFS;
}

int dsmd_uplink_read_at(int dirfd, const char *name, uint8_t **buf, size_t *len, size_t max)
{
	(void)dirfd, (void)name, (void)buf, (void)len, (void)max;
	return -ENOENT;
}

int dsmd_net_pairkeys(struct dsmd *d)
{
	(void)d;
	return 0;
}

#define SELF 7

static struct dsmd_pairkeys a, b, c;

static void phase_ok_or_unchanged(uint64_t g, uint8_t phase)
{
	struct dsm_msg_keys k = { .generation = g, .phase = phase };
	char why[200];

	memcpy(&c, &a, sizeof(a));
	if (dsmd_pairkeys_phase(&a, SELF, &k, why, sizeof(why)) && memcmp(&a, &c, sizeof(a)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *in = malloc(len ? len : 1), why[200], *out = NULL, *out2 = NULL;
	size_t n = 0, n2 = 0;

	if (!in)
		abort();
	memcpy(in, data, len);
	if (dsmd_pairkeys_parse(in, len, SELF, &a, why, sizeof(why))) {
		free(in);
		return 0;
	}
	if (dsmd_pairkeys_format(&a, &out, &n))
		abort();
	if (dsmd_pairkeys_parse(out, n, SELF, &b, why, sizeof(why)) || memcmp(&a, &b, sizeof(a)))
		abort();
	if (dsmd_pairkeys_format(&b, &out2, &n2) || n2 != n || memcmp(out, out2, n))
		abort();
	free(out2);
	free(out);
	free(in);
	phase_ok_or_unchanged(dsmd_pairkeys_newest(&a), DSM_KEYS_SWITCH);
	phase_ok_or_unchanged(dsmd_pairkeys_newest(&a), DSM_KEYS_DROP_OLD);
	phase_ok_or_unchanged(dsmd_pairkeys_newest(&a) + 1, DSM_KEYS_SWITCH);
	return 0;
}

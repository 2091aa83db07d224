// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers every part of the server uses: clocks, hex, the SHA-256 of
 * a buffer (OpenSSL), paths inside the state directory. They call nothing
 * else of the server.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "server.h"

uint64_t srv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t srv_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

time_t srv_wall(void)
{
	return time(NULL);
}

void srv_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int srv_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
	if (hexlen != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int srv_sha256_hex(const uint8_t *b, size_t n, char out[65])
{
	uint8_t md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof(md))
		return -EIO;
	srv_hex(md, sizeof(md), out);
	return 0;
}

int srv_path(const struct srv *s, const char *rel, char out[PATH_MAX])
{
	const size_t d = strlen(s->dir), r = strlen(rel);

	if (d + 1 + r >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, s->dir, d);
	out[d] = '/';
	memcpy(out + d + 1, rel, r + 1);
	return 0;
}

json_object *srv_json_parse(const void *text, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (!text || len > INT_MAX - 1)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  json_tokener_get_parse_end(tok) != len ||
		  !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

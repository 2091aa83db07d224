// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lexer of the policy language. Tokens point into the source; nothing is
 * allocated. Keywords are ordinary words: the parser gives them meaning by
 * position, so a label may be called `file` without reserving anything.
 */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

void policy_lex_init(struct policy_lexer *lx, const char *src, size_t len,
		     struct policy_diag_ctx *dc)
{
	*lx = (struct policy_lexer){ .src = src, .len = len, .line = 1, .col = 1,
				     .dc = dc };
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static int peek(const struct policy_lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static void advance(struct policy_lexer *lx)
{
	if (lx->src[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static struct policy_loc here(const struct policy_lexer *lx)
{
	return (struct policy_loc){ lx->line, lx->col };
}

static void skip_blanks_and_comments(struct policy_lexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);

		if (c == '#') {
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c != -1 && is_blank(c)) {
			advance(lx);
		} else {
			return;
		}
	}
}

static bool word_char(const struct policy_lexer *lx)
{
	int c = peek(lx, 0);

	if (c == '-')
		return peek(lx, 1) != '>';
	return is_alpha(c) || is_digit(c) || c == '.';
}

static bool number_char(const struct policy_lexer *lx)
{
	int c = peek(lx, 0);

	return is_alpha(c) || is_digit(c) || c == '.' || c == '/';
}

static bool path_char(const struct policy_lexer *lx)
{
	int c = peek(lx, 0);

	return c != -1 && !is_blank(c) && !strchr(";:{}\"#", c) && c != 0;
}

static void describe_char(int c, char *buf, size_t len)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", (unsigned int)c);
}

void policy_lex_next(struct policy_lexer *lx, struct ptok *t)
{
	bool (*more)(const struct policy_lexer *) = NULL;
	size_t start;
	int c;

	skip_blanks_and_comments(lx);
	*t = (struct ptok){ .kind = PT_EOF, .loc = here(lx) };
	start = lx->pos;
	t->text = lx->src + start;
	c = peek(lx, 0);

	if (c == -1) {
		t->end = t->loc;
		return;
	}
	if (is_alpha(c)) {
		t->kind = PT_WORD;
		more = word_char;
	} else if (is_digit(c)) {
		t->kind = PT_NUMBER;
		more = number_char;
	} else if (c == '/') {
		t->kind = PT_PATH;
		more = path_char;
	}

	if (more) {
		advance(lx);
		while (lx->pos < lx->len && more(lx))
			advance(lx);
	} else if (c == '"') {
		advance(lx);
		t->kind = PT_STRING;
		t->text++;
		while (peek(lx, 0) != -1 && peek(lx, 0) != '"' &&
		       peek(lx, 0) != '\n' && peek(lx, 0) != 0)
			advance(lx);
		if (peek(lx, 0) != '"') {
			policy_diag(lx->dc, DSM_SEV_ERROR, t->loc,
				    "unterminated string (strings end on the same line)");
			t->kind = PT_ERROR;
		} else {
			t->len = lx->pos - start - 1;
			advance(lx);
		}
	} else if (c == '-' && peek(lx, 1) == '>') {
		t->kind = PT_ARROW;
		advance(lx);
		advance(lx);
	} else {
		static const char punct[] = "{};:@*=";
		static const enum ptok_kind kinds[] = {
			PT_LBRACE, PT_RBRACE, PT_SEMI, PT_COLON, PT_AT, PT_STAR,
			PT_EQUAL,
		};
		const char *p = c ? strchr(punct, c) : NULL;

		if (p) {
			t->kind = kinds[p - punct];
		} else {
			char what[16];

			describe_char(c, what, sizeof(what));
			policy_diag(lx->dc, DSM_SEV_ERROR, t->loc,
				    "unexpected character %s", what);
			t->kind = PT_ERROR;
		}
		advance(lx);
	}

	if (t->kind != PT_STRING)
		t->len = lx->pos - start;
	t->end = here(lx);
	if (t->len > POLICY_TOKEN_MAX && t->kind != PT_ERROR) {
		policy_diag(lx->dc, DSM_SEV_ERROR, t->loc,
			    "token too long (more than %u bytes)", POLICY_TOKEN_MAX);
		t->kind = PT_ERROR;
	}
}

static bool prefix_char(const struct policy_lexer *lx)
{
	int c = peek(lx, 0);

	return is_alpha(c) || is_digit(c) || c == '.' || c == ':' || c == '/';
}

void policy_lex_prefix(struct policy_lexer *lx, struct ptok *t)
{
	/* Back to the token's first character: nothing was lexed after it. */
	lx->pos = (size_t)(t->text - lx->src);
	lx->line = t->loc.line;
	lx->col = t->loc.col;
	t->kind = PT_PREFIX;
	while (lx->pos < lx->len && prefix_char(lx))
		advance(lx);
	t->len = lx->pos - (size_t)(t->text - lx->src);
	t->end = here(lx);
	if (t->len > POLICY_TOKEN_MAX) {
		policy_diag(lx->dc, DSM_SEV_ERROR, t->loc,
			    "token too long (more than %u bytes)", POLICY_TOKEN_MAX);
		t->kind = PT_ERROR;
	}
}

const char *policy_tok_describe(const struct ptok *t, char *buf, size_t len)
{
	static const char *const punct[] = {
		[PT_LBRACE] = "'{'", [PT_RBRACE] = "'}'", [PT_SEMI] = "';'",
		[PT_COLON] = "':'", [PT_ARROW] = "'->'", [PT_AT] = "'@'",
		[PT_STAR] = "'*'", [PT_EQUAL] = "'='",
	};
	int n = t->len > 40 ? 40 : (int)t->len;
	const char *more = t->len > 40 ? "..." : "";

	switch (t->kind) {
	case PT_EOF:
		snprintf(buf, len, "end of file");
		break;
	case PT_WORD:
	case PT_NUMBER:
	case PT_PREFIX:
	case PT_PATH:
		snprintf(buf, len, "'%.*s%s'", n, t->text, more);
		break;
	case PT_STRING:
		snprintf(buf, len, "\"%.*s%s\"", n, t->text, more);
		break;
	case PT_ERROR:
		snprintf(buf, len, "invalid token");
		break;
	default:
		snprintf(buf, len, "%s", punct[t->kind]);
		break;
	}
	return buf;
}

/*
 * tap.h - a tiny Test Anything Protocol (TAP 13) emitter for C tests, run
 * by prove(1).  One counter per program, in tap.c.
 */
#ifndef QEMOUNT_TAP_H
#define QEMOUNT_TAP_H

#include <stdarg.h>
#include <stdio.h>

/* tap_ok - one test point; returns cond. */
int tap_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ok(cond, fmt...) - one test point. */
#define ok(...) tap_ok(__VA_ARGS__)

/* is(got, want, name) - integer equality, showing both on failure. */
#define is(got, want, ...) do { \
	long long g_ = (got), w_ = (want); \
	if (!tap_ok(g_ == w_, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)

/* tap_skip - n test points skipped, and why. */
void tap_skip(int n, const char *why);

/* tap_diag - a comment line in the output. */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* done_testing - print the plan; the exit status for main. */
int done_testing(void);

#endif

/* Small helpers for test programs: die on error, print readiness. */
#ifndef TESTLIB_H
#define TESTLIB_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, ": %s\n", strerror(errno)); exit(1); } while (0)
#define CHECK(x) do { if ((x) < 0) DIE("%s:%d: %s", __FILE__, __LINE__, #x); } while (0)
#endif

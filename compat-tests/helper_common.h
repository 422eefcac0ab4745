/* What the librdkafka test helpers (rdkafka_roundtrip.c, rdkafka_group.c, rdkafka_txn.c) share:
 * failing with a message, a monotonic clock, number parsing and JSON-lines output.
 *
 * Each helper defines HELPER_NAME (its program name) before including this file and sets
 * g_mode to the mode it runs in; failures print "<HELPER_NAME> <mode>: FAIL: ..." on stderr and
 * exit with status 1. */
#ifndef RUNNEL_COMPAT_HELPER_COMMON_H
#define RUNNEL_COMPAT_HELPER_COMMON_H

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HELPER_NAME
#error "define HELPER_NAME before including helper_common.h"
#endif

static const char* g_mode = "?";

static inline void fail(const char* fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s %s: FAIL: ", HELPER_NAME, g_mode);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static inline int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A decimal in [0, max]; anything else is a usage error (exit status 2). */
static inline long parse_long(const char* s, long max) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > max) {
    fprintf(stderr, "bad number: %s\n", s);
    exit(2);
  }
  return v;
}

/* ---- JSON output ---- */

static inline void json_str(const char* s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      printf("\\u%04x", c); /* bytes outside ASCII are shown one by one */
    else
      putchar(c);
  }
  putchar('"');
}

static inline void json_cstr(const char* s) {
  if (s)
    json_str(s, strlen(s));
  else
    fputs("null", stdout);
}

static inline void json_err(rd_kafka_resp_err_t err) {
  if (err)
    json_cstr(rd_kafka_err2name(err));
  else
    fputs("null", stdout);
}

static inline void end_event(void) {
  fputs("}\n", stdout);
  fflush(stdout);
}

#endif

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

/* ---- topics ---- */

/* Creates `topic` with `partitions` partitions (replication factor 1) through `rk`'s admin API,
 * failing the helper on any error, and prints {"event":"created","topic":...,"partitions":N}. */
static inline void create_topic_or_fail(rd_kafka_t* rk, const char* topic, int partitions,
                                        int timeout_ms) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
  if (!nt) fail("NewTopic: %s", err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
  if (!ev) fail("CreateTopics(%s): no result within %d ms", topic, timeout_ms + 5000);
  if (rd_kafka_event_error(ev))
    fail("CreateTopics(%s): %s", topic, rd_kafka_event_error_string(ev));
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  if (!res) fail("CreateTopics(%s): unexpected event %s", topic, rd_kafka_event_name(ev));
  size_t n = 0;
  const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
  if (n != 1) fail("CreateTopics(%s): %zu topic results, expected 1", topic, n);
  if (rd_kafka_topic_result_error(tr[0]))
    fail(
        "CreateTopics(%s): %s (%s)", topic, rd_kafka_err2name(rd_kafka_topic_result_error(tr[0])),
        rd_kafka_topic_result_error_string(tr[0]) ? rd_kafka_topic_result_error_string(tr[0]) : "");
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  printf("{\"event\":\"created\",\"topic\":");
  json_cstr(topic);
  printf(",\"partitions\":%d", partitions);
  end_event();
}

#endif

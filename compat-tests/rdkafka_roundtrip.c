/*
 * rdkafka_roundtrip: drives librdkafka against a running Runnel broker.
 *
 *   rdkafka_roundtrip produce  <bootstrap> <topic> <codec> <count>
 *   rdkafka_roundtrip verify   <bootstrap> <topic> <count>
 *   rdkafka_roundtrip times    <bootstrap> <topic>
 *   rdkafka_roundtrip metadata <bootstrap> <topic> [<auto_create_partitions>]
 *
 * Record i (0-based) goes to partition i % 3 with key "k-<i>", a value whose
 * length and bytes depend on i, headers h1 (text) and h2 (binary), and the
 * create-time timestamp BASE_TS + i. verify checks every record exactly once,
 * in order, byte for byte, and that nothing else is in the partitions.
 *
 * Exit status: 0 success, 1 check failed (the first broken step is printed
 * to stderr with what was expected and what was seen), 2 usage error.
 * Set RDKAFKA_DEBUG (e.g. "broker,protocol") to get librdkafka's debug log.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HELPER_NAME "rdkafka_roundtrip"
#include "helper_common.h"

#define PARTITIONS 3
#define BASE_TS INT64_C(1700000000000)
#define MAX_VALUE 512
#define OP_TIMEOUT_MS 15000

static long parse_count(const char* s) {
  char* end = NULL;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0 || v > 100000000) {
    fprintf(stderr, "bad count: %s\n", s);
    exit(2);
  }
  return v;
}

/* ---- the deterministic record contents ---- */

static size_t make_key(long i, char* buf, size_t cap) {
  return (size_t)snprintf(buf, cap, "k-%ld", i);
}

/* A printable prefix naming the index, then filler bytes that vary with i
 * (all 256 byte values occur), 8 to ~300 bytes long. */
static size_t make_value(long i, unsigned char* buf) {
  int n = snprintf((char*)buf, MAX_VALUE, "v-%ld-", i);
  size_t len = (size_t)n + (size_t)((i * 7919) % 293);
  for (size_t j = (size_t)n; j < len; j++) buf[j] = (unsigned char)((i * 31 + (long)j * 17) & 0xff);
  return len;
}

static size_t make_h1(long i, char* buf, size_t cap) {
  return (size_t)snprintf(buf, cap, "h1-%ld", i);
}

/* Binary header: the index as 8 big-endian bytes with a zero byte inside. */
static size_t make_h2(long i, unsigned char* buf) {
  uint64_t v = (uint64_t)i;
  for (int b = 0; b < 8; b++) buf[b] = (unsigned char)(v >> (56 - 8 * b));
  return 8;
}

static void print_bytes(const char* what, const void* p, size_t n) {
  const unsigned char* b = p;
  fprintf(stderr, "  %s (%zu bytes):", what, n);
  for (size_t i = 0; i < n && i < 48; i++) fprintf(stderr, " %02x", b[i]);
  fprintf(stderr, n > 48 ? " ...\n" : "\n");
}

/* ---- configuration ---- */

static rd_kafka_conf_t* base_conf(const char* bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  const char* dbg = getenv("RDKAFKA_DEBUG");
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "runnel-compat-rdkafka", err, sizeof err) !=
          RD_KAFKA_CONF_OK ||
      (dbg && rd_kafka_conf_set(conf, "debug", dbg, err, sizeof err) != RD_KAFKA_CONF_OK))
    fail("config: %s", err);
  return conf;
}

static void conf_set(rd_kafka_conf_t* conf, const char* k, const char* v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
    fail("config %s=%s: %s", k, v, err);
}

static rd_kafka_t* new_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) fail("rd_kafka_new: %s", err);
  return rk;
}

/* ---- admin: create the topic ---- */

static void create_topic(rd_kafka_t* rk, const char* topic, int partitions) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
  if (!nt) fail("NewTopic: %s", err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, OP_TIMEOUT_MS, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts, OP_TIMEOUT_MS, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);

  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, OP_TIMEOUT_MS + 5000);
  if (!ev) fail("CreateTopics(%s): no result within %d ms", topic, OP_TIMEOUT_MS + 5000);
  if (rd_kafka_event_error(ev))
    fail("CreateTopics(%s): request failed: %s", topic, rd_kafka_event_error_string(ev));
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  if (!res) fail("CreateTopics(%s): unexpected event %s", topic, rd_kafka_event_name(ev));
  size_t n = 0;
  const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
  if (n != 1) fail("CreateTopics(%s): expected 1 topic result, got %zu", topic, n);
  if (strcmp(rd_kafka_topic_result_name(tr[0]), topic) != 0)
    fail("CreateTopics: result names topic '%s', expected '%s'", rd_kafka_topic_result_name(tr[0]),
         topic);
  if (rd_kafka_topic_result_error(tr[0]))
    fail(
        "CreateTopics(%s): topic error %s (%s)", topic,
        rd_kafka_err2name(rd_kafka_topic_result_error(tr[0])),
        rd_kafka_topic_result_error_string(tr[0]) ? rd_kafka_topic_result_error_string(tr[0]) : "");
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
}

/* ---- produce ---- */

struct produce_state {
  long delivered;
  long errors;
  int64_t next_offset[PARTITIONS];
};

static void dr_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  struct produce_state* st = opaque;
  long i = (long)(intptr_t)m->_private;
  if (m->err) {
    if (st->errors++ < 5)
      fprintf(stderr, "delivery of record %ld to partition %" PRId32 " failed: %s (%s)\n", i,
              m->partition, rd_kafka_err2name(m->err), rd_kafka_err2str(m->err));
    return;
  }
  if (m->partition != (int32_t)(i % PARTITIONS)) {
    if (st->errors++ < 5)
      fprintf(stderr, "record %ld delivered to partition %" PRId32 ", expected %ld\n", i,
              m->partition, i % PARTITIONS);
    return;
  }
  st->delivered++;
}

static int do_produce(const char* bootstrap, const char* topic, const char* codec, long count) {
  struct produce_state st;
  memset(&st, 0, sizeof st);
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  conf_set(conf, "compression.codec", codec);
  conf_set(conf, "linger.ms", "5");
  conf_set(conf, "enable.idempotence", "false");
  conf_set(conf, "acks", "all");
  conf_set(conf, "message.timeout.ms", "60000");
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_opaque(conf, &st);
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, conf);

  create_topic(rk, topic, PARTITIONS);

  char key[32], h1[32];
  unsigned char value[MAX_VALUE], h2[8];
  for (long i = 0; i < count; i++) {
    size_t klen = make_key(i, key, sizeof key);
    size_t vlen = make_value(i, value);
    size_t h1len = make_h1(i, h1, sizeof h1);
    size_t h2len = make_h2(i, h2);
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % PARTITIONS)),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
          RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_HEADER("h1", h1, (ssize_t)h1len),
          RD_KAFKA_V_HEADER("h2", h2, (ssize_t)h2len), RD_KAFKA_V_TIMESTAMP(BASE_TS + i),
          RD_KAFKA_V_OPAQUE((void*)(intptr_t)i), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err) fail("producev(record %ld): %s", i, rd_kafka_err2str(err));
      break;
    }
    rd_kafka_poll(rk, 0);
    if (st.errors) break;
  }
  rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 90000);
  if (ferr)
    fail("flush: %s; %d records still unacknowledged (%ld delivered of %ld)",
         rd_kafka_err2str(ferr), rd_kafka_outq_len(rk), st.delivered, count);
  if (st.errors)
    fail("%ld delivery errors (first ones printed above); %ld of %ld delivered", st.errors,
         st.delivered, count);
  if (st.delivered != count) fail("expected %ld delivery reports, got %ld", count, st.delivered);
  rd_kafka_destroy(rk);
  printf("produced %ld records to %s with codec %s\n", count, topic, codec);
  return 0;
}

/* ---- consume + verify ---- */

static long expected_in_partition(long count, int p) {
  return count / PARTITIONS + (p < count % PARTITIONS ? 1 : 0);
}

static void check_record(const rd_kafka_message_t* m, long i, int64_t want_offset) {
  char key[32], h1[32];
  unsigned char value[MAX_VALUE], h2[8];
  size_t klen = make_key(i, key, sizeof key);
  size_t vlen = make_value(i, value);
  size_t h1len = make_h1(i, h1, sizeof h1);
  size_t h2len = make_h2(i, h2);
  int p = (int)m->partition;

  if (m->offset != want_offset)
    fail("partition %d: record %ld expected at offset %" PRId64 ", seen at offset %" PRId64, p, i,
         want_offset, m->offset);
  if (m->key_len != klen || memcmp(m->key, key, klen) != 0) {
    fprintf(stderr, "partition %d offset %" PRId64 ": key mismatch\n", p, m->offset);
    print_bytes("expected", key, klen);
    print_bytes("seen", m->key, m->key_len);
    fail("key of record %ld differs", i);
  }
  if (m->len != vlen || memcmp(m->payload, value, vlen) != 0) {
    fprintf(stderr, "partition %d offset %" PRId64 ": value mismatch\n", p, m->offset);
    print_bytes("expected", value, vlen);
    print_bytes("seen", m->payload, m->len);
    fail("value of record %ld differs", i);
  }
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  if (tstype != RD_KAFKA_TIMESTAMP_CREATE_TIME || ts != BASE_TS + i)
    fail("record %ld: expected CreateTime timestamp %" PRId64 ", seen type %d timestamp %" PRId64,
         i, BASE_TS + i, (int)tstype, ts);

  rd_kafka_headers_t* hdrs = NULL;
  rd_kafka_resp_err_t herr = rd_kafka_message_headers(m, &hdrs);
  if (herr) fail("record %ld: no headers (%s), expected h1 and h2", i, rd_kafka_err2str(herr));
  if (rd_kafka_header_cnt(hdrs) != 2)
    fail("record %ld: expected 2 headers, seen %zu", i, rd_kafka_header_cnt(hdrs));
  const char* want_name[2] = {"h1", "h2"};
  const void* want_val[2] = {h1, h2};
  size_t want_len[2] = {h1len, h2len};
  for (size_t h = 0; h < 2; h++) {
    const char* name = NULL;
    const void* val = NULL;
    size_t size = 0;
    if (rd_kafka_header_get_all(hdrs, h, &name, &val, &size))
      fail("record %ld: header %zu missing", i, h);
    if (strcmp(name, want_name[h]) != 0)
      fail("record %ld: header %zu named '%s', expected '%s'", i, h, name, want_name[h]);
    if (!val || size != want_len[h] || memcmp(val, want_val[h], size) != 0) {
      print_bytes("expected", want_val[h], want_len[h]);
      print_bytes("seen", val ? val : "", val ? size : 0);
      fail("record %ld: header %s value differs", i, name);
    }
  }
}

static rd_kafka_t* new_consumer(const char* bootstrap) {
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  /* librdkafka's assign() needs a consumer group handle, so a group.id is set;
   * no offsets are ever committed or fetched from it. */
  conf_set(conf, "group.id", "runnel-compat-rdkafka-nocommit");
  conf_set(conf, "enable.auto.commit", "false");
  conf_set(conf, "enable.auto.offset.store", "false");
  conf_set(conf, "enable.partition.eof", "true");
  conf_set(conf, "auto.offset.reset", "error");
  conf_set(conf, "check.crcs", "true");
  rd_kafka_t* rk = new_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

static int do_verify(const char* bootstrap, const char* topic, long count) {
  rd_kafka_t* rk = new_consumer(bootstrap);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(PARTITIONS);
  for (int p = 0; p < PARTITIONS; p++)
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
  if (aerr) fail("assign: %s", rd_kafka_err2str(aerr));
  rd_kafka_topic_partition_list_destroy(parts);

  long want[PARTITIONS], seen[PARTITIONS];
  int at_end[PARTITIONS];
  for (int p = 0; p < PARTITIONS; p++) {
    want[p] = expected_in_partition(count, p);
    seen[p] = 0;
    at_end[p] = 0;
  }
  /* 100k records take a few seconds; allow generously but bounded. */
  int64_t deadline = now_ms() + 60000 + count / 100;
  long consumer_errors = 0;
  for (;;) {
    int done = 1;
    for (int p = 0; p < PARTITIONS; p++)
      if (seen[p] < want[p] || !at_end[p]) done = 0;
    if (done) break;
    if (now_ms() > deadline)
      fail(
          "timed out: seen %ld/%ld/%ld records of expected %ld/%ld/%ld in partitions 0/1/2 "
          "(end reached: %d/%d/%d)",
          seen[0], seen[1], seen[2], want[0], want[1], want[2], at_end[0], at_end[1], at_end[2]);
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      /* Every record was acknowledged before verify runs, so reaching the end
       * of a partition early means records are missing. */
      int p = (int)m->partition;
      if (p < 0 || p >= PARTITIONS) fail("end-of-partition event for partition %d", p);
      if (m->offset != want[p] || seen[p] != want[p])
        fail("partition %d: end of partition at offset %" PRId64
             " after %ld records read, "
             "expected the end at offset %ld",
             p, m->offset, seen[p], want[p]);
      at_end[p] = 1;
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err) {
      if (consumer_errors++ < 10)
        fprintf(stderr, "consumer error (partition %" PRId32 "): %s: %s\n", m->partition,
                rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__BAD_MSG)
        fail("consumer error on partition %" PRId32 ": %s", m->partition,
             rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    int p = (int)m->partition;
    if (p < 0 || p >= PARTITIONS) fail("record from unexpected partition %d", p);
    if (strcmp(rd_kafka_topic_name(m->rkt), topic) != 0)
      fail("record from unexpected topic %s", rd_kafka_topic_name(m->rkt));
    if (seen[p] >= want[p])
      fail("partition %d: extra record at offset %" PRId64 " (expected only %ld records)", p,
           m->offset, want[p]);
    long i = seen[p] * PARTITIONS + p;
    check_record(m, i, seen[p]);
    seen[p]++;
    rd_kafka_message_destroy(m);
  }

  for (int p = 0; p < PARTITIONS; p++) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, OP_TIMEOUT_MS);
    if (err) fail("query_watermark_offsets(partition %d): %s", p, rd_kafka_err2str(err));
    if (lo != 0 || hi != want[p])
      fail("partition %d: watermarks low=%" PRId64 " high=%" PRId64 ", expected 0 and %ld", p, lo,
           hi, want[p]);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  printf("verified %ld records in %s (%ld/%ld/%ld per partition)\n", count, topic, want[0], want[1],
         want[2]);
  return 0;
}

/* ---- offsets for times ---- */

static void check_times(rd_kafka_t* rk, const char* topic, int64_t ts, const int64_t* expect,
                        const char* what) {
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(PARTITIONS);
  for (int p = 0; p < PARTITIONS; p++)
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = ts;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, parts, OP_TIMEOUT_MS);
  if (err) fail("offsets_for_times(%s, ts=%" PRId64 "): %s", what, ts, rd_kafka_err2str(err));
  for (int p = 0; p < PARTITIONS; p++) {
    rd_kafka_topic_partition_t* tp = &parts->elems[p];
    if (tp->err)
      fail("offsets_for_times(%s) partition %" PRId32 ": %s", what, tp->partition,
           rd_kafka_err2str(tp->err));
    if (tp->offset != expect[tp->partition])
      fail("offsets_for_times(%s, ts=%" PRId64 ") partition %" PRId32 ": expected offset %" PRId64
           ", got %" PRId64,
           what, ts, tp->partition, expect[tp->partition], tp->offset);
  }
  rd_kafka_topic_partition_list_destroy(parts);
}

static int do_times(const char* bootstrap, const char* topic) {
  rd_kafka_t* rk = new_consumer(bootstrap);
  int64_t hi[PARTITIONS];
  long count = 0;
  for (int p = 0; p < PARTITIONS; p++) {
    int64_t lo = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], OP_TIMEOUT_MS);
    if (err) fail("query_watermark_offsets(partition %d): %s", p, rd_kafka_err2str(err));
    count += (long)hi[p];
  }
  if (count < 10) fail("topic %s holds only %ld records; produce first", topic, count);
  for (int p = 0; p < PARTITIONS; p++)
    if (hi[p] != expected_in_partition(count, p))
      fail("partition %d holds %" PRId64 " records; %ld in total should give %ld", p, hi[p], count,
           expected_in_partition(count, p));

  int64_t expect[PARTITIONS];
  /* Record i has timestamp BASE_TS + i and sits in partition i % 3 at offset i / 3. */
  long mid = count / 2 + 1;
  for (int p = 0; p < PARTITIONS; p++) {
    long i = mid;
    while (i % PARTITIONS != p) i++;
    expect[p] = i < count ? i / PARTITIONS : RD_KAFKA_OFFSET_END;
  }
  check_times(rk, topic, BASE_TS + mid, expect, "middle");

  for (int p = 0; p < PARTITIONS; p++) expect[p] = 0;
  check_times(rk, topic, BASE_TS - 1000, expect, "before first");

  /* Past the last timestamp Kafka answers offset -1, which librdkafka reports as OFFSET_END. */
  for (int p = 0; p < PARTITIONS; p++) expect[p] = RD_KAFKA_OFFSET_END;
  check_times(rk, topic, BASE_TS + count + 1000, expect, "after last");

  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  printf("offsets_for_times correct for %s (%ld records)\n", topic, count);
  return 0;
}

/* ---- metadata ---- */

static const rd_kafka_metadata_topic_t* find_topic(const rd_kafka_metadata_t* md,
                                                   const char* topic) {
  for (int t = 0; t < md->topic_cnt; t++)
    if (strcmp(md->topics[t].topic, topic) == 0) return &md->topics[t];
  return NULL;
}

static void check_topic_md(const rd_kafka_metadata_t* md, const rd_kafka_metadata_topic_t* t,
                           int partitions) {
  if (md->broker_cnt != 1) fail("metadata lists %d brokers, expected 1", md->broker_cnt);
  int32_t id = md->brokers[0].id;
  if (t->err) fail("topic %s: metadata error %s", t->topic, rd_kafka_err2name(t->err));
  if (t->partition_cnt != partitions)
    fail("topic %s: %d partitions, expected %d", t->topic, t->partition_cnt, partitions);
  int present[64] = {0};
  for (int p = 0; p < t->partition_cnt; p++) {
    const rd_kafka_metadata_partition_t* mp = &t->partitions[p];
    if (mp->err)
      fail("topic %s partition %" PRId32 ": error %s", t->topic, mp->id,
           rd_kafka_err2name(mp->err));
    if (mp->id < 0 || mp->id >= partitions || mp->id >= 64 || present[mp->id]++)
      fail("topic %s: unexpected or duplicate partition id %" PRId32, t->topic, mp->id);
    if (mp->leader != id)
      fail("topic %s partition %" PRId32 ": leader %" PRId32 ", expected broker id %" PRId32,
           t->topic, mp->id, mp->leader, id);
    if (mp->replica_cnt != 1 || mp->replicas[0] != id)
      fail("topic %s partition %" PRId32 ": replicas should be [%" PRId32 "]", t->topic, mp->id,
           id);
    if (mp->isr_cnt != 1 || mp->isrs[0] != id)
      fail("topic %s partition %" PRId32 ": isr should be [%" PRId32 "]", t->topic, mp->id, id);
  }
}

static int do_metadata(const char* bootstrap, const char* topic, int auto_partitions) {
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  conf_set(conf, "allow.auto.create.topics", "true");
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, conf);

  const rd_kafka_metadata_t* md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, OP_TIMEOUT_MS);
  if (err) fail("metadata (all topics): %s", rd_kafka_err2str(err));
  const rd_kafka_metadata_topic_t* t = find_topic(md, topic);
  if (!t)
    fail("topic %s missing from the all-topics metadata (%d topics listed)", topic, md->topic_cnt);
  check_topic_md(md, t, PARTITIONS);
  rd_kafka_metadata_destroy(md);

  /* A topic that does not exist yet: asking for it alone must create it. */
  char fresh[256];
  snprintf(fresh, sizeof fresh, "%s-auto-%ld", topic, (long)getpid());
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, fresh, NULL);
  int64_t deadline = now_ms() + OP_TIMEOUT_MS;
  const char* last = "no answer";
  for (;;) {
    md = NULL;
    err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    if (!err) {
      t = find_topic(md, fresh);
      if (t && !t->err && t->partition_cnt > 0) break;
      last = t ? rd_kafka_err2name(t->err) : "topic not in the answer";
      rd_kafka_metadata_destroy(md);
    } else {
      last = rd_kafka_err2name(err);
    }
    if (now_ms() > deadline)
      fail("metadata for unknown topic %s did not auto-create it within %d ms (last: %s)", fresh,
           OP_TIMEOUT_MS, last);
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  if (auto_partitions > 0) check_topic_md(md, t, auto_partitions);
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);

  err = rd_kafka_metadata(rk, 1, NULL, &md, OP_TIMEOUT_MS);
  if (err) fail("metadata (all topics, after auto-create): %s", rd_kafka_err2str(err));
  if (!find_topic(md, fresh))
    fail("auto-created topic %s missing from the all-topics listing", fresh);
  if (!find_topic(md, topic)) fail("topic %s vanished from the all-topics listing", topic);
  rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
  printf("metadata correct for %s; %s auto-created\n", topic, fresh);
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: rdkafka_roundtrip produce <bootstrap> <topic> <codec> <count>\n"
          "       rdkafka_roundtrip verify <bootstrap> <topic> <count>\n"
          "       rdkafka_roundtrip times <bootstrap> <topic>\n"
          "       rdkafka_roundtrip metadata <bootstrap> <topic> [<auto_create_partitions>]\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  g_mode = argv[1];
  if (strcmp(argv[1], "produce") == 0 && argc == 6)
    return do_produce(argv[2], argv[3], argv[4], parse_count(argv[5]));
  if (strcmp(argv[1], "verify") == 0 && argc == 5)
    return do_verify(argv[2], argv[3], parse_count(argv[4]));
  if (strcmp(argv[1], "times") == 0 && argc == 4) return do_times(argv[2], argv[3]);
  if (strcmp(argv[1], "metadata") == 0 && (argc == 4 || argc == 5))
    return do_metadata(argv[2], argv[3], argc == 5 ? (int)parse_count(argv[4]) : 0);
  return usage();
}

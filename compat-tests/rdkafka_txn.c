/*
 * rdkafka_txn: librdkafka's idempotent and transactional producers against a running Runnel
 * broker, reporting through stdout, one JSON object a line (and, for the interactive modes,
 * driven by commands on stdin, one a line).
 *
 *   rdkafka_txn create     <bootstrap> <topic> <partitions>
 *   rdkafka_txn idempotent <bootstrap> <topic> <partitions> <count> [--rate N]
 *   rdkafka_txn consume    <bootstrap> <topic> <partitions> <read_committed|read_uncommitted>
 *                          [--timeout-ms MS]
 *   rdkafka_txn producer   <bootstrap> <transactional.id> [--txn-timeout-ms MS]
 *   rdkafka_txn process    <bootstrap> <group.id> <in-topic> <out-topic> <transactional.id>
 *                          <batch> [--crash-after-txns N] [--session-timeout-ms MS]
 *
 * idempotent: enable.idempotence=true (acks=all) and a long message.timeout.ms, so that
 * librdkafka retries through broker outages. Record i (0 <= i < count) goes to partition
 * i % partitions with key "s-<i>" and value "v-<i>", at most N records a second with --rate.
 *   {"event":"delivered","partition":P,"offset":O,"seq":I}
 *   {"event":"failed","partition":P,"seq":I,"error":ERR}
 *   {"event":"error","code":NAME,"reason":TEXT,"fatal":B}
 *   {"event":"done","delivered":N,"failed":N,"fatal":ERR}
 * Exit status 0 when flush completed and no fatal error was raised.
 *
 * consume: assigns partitions 0..P-1 from the beginning (a group id is set, never joined) with
 * the given isolation.level and enable.partition.eof, prints every record and exits once every
 * partition reached its end (the high watermark, or the last stable offset with read_committed):
 *   {"event":"record","partition":P,"offset":O,"key":K}
 *   {"event":"eof","partition":P,"offset":O}
 *   {"event":"done","records":N}
 * or, when not every partition reached its end in time (default 60 s),
 *   {"event":"timeout","records":N} and exit status 3.
 *
 * producer: a transactional producer (transactional.id) that runs init_transactions at start
 * ({"event":"ready","error":...}) and then these commands:
 *   begin                                  -> {"event":"begun",ERRFIELDS}
 *   produce <topic> <partition> <first> <count>
 *       records with key "k-<i>" and value "v-<i>", then a flush; one "delivered" event per
 *       acknowledged record ({"event":"delivered","topic":T,"partition":P,"offset":O,"key":K}),
 *       a "failed" event per failed one, then
 *       {"event":"produced","delivered":N,"failed":N,"error":ERR}
 *   commit                                 -> {"event":"committed",ERRFIELDS}
 *   abort                                  -> {"event":"aborted",ERRFIELDS}
 *   crash                                  -> _exit(1) at once, nothing flushed or ended
 *   exit (or end of input)                 -> rd_kafka_destroy, {"event":"exited"}, exit 0
 * ERRFIELDS: "error":ERR,"fatal":B,"retriable":B,"abortable":B,"reason":TEXT
 *
 * process: consume-transform-produce. init_transactions first (which ends whatever an earlier
 * producer with the same transactional.id left open), then a read_committed group consumer
 * (enable.auto.commit=false) subscribes to the input topic. Every input record is written to
 * the output topic, same partition, same key, value "t-<input value>", inside a transaction;
 * after <batch> records (or 500 ms without input while a transaction is open) the consumed
 * offsets are sent with rd_kafka_send_offsets_to_transaction and the transaction committed:
 *   {"event":"started"}
 *   {"event":"txn","records":N,"total":T,"txns":K}
 * With --crash-after-txns N, once N transactions were committed, the next one is filled with
 * <batch> records, flushed and its offsets sent, then the process ends with _exit(1) without
 * committing ({"event":"crashing","records":N,"txns":K} first). Commands: close (or end of
 * input): commits an open transaction, closes the consumer, {"event":"closed"}, exit 0.
 * Any transactional error is printed ({"event":"error",...}) and ends the process with status 1.
 *
 * Exit status: 0 success, 1 failure (printed to stderr), 2 usage error, 3 consume timeout.
 * Set RDKAFKA_DEBUG (e.g. "eos,protocol") to get librdkafka's debug log on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HELPER_NAME "rdkafka_txn"
#include "helper_common.h"

#define OP_TIMEOUT_MS 30000
#define LINE_MAX_LEN 512
#define MAX_PARTITIONS 1024

static void emit_error(const char* code, const char* reason, int fatal) {
  fputs("{\"event\":\"error\",\"code\":", stdout);
  json_cstr(code);
  fputs(",\"reason\":", stdout);
  json_cstr(reason);
  printf(",\"fatal\":%s", fatal ? "true" : "false");
  end_event();
}

/* Prints {"event":<what>,"error":...,"fatal":...,...} for the result of a transactional call
 * and destroys the error object. Returns 1 when there was an error. */
static int emit_txn_result(const char* what, rd_kafka_error_t* e) {
  printf("{\"event\":\"%s\",\"error\":", what);
  if (!e) {
    fputs("null,\"fatal\":false,\"retriable\":false,\"abortable\":false,\"reason\":null", stdout);
    end_event();
    return 0;
  }
  json_cstr(rd_kafka_error_name(e));
  printf(",\"fatal\":%s,\"retriable\":%s,\"abortable\":%s,\"reason\":",
         rd_kafka_error_is_fatal(e) ? "true" : "false",
         rd_kafka_error_is_retriable(e) ? "true" : "false",
         rd_kafka_error_txn_requires_abort(e) ? "true" : "false");
  json_cstr(rd_kafka_error_string(e));
  end_event();
  rd_kafka_error_destroy(e);
  return 1;
}

/* ---- configuration ---- */

static void conf_set(rd_kafka_conf_t* conf, const char* k, const char* v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
    fail("config %s=%s: %s", k, v, err);
}

static rd_kafka_conf_t* base_conf(const char* bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  conf_set(conf, "bootstrap.servers", bootstrap);
  conf_set(conf, "client.id", "runnel-compat-rdkafka-txn");
  const char* dbg = getenv("RDKAFKA_DEBUG");
  if (dbg && *dbg) conf_set(conf, "debug", dbg);
  return conf;
}

static rd_kafka_t* new_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) fail("rd_kafka_new: %s", err);
  return rk;
}

static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  (void)opaque;
  int fatal = 0;
  char fatal_reason[512];
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    fatal = 1;
    err = rd_kafka_fatal_error(rk, fatal_reason, sizeof fatal_reason);
    reason = fatal_reason;
  }
  emit_error(rd_kafka_err2name((rd_kafka_resp_err_t)err), reason, fatal);
}

/* ---- stdin commands ---- */

struct line_reader {
  char buf[LINE_MAX_LEN];
  size_t used;
  int eof;
};

/* Waits up to wait_ms for input; returns 1 with a complete line (NUL-terminated, without the
 * line end) in out, 0 when none is complete yet. At end of input r->eof is set and 0 returned. */
static int read_line(struct line_reader* r, int wait_ms, char* out) {
  for (int round = 0; round < 2; round++) {
    char* nl = memchr(r->buf, '\n', r->used);
    if (nl) {
      size_t len = (size_t)(nl - r->buf);
      memcpy(out, r->buf, len);
      out[len] = '\0';
      if (len > 0 && out[len - 1] == '\r') out[len - 1] = '\0';
      memmove(r->buf, nl + 1, r->used - len - 1);
      r->used -= len + 1;
      return 1;
    }
    if (r->used == LINE_MAX_LEN) fail("command line longer than %d bytes", LINE_MAX_LEN);
    if (r->eof || round == 1) return 0;
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    int n = poll(&pfd, 1, wait_ms);
    if (n <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR))) return 0;
    ssize_t got = read(STDIN_FILENO, r->buf + r->used, LINE_MAX_LEN - r->used);
    if (got <= 0) {
      r->eof = 1;
      return 0;
    }
    r->used += (size_t)got;
  }
  return 0;
}

/* ---- create ---- */

static int do_create(const char* bootstrap, const char* topic, int partitions) {
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, base_conf(bootstrap));
  create_topic_or_fail(rk, topic, partitions, OP_TIMEOUT_MS);
  rd_kafka_destroy(rk);
  return 0;
}

/* ---- idempotent ---- */

struct idem_state {
  long delivered;
  long failed;
};

static void idem_dr_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  struct idem_state* st = opaque;
  long seq = (long)(intptr_t)m->_private;
  if (m->err) {
    st->failed++;
    printf("{\"event\":\"failed\",\"partition\":%" PRId32 ",\"seq\":%ld,\"error\":", m->partition,
           seq);
    json_err(m->err);
    end_event();
    return;
  }
  st->delivered++;
  printf("{\"event\":\"delivered\",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"seq\":%ld",
         m->partition, m->offset, seq);
  end_event();
}

static int do_idempotent(const char* bootstrap, const char* topic, long partitions, long count,
                         long rate) {
  struct idem_state st = {0, 0};
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  conf_set(conf, "enable.idempotence", "true");
  conf_set(conf, "acks", "all");
  conf_set(conf, "linger.ms", "5");
  conf_set(conf, "message.timeout.ms", "180000");
  conf_set(conf, "retry.backoff.ms", "200");
  conf_set(conf, "reconnect.backoff.max.ms", "1000");
  rd_kafka_conf_set_dr_msg_cb(conf, idem_dr_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_opaque(conf, &st);
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, conf);

  int64_t t0 = now_ms();
  char key[32], value[32];
  for (long i = 0; i < count; i++) {
    int klen = snprintf(key, sizeof key, "s-%ld", i);
    int vlen = snprintf(value, sizeof value, "v-%ld", i);
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)klen),
          RD_KAFKA_V_VALUE(value, (size_t)vlen), RD_KAFKA_V_OPAQUE((void*)(intptr_t)i),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err == RD_KAFKA_RESP_ERR__FATAL) break; /* reported by error_cb; flushed below */
      if (err) fail("producev(record %ld): %s", i, rd_kafka_err2str(err));
      break;
    }
    if (rd_kafka_fatal_error(rk, NULL, 0)) break;
    if (rate > 0 && i % 100 == 99) {
      int64_t due = t0 + (int64_t)((i + 1) * 1000 / rate);
      int64_t left;
      while ((left = due - now_ms()) > 0) rd_kafka_poll(rk, (int)left);
    } else {
      rd_kafka_poll(rk, 0);
    }
  }
  rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 200000);
  char reason[512];
  rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, reason, sizeof reason);
  printf("{\"event\":\"done\",\"delivered\":%ld,\"failed\":%ld,\"fatal\":", st.delivered,
         st.failed);
  json_err(fatal);
  end_event();
  if (ferr)
    fail("flush: %s; %d records unacknowledged", rd_kafka_err2str(ferr), rd_kafka_outq_len(rk));
  rd_kafka_destroy(rk);
  if (fatal) fail("fatal error %s: %s", rd_kafka_err2name(fatal), reason);
  return 0;
}

/* ---- consume ---- */

static int do_consume(const char* bootstrap, const char* topic, long partitions,
                      const char* isolation, long timeout_ms) {
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  /* librdkafka needs a group for rd_kafka_assign; it is never joined and nothing is committed. */
  char group[64];
  snprintf(group, sizeof group, "rdkafka-txn-reader-%ld", (long)getpid());
  conf_set(conf, "group.id", group);
  conf_set(conf, "isolation.level", isolation);
  conf_set(conf, "enable.partition.eof", "true");
  conf_set(conf, "enable.auto.commit", "false");
  conf_set(conf, "fetch.wait.max.ms", "100");
  rd_kafka_t* rk = new_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk);

  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new((int)partitions);
  for (long p = 0; p < partitions; p++)
    rd_kafka_topic_partition_list_add(parts, topic, (int32_t)p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
  if (aerr) fail("assign: %s", rd_kafka_err2str(aerr));
  rd_kafka_topic_partition_list_destroy(parts);

  static char at_end[MAX_PARTITIONS];
  memset(at_end, 0, sizeof at_end);
  long ends = 0, records = 0;
  int64_t deadline = now_ms() + timeout_ms;
  while (ends < partitions && now_ms() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      printf("{\"event\":\"eof\",\"partition\":%" PRId32 ",\"offset\":%" PRId64, m->partition,
             m->offset);
      end_event();
      if (m->partition >= 0 && m->partition < partitions && !at_end[m->partition]) {
        at_end[m->partition] = 1;
        ends++;
      }
    } else if (m->err) {
      emit_error(rd_kafka_err2name(m->err), rd_kafka_message_errstr(m), 0);
    } else {
      records++;
      printf("{\"event\":\"record\",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":",
             m->partition, m->offset);
      if (m->key)
        json_str(m->key, m->key_len);
      else
        fputs("null", stdout);
      end_event();
      /* A record after the end was reported: the partition grew, wait for its new end. */
      if (m->partition >= 0 && m->partition < partitions && at_end[m->partition]) {
        at_end[m->partition] = 0;
        ends--;
      }
    }
    rd_kafka_message_destroy(m);
  }
  int done = ends == partitions;
  printf("{\"event\":\"%s\",\"records\":%ld", done ? "done" : "timeout", records);
  end_event();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return done ? 0 : 3;
}

/* ---- producer (transactional, command driven) ---- */

struct txn_state {
  long delivered;
  long failed;
};

static void txn_dr_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  struct txn_state* st = opaque;
  if (m->err)
    st->failed++;
  else
    st->delivered++;
  printf("{\"event\":\"%s\",\"topic\":", m->err ? "failed" : "delivered");
  json_cstr(rd_kafka_topic_name(m->rkt));
  printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":", m->partition, m->offset);
  if (m->key)
    json_str(m->key, m->key_len);
  else
    fputs("null", stdout);
  fputs(",\"error\":", stdout);
  json_err(m->err);
  end_event();
}

static void cmd_produce(rd_kafka_t* rk, struct txn_state* st, char* args) {
  char* save = NULL;
  char* topic = strtok_r(args, " ", &save);
  char* p = strtok_r(NULL, " ", &save);
  char* f = strtok_r(NULL, " ", &save);
  char* c = strtok_r(NULL, " ", &save);
  if (!topic || !p || !f || !c || strtok_r(NULL, " ", &save)) {
    emit_error("BAD_COMMAND", "produce <topic> <partition> <first> <count>", 0);
    return;
  }
  int32_t partition = (int32_t)parse_long(p, 100000);
  long first = parse_long(f, 1000000000), count = parse_long(c, 10000000);
  st->delivered = st->failed = 0;
  rd_kafka_resp_err_t perr = RD_KAFKA_RESP_ERR_NO_ERROR;
  char key[32], value[32];
  for (long i = first; i < first + count && !perr; i++) {
    int klen = snprintf(key, sizeof key, "k-%ld", i);
    int vlen = snprintf(value, sizeof value, "v-%ld", i);
    for (int tries = 0;; tries++) {
      perr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY(key, (size_t)klen),
                               RD_KAFKA_V_VALUE(value, (size_t)vlen), RD_KAFKA_V_END);
      if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL && tries < 3000) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      break;
    }
  }
  rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, OP_TIMEOUT_MS);
  printf("{\"event\":\"produced\",\"delivered\":%ld,\"failed\":%ld,\"error\":", st->delivered,
         st->failed);
  json_err(perr ? perr : ferr);
  end_event();
}

static int do_producer(const char* bootstrap, const char* txn_id, const char* txn_timeout_ms) {
  struct txn_state st = {0, 0};
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  conf_set(conf, "transactional.id", txn_id);
  if (txn_timeout_ms) conf_set(conf, "transaction.timeout.ms", txn_timeout_ms);
  conf_set(conf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(conf, txn_dr_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_opaque(conf, &st);
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, conf);
  emit_txn_result("ready", rd_kafka_init_transactions(rk, OP_TIMEOUT_MS));

  struct line_reader r;
  memset(&r, 0, sizeof r);
  char line[LINE_MAX_LEN + 1];
  for (;;) {
    rd_kafka_poll(rk, 0);
    if (!read_line(&r, 100, line)) {
      if (r.eof) break;
      continue;
    }
    if (strcmp(line, "begin") == 0) {
      emit_txn_result("begun", rd_kafka_begin_transaction(rk));
    } else if (strncmp(line, "produce ", 8) == 0) {
      cmd_produce(rk, &st, line + 8);
    } else if (strcmp(line, "commit") == 0) {
      emit_txn_result("committed", rd_kafka_commit_transaction(rk, OP_TIMEOUT_MS));
    } else if (strcmp(line, "abort") == 0) {
      emit_txn_result("aborted", rd_kafka_abort_transaction(rk, OP_TIMEOUT_MS));
    } else if (strcmp(line, "crash") == 0) {
      fflush(stdout);
      _exit(1);
    } else if (strcmp(line, "exit") == 0) {
      break;
    } else if (line[0] != '\0') {
      emit_error("UNKNOWN_COMMAND", line, 0);
    }
  }
  rd_kafka_destroy(rk);
  fputs("{\"event\":\"exited\"", stdout);
  end_event();
  return 0;
}

/* ---- process (consume-transform-produce) ---- */

static void process_dr_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    char reason[256];
    snprintf(reason, sizeof reason, "delivery to partition %" PRId32 " failed: %s", m->partition,
             rd_kafka_err2str(m->err));
    emit_error(rd_kafka_err2name(m->err), reason, 0);
  }
}

/* Ends the process on a transactional error, after printing it. */
static void txn_call(const char* what, rd_kafka_error_t* e) {
  if (!e) return;
  char reason[512];
  snprintf(reason, sizeof reason, "%s: %s", what, rd_kafka_error_string(e));
  emit_error(rd_kafka_error_name(e), reason, rd_kafka_error_is_fatal(e));
  fail("%s", reason);
}

static int do_process(const char* bootstrap, const char* group, const char* in_topic,
                      const char* out_topic, const char* txn_id, long batch, long crash_after,
                      const char* session_timeout_ms) {
  rd_kafka_conf_t* pconf = base_conf(bootstrap);
  conf_set(pconf, "transactional.id", txn_id);
  conf_set(pconf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(pconf, process_dr_cb);
  rd_kafka_conf_set_error_cb(pconf, error_cb);
  rd_kafka_t* producer = new_handle(RD_KAFKA_PRODUCER, pconf);
  txn_call("init_transactions", rd_kafka_init_transactions(producer, OP_TIMEOUT_MS));

  rd_kafka_conf_t* cconf = base_conf(bootstrap);
  conf_set(cconf, "group.id", group);
  conf_set(cconf, "isolation.level", "read_committed");
  conf_set(cconf, "enable.auto.commit", "false");
  conf_set(cconf, "auto.offset.reset", "earliest");
  conf_set(cconf, "session.timeout.ms", session_timeout_ms);
  conf_set(cconf, "heartbeat.interval.ms", "500");
  conf_set(cconf, "fetch.wait.max.ms", "100");
  rd_kafka_conf_set_error_cb(cconf, error_cb);
  rd_kafka_t* consumer = new_handle(RD_KAFKA_CONSUMER, cconf);
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, in_topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t serr = rd_kafka_subscribe(consumer, sub);
  if (serr) fail("subscribe: %s", rd_kafka_err2str(serr));
  rd_kafka_topic_partition_list_destroy(sub);
  fputs("{\"event\":\"started\"", stdout);
  end_event();

  struct line_reader r;
  memset(&r, 0, sizeof r);
  char line[LINE_MAX_LEN + 1];
  rd_kafka_topic_partition_list_t* offsets = NULL; /* next offsets of the open transaction */
  long in_txn = 0, total = 0, txns = 0;
  int64_t last_input = now_ms();
  char value[160];
  for (;;) {
    int closing = 0;
    if (read_line(&r, 0, line)) {
      if (strcmp(line, "close") == 0)
        closing = 1;
      else if (line[0] != '\0')
        emit_error("UNKNOWN_COMMAND", line, 0);
    } else if (r.eof) {
      closing = 1;
    }
    rd_kafka_poll(producer, 0);
    rd_kafka_message_t* m = closing ? NULL : rd_kafka_consumer_poll(consumer, 100);
    if (m && m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        emit_error(rd_kafka_err2name(m->err), rd_kafka_message_errstr(m), 0);
      rd_kafka_message_destroy(m);
      m = NULL;
    }
    if (m) {
      last_input = now_ms();
      if (!in_txn) {
        txn_call("begin_transaction", rd_kafka_begin_transaction(producer));
        offsets = rd_kafka_topic_partition_list_new(4);
      }
      int vlen = snprintf(value, sizeof value, "t-%.*s", (int)(m->len < 100 ? m->len : 100),
                          (const char*)m->payload);
      for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t perr = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(out_topic), RD_KAFKA_V_PARTITION(m->partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(value, (size_t)vlen), RD_KAFKA_V_END);
        if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL && tries < 3000) {
          rd_kafka_poll(producer, 10);
          continue;
        }
        if (perr) fail("producev: %s", rd_kafka_err2str(perr));
        break;
      }
      rd_kafka_topic_partition_t* tp =
          rd_kafka_topic_partition_list_find(offsets, rd_kafka_topic_name(m->rkt), m->partition);
      if (!tp)
        tp = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(m->rkt), m->partition);
      tp->offset = m->offset + 1;
      in_txn++;
      rd_kafka_message_destroy(m);
    }
    int full = in_txn >= batch;
    int idle = in_txn > 0 && now_ms() - last_input >= 500;
    if (full || idle || (closing && in_txn > 0)) {
      rd_kafka_consumer_group_metadata_t* cgmd = rd_kafka_consumer_group_metadata(consumer);
      if (full && crash_after >= 0 && txns >= crash_after) {
        rd_kafka_resp_err_t ferr = rd_kafka_flush(producer, OP_TIMEOUT_MS);
        if (ferr) fail("flush before the crash: %s", rd_kafka_err2str(ferr));
        txn_call("send_offsets_to_transaction",
                 rd_kafka_send_offsets_to_transaction(producer, offsets, cgmd, OP_TIMEOUT_MS));
        printf("{\"event\":\"crashing\",\"records\":%ld,\"txns\":%ld", in_txn, txns);
        end_event();
        _exit(1);
      }
      txn_call("send_offsets_to_transaction",
               rd_kafka_send_offsets_to_transaction(producer, offsets, cgmd, OP_TIMEOUT_MS));
      rd_kafka_consumer_group_metadata_destroy(cgmd);
      txn_call("commit_transaction", rd_kafka_commit_transaction(producer, OP_TIMEOUT_MS));
      total += in_txn;
      txns++;
      printf("{\"event\":\"txn\",\"records\":%ld,\"total\":%ld,\"txns\":%ld", in_txn, total, txns);
      end_event();
      in_txn = 0;
      rd_kafka_topic_partition_list_destroy(offsets);
      offsets = NULL;
    }
    if (closing) break;
  }
  rd_kafka_resp_err_t cerr = rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  fputs("{\"event\":\"closed\",\"error\":", stdout);
  json_err(cerr);
  end_event();
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: rdkafka_txn create <bootstrap> <topic> <partitions>\n"
          "       rdkafka_txn idempotent <bootstrap> <topic> <partitions> <count> [--rate N]\n"
          "       rdkafka_txn consume <bootstrap> <topic> <partitions> "
          "<read_committed|read_uncommitted> [--timeout-ms MS]\n"
          "       rdkafka_txn producer <bootstrap> <transactional.id> [--txn-timeout-ms MS]\n"
          "       rdkafka_txn process <bootstrap> <group.id> <in-topic> <out-topic> "
          "<transactional.id> <batch>\n"
          "             [--crash-after-txns N] [--session-timeout-ms MS]\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  g_mode = argv[1];
  if (strcmp(argv[1], "create") == 0 && argc == 5)
    return do_create(argv[2], argv[3], (int)parse_long(argv[4], MAX_PARTITIONS));
  if (strcmp(argv[1], "idempotent") == 0 && (argc == 6 || argc == 8)) {
    long rate = 0;
    if (argc == 8) {
      if (strcmp(argv[6], "--rate") != 0) return usage();
      rate = parse_long(argv[7], 100000000);
    }
    long partitions = parse_long(argv[4], MAX_PARTITIONS);
    if (partitions < 1) return usage();
    return do_idempotent(argv[2], argv[3], partitions, parse_long(argv[5], 100000000), rate);
  }
  if (strcmp(argv[1], "consume") == 0 && (argc == 6 || argc == 8)) {
    long timeout_ms = 60000;
    if (argc == 8) {
      if (strcmp(argv[6], "--timeout-ms") != 0) return usage();
      timeout_ms = parse_long(argv[7], 3600000);
    }
    long partitions = parse_long(argv[4], MAX_PARTITIONS);
    if (partitions < 1) return usage();
    if (strcmp(argv[5], "read_committed") != 0 && strcmp(argv[5], "read_uncommitted") != 0)
      return usage();
    return do_consume(argv[2], argv[3], partitions, argv[5], timeout_ms);
  }
  if (strcmp(argv[1], "producer") == 0 && (argc == 4 || argc == 6)) {
    const char* txn_timeout = NULL;
    if (argc == 6) {
      if (strcmp(argv[4], "--txn-timeout-ms") != 0) return usage();
      parse_long(argv[5], 3600000);
      txn_timeout = argv[5];
    }
    return do_producer(argv[2], argv[3], txn_timeout);
  }
  if (strcmp(argv[1], "process") == 0 && argc >= 8) {
    long crash_after = -1;
    const char* session_timeout = "6000";
    for (int i = 8; i < argc; i += 2) {
      if (i + 1 >= argc) return usage();
      if (strcmp(argv[i], "--crash-after-txns") == 0) {
        crash_after = parse_long(argv[i + 1], 1000000);
      } else if (strcmp(argv[i], "--session-timeout-ms") == 0) {
        parse_long(argv[i + 1], 3600000);
        session_timeout = argv[i + 1];
      } else {
        return usage();
      }
    }
    long batch = parse_long(argv[7], 1000000);
    if (batch < 1) return usage();
    return do_process(argv[2], argv[3], argv[4], argv[5], argv[6], batch, crash_after,
                      session_timeout);
  }
  return usage();
}

/*
 * rdkafka_group: librdkafka's high-level (group) consumer against a running Runnel broker,
 * driven by a test through stdin and reporting through stdout, one JSON object a line.
 *
 *   rdkafka_group create  <bootstrap> <topic> <partitions>
 *   rdkafka_group produce <bootstrap> <topic> <first> <count> [--interval-ms MS]
 *                         [--partitions P]
 *   rdkafka_group consume <bootstrap> <group.id> <assignor> <topic>[,<topic>...]
 *                         [--session-timeout-ms MS] [--heartbeat-interval-ms MS]
 *                         [--auto-offset-reset V] [--enable-auto-commit true|false]
 *                         [--max-records N] [--eof] [-X key=value]...
 *
 * produce writes records i = first .. first+count-1 with key "k-<i>" and value "v-<i>", one
 * every MS milliseconds (default: as fast as possible), to partition i % P when --partitions
 * is given and by the key-hashing partitioner otherwise. Each delivery report is printed:
 *   {"event":"delivered","topic":T,"partition":P,"offset":O,"key":K}
 * and at the end {"event":"done","delivered":N,"errors":E}; the exit status is 0 only when
 * every record was acknowledged.
 *
 * consume subscribes with rd_kafka_subscribe under the given group.id and
 * partition.assignment.strategy (range, roundrobin, cooperative-sticky, or a list) and prints:
 *   {"event":"started","group":G}
 *   {"event":"assigned","protocol":"EAGER"|"COOPERATIVE","member":M,
 *    "partitions":[[T,P],...],"assignment":[[T,P],...]}
 *   {"event":"revoked", ... same fields plus "lost":true|false}
 *     partitions: what this rebalance callback assigns or revokes (the incremental set with
 *     the cooperative protocol, the whole set with the eager one); assignment: the consumer's
 *     whole assignment after the callback applied it.
 *   {"event":"record","topic":T,"partition":P,"offset":O,"key":K}
 *   {"event":"eof","topic":T,"partition":P,"offset":O}          (with --eof)
 *   {"event":"committed","offsets":[[T,P,O,ERR],...],"error":ERR}
 *   {"event":"fetched","offsets":[[T,P,O,ERR],...],"error":ERR}
 *   {"event":"limit","records":N}                                (--max-records reached)
 *   {"event":"error","code":NAME,"reason":TEXT,"fatal":B[,"topic":T,"partition":P]}
 *   {"event":"closed","error":ERR}
 * ERR is null or librdkafka's error name (e.g. "_AUTO_OFFSET_RESET", "UNKNOWN_MEMBER_ID").
 * Commands, one a line on stdin:
 *   commit   synchronous commit of the current position of every assigned partition that
 *            has one (rd_kafka_position), reported by a "committed" event
 *   fetch    rd_kafka_committed for the current assignment (OffsetFetch), a "fetched" event
 *   close    rd_kafka_consumer_close, a "closed" event, exit 0
 * End of input counts as close. With --max-records N the consumer stops calling
 * rd_kafka_consumer_poll once N records were handed to it, so its position stays right after
 * the N-th record; it still answers commands (no rebalance callback can run while stopped).
 *
 * Exit status: 0 success, 1 failure (printed to stderr), 2 usage error.
 * Set RDKAFKA_DEBUG (e.g. "cgrp,protocol") to get librdkafka's debug log on stderr.
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

#define HELPER_NAME "rdkafka_group"
#include "helper_common.h"

#define OP_TIMEOUT_MS 15000
#define LINE_MAX_LEN 256

/* [[topic,partition],...] or, with offsets, [[topic,partition,offset,err],...] */
static void json_parts(const rd_kafka_topic_partition_list_t* parts, int with_offsets) {
  putchar('[');
  for (int i = 0; parts && i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t* tp = &parts->elems[i];
    if (i) putchar(',');
    putchar('[');
    json_cstr(tp->topic);
    printf(",%" PRId32, tp->partition);
    if (with_offsets) {
      printf(",%" PRId64 ",", tp->offset);
      json_err(tp->err);
    }
    putchar(']');
  }
  putchar(']');
}

static void emit_error(const char* code, const char* reason, int fatal, const char* topic,
                       int32_t partition) {
  fputs("{\"event\":\"error\",\"code\":", stdout);
  json_cstr(code);
  fputs(",\"reason\":", stdout);
  json_cstr(reason);
  printf(",\"fatal\":%s", fatal ? "true" : "false");
  if (topic) {
    fputs(",\"topic\":", stdout);
    json_cstr(topic);
    printf(",\"partition\":%" PRId32, partition);
  }
  end_event();
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
  conf_set(conf, "client.id", "runnel-compat-rdkafka-group");
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

/* ---- create ---- */

static int do_create(const char* bootstrap, const char* topic, int partitions) {
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, base_conf(bootstrap));
  create_topic_or_fail(rk, topic, partitions, OP_TIMEOUT_MS);
  rd_kafka_destroy(rk);
  return 0;
}

/* ---- produce ---- */

struct produce_state {
  long delivered;
  long errors;
};

static void dr_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  struct produce_state* st = opaque;
  if (m->err) {
    st->errors++;
    fprintf(stderr, "delivery to %s [%" PRId32 "] failed: %s (%s)\n", rd_kafka_topic_name(m->rkt),
            m->partition, rd_kafka_err2name(m->err), rd_kafka_err2str(m->err));
    return;
  }
  st->delivered++;
  fputs("{\"event\":\"delivered\",\"topic\":", stdout);
  json_cstr(rd_kafka_topic_name(m->rkt));
  printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":", m->partition, m->offset);
  json_str(m->key, m->key_len);
  end_event();
}

static int do_produce(const char* bootstrap, const char* topic, long first, long count,
                      long interval_ms, long partitions) {
  struct produce_state st = {0, 0};
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  conf_set(conf, "enable.idempotence", "false");
  conf_set(conf, "acks", "all");
  conf_set(conf, "linger.ms", interval_ms > 0 ? "0" : "5");
  conf_set(conf, "message.timeout.ms", "60000");
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_opaque(conf, &st);
  rd_kafka_t* rk = new_handle(RD_KAFKA_PRODUCER, conf);

  char key[32], value[32];
  for (long i = first; i < first + count; i++) {
    int klen = snprintf(key, sizeof key, "k-%ld", i);
    int vlen = snprintf(value, sizeof value, "v-%ld", i);
    int32_t partition = partitions > 0 ? (int32_t)(i % partitions) : RD_KAFKA_PARTITION_UA;
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)klen),
          RD_KAFKA_V_VALUE(value, (size_t)vlen), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err) fail("producev(record %ld): %s", i, rd_kafka_err2str(err));
      break;
    }
    if (interval_ms > 0) {
      /* Serve delivery reports while pacing. */
      int64_t until = now_ms() + interval_ms;
      int64_t left;
      while ((left = until - now_ms()) > 0) rd_kafka_poll(rk, (int)left);
    } else {
      rd_kafka_poll(rk, 0);
    }
  }
  rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 90000);
  printf("{\"event\":\"done\",\"delivered\":%ld,\"errors\":%ld", st.delivered, st.errors);
  end_event();
  if (ferr)
    fail("flush: %s; %d records unacknowledged", rd_kafka_err2str(ferr), rd_kafka_outq_len(rk));
  rd_kafka_destroy(rk);
  if (st.errors || st.delivered != count)
    fail("%ld of %ld records delivered, %ld errors", st.delivered, count, st.errors);
  return 0;
}

/* ---- consume ---- */

/* Set before rd_kafka_consumer_close. From then on the rebalance callback must not ask the
 * group handler anything after changing the assignment (rd_kafka_assignment, rd_kafka_memberid,
 * rd_kafka_rebalance_protocol wait for its reply): once the final unassign is done it terminates
 * (at once for a static member, which sends no LeaveGroup) and a question asked after the assign
 * call may never be answered. */
static int g_closing = 0;

static void emit_rebalance(rd_kafka_t* rk, const char* what, const char* protocol,
                           const rd_kafka_topic_partition_list_t* parts, int lost) {
  rd_kafka_topic_partition_list_t* now = NULL;
  rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
  char* member = NULL;
  if (g_closing) {
    now = rd_kafka_topic_partition_list_new(0); /* closing: everything is revoked */
  } else {
    aerr = rd_kafka_assignment(rk, &now);
    member = rd_kafka_memberid(rk);
  }
  printf("{\"event\":\"%s\",\"protocol\":", what);
  json_cstr(protocol);
  fputs(",\"member\":", stdout);
  json_cstr(member);
  fputs(",\"partitions\":", stdout);
  json_parts(parts, 0);
  fputs(",\"assignment\":", stdout);
  if (aerr)
    json_err(aerr);
  else
    json_parts(now, 0);
  if (lost >= 0) printf(",\"lost\":%s", lost ? "true" : "false");
  end_event();
  if (member) rd_kafka_mem_free(rk, member);
  if (now) rd_kafka_topic_partition_list_destroy(now);
}

static void report_error_obj(rd_kafka_error_t* e, const char* what) {
  if (!e) return;
  char reason[512];
  snprintf(reason, sizeof reason, "%s: %s", what, rd_kafka_error_string(e));
  emit_error(rd_kafka_error_name(e), reason, rd_kafka_error_is_fatal(e), NULL, 0);
  rd_kafka_error_destroy(e);
}

static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* parts, void* opaque) {
  (void)opaque;
  /* Asked before the assignment changes, while the group handler waits for this call. */
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  int cooperative = strcmp(protocol, "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      report_error_obj(rd_kafka_incremental_assign(rk, parts), "incremental_assign");
    } else {
      rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
      if (aerr) emit_error(rd_kafka_err2name(aerr), "assign", 0, NULL, 0);
    }
    emit_rebalance(rk, "assigned", protocol, parts, -1);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    int lost = rd_kafka_assignment_lost(rk);
    if (cooperative) {
      report_error_obj(rd_kafka_incremental_unassign(rk, parts), "incremental_unassign");
    } else {
      rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, NULL);
      if (aerr) emit_error(rd_kafka_err2name(aerr), "unassign", 0, NULL, 0);
    }
    emit_rebalance(rk, "revoked", protocol, parts, lost);
  } else {
    emit_error(rd_kafka_err2name(err), "rebalance callback", 0, NULL, 0);
    rd_kafka_assign(rk, NULL);
  }
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
  emit_error(rd_kafka_err2name((rd_kafka_resp_err_t)err), reason, fatal, NULL, 0);
}

/* Offsets of the current assignment: positions (what the application consumed) or, with
 * fetch, what the group coordinator holds. Returns the list, or NULL with *err set. */
static rd_kafka_topic_partition_list_t* current_offsets(rd_kafka_t* rk, int fetch,
                                                        rd_kafka_resp_err_t* err) {
  rd_kafka_topic_partition_list_t* parts = NULL;
  *err = rd_kafka_assignment(rk, &parts);
  if (*err) return NULL;
  *err = fetch ? rd_kafka_committed(rk, parts, OP_TIMEOUT_MS) : rd_kafka_position(rk, parts);
  return parts;
}

static void do_commit(rd_kafka_t* rk) {
  rd_kafka_resp_err_t err;
  rd_kafka_topic_partition_list_t* pos = current_offsets(rk, 0, &err);
  rd_kafka_topic_partition_list_t* to_commit =
      rd_kafka_topic_partition_list_new(pos ? pos->cnt : 0);
  for (int i = 0; pos && i < pos->cnt; i++)
    if (pos->elems[i].offset >= 0)
      rd_kafka_topic_partition_list_add(to_commit, pos->elems[i].topic, pos->elems[i].partition)
          ->offset = pos->elems[i].offset;
  if (!err) err = to_commit->cnt ? rd_kafka_commit(rk, to_commit, 0) : RD_KAFKA_RESP_ERR__NO_OFFSET;
  fputs("{\"event\":\"committed\",\"offsets\":", stdout);
  json_parts(to_commit, 1);
  fputs(",\"error\":", stdout);
  json_err(err);
  end_event();
  rd_kafka_topic_partition_list_destroy(to_commit);
  if (pos) rd_kafka_topic_partition_list_destroy(pos);
}

static void do_fetch(rd_kafka_t* rk) {
  rd_kafka_resp_err_t err;
  rd_kafka_topic_partition_list_t* got = current_offsets(rk, 1, &err);
  fputs("{\"event\":\"fetched\",\"offsets\":", stdout);
  json_parts(got, 1);
  fputs(",\"error\":", stdout);
  json_err(err);
  end_event();
  if (got) rd_kafka_topic_partition_list_destroy(got);
}

static void handle_message(rd_kafka_message_t* m) {
  const char* topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    fputs("{\"event\":\"eof\",\"topic\":", stdout);
    json_cstr(topic);
    printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64, m->partition, m->offset);
    end_event();
  } else if (m->err) {
    emit_error(rd_kafka_err2name(m->err), rd_kafka_message_errstr(m), 0, topic, m->partition);
  } else {
    fputs("{\"event\":\"record\",\"topic\":", stdout);
    json_cstr(topic);
    printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":", m->partition, m->offset);
    if (m->key)
      json_str(m->key, m->key_len);
    else
      fputs("null", stdout);
    end_event();
  }
}

/* Reads whatever stdin holds (waiting up to wait_ms) and runs complete command lines.
 * Returns 1 when the consumer should close. */
static int serve_stdin(rd_kafka_t* rk, int wait_ms, char* buf, size_t* used) {
  struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
  int r = poll(&pfd, 1, wait_ms);
  if (r <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR))) return 0;
  ssize_t n = read(STDIN_FILENO, buf + *used, LINE_MAX_LEN - *used);
  if (n <= 0) return 1; /* end of input: close */
  *used += (size_t)n;
  for (;;) {
    char* nl = memchr(buf, '\n', *used);
    if (!nl) {
      if (*used == LINE_MAX_LEN) fail("command line longer than %d bytes", LINE_MAX_LEN);
      return 0;
    }
    *nl = '\0';
    if (nl > buf && nl[-1] == '\r') nl[-1] = '\0';
    int close_now = 0;
    if (strcmp(buf, "commit") == 0)
      do_commit(rk);
    else if (strcmp(buf, "fetch") == 0)
      do_fetch(rk);
    else if (strcmp(buf, "close") == 0)
      close_now = 1;
    else if (buf[0] != '\0')
      emit_error("UNKNOWN_COMMAND", buf, 0, NULL, 0);
    size_t consumed = (size_t)(nl - buf) + 1;
    memmove(buf, nl + 1, *used - consumed);
    *used -= consumed;
    if (close_now) return 1;
  }
}

static int do_consume(const char* bootstrap, const char* group, const char* assignor,
                      const char* topics, char** opts, int nopts) {
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  conf_set(conf, "group.id", group);
  conf_set(conf, "partition.assignment.strategy", assignor);
  long max_records = -1;
  for (int i = 0; i < nopts; i++) {
    const char* o = opts[i];
    const char* v = i + 1 < nopts ? opts[i + 1] : NULL;
    if (strcmp(o, "--eof") == 0) {
      conf_set(conf, "enable.partition.eof", "true");
      continue;
    }
    if (!v) fail("option %s needs a value", o);
    i++;
    if (strcmp(o, "--session-timeout-ms") == 0) {
      conf_set(conf, "session.timeout.ms", v);
    } else if (strcmp(o, "--heartbeat-interval-ms") == 0) {
      conf_set(conf, "heartbeat.interval.ms", v);
    } else if (strcmp(o, "--auto-offset-reset") == 0) {
      conf_set(conf, "auto.offset.reset", v);
    } else if (strcmp(o, "--enable-auto-commit") == 0) {
      conf_set(conf, "enable.auto.commit", v);
    } else if (strcmp(o, "--max-records") == 0) {
      max_records = parse_long(v, 100000000);
    } else if (strcmp(o, "-X") == 0) {
      char kv[512];
      if (strlen(v) >= sizeof kv) fail("-X %s: too long", v);
      strcpy(kv, v);
      char* eq = strchr(kv, '=');
      if (!eq || eq == kv) fail("-X %s: expected key=value", v);
      *eq = '\0';
      conf_set(conf, kv, eq + 1);
    } else {
      fail("unknown option %s", o);
    }
  }
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_t* rk = new_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk);

  char tbuf[1024];
  if (strlen(topics) >= sizeof tbuf) fail("topic list too long");
  strcpy(tbuf, topics);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(4);
  for (char *save = NULL, *t = strtok_r(tbuf, ",", &save); t; t = strtok_r(NULL, ",", &save))
    rd_kafka_topic_partition_list_add(sub, t, RD_KAFKA_PARTITION_UA);
  if (sub->cnt == 0) fail("no topic to subscribe to");
  rd_kafka_resp_err_t serr = rd_kafka_subscribe(rk, sub);
  if (serr) fail("subscribe: %s", rd_kafka_err2str(serr));
  rd_kafka_topic_partition_list_destroy(sub);
  fputs("{\"event\":\"started\",\"group\":", stdout);
  json_cstr(group);
  end_event();

  char line[LINE_MAX_LEN];
  size_t used = 0;
  long records = 0;
  for (;;) {
    int stopped = max_records >= 0 && records >= max_records;
    if (serve_stdin(rk, stopped ? 100 : 0, line, &used)) break;
    if (stopped) continue;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    handle_message(m);
    if (!m->err && ++records == max_records) {
      printf("{\"event\":\"limit\",\"records\":%ld", records);
      end_event();
    }
    rd_kafka_message_destroy(m);
  }
  g_closing = 1;
  rd_kafka_resp_err_t cerr = rd_kafka_consumer_close(rk);
  fputs("{\"event\":\"closed\",\"error\":", stdout);
  json_err(cerr);
  end_event();
  rd_kafka_destroy(rk);
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: rdkafka_group create <bootstrap> <topic> <partitions>\n"
          "       rdkafka_group produce <bootstrap> <topic> <first> <count> [--interval-ms MS] "
          "[--partitions P]\n"
          "       rdkafka_group consume <bootstrap> <group.id> <assignor> <topic>[,<topic>...]\n"
          "             [--session-timeout-ms MS] [--heartbeat-interval-ms MS]\n"
          "             [--auto-offset-reset V] [--enable-auto-commit true|false]\n"
          "             [--max-records N] [--eof] [-X key=value]...\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  g_mode = argv[1];
  if (strcmp(argv[1], "create") == 0 && argc == 5)
    return do_create(argv[2], argv[3], (int)parse_long(argv[4], 100000));
  if (strcmp(argv[1], "produce") == 0 && argc >= 6) {
    long interval = 0, partitions = 0;
    for (int i = 6; i < argc; i += 2) {
      if (i + 1 >= argc) return usage();
      if (strcmp(argv[i], "--interval-ms") == 0)
        interval = parse_long(argv[i + 1], 60000);
      else if (strcmp(argv[i], "--partitions") == 0)
        partitions = parse_long(argv[i + 1], 100000);
      else
        return usage();
    }
    return do_produce(argv[2], argv[3], parse_long(argv[4], 1000000000),
                      parse_long(argv[5], 100000000), interval, partitions);
  }
  if (strcmp(argv[1], "consume") == 0 && argc >= 6)
    return do_consume(argv[2], argv[3], argv[4], argv[5], argv + 6, argc - 6);
  return usage();
}

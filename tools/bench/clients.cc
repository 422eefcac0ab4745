#include "tools/bench/clients.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "tools/bench/limit.h"
#include "tools/bench/process.h"

namespace runnel::bench {
namespace {

constexpr int kAdminTimeoutMs = 15000;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// Sets every key; false with `err` on the first one librdkafka refuses.
bool set_all(rd_kafka_conf_t* conf, std::initializer_list<std::pair<const char*, std::string>> kvs,
             std::string* err) {
  char msg[512];
  for (const auto& [k, v] : kvs) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), msg, sizeof(msg)) != RD_KAFKA_CONF_OK) {
      *err = std::string("config ") + k + "=" + v + ": " + msg;
      return false;
    }
  }
  return true;
}

// Owns a client handle; destroy() is idempotent.
struct Client {
  rd_kafka_t* rk = nullptr;
  ~Client() { destroy(); }
  void destroy() {
    if (rk) rd_kafka_destroy(rk);
    rk = nullptr;
  }
};

bool new_client(rd_kafka_type_t type, rd_kafka_conf_t* conf, Client* c, std::string* err) {
  char msg[512];
  c->rk = rd_kafka_new(type, conf, msg, sizeof(msg));  // takes the conf on success
  if (!c->rk) {
    rd_kafka_conf_destroy(conf);
    *err = std::string("rd_kafka_new: ") + msg;
    return false;
  }
  return true;
}

// State shared with the delivery report callback (runs in the polling thread).
struct ProduceCtx {
  Histogram* latency = nullptr;
  uint64_t delivered = 0;
  uint64_t delivered_bytes = 0;
  uint64_t failed = 0;
  uint64_t last_dr_ns = 0;
  std::string first_error;
};

void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* ctx = static_cast<ProduceCtx*>(opaque);
  const uint64_t now = now_ns();
  if (m->err) {
    if (ctx->failed++ == 0) ctx->first_error = rd_kafka_err2str(m->err);
    return;
  }
  ++ctx->delivered;
  ctx->delivered_bytes += m->len;
  ctx->last_dr_ns = now;
  if (ctx->latency) {
    const auto sent = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
    ctx->latency->record(now > sent ? now - sent : 0);
  }
}

ConfPtr producer_conf(const std::string& bootstrap, int acks, const std::string& codec,
                      int linger_ms, int batch_size, int queue_kb, ProduceCtx* ctx,
                      std::string* err) {
  ConfPtr conf(rd_kafka_conf_new());
  if (!set_all(conf.get(),
               {{"bootstrap.servers", bootstrap},
                // TCP_NODELAY, as the Java client sets by default (librdkafka leaves Nagle on).
                {"socket.nagle.disable", "true"},
                {"acks", std::to_string(acks)},
                {"compression.codec", codec},
                {"queue.buffering.max.messages", "1000000"},
                {"queue.buffering.max.kbytes", std::to_string(queue_kb)},
                {"message.timeout.ms", "120000"}},
               err)) {
    return nullptr;
  }
  if (linger_ms >= 0 && !set_all(conf.get(), {{"linger.ms", std::to_string(linger_ms)}}, err)) {
    return nullptr;
  }
  if (batch_size > 0 && !set_all(conf.get(), {{"batch.size", std::to_string(batch_size)}}, err)) {
    return nullptr;
  }
  rd_kafka_conf_set_dr_msg_cb(conf.get(), dr_cb);
  rd_kafka_conf_set_opaque(conf.get(), ctx);
  return conf;
}

// Waits for every outstanding delivery report, up to `timeout_ms`.
bool flush_all(rd_kafka_t* rk, int timeout_ms) {
  return rd_kafka_flush(rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR && rd_kafka_outq_len(rk) == 0;
}

}  // namespace

bool create_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                  std::string* err) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!set_all(conf, {{"bootstrap.servers", bootstrap}}, err)) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  Client c;
  if (!new_client(RD_KAFKA_PRODUCER, conf, &c, err)) return false;
  char msg[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, msg, sizeof(msg));
  if (!nt) {
    *err = std::string("NewTopic: ") + msg;
    return false;
  }
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(c.rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, kAdminTimeoutMs, msg, sizeof(msg));
  rd_kafka_queue_t* q = rd_kafka_queue_new(c.rk);
  rd_kafka_CreateTopics(c.rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kAdminTimeoutMs + 5000);
  bool ok = false;
  if (!ev) {
    *err = "CreateTopics " + topic + ": no answer";
  } else if (rd_kafka_event_error(ev)) {
    *err = "CreateTopics " + topic + ": " + rd_kafka_event_error_string(ev);
  } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
    if (n == 1 && (rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ||
                   rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)) {
      ok = true;
    } else if (n == 1) {
      *err = "CreateTopics " + topic + ": " + rd_kafka_err2str(rd_kafka_topic_result_error(tr[0]));
    } else {
      *err = "CreateTopics " + topic + ": unexpected result";
    }
  } else {
    *err = "CreateTopics " + topic + ": unexpected event";
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  return ok;
}

ProduceResult run_produce(const std::string& bootstrap, const ProduceParams& p) {
  ProduceResult r;
  if (p.record_size < 1 || p.record_size > (16 << 20)) {
    r.error = "record size must be between 1 byte and 16 MiB";
    return r;
  }
  ProduceCtx ctx;
  ctx.latency = &r.latency_ns;
  ConfPtr conf = producer_conf(bootstrap, p.acks, p.codec, p.linger_ms, p.batch_size, p.queue_kb,
                               &ctx, &r.error);
  if (!conf) return r;
  Client c;
  if (!new_client(RD_KAFKA_PRODUCER, conf.release(), &c, &r.error)) return r;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(c.rk, p.topic.c_str(), nullptr);
  if (!rkt) {
    r.error = "topic_new: " + std::string(rd_kafka_err2str(rd_kafka_last_error()));
    return r;
  }
  // Record values point into one buffer of letters (no copy per record); it
  // outlives every delivery report.
  const size_t size = static_cast<size_t>(p.record_size);
  const size_t span = 16u << 20;
  std::vector<char> payload(span + size);
  fill_letters(payload.data(), payload.size(), 42);

  const uint64_t start = now_ns();
  const uint64_t deadline = start + static_cast<uint64_t>(p.seconds * 1e9);
  uint64_t sent = 0;
  size_t off = 0;
  for (;;) {
    if (p.records > 0 ? sent >= p.records : ((sent & 255) == 0 && now_ns() >= deadline)) break;
    if (p.records > 0 && (sent & 1023) == 0 && now_ns() >= start + 600ULL * 1000000000ULL) {
      r.error = "produce: could not send the records within 600 s";
      break;
    }
    void* stamp = reinterpret_cast<void*>(static_cast<uintptr_t>(now_ns()));
    if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload.data() + off, size, nullptr, 0,
                         stamp) != 0) {
      const rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(c.rk, 1);
        continue;
      }
      r.error = std::string("produce: ") + rd_kafka_err2str(e);
      break;
    }
    ++sent;
    off += size;
    if (off >= span) off -= span;
    if ((sent & 255) == 0) rd_kafka_poll(c.rk, 0);
  }
  const bool flushed = flush_all(c.rk, 120000);
  rd_kafka_topic_destroy(rkt);
  c.destroy();

  r.records = ctx.delivered;
  r.bytes = ctx.delivered_bytes;
  r.seconds = ctx.last_dr_ns > start ? static_cast<double>(ctx.last_dr_ns - start) / 1e9 : 0;
  if (!r.error.empty()) return r;
  if (!flushed) {
    r.error = "produce: delivery reports still missing after 120 s";
  } else if (ctx.failed > 0) {
    r.error =
        "produce: " + std::to_string(ctx.failed) + " records failed (" + ctx.first_error + ")";
  } else if (ctx.delivered != sent) {
    r.error = "produce: " + std::to_string(ctx.delivered) + " delivered of " +
              std::to_string(sent) + " sent";
  } else {
    r.ok = true;
  }
  return r;
}

namespace {

ConfPtr consumer_conf(const std::string& bootstrap, std::string* err) {
  ConfPtr conf(rd_kafka_conf_new());
  // assign() needs a group handle, so a group id is set; nothing is committed.
  if (!set_all(conf.get(),
               {{"bootstrap.servers", bootstrap},
                {"socket.nagle.disable", "true"},
                {"group.id", "runnel-bench-" + std::to_string(now_ns())},
                {"enable.auto.commit", "false"},
                {"enable.auto.offset.store", "false"},
                {"auto.offset.reset", "earliest"}},
               err)) {
    return nullptr;
  }
  return conf;
}

bool assign_from_beginning(rd_kafka_t* rk, const std::string& topic, int partitions,
                           std::string* err) {
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int i = 0; i < partitions; ++i) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  const rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (e) {
    *err = std::string("assign: ") + rd_kafka_err2str(e);
    return false;
  }
  return true;
}

}  // namespace

ConsumeResult run_consume(const std::string& bootstrap, const std::string& topic, int partitions,
                          uint64_t expected_records, double timeout_s) {
  ConsumeResult r;
  ConfPtr conf = consumer_conf(bootstrap, &r.error);
  if (!conf) return r;
  Client c;
  if (!new_client(RD_KAFKA_CONSUMER, conf.release(), &c, &r.error)) return r;
  rd_kafka_poll_set_consumer(c.rk);
  const uint64_t start = now_ns();
  if (!assign_from_beginning(c.rk, topic, partitions, &r.error)) return r;
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(c.rk);
  const uint64_t deadline = start + static_cast<uint64_t>(timeout_s * 1e9);
  std::vector<rd_kafka_message_t*> msgs(1000);
  uint64_t last = start;
  while (r.records < expected_records && now_ns() < deadline) {
    const ssize_t n = rd_kafka_consume_batch_queue(q, 100, msgs.data(), msgs.size());
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = msgs[static_cast<size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++r.records;
        r.bytes += m->len;
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && r.error.empty()) {
        r.error = std::string("consume: ") + rd_kafka_err2str(m->err);
      }
      rd_kafka_message_destroy(m);
    }
    if (n > 0) last = now_ns();
    if (!r.error.empty()) break;
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(c.rk);
  c.destroy();
  r.seconds = static_cast<double>(last - start) / 1e9;
  if (!r.error.empty()) return r;
  if (r.records != expected_records) {
    r.error = "consume: " + std::to_string(r.records) + " records of " +
              std::to_string(expected_records) + " within " + std::to_string(timeout_s) + " s";
    return r;
  }
  r.ok = true;
  return r;
}

E2eResult run_e2e(const std::string& bootstrap, const E2eParams& p) {
  E2eResult r;
  if (p.record_size < 16 || p.record_size > (1 << 20)) {
    r.error = "end-to-end record size must be between 16 bytes and 1 MiB";
    return r;
  }
  if (p.rate_bytes_per_s <= 0) {
    r.error = "end-to-end rate must be positive";
    return r;
  }
  // The consumer first, so that it waits at the start of the empty topic.
  ConfPtr cconf = consumer_conf(bootstrap, &r.error);
  if (!cconf) return r;
  Client consumer;
  if (!new_client(RD_KAFKA_CONSUMER, cconf.release(), &consumer, &r.error)) return r;
  rd_kafka_poll_set_consumer(consumer.rk);
  if (!assign_from_beginning(consumer.rk, p.topic, p.partitions, &r.error)) return r;

  std::atomic<uint64_t> total_sent{UINT64_MAX};  // known once the producer is done
  std::atomic<bool> give_up{false};
  std::atomic<uint64_t> received{0};
  uint64_t measured = 0, measured_bytes = 0;
  std::string consume_error;
  std::thread reader([&] {
    // One message at a time: rd_kafka_consume_batch_queue waits until its batch is full or
    // its timeout passes, which would add that wait to every latency measured.
    while (received < total_sent.load() && !give_up.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.rk, 50);
      if (!m) continue;
      const uint64_t now = now_ns();
      {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->len >= 9) {
          ++received;
          const auto* v = static_cast<const char*>(m->payload);
          uint64_t sent = 0;
          std::memcpy(&sent, v, sizeof(sent));
          if (v[8] == 'M') {
            r.latency_ns.record(now > sent ? now - sent : 0);
            ++measured;
            measured_bytes += m->len;
          }
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && consume_error.empty()) {
          consume_error = m->err ? rd_kafka_err2str(m->err) : "short record";
        }
        rd_kafka_message_destroy(m);
      }
    }
  });

  ProduceCtx ctx;
  std::string err;
  ConfPtr pconf = producer_conf(bootstrap, p.acks, p.codec, p.linger_ms, -1, 32768, &ctx, &err);
  Client producer;
  uint64_t sent = 0;
  uint64_t measured_start = 0, measured_end = 0;
  if (pconf && new_client(RD_KAFKA_PRODUCER, pconf.release(), &producer, &err)) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer.rk, p.topic.c_str(), nullptr);
    const size_t size = static_cast<size_t>(p.record_size);
    std::vector<char> value(size);
    fill_letters(value.data(), value.size(), 3);
    const double per_record_s = static_cast<double>(size) / p.rate_bytes_per_s;
    const uint64_t start = now_ns();
    const uint64_t warm_end = start + static_cast<uint64_t>(p.warmup_s * 1e9);
    const uint64_t end = warm_end + static_cast<uint64_t>(p.seconds * 1e9);
    measured_start = warm_end;
    for (;;) {
      const uint64_t now = now_ns();
      if (now >= end) break;
      // Records due by now at the fixed rate.
      const auto due =
          static_cast<uint64_t>(static_cast<double>(now - start) / 1e9 / per_record_s) + 1;
      while (sent < due && err.empty()) {
        const uint64_t t = now_ns();
        std::memcpy(value.data(), &t, sizeof(t));
        value[8] = t >= warm_end ? 'M' : 'W';
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(), size,
                             nullptr, 0, nullptr) != 0) {
          const rd_kafka_resp_err_t e = rd_kafka_last_error();
          if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer.rk, 1);
            continue;
          }
          err = std::string("produce: ") + rd_kafka_err2str(e);
        }
        ++sent;
      }
      if (!err.empty()) break;
      rd_kafka_poll(producer.rk, 0);
      sleep_us(50);
    }
    measured_end = now_ns();
    if (!flush_all(producer.rk, 60000) && err.empty()) {
      err = "produce: delivery reports still missing after 60 s";
    }
    rd_kafka_topic_destroy(rkt);
    producer.destroy();
  }
  if (!err.empty()) give_up = true;
  total_sent = sent;
  // Every record should arrive shortly after its delivery report.
  const uint64_t wait_end = now_ns() + 60ULL * 1000000000ULL;
  while (received < sent && now_ns() < wait_end && !give_up.load()) sleep_us(1000);
  give_up = true;
  reader.join();
  rd_kafka_consumer_close(consumer.rk);
  consumer.destroy();

  r.records = measured;
  r.bytes = measured_bytes;
  r.seconds =
      measured_end > measured_start ? static_cast<double>(measured_end - measured_start) / 1e9 : 0;
  if (!err.empty()) {
    r.error = err;
  } else if (ctx.failed > 0) {
    r.error =
        "produce: " + std::to_string(ctx.failed) + " records failed (" + ctx.first_error + ")";
  } else if (!consume_error.empty()) {
    r.error = "consume: " + consume_error;
  } else if (received.load() != sent) {
    r.error = "end to end: " + std::to_string(received.load()) + " records received of " +
              std::to_string(sent) + " sent";
  } else {
    r.ok = true;
  }
  return r;
}

}  // namespace runnel::bench

// Fetch (key 1), v0-v18, for consumers. A replica_id other than -1 is not
// treated specially: this broker has no followers yet. v18 adds a partition's
// high_watermark (tagged) that followers send their leader (KIP-1166); a
// consumer does not, and Runnel ignores it.
//
// Per partition, in request order: unknown topic name ⇒
// UNKNOWN_TOPIC_OR_PARTITION, unknown topic id (v13+) ⇒ UNKNOWN_TOPIC_ID, a
// fetch offset outside [log start, log end] ⇒ OFFSET_OUT_OF_RANGE (with the
// offsets filled in); otherwise whole batches from the one holding the fetch
// offset, up to partition_max_bytes and, from v3, within the response's
// max_bytes — the first partition with data always gets its first batch even
// when larger (Kafka's min-one-message rule). v0-v2 have no response limit;
// there every partition gets at least its first batch (Kafka used to send a
// truncated one instead).
//
// v4+: the batches are sent as file ranges (sendfile). v0-v3: they are read
// and down-converted to magic 0 (v0-v1) or magic 1 (v2-v3) message sets in
// memory, batch by batch, without the records before the fetch offset, and
// stop at the first message past the limit: a batch that expands far beyond
// max_bytes costs one batch decompressed at a time, never a response that size.
//
// read_committed (v4+): reads stop at the last stable offset, and each partition lists the
// aborted transactions of the range it returns.
//
// Long poll: when fewer than min_bytes are available and max_wait_ms > 0 (and
// no partition has an error), the request waits on the fetch waiters of its
// partitions until an append wakes it or the deadline passes, then reads
// again. Other requests of the connection go on meanwhile.
//
// Fetch sessions (v7+): see fetch_sessions.h. When the cache has no free
// slot, full fetches get session id 0, as in Kafka.
#include "protocol/messages/fetch.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>

#include "protocol/errors.h"
#include "protocol/records/legacy.h"
#include "server/external_bytes.h"
#include "server/fetch_sessions.h"
#include "server/handler.h"
#include "server/partition_leadership.h"
#include "server/waiters.h"
#include "storage/log_manager.h"

namespace runnel::server {

using FetchHandler = ApiHandler<protocol::FetchRequest, 0, 18>;

namespace {

using protocol::ErrorCode;
using PartitionData = protocol::FetchResponse::PartitionData;

constexpr int16_t kFirstTopicIdVersion = 13;
constexpr int16_t kFirstSessionVersion = 7;

struct Target {
  SessionPartitionKey key;  // as the request names it
  std::string topic;        // resolved name ("" when unknown)
  protocol::Uuid topic_id;  // resolved id
  SessionFetchParams params;
  ErrorCode lookup_error = ErrorCode::NONE;
};

struct PartitionRead {
  ErrorCode error = ErrorCode::NONE;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  protocol::Records records;
  size_t bytes = 0;
  std::vector<storage::AbortedTxn> aborted;  // read_committed: aborted transactions in range
};

protocol::Records empty_records() {
  protocol::Records r;
  r.is_null = false;
  return r;
}

Target resolve(const storage::LogManager& logs, SessionPartitionKey key,
               const SessionFetchParams& params, bool by_id) {
  Target t;
  t.params = params;
  if (by_id) {
    const storage::TopicInfo* info = logs.topic_by_id(key.topic_id);
    if (info) {
      t.topic = info->name;
      t.topic_id = info->topic_id;
    } else {
      t.lookup_error = ErrorCode::UNKNOWN_TOPIC_ID;
    }
  } else {
    t.topic = key.topic;
    const storage::TopicInfo* info = logs.topic(key.topic);
    if (info) t.topic_id = info->topic_id;
  }
  t.key = std::move(key);
  return t;
}

// Reads the slices' bytes (for down-conversion). False on an I/O error.
bool read_slices(const std::vector<storage::FileSlice>& slices, protocol::Bytes& out) {
  for (auto& s : slices) {
    size_t at = out.size();
    out.resize(at + s.length);
    size_t done = 0;
    while (done < s.length) {
      ssize_t n = ::pread(s.file->fd(), out.data() + at + done, s.length - done,
                          static_cast<off_t>(s.file_position + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
  }
  return true;
}

PartitionRead read_partition(const storage::LogManager& logs, const Target& t, int16_t version,
                             storage::FetchIsolation isolation, size_t limit, bool min_one) {
  PartitionRead out;
  out.records = empty_records();
  if (t.lookup_error != ErrorCode::NONE) {
    out.error = t.lookup_error;
    return out;
  }
  storage::PartitionLog* log = logs.get(t.topic, t.key.partition);
  if (!log) {
    out.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    return out;
  }
  if (auto e = check_current_leader_epoch(*log, t.params.current_leader_epoch);
      version >= 9 && e != ErrorCode::NONE) {
    out.error = e;
    return out;
  }
  auto rr = log->read(t.params.fetch_offset, limit, min_one, isolation);
  out.high_watermark = rr.high_watermark;
  out.last_stable_offset = rr.last_stable_offset;
  out.log_start_offset = rr.log_start_offset;
  if (rr.error != ErrorCode::NONE) {
    out.error = rr.error;
    return out;
  }
  if (rr.slices.empty()) return out;
  out.aborted = std::move(rr.aborted_transactions);
  if (version >= 4) {
    for (auto& s : rr.slices) {
      auto owner = std::shared_ptr<const void>(s.file);
      out.records.external.push_back(
          std::make_shared<FileSlice>(s.file->fd(), std::move(owner), s.file_position, s.length));
    }
    out.bytes = rr.bytes;
    return out;
  }
  protocol::Bytes raw;
  if (!read_slices(rr.slices, raw)) {
    out.error = ErrorCode::KAFKA_STORAGE_ERROR;
    return out;
  }
  protocol::DownConvertWindow window{t.params.fetch_offset, limit, min_one};
  auto down = protocol::down_convert(raw, version <= 1 ? 0 : 1,
                                     protocol::kDefaultMaxUncompressedBatch, window);
  if (down.error != ErrorCode::NONE) {
    out.error = down.error;
    return out;
  }
  out.bytes = down.message_set.size();
  if (!down.message_set.empty())
    out.records = protocol::Records::from_bytes(std::move(down.message_set));
  return out;
}

std::vector<PartitionRead> read_all(const storage::LogManager& logs,
                                    const std::vector<Target>& targets, int16_t version,
                                    storage::FetchIsolation isolation, int32_t max_bytes) {
  std::vector<PartitionRead> reads;
  reads.reserve(targets.size());
  size_t budget = version >= 3 ? static_cast<size_t>(std::max(max_bytes, 0))
                               : std::numeric_limits<size_t>::max();
  bool min_one = true;
  for (auto& t : targets) {
    size_t limit = std::min(static_cast<size_t>(std::max(t.params.max_bytes, 0)), budget);
    auto r = read_partition(logs, t, version, isolation, limit, min_one);
    if (r.bytes > 0 && version >= 3) {
      min_one = false;
      budget -= std::min(budget, r.bytes);
    }
    reads.push_back(std::move(r));
  }
  return reads;
}

SessionFetchParams params_of(const protocol::FetchRequest::FetchPartition& p) {
  SessionFetchParams s;
  s.fetch_offset = p.fetch_offset;
  s.max_bytes = p.partition_max_bytes;
  s.current_leader_epoch = p.current_leader_epoch;
  s.last_fetched_epoch = p.last_fetched_epoch;
  s.log_start_offset = p.log_start_offset;
  return s;
}

SessionPartitionKey key_of(const std::string& topic, const protocol::Uuid& id, int32_t partition,
                           bool by_id) {
  return by_id ? SessionPartitionKey{id, "", partition}
               : SessionPartitionKey{protocol::Uuid{}, topic, partition};
}

enum class Mode { sessionless, new_session, incremental };

asio::awaitable<HandlerResult> handle_fetch(RequestContext& ctx, protocol::Reader& body) {
  auto req = decode_request<FetchHandler>(ctx, body);
  const int16_t version = ctx.api_version;
  const bool by_id = version >= kFirstTopicIdVersion;
  const bool read_committed = version >= 4 && req.isolation_level == 1;
  const auto isolation =
      read_committed ? storage::FetchIsolation::committed : storage::FetchIsolation::high_watermark;
  Broker& broker = ctx.broker;
  FetchSessionCache& cache = broker.fetch_sessions;
  const int64_t now_ms = broker.clock.now_ms();

  protocol::FetchResponse resp;
  Mode mode = Mode::sessionless;
  std::shared_ptr<FetchSession> session;
  std::vector<Target> targets;

  if (version >= kFirstSessionVersion && req.session_epoch != 0 && req.session_epoch != -1) {
    mode = Mode::incremental;
    std::vector<std::pair<SessionPartitionKey, SessionFetchParams>> updates;
    for (auto& t : req.topics)
      for (auto& p : t.partitions)
        updates.emplace_back(key_of(t.topic, t.topic_id, p.partition, by_id), params_of(p));
    std::vector<SessionPartitionKey> forgotten;
    for (auto& f : req.forgotten_topics_data)
      for (int32_t p : f.partitions) forgotten.push_back(key_of(f.topic, f.topic_id, p, by_id));
    FetchSessionCache::IncrementalResult res =
        cache.incremental(req.session_id, req.session_epoch, by_id, updates, forgotten, now_ms);
    if (res.error != ErrorCode::NONE) {
      resp.error_code = res.error;
      resp.session_id = 0;
      co_return encode_response(ctx, resp);
    }
    session = std::move(res.session);
    for (auto& cp : session->partitions())
      targets.push_back(resolve(broker.logs, cp.key, cp.params, by_id));
  } else {
    if (version >= kFirstSessionVersion) {
      if (req.session_id != 0) cache.remove(req.session_id);
      if (req.session_epoch == 0) mode = Mode::new_session;
    }
    for (auto& t : req.topics)
      for (auto& p : t.partitions)
        targets.push_back(resolve(broker.logs, key_of(t.topic, t.topic_id, p.partition, by_id),
                                  params_of(p), by_id));
  }

  // Read; wait for appends while there is too little and time is left.
  const auto deadline =
      FetchWaiters::Clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
  std::vector<PartitionRead> reads;
  for (;;) {
    reads = read_all(broker.logs, targets, version, isolation, req.max_bytes);
    size_t total = 0;
    bool any_error = false;
    for (auto& r : reads) {
      total += r.bytes;
      any_error = any_error || r.error != ErrorCode::NONE;
    }
    if (req.max_wait_ms <= 0 || targets.empty() || any_error ||
        total >= static_cast<size_t>(std::max(req.min_bytes, 0)) ||
        FetchWaiters::Clock::now() >= deadline)
      break;
    std::vector<PartitionKey> keys;
    keys.reserve(targets.size());
    for (auto& t : targets) keys.push_back({t.topic, t.key.partition});
    co_await broker.waiters.wait_any(keys, deadline);
  }

  std::vector<CachedPartition> new_session_partitions;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto& t = targets[i];
    auto& r = reads[i];
    if (mode == Mode::incremental) {
      CachedPartition* cp = session->find(t.key);
      bool include = !cp || cp->update_response(r.error, r.bytes > 0, r.high_watermark,
                                                r.last_stable_offset, r.log_start_offset);
      if (!include) continue;
    } else if (mode == Mode::new_session) {
      CachedPartition cp;
      cp.key = t.key;
      cp.params = t.params;
      cp.update_response(r.error, r.bytes > 0, r.high_watermark, r.last_stable_offset,
                         r.log_start_offset);
      new_session_partitions.push_back(std::move(cp));
    }
    bool same_topic =
        !resp.responses.empty() && (by_id ? resp.responses.back().topic_id == t.key.topic_id
                                          : resp.responses.back().topic == t.key.topic);
    if (!same_topic) {
      protocol::FetchResponse::FetchableTopicResponse tr;
      tr.topic = by_id ? t.topic : t.key.topic;
      tr.topic_id = by_id ? t.key.topic_id : t.topic_id;
      resp.responses.push_back(std::move(tr));
    }
    PartitionData pd;
    pd.partition_index = t.key.partition;
    pd.error_code = r.error;
    pd.high_watermark = r.high_watermark;
    pd.last_stable_offset = r.last_stable_offset;
    pd.log_start_offset = r.log_start_offset;
    if (read_committed) {
      // The aborted transactions in the returned range, so that the client drops their
      // records (Kafka's FetchResponse.abortedTransactions).
      pd.aborted_transactions.emplace();
      for (const auto& a : r.aborted) {
        protocol::FetchResponse::AbortedTransaction at;
        at.producer_id = a.producer_id;
        at.first_offset = a.first_offset;
        pd.aborted_transactions->push_back(at);
      }
    } else {
      pd.aborted_transactions.reset();
    }
    pd.preferred_read_replica = -1;
    pd.records = std::move(r.records);
    resp.responses.back().partitions.push_back(std::move(pd));
  }

  if (mode == Mode::incremental) {
    resp.session_id = session->id();
  } else if (mode == Mode::new_session) {
    auto created = cache.create(std::move(new_session_partitions), by_id, now_ms);
    resp.session_id = created ? created->id() : 0;
  }
  co_return encode_response(ctx, resp);
}

}  // namespace

RUNNEL_REGISTER_HANDLER(fetch, FetchHandler, handle_fetch)

}  // namespace runnel::server

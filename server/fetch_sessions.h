// Incremental fetch sessions (KIP-227), as Kafka's FetchSessionCache.
//
// A consumer's Fetch (v7+) carries (session_id, session_epoch):
//   (0, 0)      full fetch that asks for a new session; the response carries
//               the new id (or 0 when the cache cannot hold one).
//   (any, -1)   full fetch without a session; a non-zero id closes that
//               session first.
//   (id, 0)     full fetch: the old session `id` is closed and a new one made.
//   (id, n > 0) incremental fetch of session `id` at epoch n: the request
//               names only added or changed partitions, `forgotten_topics_data`
//               removes some; the response lists only partitions with
//               something new (records, a changed high watermark, last stable
//               offset or log start offset, or an error). Each such request
//               moves the session's epoch to the next one.
//
// A session is keyed by topic name (Fetch v7-v12) or by topic id (v13+); a
// session cannot mix the two (FETCH_SESSION_TOPIC_ID_ERROR).
//
// The cache holds at most `max_slots` sessions
// (max.incremental.fetch.session.cache.slots). Creating a session in a full
// cache first drops sessions idle for longer than `eviction_ms`, then the
// least recently used one. Sessions idle for `eviction_ms` are also dropped
// by expire(). Pure data structure: time is passed in, nothing blocks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "protocol/wire.h"

namespace runnel::server {

// A partition as a session names it: by topic id (v13+, `topic` empty) or
// by topic name (v7-v12, `topic_id` zero).
struct SessionPartitionKey {
  protocol::Uuid topic_id;
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const SessionPartitionKey&) const = default;
};

// What the fetcher asked for a partition.
struct SessionFetchParams {
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  int32_t current_leader_epoch = -1;
  int32_t last_fetched_epoch = -1;
  int64_t log_start_offset = -1;  // the fetcher's, followers only
};

struct CachedPartition {
  SessionPartitionKey key;
  SessionFetchParams params;
  // What the last response told the fetcher (-1 before any).
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;

  // Records what a response would carry for this partition and says whether
  // an incremental response must include it: records, an error, or a
  // changed high watermark / last stable offset / log start offset.
  bool update_response(protocol::ErrorCode error, bool has_records, int64_t high_watermark,
                       int64_t last_stable_offset, int64_t log_start_offset);
};

class FetchSession {
 public:
  FetchSession(int32_t id, bool uses_topic_ids, int64_t now_ms)
      : id_(id), uses_topic_ids_(uses_topic_ids), created_ms_(now_ms), last_used_ms_(now_ms) {}

  int32_t id() const { return id_; }
  // The epoch the next incremental request must carry.
  int32_t epoch() const { return epoch_; }
  bool uses_topic_ids() const { return uses_topic_ids_; }
  int64_t created_ms() const { return created_ms_; }
  int64_t last_used_ms() const { return last_used_ms_; }

  // In insertion order (responses list partitions in this order).
  std::vector<CachedPartition>& partitions() { return partitions_; }
  const std::vector<CachedPartition>& partitions() const { return partitions_; }
  CachedPartition* find(const SessionPartitionKey& key);

  // Adds the partition, or updates its fetch parameters if present.
  void upsert(const SessionPartitionKey& key, const SessionFetchParams& params);
  void remove(const SessionPartitionKey& key);

 private:
  friend class FetchSessionCache;
  int32_t id_;
  int32_t epoch_ = 1;  // a new session expects epoch 1 next
  bool uses_topic_ids_;
  int64_t created_ms_;
  int64_t last_used_ms_;
  std::vector<CachedPartition> partitions_;
};

// Epoch after `epoch` (wraps from INT32_MAX to 1, never 0 or -1).
int32_t next_fetch_epoch(int32_t epoch);

class FetchSessionCache {
 public:
  static constexpr int64_t kDefaultEvictionMs = 120'000;

  FetchSessionCache(size_t max_slots, int64_t eviction_ms = kDefaultEvictionMs,
                    uint64_t seed = std::random_device{}())
      : max_slots_(max_slots), eviction_ms_(eviction_ms), rng_(seed) {}

  // A new session holding `partitions` (whose response fields should be those
  // of the full response just built); nullptr when there are no slots
  // (max_slots 0) — the response then carries session id 0.
  std::shared_ptr<FetchSession> create(std::vector<CachedPartition> partitions, bool uses_topic_ids,
                                       int64_t now_ms);

  struct IncrementalResult {
    protocol::ErrorCode error = protocol::ErrorCode::NONE;
    std::shared_ptr<FetchSession> session;  // set when error is NONE
  };
  // Validates (id, epoch) and applies the request's partitions and forgotten
  // partitions; on success the session's epoch moves on and it counts as
  // used at `now_ms`. FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
  // FETCH_SESSION_TOPIC_ID_ERROR (the request names topics differently from
  // the session: by id vs by name). A failed request leaves the session as is.
  IncrementalResult incremental(
      int32_t id, int32_t epoch, bool uses_topic_ids,
      std::span<const std::pair<SessionPartitionKey, SessionFetchParams>> updates,
      std::span<const SessionPartitionKey> forgotten, int64_t now_ms);

  // Closes a session; false if unknown.
  bool remove(int32_t id);
  std::shared_ptr<FetchSession> get(int32_t id) const;
  // Drops sessions idle for at least eviction_ms; returns how many.
  size_t expire(int64_t now_ms);

  size_t size() const { return sessions_.size(); }
  size_t max_slots() const { return max_slots_; }

 private:
  int32_t new_id();
  void evict_one(int64_t now_ms);

  size_t max_slots_;
  int64_t eviction_ms_;
  std::mt19937 rng_;
  std::map<int32_t, std::shared_ptr<FetchSession>> sessions_;
};

}  // namespace runnel::server

#include "server/fetch_sessions.h"

#include <algorithm>
#include <limits>

namespace runnel::server {

using protocol::ErrorCode;

bool CachedPartition::update_response(ErrorCode error, bool has_records, int64_t hw, int64_t lso,
                                      int64_t log_start) {
  bool must_respond = error != ErrorCode::NONE || has_records;
  if (high_watermark != hw) {
    high_watermark = hw;
    must_respond = true;
  }
  if (last_stable_offset != lso) {
    last_stable_offset = lso;
    must_respond = true;
  }
  if (log_start_offset != log_start) {
    log_start_offset = log_start;
    must_respond = true;
  }
  return must_respond;
}

CachedPartition* FetchSession::find(const SessionPartitionKey& key) {
  for (auto& p : partitions_)
    if (p.key == key) return &p;
  return nullptr;
}

void FetchSession::upsert(const SessionPartitionKey& key, const SessionFetchParams& params) {
  if (auto* p = find(key)) {
    p->params = params;
    return;
  }
  CachedPartition p;
  p.key = key;
  p.params = params;
  partitions_.push_back(std::move(p));
}

void FetchSession::remove(const SessionPartitionKey& key) {
  std::erase_if(partitions_, [&](const CachedPartition& p) { return p.key == key; });
}

int32_t next_fetch_epoch(int32_t epoch) {
  if (epoch < 0) return 0;  // a sessionless fetch stays sessionless
  if (epoch == std::numeric_limits<int32_t>::max()) return 1;
  return epoch + 1;
}

int32_t FetchSessionCache::new_id() {
  std::uniform_int_distribution<int32_t> dist(1, std::numeric_limits<int32_t>::max());
  for (;;) {
    int32_t id = dist(rng_);
    if (!sessions_.contains(id)) return id;
  }
}

void FetchSessionCache::evict_one(int64_t now_ms) {
  if (expire(now_ms) > 0) return;
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
    if (oldest == sessions_.end() || it->second->last_used_ms_ < oldest->second->last_used_ms_)
      oldest = it;
  if (oldest != sessions_.end()) sessions_.erase(oldest);
}

std::shared_ptr<FetchSession> FetchSessionCache::create(std::vector<CachedPartition> partitions,
                                                        bool uses_topic_ids, int64_t now_ms) {
  if (max_slots_ == 0) return nullptr;
  while (sessions_.size() >= max_slots_) evict_one(now_ms);
  auto s = std::make_shared<FetchSession>(new_id(), uses_topic_ids, now_ms);
  s->partitions_ = std::move(partitions);
  sessions_.emplace(s->id_, s);
  return s;
}

FetchSessionCache::IncrementalResult FetchSessionCache::incremental(
    int32_t id, int32_t epoch, bool uses_topic_ids,
    std::span<const std::pair<SessionPartitionKey, SessionFetchParams>> updates,
    std::span<const SessionPartitionKey> forgotten, int64_t now_ms) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return {ErrorCode::FETCH_SESSION_ID_NOT_FOUND, nullptr};
  auto& s = it->second;
  if (s->epoch_ != epoch) return {ErrorCode::INVALID_FETCH_SESSION_EPOCH, nullptr};
  if (s->uses_topic_ids_ != uses_topic_ids)
    return {ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR, nullptr};
  for (auto& [key, params] : updates) s->upsert(key, params);
  for (auto& key : forgotten) s->remove(key);
  s->epoch_ = next_fetch_epoch(s->epoch_);
  s->last_used_ms_ = now_ms;
  return {ErrorCode::NONE, s};
}

bool FetchSessionCache::remove(int32_t id) { return sessions_.erase(id) > 0; }

std::shared_ptr<FetchSession> FetchSessionCache::get(int32_t id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

size_t FetchSessionCache::expire(int64_t now_ms) {
  return std::erase_if(
      sessions_, [&](const auto& kv) { return now_ms - kv.second->last_used_ms_ >= eviction_ms_; });
}

}  // namespace runnel::server

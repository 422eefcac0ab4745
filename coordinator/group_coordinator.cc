#include "coordinator/group_coordinator.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "coordinator/append_errors.h"

namespace runnel::coordinator {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What a failed append of coordinator records means to the client (Kafka's mapping of
// storage errors for offset commits and group writes).
ErrorCode map_append_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::NONE:
      return ErrorCode::NONE;
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
    case ErrorCode::INVALID_FETCH_SIZE:
      return ErrorCode::INVALID_COMMIT_OFFSET_SIZE;
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
      return ErrorCode::NOT_COORDINATOR;
    default:
      return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
}

std::optional<std::string> group_of(std::span<const uint8_t> key) {
  auto k = decode_offsets_topic_key(key);
  if (!k) return std::nullopt;
  if (auto* c = std::get_if<OffsetCommitKey>(&*k)) return c->group;
  if (auto* g = std::get_if<GroupMetadataKey>(&*k)) return g->group;
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<std::string>> subscribed_topics(std::span<const uint8_t> subscription) {
  protocol::Reader r(subscription);
  const int16_t version = r.i16();
  if (!r.ok() || version < 0) return std::nullopt;
  const int64_t n = r.array_length(false);
  if (n < 0) return std::nullopt;
  std::vector<std::string> topics;
  for (int64_t i = 0; i < n && r.ok(); ++i) topics.push_back(r.string(false));
  // Later fields (user data, owned partitions, generation, rack) do not matter here.
  if (!r.ok()) return std::nullopt;
  return topics;
}

GroupCoordinator::GroupCoordinator(CoordinatorConfig config, const storage::Clock& clock,
                                   CoordinatorLog& log, ClassicGroup::MemberIdGenerator member_ids)
    : config_(config),
      clock_(clock),
      log_(log),
      member_ids_(std::move(member_ids)),
      offsets_(config.offset_metadata_max_bytes),
      consumer_groups_(config.consumer_group, clock, log,
                       [this](std::string_view group) { return partition_for(group); }),
      load_state_(static_cast<size_t>(std::max(config.offsets_partitions, 1)), LoadState::Unloaded),
      next_retention_check_ms_(clock.now_ms() + config.offsets_retention_check_interval_ms) {}

int32_t GroupCoordinator::partition_for(std::string_view group_id) const {
  return partition_for_group(group_id, static_cast<int32_t>(load_state_.size()));
}

// ---------------------------------------------------------------------------------------------
// Loading

void GroupCoordinator::begin_load(int32_t partition) {
  if (partition < 0 || static_cast<size_t>(partition) >= load_state_.size()) return;
  load_state_[static_cast<size_t>(partition)] = LoadState::Loading;
  loading_groups_.clear();
}

void GroupCoordinator::replay(int32_t partition, const ReplayedRecord& record) {
  if (record.producer_id >= 0) {
    // An offset of an open transaction: it waits for the producer's marker.
    OffsetsTopicRecord held;
    held.key.assign(record.key.begin(), record.key.end());
    if (record.value) held.value = protocol::Bytes(record.value->begin(), record.value->end());
    pending_txn_[record.producer_id][partition].push_back(std::move(held));
    return;
  }
  auto k = decode_offsets_topic_key(record.key);
  if (!k) {
    ++skipped_records_;
    return;
  }
  if (auto* other = std::get_if<OtherKey>(&*k);
      other && is_consumer_group_record_type(other->version)) {
    auto key = decode_consumer_group_key(record.key);
    if (!key || !consumer_groups_.replay(*key, record.value)) ++skipped_records_;
    return;
  }
  if (auto* gk = std::get_if<GroupMetadataKey>(&*k)) {
    // At run time the group in memory wrote this record; only loading builds groups from it
    // (the latest record of each group, at finish_load).
    if (partition < 0 || static_cast<size_t>(partition) >= load_state_.size() ||
        load_state_[static_cast<size_t>(partition)] != LoadState::Loading)
      return;
    if (!record.value) {
      loading_groups_[gk->group] = std::nullopt;
      return;
    }
    auto v = decode_group_metadata_value(*record.value);
    if (!v) {
      ++skipped_records_;
      return;
    }
    loading_groups_[gk->group] = std::move(*v);
    return;
  }
  if (offsets_.replay(record.key, record.value) != ErrorCode::NONE) ++skipped_records_;
}

void GroupCoordinator::finish_load(int32_t partition) {
  if (partition < 0 || static_cast<size_t>(partition) >= load_state_.size()) return;
  for (auto& [id, value] : loading_groups_) {
    if (!value) continue;
    Entry e;
    e.group = ClassicGroup::restore(id, *value, config_.group, clock_, member_ids_);
    e.stored_version = e.group->store_version();
    e.logged_state = e.group->state();
    e.logged_generation = e.group->generation_id();
    groups_[id] = std::move(e);
    refresh_deadline(id);  // restored members' sessions run from now
  }
  loading_groups_.clear();
  consumer_groups_.finish_load(partition);
  // Groups that only commit offsets have no metadata record; they exist as Empty groups
  // (unless they are consumer groups).
  for (const auto& id : offsets_.groups()) {
    if (partition_for(id) != partition || groups_.count(id) || consumer_groups_.group(id)) continue;
    Entry e;
    e.group = std::make_unique<ClassicGroup>(id, config_.group, clock_, member_ids_);
    e.stored_version = e.group->store_version();
    groups_[id] = std::move(e);
  }
  load_state_[static_cast<size_t>(partition)] = LoadState::Loaded;
}

void GroupCoordinator::mark_all_loaded() {
  std::fill(load_state_.begin(), load_state_.end(), LoadState::Loaded);
}

bool GroupCoordinator::loaded(int32_t partition) const {
  return partition >= 0 && static_cast<size_t>(partition) < load_state_.size() &&
         load_state_[static_cast<size_t>(partition)] == LoadState::Loaded;
}

ErrorCode GroupCoordinator::check_group(std::string_view group_id, bool allow_empty) const {
  if (group_id.empty() && !allow_empty) return ErrorCode::INVALID_GROUP_ID;
  if (!loaded(partition_for(group_id))) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  return ErrorCode::NONE;
}

// ---------------------------------------------------------------------------------------------
// Groups and their records

GroupCoordinator::Entry& GroupCoordinator::get_or_create(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end()) return it->second;
  Entry e;
  e.group = std::make_unique<ClassicGroup>(group_id, config_.group, clock_, member_ids_);
  e.stored_version = e.group->store_version();
  const bool first = groups_.empty();
  Entry& out = groups_.emplace(group_id, std::move(e)).first->second;
  if (first && change_listener_) change_listener_();  // the offset expiry check is due now
  return out;
}

GroupCoordinator::Entry* GroupCoordinator::find(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

const GroupCoordinator::Entry* GroupCoordinator::find(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

const ClassicGroup* GroupCoordinator::group(const std::string& group_id) const {
  const Entry* e = find(group_id);
  return e ? e->group.get() : nullptr;
}

ErrorCode GroupCoordinator::write(const std::string& group_id,
                                  const std::vector<OffsetsTopicRecord>& records) {
  return map_append_error(append(group_id, records));
}

ErrorCode GroupCoordinator::append(const std::string& group_id,
                                   const std::vector<OffsetsTopicRecord>& records) {
  if (records.empty()) return ErrorCode::NONE;
  return log_.append(partition_for(group_id), records);
}

void GroupCoordinator::collect_ready(ClassicGroup& g) {
  auto r = g.take_ready_responses();
  if (r.joins.empty() && r.syncs.empty()) return;
  for (auto& j : r.joins) ready_.joins.push_back(std::move(j));
  for (auto& s : r.syncs) ready_.syncs.push_back(std::move(s));
  if (change_listener_) change_listener_();
}

void GroupCoordinator::refresh_deadline(const std::string& group_id) {
  Entry* e = find(group_id);
  if (!e) return;
  std::optional<int64_t> next = e->group->next_deadline_ms();
  if (next == e->deadline) return;
  if (e->deadline) deadlines_.erase({*e->deadline, group_id});
  e->deadline = next;
  if (next) deadlines_.emplace(*next, group_id);
  if (change_listener_) change_listener_();
}

void GroupCoordinator::erase_group(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  if (it->second.deadline) deadlines_.erase({*it->second.deadline, group_id});
  groups_.erase(it);
}

void GroupCoordinator::after_change(const std::string& group_id) {
  Entry* e = find(group_id);
  if (!e) return;
  refresh_deadline(group_id);
  collect_ready(*e->group);
  const ClassicGroup& g = *e->group;
  if (event_log_ && (g.state() != e->logged_state || g.generation_id() != e->logged_generation)) {
    std::string line = "group " + group_id + ": " + std::string(state_name(g.state())) +
                       ", generation " + std::to_string(g.generation_id()) + ", " +
                       std::to_string(g.size()) + (g.size() == 1 ? " member" : " members");
    if (g.state() == GroupState::Stable || g.state() == GroupState::CompletingRebalance)
      line += ", protocol " + g.protocol_name() + ", leader " + g.leader_id();
    event_log_(line);
  }
  e->logged_state = g.state();
  e->logged_generation = g.generation_id();
  if (e->group->store_version() == e->stored_version) return;
  e->stored_version = e->group->store_version();
  // The leader's assignment was stored by sync() before anyone was answered. What is stored
  // here (a group that became Empty, a static member replaced) answers no one: as in Kafka, a
  // failed write is logged, the previous record stays the truth and the next change writes.
  ErrorCode w = append(group_id, {{encode_group_metadata_key({group_id}),
                                   encode_group_metadata_value(e->group->snapshot())}});
  if (w != ErrorCode::NONE && event_log_)
    event_log_("group " + group_id + ": storing its metadata failed with " +
               std::string(protocol::error_name(w)));
}

ReadyResponses GroupCoordinator::take_ready_responses() { return std::exchange(ready_, {}); }

// ---------------------------------------------------------------------------------------------
// Membership

std::optional<JoinResponse> GroupCoordinator::join(const std::string& group_id,
                                                   const JoinRequest& req) {
  if (mixed_group(group_id)) {
    // A classic member of a consumer group (the online migration): the session timeout is
    // checked as for any JoinGroup.
    if (req.session_timeout_ms < config_.group.min_session_timeout_ms ||
        req.session_timeout_ms > config_.group.max_session_timeout_ms) {
      JoinResponse r;
      r.error = ErrorCode::INVALID_SESSION_TIMEOUT;
      r.member_id = req.member_id;
      return r;
    }
    JoinResponse r = consumer_groups_.classic_join(group_id, req);
    after_consumer_group_change();
    return r;
  }
  if (ErrorCode y = yield_consumer_group(group_id); y != ErrorCode::NONE) {
    JoinResponse r;
    r.error = y;
    r.member_id = req.member_id;
    return r;
  }
  Entry* e = find(group_id);
  bool created = false;
  if (!e || e->group->state() == GroupState::Dead) {
    if (!req.member_id.empty()) {
      JoinResponse r;
      r.error = ErrorCode::UNKNOWN_MEMBER_ID;
      r.member_id = req.member_id;
      return r;
    }
    if (e) erase_group(group_id);
    e = &get_or_create(group_id);
    created = true;
  }
  auto out = e->group->join(req);
  // A first join refused for its session timeout leaves no group behind, as in Kafka (which
  // checks the timeout before it creates the group; other refusals leave an Empty group).
  if (created && out && out->error == ErrorCode::INVALID_SESSION_TIMEOUT) {
    erase_group(group_id);
    return out;
  }
  after_change(group_id);
  return out;
}

std::optional<SyncResponse> GroupCoordinator::sync(const std::string& group_id,
                                                   const SyncRequest& req) {
  if (consumer_groups_.group(group_id)) {
    SyncResponse r = consumer_groups_.classic_sync(group_id, req);
    after_consumer_group_change();
    return r;
  }
  Entry* e = find(group_id);
  if (!e) {
    SyncResponse r;
    r.error = ErrorCode::UNKNOWN_MEMBER_ID;
    return r;
  }
  auto out = e->group->sync(req, [&](const GroupMetadataValue& v) {
    ErrorCode appended =
        append(group_id, {{encode_group_metadata_key({group_id}), encode_group_metadata_value(v)}});
    return coordinator_append_error(appended);
  });
  after_change(group_id);
  return out;
}

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, const HeartbeatRequest& req) {
  if (consumer_groups_.group(group_id)) {
    ErrorCode r = consumer_groups_.classic_heartbeat(group_id, req);
    after_consumer_group_change();
    return r;
  }
  Entry* e = find(group_id);
  if (!e) return ErrorCode::UNKNOWN_MEMBER_ID;
  auto out = e->group->heartbeat(req);
  after_change(group_id);
  return out;
}

LeaveResult GroupCoordinator::leave(const std::string& group_id,
                                    const std::vector<LeaveMember>& members) {
  if (consumer_groups_.group(group_id)) {
    LeaveResult r = consumer_groups_.classic_leave(group_id, members);
    after_consumer_group_change();
    return r;
  }
  Entry* e = find(group_id);
  if (!e) {
    LeaveResult r;
    r.member_errors.assign(members.size(), ErrorCode::UNKNOWN_MEMBER_ID);
    return r;
  }
  auto out = e->group->leave(members);
  after_change(group_id);
  return out;
}

void GroupCoordinator::tick() {
  const int64_t now = clock_.now_ms();
  if (auto next = consumer_groups_.next_deadline_ms(); next && *next <= now) {
    consumer_groups_.tick();
    after_consumer_group_change();
  }
  std::vector<std::string> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (const auto& id : due) {
    Entry* e = find(id);
    if (!e) continue;
    e->group->tick();
    after_change(id);
  }
  if (!groups_.empty() && now >= next_retention_check_ms_) {
    next_retention_check_ms_ = now + config_.offsets_retention_check_interval_ms;
    const size_t expired = expire_offsets();
    if (expired && event_log_)
      event_log_("expired " + std::to_string(expired) + " committed offsets");
  }
}

std::optional<int64_t> GroupCoordinator::next_deadline_ms() const {
  std::optional<int64_t> next = consumer_groups_.next_deadline_ms();
  if (!deadlines_.empty() && (!next || deadlines_.begin()->first < *next))
    next = deadlines_.begin()->first;
  // Offsets expire only in groups; with none, there is nothing to check.
  if (!groups_.empty() && (!next || next_retention_check_ms_ < *next))
    next = next_retention_check_ms_;
  return next;
}

// ---------------------------------------------------------------------------------------------
// Offsets

std::vector<ErrorCode> GroupCoordinator::commit_offsets(
    const std::string& group_id, const std::string& member_id, int32_t generation_id,
    const std::optional<std::string>& group_instance_id,
    const std::vector<OffsetCommitPartition>& partitions) {
  std::vector<ErrorCode> errors(partitions.size(), ErrorCode::NONE);
  if (const ConsumerGroup* cg = consumer_groups_.group(group_id)) {
    // A consumer group: the member epoch stands where a classic group has its generation.
    ErrorCode v = cg->validate_offset_commit(member_id, generation_id);
    if (v != ErrorCode::NONE) {
      std::fill(errors.begin(), errors.end(), v);
      return errors;
    }
    write_commits(group_id, partitions, errors);
    return errors;
  }
  Entry* e = find(group_id);
  if (!e || e->group->state() == GroupState::Dead) {
    if (generation_id >= 0) {
      // Not a standalone commit, and no such group: a member of a generation that is gone.
      std::fill(errors.begin(), errors.end(), ErrorCode::ILLEGAL_GENERATION);
      return errors;
    }
    if (e) erase_group(group_id);
    e = &get_or_create(group_id);
  }
  ErrorCode v = e->group->validate_offset_commit(member_id, generation_id, group_instance_id);
  if (v != ErrorCode::NONE) {
    std::fill(errors.begin(), errors.end(), v);
    return errors;
  }
  e->group->touch(member_id);
  write_commits(group_id, partitions, errors);
  after_change(group_id);  // the commit moved the member's session deadline
  return errors;
}

void GroupCoordinator::write_commits(const std::string& group_id,
                                     const std::vector<OffsetCommitPartition>& partitions,
                                     std::vector<ErrorCode>& errors) {
  const int64_t now = clock_.now_ms();
  std::vector<OffsetsTopicRecord> records;
  std::vector<size_t> written;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const auto& p = partitions[i];
    const int64_t expire = p.retention_ms >= 0 ? now + p.retention_ms : -1;
    auto prepared = offsets_.prepare_commit(group_id, p.topic, p.partition, p.offset,
                                            p.leader_epoch, p.metadata, now, expire);
    if (prepared.error != ErrorCode::NONE) {
      errors[i] = prepared.error;
      continue;
    }
    for (auto& r : prepared.records) records.push_back(std::move(r));
    written.push_back(i);
  }
  ErrorCode w = write(group_id, records);
  if (w != ErrorCode::NONE)
    for (size_t i : written) errors[i] = w;
}

std::vector<ErrorCode> GroupCoordinator::commit_txn_offsets(
    const std::string& group_id, int64_t producer_id, int16_t producer_epoch,
    const std::string& member_id, int32_t generation_id,
    const std::optional<std::string>& group_instance_id,
    const std::vector<OffsetCommitPartition>& partitions) {
  std::vector<ErrorCode> errors(partitions.size(), ErrorCode::NONE);
  Entry* e = find(group_id);
  const ConsumerGroup* consumer_group = consumer_groups_.group(group_id);
  if (consumer_group) {
    // The member epoch stands where a classic group has its generation.
    if (!member_id.empty() || generation_id >= 0 || group_instance_id) {
      ErrorCode v = consumer_group->validate_offset_commit(member_id, generation_id);
      if (v != ErrorCode::NONE) {
        std::fill(errors.begin(), errors.end(), v);
        return errors;
      }
    }
  } else if (e && e->group->state() != GroupState::Dead) {
    // Kafka checks the member only when the request names one (TxnOffsetCommit v3+ from a
    // group member); older producers send no member, and their commits are accepted.
    if (!member_id.empty() || generation_id >= 0 || group_instance_id) {
      ErrorCode v = e->group->validate_offset_commit(member_id, generation_id, group_instance_id);
      if (v != ErrorCode::NONE) {
        std::fill(errors.begin(), errors.end(), v);
        return errors;
      }
    }
  } else if (generation_id >= 0) {
    std::fill(errors.begin(), errors.end(), ErrorCode::ILLEGAL_GENERATION);
    return errors;
  }
  const int64_t now = clock_.now_ms();
  std::vector<OffsetsTopicRecord> records;
  std::vector<size_t> written;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const auto& p = partitions[i];
    auto prepared = offsets_.prepare_commit(group_id, p.topic, p.partition, p.offset,
                                            p.leader_epoch, p.metadata, now);
    if (prepared.error != ErrorCode::NONE) {
      errors[i] = prepared.error;
      continue;
    }
    for (auto& r : prepared.records) records.push_back(std::move(r));
    written.push_back(i);
  }
  if (records.empty()) return errors;
  const int32_t partition = partition_for(group_id);
  // Their replay holds them pending until the producer's marker.
  ErrorCode w = log_.append(partition, records, ProducerRef{producer_id, producer_epoch});
  if (w != ErrorCode::NONE) {
    w = map_append_error(w);
    for (size_t i : written) errors[i] = w;
    return errors;
  }
  if (!consumer_group && (!e || e->group->state() == GroupState::Dead)) {
    if (e) erase_group(group_id);
    get_or_create(group_id);
  }
  return errors;
}

void GroupCoordinator::replay_marker(int32_t partition, int64_t producer_id, bool commit) {
  auto it = pending_txn_.find(producer_id);
  if (it == pending_txn_.end()) return;
  auto pit = it->second.find(partition);
  if (pit != it->second.end()) {
    if (commit) {
      for (const auto& r : pit->second) {
        std::optional<std::span<const uint8_t>> value;
        if (r.value) value = std::span<const uint8_t>(*r.value);
        if (offsets_.replay(r.key, value) != ErrorCode::NONE) ++skipped_records_;
      }
    }
    it->second.erase(pit);
  }
  if (it->second.empty()) pending_txn_.erase(it);
}

bool GroupCoordinator::has_pending_offset(std::string_view group_id, std::string_view topic,
                                          int32_t partition) const {
  const int32_t p = partition_for(group_id);
  for (const auto& [producer, by_partition] : pending_txn_) {
    auto it = by_partition.find(p);
    if (it == by_partition.end()) continue;
    for (const auto& r : it->second) {
      auto k = decode_offsets_topic_key(r.key);
      if (!k) continue;
      if (auto* ok = std::get_if<OffsetCommitKey>(&*k))
        if (ok->group == group_id && ok->topic == topic && ok->partition == partition) return true;
    }
  }
  return false;
}

std::optional<CommittedOffset> GroupCoordinator::fetch_offset(std::string_view group_id,
                                                              std::string_view topic,
                                                              int32_t partition) const {
  return offsets_.fetch(group_id, topic, partition);
}

std::vector<TopicPartitionOffset> GroupCoordinator::fetch_offsets(std::string_view group_id) const {
  return offsets_.fetch_all(group_id);
}

size_t GroupCoordinator::expire_offsets() {
  const int64_t now = clock_.now_ms();
  // As Kafka: offsets of a group with members never expire; those of an Empty group that
  // had members count from when it became Empty; those of a group that only commits
  // (no protocol type) count from each commit.
  auto tombstones = offsets_.expire_from(
      now, config_.offsets_retention_ms, [&](std::string_view group) -> std::optional<int64_t> {
        if (auto* cg = consumer_groups_.group(group))
          return cg->members().empty() ? std::optional<int64_t>(-1) : std::nullopt;
        auto it = groups_.find(group);
        if (it == groups_.end()) return -1;
        const ClassicGroup& g = *it->second.group;
        if (g.state() != GroupState::Empty) return std::nullopt;
        if (g.protocol_type().empty()) return -1;
        return g.state_timestamp_ms();
      });
  // Each group's tombstones go to that group's partition.
  std::map<std::string, std::vector<OffsetsTopicRecord>> by_group;
  for (auto& t : tombstones) {
    auto g = group_of(t.key);
    if (g) by_group[*g].push_back(std::move(t));
  }
  size_t expired = 0;
  for (const auto& [group, records] : by_group) {
    if (!loaded(partition_for(group))) continue;
    if (write(group, records) == ErrorCode::NONE) expired += records.size();
  }
  // Empty groups with no offsets left are gone (Kafka: Empty -> Dead, metadata tombstone).
  std::vector<std::string> dead;
  for (const auto& [id, e] : groups_) {
    if (e.group->state() == GroupState::Empty && e.group->size() == 0 &&
        !offsets_.has_offsets(id) && loaded(partition_for(id)))
      dead.push_back(id);
  }
  for (const auto& id : dead) {
    if (write(id, {{encode_group_metadata_key({id}), std::nullopt}}) != ErrorCode::NONE) continue;
    groups_[id].group->mark_dead(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    collect_ready(*groups_[id].group);
    erase_group(id);
  }
  return expired;
}

// ---------------------------------------------------------------------------------------------
// Administration

GroupDescription GroupCoordinator::describe(const std::string& group_id) const {
  const Entry* e = find(group_id);
  if (!e) {
    GroupDescription d;
    d.group_id = group_id;
    d.state = std::string(state_name(GroupState::Dead));
    return d;
  }
  return e->group->describe();
}

std::vector<GroupListing> GroupCoordinator::list(const std::vector<std::string>& states) const {
  std::set<std::string> wanted;
  for (const auto& s : states) wanted.insert(lower(s));
  std::vector<GroupListing> out;
  for (const auto& [id, e] : groups_) {
    if (e.group->state() == GroupState::Dead) continue;
    std::string state(state_name(e.group->state()));
    if (!wanted.empty() && !wanted.count(lower(state))) continue;
    out.push_back({id, e.group->protocol_type(), state});
  }
  for (const auto& [id, g] : consumer_groups_.groups()) {
    if (!g.exists() || groups_.count(id)) continue;
    std::string state(to_string(g.state()));
    if (!wanted.empty() && !wanted.count(lower(state))) continue;
    out.push_back({id, "consumer", state, "consumer"});
  }
  return out;
}

ErrorCode GroupCoordinator::delete_group(const std::string& group_id) {
  if (consumer_groups_.group(group_id)) {
    auto records = offsets_.prepare_delete_group(group_id);
    ErrorCode d = consumer_groups_.delete_records(group_id, records);
    if (d != ErrorCode::NONE) return d;
    return write(group_id, records);
  }
  Entry* e = find(group_id);
  if (!e || e->group->state() == GroupState::Dead) return ErrorCode::GROUP_ID_NOT_FOUND;
  if (e->group->state() != GroupState::Empty) return ErrorCode::NON_EMPTY_GROUP;
  auto records = offsets_.prepare_delete_group(group_id);
  records.push_back({encode_group_metadata_key({group_id}), std::nullopt});
  ErrorCode w = write(group_id, records);
  if (w != ErrorCode::NONE) return w;
  e->group->mark_dead(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  collect_ready(*e->group);
  erase_group(group_id);
  return ErrorCode::NONE;
}

GroupCoordinator::OffsetDeleteResult GroupCoordinator::delete_offsets(
    const std::string& group_id, const std::vector<std::pair<std::string, int32_t>>& partitions) {
  OffsetDeleteResult out;
  out.partition_errors.assign(partitions.size(), ErrorCode::NONE);
  if (const ConsumerGroup* cg = consumer_groups_.group(group_id); cg && cg->exists()) {
    // A consumer group (KIP-848), in any state: the offsets of topics its members subscribe
    // to (by name, or matched by a subscribed regular expression) stay, as Kafka's
    // ConsumerGroup.isSubscribedToTopic decides.
    std::set<std::string, std::less<>> subscribed;
    for (const auto& [id, m] : cg->members()) {
      subscribed.insert(m.metadata.subscribed_topic_names.begin(),
                        m.metadata.subscribed_topic_names.end());
      if (m.metadata.subscribed_topic_regex) {
        auto it = cg->regexes().find(*m.metadata.subscribed_topic_regex);
        if (it != cg->regexes().end())
          subscribed.insert(it->second.topics.begin(), it->second.topics.end());
      }
    }
    return delete_unsubscribed_offsets(group_id, partitions, [&](const std::string& topic) {
      return subscribed.count(topic) > 0;
    });
  }
  Entry* e = find(group_id);
  if (!e || e->group->state() == GroupState::Dead) {
    out.error = ErrorCode::GROUP_ID_NOT_FOUND;
    out.partition_errors.clear();
    return out;
  }
  const ClassicGroup& g = *e->group;
  // Topics an active consumer group subscribes to keep their offsets.
  std::set<std::string> subscribed;
  bool subscribed_unknown = false;
  if (g.state() != GroupState::Empty) {
    if (g.protocol_type() != "consumer") {
      out.error = ErrorCode::NON_EMPTY_GROUP;
      out.partition_errors.clear();
      return out;
    }
    for (const auto& m : g.snapshot().members) {
      auto topics = subscribed_topics(m.subscription);
      if (!topics) {
        subscribed_unknown = true;
        continue;
      }
      subscribed.insert(topics->begin(), topics->end());
    }
  }
  const bool empty = g.state() == GroupState::Empty;
  return delete_unsubscribed_offsets(group_id, partitions, [&](const std::string& topic) {
    return !empty && (subscribed_unknown || subscribed.count(topic) > 0);
  });
}

GroupCoordinator::OffsetDeleteResult GroupCoordinator::delete_unsubscribed_offsets(
    const std::string& group_id, const std::vector<std::pair<std::string, int32_t>>& partitions,
    const std::function<bool(const std::string&)>& subscribed) {
  OffsetDeleteResult out;
  out.partition_errors.assign(partitions.size(), ErrorCode::NONE);
  std::vector<std::pair<std::string, int32_t>> deletable;
  std::vector<size_t> idx;
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (subscribed(partitions[i].first)) {
      out.partition_errors[i] = ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC;
      continue;
    }
    deletable.push_back(partitions[i]);
    idx.push_back(i);
  }
  ErrorCode w = write(group_id, offsets_.prepare_delete_offsets(group_id, deletable));
  if (w != ErrorCode::NONE)
    for (size_t i : idx) out.partition_errors[i] = w;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Consumer groups

protocol::ConsumerGroupHeartbeatResponse GroupCoordinator::consumer_group_heartbeat(
    const protocol::ConsumerGroupHeartbeatRequest& request, const HeartbeatContext& context,
    const TopicsImage& topics) {
  std::vector<OffsetsTopicRecord> extra;
  bool replaces_classic = false;
  std::optional<ClassicGroupUpgrade> upgrade;
  if (Entry* e = find(request.group_id); e && e->group->state() != GroupState::Dead) {
    if (request.member_epoch != kJoinGroupMemberEpoch) {
      protocol::ConsumerGroupHeartbeatResponse r;
      r.error_code = ErrorCode::GROUP_ID_NOT_FOUND;
      r.error_message = "Group " + request.group_id + " is not a consumer group.";
      return r;
    }
    // An empty classic group is replaced; one with members converts (the online upgrade).
    if (e->group->state() != GroupState::Empty) {
      upgrade.emplace();
      upgrade->snapshot = e->group->snapshot();
      for (const auto& m : upgrade->snapshot.members)
        for (const auto& p : e->group->protocols_of(m.member_id))
          upgrade->protocols[m.member_id].push_back({p.name, p.metadata});
    }
    extra.push_back({encode_group_metadata_key({request.group_id}), std::nullopt});
    replaces_classic = true;
  }
  auto out =
      consumer_groups_.heartbeat(request, context, topics, extra, upgrade ? &*upgrade : nullptr);
  if (replaces_classic && out.error_code == ErrorCode::NONE) {
    Entry* e = find(request.group_id);
    // Its waiting JoinGroup and SyncGroup requests rejoin the consumer group.
    e->group->mark_dead(ErrorCode::REBALANCE_IN_PROGRESS);
    collect_ready(*e->group);
    erase_group(request.group_id);
    if (upgrade && event_log_)
      event_log_("group " + request.group_id + ": converted to the consumer protocol, " +
                 std::to_string(upgrade->snapshot.members.size()) + " classic members kept");
  }
  after_consumer_group_change();  // a member's timers moved; a leave may have downgraded
  return out;
}

const ConsumerGroup* GroupCoordinator::mixed_group(const std::string& group_id) const {
  const ConsumerGroup* g = consumer_groups_.group(group_id);
  return g && !g->members().empty() ? g : nullptr;
}

void GroupCoordinator::after_consumer_group_change() {
  for (auto& d : consumer_groups_.take_downgrades()) {
    // The GroupMetadata written with the consumer group's tombstones: the group restarts from
    // it and rebalances, so that every member rejoins with the classic protocol.
    erase_group(d.group_id);
    Entry e;
    e.group = ClassicGroup::restore(d.group_id, d.snapshot, config_.group, clock_, member_ids_);
    e.stored_version = e.group->store_version();
    e.group->rebalance();
    e.logged_state = e.group->state();
    e.logged_generation = e.group->generation_id();
    groups_[d.group_id] = std::move(e);
    if (event_log_)
      event_log_("group " + d.group_id + ": converted to the classic protocol, " +
                 std::to_string(d.snapshot.members.size()) + " members rejoin");
    after_change(d.group_id);
  }
  if (change_listener_) change_listener_();
}

ErrorCode GroupCoordinator::yield_consumer_group(const std::string& group_id) {
  if (!consumer_groups_.group(group_id)) return ErrorCode::NONE;
  std::vector<OffsetsTopicRecord> records;
  ErrorCode d = consumer_groups_.delete_records(group_id, records);
  if (d == ErrorCode::NON_EMPTY_GROUP) return ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
  if (d != ErrorCode::NONE) return d;
  return coordinator_append_error(append(group_id, records));
}

}  // namespace runnel::coordinator

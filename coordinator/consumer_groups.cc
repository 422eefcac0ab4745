#include "coordinator/consumer_groups.h"

#include <algorithm>
#include <utility>

#include "coordinator/append_errors.h"
#include "coordinator/consumer_group_change.h"
#include "coordinator/regular_expression.h"

namespace runnel::coordinator {

namespace {

using protocol::Bytes;
using protocol::ConsumerGroupHeartbeatRequest;
using protocol::ConsumerGroupHeartbeatResponse;
using protocol::ErrorCode;
using protocol::Uuid;
using Type = ConsumerGroupRecordType;
using namespace consumer_group_internal;

ConsumerGroupHeartbeatResponse error_response(ErrorCode e, std::string message = {}) {
  ConsumerGroupHeartbeatResponse r;
  r.error_code = e;
  if (!message.empty()) r.error_message = std::move(message);
  return r;
}

bool is_subset(const TopicPartitionSet& a, const TopicPartitionSet& b) {
  for (const auto& [topic, parts] : a) {
    if (parts.empty()) continue;
    auto it = b.find(topic);
    if (it == b.end()) return false;
    for (int32_t p : parts)
      if (!it->second.count(p)) return false;
  }
  return true;
}

TopicPartitionSet owned_from(const std::vector<ConsumerGroupHeartbeatRequest::TopicPartitions>& v) {
  TopicPartitionSet out;
  for (const auto& tp : v) {
    if (tp.partitions.empty()) continue;
    out[tp.topic_id].insert(tp.partitions.begin(), tp.partitions.end());
  }
  return out;
}

ConsumerGroupHeartbeatResponse::Assignment to_response(const TopicPartitionSet& set) {
  ConsumerGroupHeartbeatResponse::Assignment a;
  for (const auto& [topic, parts] : set) {
    if (parts.empty()) continue;
    ConsumerGroupHeartbeatResponse::TopicPartitions tp;
    tp.topic_id = topic;
    tp.partitions.assign(parts.begin(), parts.end());
    a.topic_partitions.push_back(std::move(tp));
  }
  return a;
}

// Kafka's checks of a heartbeat's fields; the message when one fails.
std::optional<std::string> invalid(const ConsumerGroupHeartbeatRequest& r, int16_t version) {
  if (r.group_id.empty()) return "GroupId can't be empty.";
  if (r.instance_id && r.instance_id->empty()) return "InstanceId can't be empty.";
  if (r.rack_id && r.rack_id->empty()) return "RackId can't be empty.";
  if (version >= 1 && r.member_id.empty()) return "MemberId can't be empty.";
  if (r.member_epoch == kJoinGroupMemberEpoch) {
    if (r.rebalance_timeout_ms == -1)
      return "RebalanceTimeoutMs must be provided in first request.";
    if (!r.topic_partitions || !r.topic_partitions->empty())
      return "TopicPartitions must be empty when (re-)joining.";
    if (!r.subscribed_topic_names && !r.subscribed_topic_regex)
      return "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.";
  } else if (r.member_epoch == kLeaveGroupStaticMemberEpoch) {
    if (!r.instance_id) return "InstanceId can't be null.";
  } else if (r.member_epoch < kLeaveGroupStaticMemberEpoch) {
    return "MemberEpoch is invalid.";
  } else if (r.member_id.empty()) {
    return "MemberId can't be empty.";
  }
  return std::nullopt;
}

// The assignor most members prefer (the first configured one on a tie or when none names one).
std::string preferred_assignor(const ConsumerGroup& g, const ConsumerGroupConfig& config) {
  std::map<std::string, size_t> votes;
  for (const auto& [id, m] : g.members())
    if (m.metadata.server_assignor) ++votes[*m.metadata.server_assignor];
  std::string best = config.assignors.empty() ? "uniform" : config.assignors.front();
  size_t best_votes = 0;
  for (const auto& name : config.assignors) {
    auto it = votes.find(name);
    if (it != votes.end() && it->second > best_votes) best = name, best_votes = it->second;
  }
  return best;
}

}  // namespace

namespace consumer_group_internal {

bool intersects(const TopicPartitionSet& a, const TopicPartitionSet& b) {
  for (const auto& [topic, parts] : a) {
    auto it = b.find(topic);
    if (it == b.end()) continue;
    for (int32_t p : parts)
      if (it->second.count(p)) return true;
  }
  return false;
}

std::set<std::string> member_topics(const ConsumerGroup& g, const ConsumerGroupMember& m) {
  std::set<std::string> out(m.metadata.subscribed_topic_names.begin(),
                            m.metadata.subscribed_topic_names.end());
  if (m.metadata.subscribed_topic_regex) {
    auto it = g.regexes().find(*m.metadata.subscribed_topic_regex);
    if (it != g.regexes().end()) out.insert(it->second.topics.begin(), it->second.topics.end());
  }
  return out;
}

int64_t metadata_hash(const ConsumerGroup& g, const TopicsImage& topics) {
  std::set<std::string> names;
  for (const auto& [id, m] : g.members()) {
    auto t = member_topics(g, m);
    names.insert(t.begin(), t.end());
  }
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  bool any = false;
  for (const auto& name : names) {
    const TopicsImage::Topic* t = topics.by_name(name);
    if (!t) continue;
    any = true;
    for (char c : name) mix(static_cast<uint8_t>(c));
    mix(0);
    for (uint8_t b : t->id.bytes) mix(b);
    for (int i = 0; i < 4; ++i)
      mix(static_cast<uint8_t>(static_cast<uint32_t>(t->partitions) >> (8 * i)));
  }
  return any ? static_cast<int64_t>(h) : 0;
}

ConsumerGroupMember reconcile(const ConsumerGroup& g, const ConsumerGroupMember& m,
                              const std::optional<TopicPartitionSet>& owned) {
  const int32_t target_epoch = g.assignment_epoch();
  if (m.state == MemberState::STABLE && m.member_epoch == target_epoch) return m;
  // It still owns some partitions it was asked to revoke (or did not say): no progress.
  auto owns_revoked = [&](const TopicPartitionSet& revoked) {
    return !owned || intersects(*owned, revoked);
  };
  if (m.state == MemberState::UNREVOKED_PARTITIONS && owns_revoked(m.partitions_pending_revocation))
    return m;
  const TopicPartitionSet& target = g.target(m.member_id);
  TopicPartitionSet assigned, revoke, add;
  bool unreleased = false;
  std::set<Uuid> topics;
  for (const auto& [t, p] : m.assigned_partitions) topics.insert(t);
  for (const auto& [t, p] : target) topics.insert(t);
  static const std::set<int32_t> kNone;
  for (const Uuid& topic : topics) {
    auto c = m.assigned_partitions.find(topic);
    auto t = target.find(topic);
    const auto& current = c == m.assigned_partitions.end() ? kNone : c->second;
    const auto& wanted = t == target.end() ? kNone : t->second;
    for (int32_t p : current) (wanted.count(p) ? assigned : revoke)[topic].insert(p);
    for (int32_t p : wanted) {
      if (current.count(p)) continue;
      const std::string* owner = g.owner(topic, p);
      if (!owner || *owner == m.member_id)
        add[topic].insert(p);
      else
        unreleased = true;
    }
  }
  ConsumerGroupMember next = m;
  auto set_epoch = [&](int32_t epoch) {
    if (epoch != m.member_epoch) next.previous_member_epoch = m.member_epoch;
    next.member_epoch = epoch;
  };
  if (!revoke.empty() && owns_revoked(revoke)) {
    // Revocation first: the member keeps its epoch until it acknowledges it.
    next.state = MemberState::UNREVOKED_PARTITIONS;
    set_epoch(m.member_epoch);
    next.assigned_partitions = std::move(assigned);
    next.partitions_pending_revocation = std::move(revoke);
    return next;
  }
  for (auto& [topic, parts] : add) assigned[topic].insert(parts.begin(), parts.end());
  next.state = unreleased ? MemberState::UNRELEASED_PARTITIONS : MemberState::STABLE;
  set_epoch(target_epoch);
  next.assigned_partitions = std::move(assigned);
  next.partitions_pending_revocation.clear();
  return next;
}

void compute_target(Change& c, const ConsumerGroupConfig& config, const TopicsImage& topics,
                    int64_t now) {
  const ConsumerGroup& g = c.group;
  AssignmentInput input;
  for (const auto& [id, m] : g.members()) {
    AssignmentMember am;
    am.instance_id = m.metadata.instance_id;
    am.rack_id = m.metadata.rack_id;
    for (const auto& name : member_topics(g, m)) {
      const TopicsImage::Topic* t = topics.by_name(name);
      if (!t || t->partitions <= 0) continue;
      am.subscribed_topic_ids.insert(t->id);
      input.topics[t->id] = {t->id, t->name, t->partitions};
    }
    am.current = g.target(id);
    input.members.emplace(id, std::move(am));
  }
  auto assignor = make_assignor(preferred_assignor(g, config));
  if (!assignor) assignor = std::make_unique<UniformAssignor>();
  const GroupAssignment result = assignor->assign(input);
  for (const auto& [id, parts] : result)
    if (!g.targets().count(id) || g.target(id) != parts) c.put_target(id, parts);
  c.emit(Type::TargetAssignmentMetadata, "",
         encode(ConsumerGroupTargetAssignmentMetadataValue{g.group_epoch(), now}));
}

}  // namespace consumer_group_internal

// ---------------------------------------------------------------------------------------------
// TopicsImage

void TopicsImage::add(std::string name, Uuid id, int32_t partitions) {
  by_id_[id] = name;
  by_name_[name] = Topic{id, name, partitions};
}

const TopicsImage::Topic* TopicsImage::by_name(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

const TopicsImage::Topic* TopicsImage::by_id(const Uuid& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : by_name(it->second);
}

// ---------------------------------------------------------------------------------------------
// ConsumerGroups

ConsumerGroups::ConsumerGroups(ConsumerGroupConfig config, const storage::Clock& clock,
                               CoordinatorLog& log, PartitionFor partition_for,
                               MemberIdGenerator member_ids)
    : config_(std::move(config)),
      clock_(clock),
      log_(log),
      partition_for_(std::move(partition_for)),
      member_ids_(std::move(member_ids)) {
  if (!member_ids_) member_ids_ = [] { return Uuid::random().to_string(); };
}

bool ConsumerGroups::replay(const ConsumerGroupKey& key,
                            std::optional<std::span<const uint8_t>> value) {
  auto it = groups_.find(key.group_id);
  if (it == groups_.end()) {
    if (!value) return true;  // a tombstone of something not known
    it = groups_.emplace(key.group_id, ConsumerGroup(key.group_id)).first;
  }
  const bool ok = it->second.replay(key, value);
  if (it->second.gone()) groups_.erase(it);
  return ok;
}

void ConsumerGroups::finish_load(int32_t partition) {
  const int64_t now = clock_.now_ms();
  for (const auto& [id, g] : groups_) {
    if (partition_for_(id) != partition) continue;
    for (const auto& [member, m] : g.members()) {
      const auto& classic = m.metadata.classic_member_metadata;
      arm(id, member, false,
          now + (classic ? classic->session_timeout_ms : config_.session_timeout_ms));
      if (m.state == MemberState::UNREVOKED_PARTITIONS)
        arm(id, member, true, now + std::max(m.metadata.rebalance_timeout_ms, 0));
      // A regex whose resolution was not written yet is resolved again.
      if (m.metadata.subscribed_topic_regex &&
          !g.regexes().count(*m.metadata.subscribed_topic_regex))
        pending_regexes_[{id, *m.metadata.subscribed_topic_regex}] = now;
    }
  }
}

std::string ConsumerGroups::assignor_name(const ConsumerGroup& group) const {
  return preferred_assignor(group, config_);
}

const ConsumerGroup* ConsumerGroups::group(std::string_view group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

ErrorCode ConsumerGroups::append(std::string_view group_id,
                                 const std::vector<CoordinatorRecord>& records) {
  if (records.empty()) return ErrorCode::NONE;
  return coordinator_append_error(log_.append(partition_for_(group_id), records));
}

ErrorCode ConsumerGroups::validate_offset_commit(std::string_view group_id,
                                                 std::string_view member_id,
                                                 int32_t member_epoch) const {
  const ConsumerGroup* g = group(group_id);
  if (!g) return ErrorCode::NONE;
  return g->validate_offset_commit(member_id, member_epoch);
}

ErrorCode ConsumerGroups::delete_records(std::string_view group_id,
                                         std::vector<CoordinatorRecord>& out) const {
  const ConsumerGroup* g = group(group_id);
  if (!g) return ErrorCode::GROUP_ID_NOT_FOUND;
  if (!g->members().empty()) return ErrorCode::NON_EMPTY_GROUP;
  Change c(g, g->group_id());
  for (const auto& [id, parts] : g->targets())
    c.emit(Type::TargetAssignmentMember, id, std::nullopt);
  c.emit(Type::TargetAssignmentMetadata, "", std::nullopt);
  c.sweep_regexes();
  c.emit(Type::GroupMetadata, "", std::nullopt);
  for (auto& r : c.records) out.push_back(std::move(r));
  return ErrorCode::NONE;
}

ConsumerGroupHeartbeatResponse ConsumerGroups::heartbeat(
    const ConsumerGroupHeartbeatRequest& req, const HeartbeatContext& context,
    const TopicsImage& topics, const std::vector<CoordinatorRecord>& extra,
    const ClassicGroupUpgrade* upgrade) {
  if (auto why = invalid(req, context.api_version))
    return error_response(ErrorCode::INVALID_REQUEST, *why);
  if (req.server_assignor && std::find(config_.assignors.begin(), config_.assignors.end(),
                                       *req.server_assignor) == config_.assignors.end())
    return error_response(ErrorCode::UNSUPPORTED_ASSIGNOR,
                          "ServerAssignor " + *req.server_assignor + " is not supported.");
  if (req.subscribed_topic_regex && !req.subscribed_topic_regex->empty() &&
      !RegularExpression::compile(*req.subscribed_topic_regex))
    return error_response(ErrorCode::INVALID_REGULAR_EXPRESSION,
                          "SubscribedTopicRegex " + *req.subscribed_topic_regex + " is invalid.");

  const int64_t now = clock_.now_ms();
  const ConsumerGroup* existing = group(req.group_id);
  const bool joining = req.member_epoch == kJoinGroupMemberEpoch;
  const bool leaving = req.member_epoch < 0;
  if ((!existing || !existing->exists()) && !joining)
    return error_response(ErrorCode::GROUP_ID_NOT_FOUND, "Group " + req.group_id + " not found.");
  Change c(existing, req.group_id);
  for (const auto& r : extra) c.records.push_back(r);
  const ConsumerGroup& g = c.group;
  if (upgrade) {
    if (auto why = convert_classic(c, *upgrade, topics))
      return error_response(ErrorCode::GROUP_ID_NOT_FOUND, *why);
  }

  // ---- Which member
  std::string member_id = req.member_id;
  std::optional<std::string> replaced;  // the static member this one replaces
  const ConsumerGroupMember* found = nullptr;
  if (req.instance_id) {
    found = g.static_member(*req.instance_id);
    if (joining) {
      // A member of the classic protocol is replaced at once (it cannot leave temporarily).
      if (found && found->member_epoch != kLeaveGroupStaticMemberEpoch &&
          !found->metadata.classic_member_metadata)
        return error_response(ErrorCode::UNRELEASED_INSTANCE_ID,
                              "Static member " + *req.instance_id + " has not left the group.");
    } else {
      if (!found)
        return error_response(ErrorCode::UNKNOWN_MEMBER_ID,
                              "Instance id " + *req.instance_id + " is unknown.");
      if (found->member_id != req.member_id)
        return error_response(ErrorCode::FENCED_INSTANCE_ID,
                              "Instance id " + *req.instance_id + " is used by another member.");
    }
  } else {
    found = g.member(req.member_id);
    if (!joining && !found)
      return error_response(ErrorCode::UNKNOWN_MEMBER_ID,
                            "Member " + req.member_id + " is not in group " + req.group_id + ".");
  }

  if (leaving) {
    ConsumerGroupHeartbeatResponse resp;
    resp.member_id = found->member_id;
    resp.member_epoch = req.member_epoch;
    if (req.member_epoch == kLeaveGroupStaticMemberEpoch) {
      // A static member leaving for a while keeps its partitions until its session expires.
      ConsumerGroupMember m = *found;
      m.previous_member_epoch = m.member_epoch;
      m.member_epoch = kLeaveGroupStaticMemberEpoch;
      c.put_current(m);
    } else {
      std::vector<std::string> all;
      for (const auto& [id, m] : g.members()) all.push_back(id);
      const std::set<std::string> gone{found->member_id};
      auto downgraded = remove_members(c, gone);
      const ErrorCode e = append(req.group_id, c.records);
      if (e != ErrorCode::NONE) return error_response(e);
      removed(req.group_id, gone, std::move(downgraded), all);
      return resp;
    }
    const ErrorCode e = append(req.group_id, c.records);
    if (e != ErrorCode::NONE) return error_response(e);
    disarm(req.group_id, found->member_id, true);
    arm(req.group_id, resp.member_id.value(), false, now + config_.session_timeout_ms);
    return resp;
  }

  bool bump = false;
  if (joining) {
    if (member_id.empty()) member_id = member_ids_();  // version 0: the coordinator names it
    if (req.instance_id && found) {
      // The static member comes back under a new member id: it takes over its old instance's
      // subscription and assignment, at epoch 0, without a rebalance of its own.
      replaced = found->member_id;
      const ConsumerGroupMember old = *found;
      const TopicPartitionSet old_target = g.target(old.member_id);
      c.remove_member(old.member_id);
      c.put_metadata(member_id, old.metadata);
      c.put_target(member_id, old_target);
      ConsumerGroupMember copy = old;
      copy.member_id = member_id;
      copy.member_epoch = 0;
      copy.previous_member_epoch = 0;
      c.put_current(copy);
    } else if (!found) {
      if (g.members().size() >= static_cast<size_t>(std::max(config_.max_size, 0)))
        return error_response(ErrorCode::GROUP_MAX_SIZE_REACHED,
                              "Group " + req.group_id + " has reached its maximum size.");
    } else if (!found->metadata.classic_member_metadata &&
               (found->member_epoch != 0 || !found->assigned_partitions.empty() ||
                !found->partitions_pending_revocation.empty())) {
      // (A member of the classic protocol switching to this one keeps its epoch and partitions.)
      // A known member joining again lost its state: it starts over with nothing.
      ConsumerGroupMember reset = *found;
      reset.member_epoch = 0;
      reset.previous_member_epoch = 0;
      reset.state = MemberState::STABLE;
      reset.assigned_partitions.clear();
      reset.partitions_pending_revocation.clear();
      c.put_current(reset);
    }
  } else {
    // Kafka's throwIfMemberEpochIsInvalid: the current epoch, or the previous one when the
    // answer that bumped it was lost and the member owns nothing it should not.
    if (req.member_epoch > found->member_epoch)
      return error_response(ErrorCode::FENCED_MEMBER_EPOCH,
                            "The member has a greater epoch than the coordinator.");
    if (req.member_epoch < found->member_epoch &&
        (req.member_epoch != found->previous_member_epoch || !req.topic_partitions ||
         !is_subset(owned_from(*req.topic_partitions), found->assigned_partitions)))
      return error_response(ErrorCode::FENCED_MEMBER_EPOCH,
                            "The member has a smaller epoch than the coordinator.");
  }

  // ---- The member's metadata and subscription
  const ConsumerGroupMember* cur = g.member(member_id);
  ConsumerGroupMemberMetadataValue md = cur ? cur->metadata : ConsumerGroupMemberMetadataValue{};
  if (req.instance_id) md.instance_id = req.instance_id;
  if (req.rack_id) md.rack_id = req.rack_id;
  md.classic_member_metadata.reset();  // it speaks the consumer protocol now
  md.client_id = context.client_id;
  md.client_host = context.client_host;
  if (req.subscribed_topic_names) {
    md.subscribed_topic_names = *req.subscribed_topic_names;
    std::sort(md.subscribed_topic_names.begin(), md.subscribed_topic_names.end());
    md.subscribed_topic_names.erase(
        std::unique(md.subscribed_topic_names.begin(), md.subscribed_topic_names.end()),
        md.subscribed_topic_names.end());
  }
  if (req.subscribed_topic_regex) {
    if (req.subscribed_topic_regex->empty())
      md.subscribed_topic_regex.reset();
    else
      md.subscribed_topic_regex = req.subscribed_topic_regex;
  }
  if (req.rebalance_timeout_ms != -1) md.rebalance_timeout_ms = req.rebalance_timeout_ms;
  if (req.server_assignor) md.server_assignor = req.server_assignor;
  if (!cur || md.subscribed_topic_names != cur->metadata.subscribed_topic_names ||
      md.subscribed_topic_regex != cur->metadata.subscribed_topic_regex)
    bump = true;
  if (!cur || md != cur->metadata) c.put_metadata(member_id, md);
  bool resolve_later = false;
  if (md.subscribed_topic_regex) {
    auto it = g.regexes().find(*md.subscribed_topic_regex);
    if (it == g.regexes().end()) {
      // A regex new to the group is resolved after this heartbeat, as Kafka resolves it off
      // the request path: the member gets the topics it names first, and those the regex
      // matches once the resolution has bumped the group epoch (resolve_regexes()).
      resolve_later = true;
    } else if (auto matched = match_topics(*md.subscribed_topic_regex, topics);
               it->second.topics != matched) {
      c.emit(Type::RegularExpression, *md.subscribed_topic_regex,
             encode(ConsumerGroupRegularExpressionValue{std::move(matched), it->second.version + 1,
                                                        now}));
    }
  }
  c.sweep_regexes();
  const int64_t hash = metadata_hash(g, topics);
  if (hash != g.metadata_hash() || !g.exists()) bump = true;
  if (bump) c.bump_epoch(hash);

  // ---- The target assignment, and the member's next step towards it
  if (g.group_epoch() > g.assignment_epoch()) compute_target(c, config_, topics, now);
  const ConsumerGroupMember before = *g.member(member_id);
  std::optional<TopicPartitionSet> owned;
  if (req.topic_partitions) owned = owned_from(*req.topic_partitions);
  const ConsumerGroupMember next = reconcile(g, before, owned);
  if (next != before) c.put_current(next);

  const ErrorCode e = append(req.group_id, c.records);
  if (e != ErrorCode::NONE) return error_response(e);

  if (replaced) disarm(req.group_id, *replaced);
  if (resolve_later) pending_regexes_[{req.group_id, *md.subscribed_topic_regex}] = now;
  if (upgrade) {
    // The classic members keep their own session timeouts; nothing else of theirs is armed.
    const ConsumerGroup* converted = group(req.group_id);
    for (const auto& gm : upgrade->snapshot.members)
      if (converted && converted->member(gm.member_id) && gm.member_id != member_id)
        arm(req.group_id, gm.member_id, false, now + gm.session_timeout_ms);
  }
  arm(req.group_id, member_id, false, now + config_.session_timeout_ms);
  if (next.state != MemberState::UNREVOKED_PARTITIONS)
    disarm(req.group_id, member_id, true);
  else if (before.state != MemberState::UNREVOKED_PARTITIONS ||
           before.member_epoch != next.member_epoch)
    arm(req.group_id, member_id, true, now + std::max(next.metadata.rebalance_timeout_ms, 0));

  ConsumerGroupHeartbeatResponse resp;
  resp.member_id = member_id;
  resp.member_epoch = next.member_epoch;
  resp.heartbeat_interval_ms = config_.heartbeat_interval_ms;
  const bool full = req.rebalance_timeout_ms != -1 &&
                    (req.subscribed_topic_names || req.subscribed_topic_regex) &&
                    req.topic_partitions;
  if (joining || full || next.assigned_partitions != before.assigned_partitions)
    resp.assignment = to_response(next.assigned_partitions);
  return resp;
}

// ---------------------------------------------------------------------------------------------
// Timers

void ConsumerGroups::arm(const std::string& group, const std::string& member, bool rebalance,
                         int64_t deadline) {
  disarm(group, member, rebalance);
  TimerKey key{group, member};
  (rebalance ? rebalance_timers_ : session_timers_)[key] = Timer{deadline};
  deadlines_.insert({deadline, rebalance, std::move(key)});
}

void ConsumerGroups::disarm(const std::string& group, const std::string& member,
                            std::optional<bool> rebalance) {
  TimerKey key{group, member};
  for (bool kind : {false, true}) {
    if (rebalance && *rebalance != kind) continue;
    auto& timers = kind ? rebalance_timers_ : session_timers_;
    auto it = timers.find(key);
    if (it == timers.end()) continue;
    deadlines_.erase({it->second.deadline, kind, key});
    timers.erase(it);
  }
}

std::optional<int64_t> ConsumerGroups::next_deadline_ms() const {
  std::optional<int64_t> next;
  if (!deadlines_.empty()) next = std::get<0>(*deadlines_.begin());
  for (const auto& [key, due] : pending_regexes_)
    if (!next || due < *next) next = due;
  return next;
}

std::vector<std::string> ConsumerGroups::match_topics(const std::string& regex,
                                                      const TopicsImage& topics) {
  std::vector<std::string> matched;
  if (const auto re = RegularExpression::compile(regex))
    for (const auto& [name, t] : topics.topics())
      if (re->matches(name)) matched.push_back(name);
  return matched;
}

void ConsumerGroups::resolve_regexes() {
  const int64_t now = clock_.now_ms();
  std::map<std::string, std::vector<std::string>> due;
  for (auto it = pending_regexes_.begin(); it != pending_regexes_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    due[it->first.first].push_back(it->first.second);
    it = pending_regexes_.erase(it);
  }
  if (due.empty()) return;
  const TopicsImage image = topics();
  for (const auto& [group_id, regexes] : due) {
    const ConsumerGroup* g = group(group_id);
    if (!g) continue;
    Change c(g, group_id);
    for (const auto& regex : regexes) {
      const bool used = std::any_of(g->members().begin(), g->members().end(), [&](const auto& m) {
        return m.second.metadata.subscribed_topic_regex == regex;
      });
      if (!used || g->regexes().count(regex)) continue;  // left, or resolved meanwhile
      c.emit(Type::RegularExpression, regex,
             encode(ConsumerGroupRegularExpressionValue{match_topics(regex, image), 1, now}));
    }
    if (c.records.empty()) continue;
    // The subscribed topics changed: a new epoch asks for a new target.
    const int64_t hash = metadata_hash(c.group, image);
    if (hash != g->metadata_hash()) c.bump_epoch(hash);
    if (append(group_id, c.records) != ErrorCode::NONE)  // tried again a little later
      for (const auto& regex : regexes)
        pending_regexes_[{group_id, regex}] = now + config_.heartbeat_interval_ms;
  }
}

std::optional<int64_t> ConsumerGroups::session_deadline(std::string_view group_id,
                                                        std::string_view member_id) const {
  auto it = session_timers_.find({std::string(group_id), std::string(member_id)});
  if (it == session_timers_.end()) return std::nullopt;
  return it->second.deadline;
}

std::optional<int64_t> ConsumerGroups::rebalance_deadline(std::string_view group_id,
                                                          std::string_view member_id) const {
  auto it = rebalance_timers_.find({std::string(group_id), std::string(member_id)});
  if (it == rebalance_timers_.end()) return std::nullopt;
  return it->second.deadline;
}

void ConsumerGroups::tick() {
  resolve_regexes();
  const int64_t now = clock_.now_ms();
  std::vector<TimerKey> due;
  for (const auto& [deadline, rebalance, key] : deadlines_) {
    if (deadline > now) break;
    due.push_back(key);
  }
  for (const auto& [group, member] : due) fence(group, member);
}

void ConsumerGroups::fence(const std::string& group_id, const std::string& member_id) {
  const ConsumerGroup* g = group(group_id);
  if (!g || !g->member(member_id)) {
    disarm(group_id, member_id);
    return;
  }
  std::vector<std::string> all;
  for (const auto& [id, m] : g->members()) all.push_back(id);
  Change c(g, group_id);
  const std::set<std::string> fenced{member_id};
  auto downgraded = remove_members(c, fenced);
  if (append(group_id, c.records) != ErrorCode::NONE) {
    // Not written: the member stays, and the coordinator tries again a little later.
    arm(group_id, member_id, false, clock_.now_ms() + config_.heartbeat_interval_ms);
    disarm(group_id, member_id, true);
    return;
  }
  removed(group_id, fenced, std::move(downgraded), all);
}

}  // namespace runnel::coordinator

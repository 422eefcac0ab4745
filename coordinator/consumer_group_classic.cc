// The online migration between the classic and the consumer group protocol (KIP-848), as
// Kafka 4 does it:
//
//   upgrade    a ConsumerGroupHeartbeat that joins a classic group with members converts it: each
//              classic member becomes a member of the consumer group at the classic generation,
//              keeping its assignment (convert_classic), and the joining member then takes its
//              share as in any consumer group;
//   classic    members that still speak JoinGroup/SyncGroup/Heartbeat/LeaveGroup stay members of
//              members  the consumer group (classic_join and the rest): the coordinator computes
//              their assignment like everyone's and tells them to rejoin whenever it moved;
//   downgrade  when the last member of the consumer protocol leaves (or is fenced) and the rest
//              speak the classic protocol, the group is written as a classic group with every
//              member's target assignment, which then rebalances (remove_members).
//
// group.consumer.migration.policy decides whether a group with members converts; an empty
// group converts either way (group_coordinator.cc).
#include <algorithm>
#include <cctype>

#include "coordinator/append_errors.h"
#include "coordinator/consumer_group_change.h"
#include "coordinator/consumer_groups.h"
#include "coordinator/consumer_protocol.h"
#include "coordinator/offsets_records.h"

namespace runnel::coordinator {

using namespace consumer_group_internal;
using protocol::ErrorCode;
using protocol::Uuid;

namespace {

constexpr const char* kConsumerProtocolType = "consumer";

bool is_classic(const ConsumerGroupMember& m) {
  return m.metadata.classic_member_metadata.has_value();
}

TopicPartitionSet to_ids(const NamedPartitions& named, const TopicsImage& topics) {
  TopicPartitionSet out;
  for (const auto& [name, parts] : named) {
    const TopicsImage::Topic* t = topics.by_name(name);
    if (!t || parts.empty()) continue;  // a topic deleted since: nothing of it is owned
    out[t->id].insert(parts.begin(), parts.end());
  }
  return out;
}

NamedPartitions to_names(const TopicPartitionSet& ids, const TopicsImage& topics) {
  NamedPartitions out;
  for (const auto& [id, parts] : ids) {
    const TopicsImage::Topic* t = topics.by_id(id);
    if (!t || parts.empty()) continue;
    out[t->name].insert(parts.begin(), parts.end());
  }
  return out;
}

// The version an assignment is written in for a member: that of the subscription it sent
// (its first two bytes), as Kafka answers, within the versions that exist.
int16_t assignment_version(const protocol::Bytes& subscription) {
  if (subscription.size() < 2) return 0;
  const int v = (subscription[0] << 8) | subscription[1];
  return static_cast<int16_t>(std::clamp(v, 0, 3));
}

const ConsumerGroupMember* find_member(const ConsumerGroup& g, const std::string& member_id,
                                       const std::optional<std::string>& instance_id,
                                       ErrorCode& error) {
  const ConsumerGroupMember* m = nullptr;
  if (instance_id) {
    m = g.static_member(*instance_id);
    if (!m) {
      error = ErrorCode::UNKNOWN_MEMBER_ID;
      return nullptr;
    }
    if (m->member_id != member_id) {
      error = ErrorCode::FENCED_INSTANCE_ID;
      return nullptr;
    }
  } else {
    m = g.member(member_id);
    if (!m) {
      error = ErrorCode::UNKNOWN_MEMBER_ID;
      return nullptr;
    }
  }
  error = ErrorCode::NONE;
  return m;
}

// Kafka's checks of a classic member's SyncGroup and Heartbeat: it is in the group, speaks the
// classic protocol, and its generation is its member epoch.
const ConsumerGroupMember* check_classic_member(const ConsumerGroup& g,
                                                const std::string& member_id,
                                                const std::optional<std::string>& instance_id,
                                                int32_t generation_id, ErrorCode& error) {
  const ConsumerGroupMember* m = find_member(g, member_id, instance_id, error);
  if (!m) return nullptr;
  if (!is_classic(*m)) {
    error = ErrorCode::UNKNOWN_MEMBER_ID;
    return nullptr;
  }
  if (generation_id != m->member_epoch) {
    error = ErrorCode::ILLEGAL_GENERATION;
    return nullptr;
  }
  return m;
}

// Whether the group's classic members can all speak one of `protocols` (any will do while
// there are none).
bool protocols_supported(const ConsumerGroup& g, const std::vector<Protocol>& protocols) {
  size_t classic = 0;
  std::map<std::string, size_t> listed;
  for (const auto& [id, m] : g.members()) {
    if (!is_classic(m)) continue;
    ++classic;
    std::set<std::string> names;
    for (const auto& p : m.metadata.classic_member_metadata->supported_protocols)
      names.insert(p.name);
    for (const auto& n : names) ++listed[n];
  }
  if (classic == 0) return true;
  return std::any_of(protocols.begin(), protocols.end(), [&](const Protocol& p) {
    auto it = listed.find(p.name);
    return it != listed.end() && it->second == classic;
  });
}

// The classic group's protocol, as a classic group chooses it: among the protocols every
// member supports, the one most members list first. Empty when there is none.
std::string select_protocol(const std::vector<const ConsumerGroupMember*>& members) {
  std::map<std::string, size_t> support;
  for (const auto* m : members) {
    std::set<std::string> names;
    for (const auto& p : m->metadata.classic_member_metadata->supported_protocols)
      names.insert(p.name);
    for (const auto& n : names) ++support[n];
  }
  std::map<std::string, size_t> votes;
  for (const auto* m : members)
    for (const auto& p : m->metadata.classic_member_metadata->supported_protocols)
      if (support[p.name] == members.size()) {
        ++votes[p.name];
        break;
      }
  std::string best;
  size_t best_votes = 0;
  for (const auto& [name, n] : votes)
    if (n > best_votes) best = name, best_votes = n;
  return best;
}

}  // namespace

bool parse_migration_policy(std::string_view value, ConsumerGroupConfig& config) {
  std::string v(value);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "bidirectional") {
    config.upgrade = config.downgrade = true;
  } else if (v == "upgrade") {
    config.upgrade = true, config.downgrade = false;
  } else if (v == "downgrade") {
    config.upgrade = false, config.downgrade = true;
  } else if (v == "disabled") {
    config.upgrade = config.downgrade = false;
  } else {
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Upgrade

std::optional<std::string> ConsumerGroups::convert_classic(Change& c,
                                                           const ClassicGroupUpgrade& upgrade,
                                                           const TopicsImage& topics) {
  const GroupMetadataValue& classic = upgrade.snapshot;
  const std::string why =
      "Cannot upgrade classic group " + c.group.group_id() + " to consumer group because ";
  if (!config_.upgrade) return why + "online upgrade is disabled.";
  if (classic.protocol_type != kConsumerProtocolType)
    return why + "the group does not use the consumer embedded protocol.";
  if (classic.members.size() > static_cast<size_t>(std::max(config_.max_size, 0)))
    return why + "the group size exceeds the consumer group maximum size.";
  struct Converted {
    ConsumerGroupMember member;
    TopicPartitionSet assigned;
  };
  std::vector<Converted> members;
  for (const GroupMetadataMember& gm : classic.members) {
    auto protocols_it = upgrade.protocols.find(gm.member_id);
    std::vector<ClassicMemberMetadata::Protocol> protocols;
    if (protocols_it != upgrade.protocols.end()) protocols = protocols_it->second;
    // The subscription of the group's protocol (a group that never completed a rebalance has
    // none chosen yet: the member's first).
    const protocol::Bytes* subscription = gm.subscription.empty() ? nullptr : &gm.subscription;
    if (!subscription && !protocols.empty()) subscription = &protocols.front().metadata;
    if (!subscription) return why + "the embedded consumer protocol is malformed.";
    auto sub = decode_consumer_subscription(*subscription);
    if (!sub) return why + "the embedded consumer protocol is malformed.";
    NamedPartitions assigned;
    if (!gm.assignment.empty()) {
      auto a = decode_consumer_assignment(gm.assignment);
      if (!a) return why + "the embedded consumer protocol is malformed.";
      if (a->user_data && !a->user_data->empty())
        return why +
               "an unsupported custom assignor is in use. Please refer to the documentation or "
               "switch to a default assignor before re-attempting the upgrade.";
      assigned = std::move(a->partitions);
    }
    Converted cv;
    ConsumerGroupMember& m = cv.member;
    m.member_id = gm.member_id;
    m.metadata.instance_id = gm.group_instance_id;
    m.metadata.rack_id = sub->rack_id;
    m.metadata.client_id = gm.client_id;
    m.metadata.client_host = gm.client_host;
    m.metadata.subscribed_topic_names = sub->topics;
    std::sort(m.metadata.subscribed_topic_names.begin(), m.metadata.subscribed_topic_names.end());
    m.metadata.subscribed_topic_names.erase(std::unique(m.metadata.subscribed_topic_names.begin(),
                                                        m.metadata.subscribed_topic_names.end()),
                                            m.metadata.subscribed_topic_names.end());
    m.metadata.rebalance_timeout_ms = gm.rebalance_timeout_ms;
    m.metadata.classic_member_metadata = ClassicMemberMetadata{gm.session_timeout_ms, protocols};
    m.member_epoch = m.previous_member_epoch = classic.generation;
    m.state = MemberState::STABLE;
    cv.assigned = to_ids(assigned, topics);
    m.assigned_partitions = cv.assigned;
    members.push_back(std::move(cv));
  }
  // Kafka's order: members, the group epoch, targets, the assignment epoch, current assignments.
  for (const auto& cv : members) c.put_metadata(cv.member.member_id, cv.member.metadata);
  c.emit(Type::GroupMetadata, "",
         encode(ConsumerGroupMetadataValue{classic.generation, metadata_hash(c.group, topics)}));
  for (const auto& cv : members) c.put_target(cv.member.member_id, cv.assigned);
  c.emit(Type::TargetAssignmentMetadata, "",
         encode(ConsumerGroupTargetAssignmentMetadataValue{classic.generation, 0}));
  for (const auto& cv : members) c.put_current(cv.member);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Removing members, and the downgrade

std::optional<GroupMetadataValue> ConsumerGroups::remove_members(
    Change& c, const std::set<std::string>& members) {
  const ConsumerGroup& g = c.group;
  std::vector<const ConsumerGroupMember*> rest;
  bool all_classic = true;
  for (const auto& [id, m] : g.members()) {
    if (members.count(id)) continue;
    rest.push_back(&m);
    all_classic = all_classic && is_classic(m);
  }
  std::string protocol_name;
  if (config_.downgrade && !rest.empty() && all_classic &&
      rest.size() <= static_cast<size_t>(std::max(config_.classic_max_size, 0)))
    protocol_name = select_protocol(rest);
  if (protocol_name.empty()) {
    for (const auto& id : members) c.remove_member(id);
    c.sweep_regexes();
    c.bump_epoch(g.metadata_hash());
    return std::nullopt;
  }

  // The classic group: the generation is the group epoch, each member takes its target.
  const TopicsImage image = topics();
  GroupMetadataValue v;
  v.protocol_type = kConsumerProtocolType;
  v.generation = g.group_epoch();
  v.protocol = protocol_name;
  v.leader = rest.front()->member_id;
  v.current_state_timestamp = clock_.now_ms();
  for (const auto* m : rest) {
    const ClassicMemberMetadata& cm = *m->metadata.classic_member_metadata;
    GroupMetadataMember gm;
    gm.member_id = m->member_id;
    gm.group_instance_id = m->metadata.instance_id;
    gm.client_id = m->metadata.client_id;
    gm.client_host = m->metadata.client_host;
    gm.rebalance_timeout_ms = m->metadata.rebalance_timeout_ms;
    gm.session_timeout_ms = cm.session_timeout_ms;
    for (const auto& p : cm.supported_protocols)
      if (p.name == protocol_name) gm.subscription = p.metadata;
    ConsumerProtocolAssignment a;
    a.partitions = to_names(g.target(m->member_id), image);
    gm.assignment = encode_consumer_assignment(a, assignment_version(gm.subscription));
    v.members.push_back(std::move(gm));
  }
  // Every record of the consumer group goes, in Kafka's order; then the classic group.
  std::vector<std::string> all;
  for (const auto& [id, m] : g.members()) all.push_back(id);
  std::vector<std::string> targets;
  for (const auto& [id, parts] : g.targets()) targets.push_back(id);
  std::vector<std::string> regexes;
  for (const auto& [regex, r] : g.regexes()) regexes.push_back(regex);
  for (const auto& id : all) c.emit(Type::CurrentMemberAssignment, id, std::nullopt);
  for (const auto& id : targets) c.emit(Type::TargetAssignmentMember, id, std::nullopt);
  c.emit(Type::TargetAssignmentMetadata, "", std::nullopt);
  for (const auto& id : all) c.emit(Type::MemberMetadata, id, std::nullopt);
  for (const auto& regex : regexes) c.emit(Type::RegularExpression, regex, std::nullopt);
  c.emit(Type::GroupMetadata, "", std::nullopt);
  c.records.push_back(
      {encode_group_metadata_key({c.group.group_id()}), encode_group_metadata_value(v)});
  return v;
}

void ConsumerGroups::removed(const std::string& group_id, const std::set<std::string>& members,
                             std::optional<GroupMetadataValue> downgraded,
                             const std::vector<std::string>& all_members) {
  if (!downgraded) {
    for (const auto& id : members) disarm(group_id, id);
    return;
  }
  for (const auto& id : all_members) disarm(group_id, id);
  downgrades_.push_back({group_id, std::move(*downgraded)});
}

// ---------------------------------------------------------------------------------------------
// Classic members

JoinResponse ConsumerGroups::classic_join(const std::string& group_id, const JoinRequest& req) {
  JoinResponse out;
  out.member_id = req.member_id;
  auto fail = [&](ErrorCode e) {
    out.error = e;
    return out;
  };
  const ConsumerGroup* existing = group(group_id);
  if (!existing) return fail(ErrorCode::UNKNOWN_MEMBER_ID);
  if (!config_.upgrade && !config_.downgrade) return fail(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  const int64_t now = clock_.now_ms();
  const std::string member_id = req.member_id.empty() ? member_ids_() : req.member_id;
  const bool known = existing->member(member_id) ||
                     (req.group_instance_id && existing->static_member(*req.group_instance_id));
  if (!known && existing->members().size() >= static_cast<size_t>(std::max(config_.max_size, 0)))
    return fail(ErrorCode::GROUP_MAX_SIZE_REACHED);
  if (req.protocol_type != kConsumerProtocolType || req.protocols.empty() ||
      !protocols_supported(*existing, req.protocols))
    return fail(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  if (req.member_id.empty() && !req.group_instance_id && req.require_known_member_id) {
    out.member_id = member_id;
    return fail(ErrorCode::MEMBER_ID_REQUIRED);
  }

  Change c(existing, group_id);
  const ConsumerGroup& g = c.group;
  std::optional<std::string> replaced;
  if (req.group_instance_id) {
    const ConsumerGroupMember* holder = g.static_member(*req.group_instance_id);
    if (!req.member_id.empty()) {
      if (!holder) return fail(ErrorCode::UNKNOWN_MEMBER_ID);
      if (holder->member_id != req.member_id) return fail(ErrorCode::FENCED_INSTANCE_ID);
    } else if (holder) {
      // The instance restarted under a new member id: it takes over the old one's assignment.
      replaced = holder->member_id;
      ConsumerGroupMember copy = *holder;
      const TopicPartitionSet target = g.target(copy.member_id);
      c.remove_member(copy.member_id);
      copy.member_id = member_id;
      copy.member_epoch = copy.previous_member_epoch = 0;
      c.put_metadata(member_id, copy.metadata);
      c.put_target(member_id, target);
      c.put_current(copy);
    }
  }
  // Every protocol carries the same subscription; Kafka reads the first.
  const auto sub = decode_consumer_subscription(req.protocols.front().metadata);
  if (!sub) return fail(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  const TopicsImage image = topics();

  const ConsumerGroupMember* cur = g.member(member_id);
  ConsumerGroupMemberMetadataValue md = cur ? cur->metadata : ConsumerGroupMemberMetadataValue{};
  md.instance_id = req.group_instance_id;
  if (sub->rack_id) md.rack_id = sub->rack_id;
  md.client_id = req.client_id;
  md.client_host = req.client_host;
  md.subscribed_topic_names = sub->topics;
  std::sort(md.subscribed_topic_names.begin(), md.subscribed_topic_names.end());
  md.subscribed_topic_names.erase(
      std::unique(md.subscribed_topic_names.begin(), md.subscribed_topic_names.end()),
      md.subscribed_topic_names.end());
  md.subscribed_topic_regex.reset();
  md.rebalance_timeout_ms = req.rebalance_timeout_ms;
  ClassicMemberMetadata cm{req.session_timeout_ms, {}};
  for (const auto& p : req.protocols) cm.supported_protocols.push_back({p.name, p.metadata});
  md.classic_member_metadata = std::move(cm);
  bool bump = !cur || md.subscribed_topic_names != cur->metadata.subscribed_topic_names ||
              md.subscribed_topic_regex != cur->metadata.subscribed_topic_regex;
  if (!cur || md != cur->metadata) c.put_metadata(member_id, md);
  c.sweep_regexes();
  const int64_t hash = metadata_hash(g, image);
  if (hash != g.metadata_hash()) bump = true;
  if (bump) c.bump_epoch(hash);
  if (g.group_epoch() > g.assignment_epoch()) compute_target(c, config_, image, now);
  // What it owns is what its subscription says (nothing for an eager member, which gave every
  // partition up before it rejoined).
  const ConsumerGroupMember before = *g.member(member_id);
  const ConsumerGroupMember next = reconcile(g, before, to_ids(sub->owned_partitions, image));
  if (next != before) c.put_current(next);

  const ErrorCode e = append(group_id, c.records);
  if (e != ErrorCode::NONE) return fail(e);
  if (replaced) disarm(group_id, *replaced);
  arm(group_id, member_id, false, now + req.session_timeout_ms);
  // It must sync within its rebalance timeout.
  arm(group_id, member_id, true, now + std::max(req.rebalance_timeout_ms, 0));

  out.error = ErrorCode::NONE;
  out.member_id = member_id;
  out.generation_id = next.member_epoch;
  out.protocol_type = kConsumerProtocolType;
  out.protocol_name = req.protocols.front().name;
  return out;
}

SyncResponse ConsumerGroups::classic_sync(const std::string& group_id, const SyncRequest& req) {
  SyncResponse out;
  const ConsumerGroup* g = group(group_id);
  if (!g || g->members().empty()) {
    out.error = ErrorCode::UNKNOWN_MEMBER_ID;
    return out;
  }
  const ConsumerGroupMember* m =
      check_classic_member(*g, req.member_id, req.group_instance_id, req.generation_id, out.error);
  if (!m) return out;
  const ClassicMemberMetadata& cm = *m->metadata.classic_member_metadata;
  const std::string first =
      cm.supported_protocols.empty() ? std::string() : cm.supported_protocols.front().name;
  if ((req.protocol_type && *req.protocol_type != kConsumerProtocolType) ||
      (req.protocol_name && *req.protocol_name != first)) {
    out.error = ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
    return out;
  }
  const int64_t now = clock_.now_ms();
  if (g->group_epoch() > m->member_epoch && m->state != MemberState::UNREVOKED_PARTITIONS) {
    // A newer epoch came while it joined: it rejoins (within its rebalance timeout).
    if (!rebalance_deadline(group_id, m->member_id))
      arm(group_id, m->member_id, true, now + std::max(m->metadata.rebalance_timeout_ms, 0));
    out.error = ErrorCode::REBALANCE_IN_PROGRESS;
    return out;
  }
  disarm(group_id, m->member_id, true);
  arm(group_id, m->member_id, false, now + cm.session_timeout_ms);
  out.protocol_type = kConsumerProtocolType;
  out.protocol_name = first;
  ConsumerProtocolAssignment a;
  a.partitions = to_names(m->assigned_partitions, topics());
  out.assignment = encode_consumer_assignment(
      a,
      assignment_version(cm.supported_protocols.empty() ? protocol::Bytes{}
                                                        : cm.supported_protocols.front().metadata));
  return out;
}

ErrorCode ConsumerGroups::classic_heartbeat(const std::string& group_id,
                                            const HeartbeatRequest& req) {
  const ConsumerGroup* g = group(group_id);
  if (!g) return ErrorCode::UNKNOWN_MEMBER_ID;
  ErrorCode error = ErrorCode::NONE;
  const ConsumerGroupMember* m =
      check_classic_member(*g, req.member_id, req.group_instance_id, req.generation_id, error);
  if (!m) return error;
  const int64_t now = clock_.now_ms();
  arm(group_id, m->member_id, false, now + m->metadata.classic_member_metadata->session_timeout_ms);
  // It rejoins when the group moved on, when it must give partitions up, or when a partition
  // it waits for became free.
  bool rejoin = m->member_epoch < g->group_epoch() || m->state == MemberState::UNREVOKED_PARTITIONS;
  if (!rejoin && m->state == MemberState::UNRELEASED_PARTITIONS) {
    for (const auto& [topic, parts] : g->target(m->member_id)) {
      auto owned = m->assigned_partitions.find(topic);
      for (int32_t p : parts)
        if ((owned == m->assigned_partitions.end() || !owned->second.count(p)) &&
            !g->owner(topic, p))
          rejoin = true;
    }
  }
  if (!rejoin) return ErrorCode::NONE;
  if (!rebalance_deadline(group_id, m->member_id))
    arm(group_id, m->member_id, true, now + std::max(m->metadata.rebalance_timeout_ms, 0));
  return ErrorCode::REBALANCE_IN_PROGRESS;
}

LeaveResult ConsumerGroups::classic_leave(const std::string& group_id,
                                          const std::vector<LeaveMember>& members) {
  LeaveResult out;
  out.member_errors.assign(members.size(), ErrorCode::NONE);
  const ConsumerGroup* g = group(group_id);
  if (!g) {
    out.member_errors.assign(members.size(), ErrorCode::UNKNOWN_MEMBER_ID);
    return out;
  }
  std::set<std::string> leaving;
  for (size_t i = 0; i < members.size(); ++i) {
    const LeaveMember& lm = members[i];
    const ConsumerGroupMember* m = nullptr;
    if (lm.group_instance_id) {
      m = g->static_member(*lm.group_instance_id);
      if (!m)
        out.member_errors[i] = ErrorCode::UNKNOWN_MEMBER_ID;
      else if (!lm.member_id.empty() && lm.member_id != m->member_id)
        out.member_errors[i] = ErrorCode::FENCED_INSTANCE_ID, m = nullptr;
    } else {
      m = g->member(lm.member_id);
      if (!m) out.member_errors[i] = ErrorCode::UNKNOWN_MEMBER_ID;
    }
    if (m) leaving.insert(m->member_id);
  }
  if (leaving.empty()) return out;
  std::vector<std::string> all;
  for (const auto& [id, m] : g->members()) all.push_back(id);
  Change c(g, group_id);
  auto downgraded = remove_members(c, leaving);
  const ErrorCode e = append(group_id, c.records);
  if (e != ErrorCode::NONE) {
    out.error = e;
    return out;
  }
  removed(group_id, leaving, std::move(downgraded), all);
  return out;
}

}  // namespace runnel::coordinator

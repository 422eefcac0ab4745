#include "coordinator/classic_group.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>

namespace runnel::coordinator {

namespace {

ClassicGroup::MemberIdGenerator random_member_ids() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng](const std::string& client_id) {
    uint64_t hi = (*rng)();
    uint64_t lo = (*rng)();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                  static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return client_id + "-" + buf;
  };
}

}  // namespace

const Bytes* ClassicGroup::Member::metadata(const std::string& protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

ClassicGroup::ClassicGroup(std::string group_id, GroupConfig config, const storage::Clock& clock,
                           MemberIdGenerator member_ids)
    : group_id_(std::move(group_id)),
      config_(config),
      clock_(clock),
      member_ids_(member_ids ? std::move(member_ids) : random_member_ids()) {}

void ClassicGroup::transition_to(GroupState to) {
  // A transition the table forbids is a bug in this file, never a consequence of input: refused
  // in every build (the request that caused it fails and is logged; Kafka throws too).
  if (!can_transition(state_, to))
    throw IllegalGroupTransition("group " + group_id_ + ": illegal transition from " +
                                 std::string(state_name(state_)) + " to " +
                                 std::string(state_name(to)));
  state_ = to;
  state_timestamp_ms_ = clock_.now_ms();
  if (to == GroupState::Empty || to == GroupState::Stable) ++store_version_;
}

std::string ClassicGroup::static_member_id(const std::string& group_instance_id) const {
  auto it = static_members_.find(group_instance_id);
  return it == static_members_.end() ? std::string() : it->second;
}

bool ClassicGroup::static_member_fenced(const std::string& member_id,
                                        const std::optional<std::string>& instance_id) const {
  if (!instance_id) return false;
  auto it = static_members_.find(*instance_id);
  return it != static_members_.end() && it->second != member_id;
}

ErrorCode ClassicGroup::check_member(const std::string& member_id,
                                     const std::optional<std::string>& group_instance_id,
                                     std::optional<int32_t> generation_id) const {
  if (static_member_fenced(member_id, group_instance_id)) return ErrorCode::FENCED_INSTANCE_ID;
  if (!members_.count(member_id)) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (generation_id && *generation_id != generation_id_) return ErrorCode::ILLEGAL_GENERATION;
  return ErrorCode::NONE;
}

int32_t ClassicGroup::rebalance_timeout_ms() const {
  int32_t t = 0;
  for (const auto& [id, m] : members_) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

bool ClassicGroup::all_members_joined() const {
  for (const auto& [id, m] : members_) {
    if (!m.join_token) return false;
  }
  return pending_members_.empty();
}

std::set<std::string> ClassicGroup::candidate_protocols() const {
  std::set<std::string> out;
  bool first = true;
  for (const auto& [id, m] : members_) {
    std::set<std::string> names;
    for (const auto& p : m.protocols) names.insert(p.name);
    if (first) {
      out = std::move(names);
      first = false;
    } else {
      std::erase_if(out, [&](const std::string& n) { return names.count(n) == 0; });
    }
  }
  return out;
}

std::string ClassicGroup::select_protocol() const {
  auto candidates = candidate_protocols();
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_) {
    for (const auto& p : m.protocols) {
      if (candidates.count(p.name)) {
        ++votes[p.name];
        break;
      }
    }
  }
  // Most votes wins; ties go to the protocol the leader prefers.
  std::string best;
  int best_votes = -1;
  auto leader = members_.find(leader_id_);
  if (leader != members_.end()) {
    for (const auto& p : leader->second.protocols) {
      auto v = votes.find(p.name);
      if (v != votes.end() && v->second > best_votes) {
        best = p.name;
        best_votes = v->second;
      }
    }
  }
  for (const auto& [name, v] : votes) {
    if (v > best_votes) {
      best = name;
      best_votes = v;
    }
  }
  return best;
}

bool ClassicGroup::protocols_supported(const JoinRequest& req) const {
  if (members_.empty()) return !req.protocol_type.empty() && !req.protocols.empty();
  if (req.protocol_type != protocol_type_) return false;
  auto candidates = candidate_protocols();
  for (const auto& p : req.protocols) {
    if (candidates.count(p.name)) return true;
  }
  return false;
}

bool ClassicGroup::accept_joining_member(const JoinRequest& req) const {
  // A static member replacing itself does not grow the group.
  if (req.group_instance_id && static_members_.count(*req.group_instance_id)) return true;
  auto it = req.member_id.empty() ? members_.end() : members_.find(req.member_id);
  switch (state_) {
    case GroupState::Empty:
    case GroupState::Dead:
      return true;
    case GroupState::PreparingRebalance: {
      if (it != members_.end() && it->second.join_token) return true;
      int64_t awaiting = 0;
      for (const auto& [id, m] : members_) awaiting += m.join_token ? 1 : 0;
      return awaiting < config_.max_size;
    }
    case GroupState::CompletingRebalance:
    case GroupState::Stable:
      return it != members_.end() || static_cast<int64_t>(members_.size()) < config_.max_size;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// JoinGroup

std::optional<JoinResponse> ClassicGroup::join(const JoinRequest& req) {
  JoinResponse err;
  err.member_id = req.member_id;
  if (state_ == GroupState::Dead) {
    err.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    return err;
  }
  if (req.session_timeout_ms < config_.min_session_timeout_ms ||
      req.session_timeout_ms > config_.max_session_timeout_ms) {
    err.error = ErrorCode::INVALID_SESSION_TIMEOUT;
    return err;
  }
  if (!accept_joining_member(req)) {
    err.error = ErrorCode::GROUP_MAX_SIZE_REACHED;
    return err;
  }
  if (!protocols_supported(req)) {
    err.error = ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
    return err;
  }
  return req.member_id.empty() ? join_unknown_member(req) : join_known_member(req);
}

std::optional<JoinResponse> ClassicGroup::join_unknown_member(const JoinRequest& req) {
  if (req.group_instance_id) return join_static_unknown_member(req);
  std::string member_id = member_ids_(req.client_id);
  if (req.require_known_member_id) {
    // The client must come back with this id; until then it only holds a pending slot
    // that expires with its session timeout.
    pending_members_[member_id] = clock_.now_ms() + req.session_timeout_ms;
    JoinResponse r;
    r.error = ErrorCode::MEMBER_ID_REQUIRED;
    r.member_id = member_id;
    return r;
  }
  add_member_and_rebalance(req, member_id);
  return std::nullopt;
}

std::optional<JoinResponse> ClassicGroup::join_static_unknown_member(const JoinRequest& req) {
  const std::string& instance = *req.group_instance_id;
  auto sit = static_members_.find(instance);
  std::string new_id = member_ids_(req.client_id);
  if (sit == static_members_.end()) {
    add_member_and_rebalance(req, new_id);
    return std::nullopt;
  }
  // Replace the old member id: its waiting requests are fenced, the new id takes its place
  // (and its leadership).
  std::string old_id = sit->second;
  auto node = members_.extract(old_id);
  Member& m = node.mapped();
  JoinResponse fenced_join;
  fenced_join.error = ErrorCode::FENCED_INSTANCE_ID;
  fenced_join.member_id = old_id;
  answer_join(m, std::move(fenced_join));
  SyncResponse fenced_sync;
  fenced_sync.error = ErrorCode::FENCED_INSTANCE_ID;
  answer_sync(m, std::move(fenced_sync));
  const std::string current_leader = leader_id_;
  m.member_id = new_id;
  node.key() = new_id;
  Member& member = members_.insert(std::move(node)).position->second;
  sit->second = new_id;
  if (leader_id_ == old_id) leader_id_ = new_id;
  if (pending_sync_members_.erase(old_id)) pending_sync_members_.insert(new_id);
  member.client_id = req.client_id;
  member.client_host = req.client_host;
  member.last_heartbeat_ms = clock_.now_ms();

  if (state_ == GroupState::Stable) {
    // The replacement's protocols are taken; unless they change the protocol the group would
    // select, the group keeps its assignment and does not rebalance (only the new member id
    // is stored).
    member.protocols = req.protocols;
    member.protocol_type = req.protocol_type;
    member.session_timeout_ms = req.session_timeout_ms;
    member.rebalance_timeout_ms = req.rebalance_timeout_ms;
    if (select_protocol() == protocol_name_) {
      ++store_version_;
      const bool is_leader = leader_id_ == new_id;
      if (req.supports_skip_assignment) {
        // v9+: the leader learns it leads (and the members) but skips the assignment.
        return current_join_response(new_id, is_leader, is_leader);
      }
      // Older clients would run the assignor as leader, and a Stable group would not hand
      // out its result: naming the previous leader id makes the member act as a follower.
      JoinResponse r = current_join_response(new_id, false, false);
      r.leader = current_leader;
      return r;
    }
    member.join_token = req.token;
    prepare_rebalance();
    try_complete_join();
    return std::nullopt;
  }
  update_member_and_rebalance(member, req);
  return std::nullopt;
}

std::optional<JoinResponse> ClassicGroup::join_known_member(const JoinRequest& req) {
  JoinResponse err;
  err.member_id = req.member_id;
  if (pending_members_.erase(req.member_id)) {
    add_member_and_rebalance(req, req.member_id);
    return std::nullopt;
  }
  err.error = check_member(req.member_id, req.group_instance_id, std::nullopt);
  if (err.error != ErrorCode::NONE) return err;
  Member& m = members_.at(req.member_id);
  bool matches = m.protocols == req.protocols && m.protocol_type == req.protocol_type;
  switch (state_) {
    case GroupState::PreparingRebalance:
      update_member_and_rebalance(m, req);
      return std::nullopt;
    case GroupState::CompletingRebalance:
      if (matches) {
        // The join response was lost; send it again.
        m.last_heartbeat_ms = clock_.now_ms();
        return current_join_response(m.member_id, leader_id_ == m.member_id, false);
      }
      update_member_and_rebalance(m, req);
      return std::nullopt;
    case GroupState::Stable:
      if (leader_id_ == m.member_id || !matches) {
        update_member_and_rebalance(m, req);
        return std::nullopt;
      }
      m.last_heartbeat_ms = clock_.now_ms();
      return current_join_response(m.member_id, false, false);
    case GroupState::Empty:
    case GroupState::Dead:
      break;
  }
  err.error = ErrorCode::UNKNOWN_MEMBER_ID;
  return err;
}

void ClassicGroup::add_member_and_rebalance(const JoinRequest& req, const std::string& member_id) {
  Member m;
  m.member_id = member_id;
  m.group_instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.session_timeout_ms = req.session_timeout_ms;
  m.protocol_type = req.protocol_type;
  m.protocols = req.protocols;
  m.join_token = req.token;
  m.is_new = true;
  m.last_heartbeat_ms = clock_.now_ms();
  if (state_ == GroupState::PreparingRebalance && generation_id_ == 0) new_member_added_ = true;
  if (members_.empty()) protocol_type_ = req.protocol_type;
  if (leader_id_.empty()) leader_id_ = member_id;
  if (req.group_instance_id) static_members_[*req.group_instance_id] = member_id;
  members_.emplace(member_id, std::move(m));
  maybe_prepare_rebalance();
  try_complete_join();
}

void ClassicGroup::update_member_and_rebalance(Member& m, const JoinRequest& req) {
  if (m.join_token && *m.join_token != req.token) {
    // A newer join replaces a waiting one.
    JoinResponse old;
    old.error = ErrorCode::REBALANCE_IN_PROGRESS;
    old.member_id = m.member_id;
    ready_.joins.emplace_back(*m.join_token, std::move(old));
  }
  m.protocols = req.protocols;
  m.protocol_type = req.protocol_type;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.join_token = req.token;
  m.last_heartbeat_ms = clock_.now_ms();
  maybe_prepare_rebalance();
  try_complete_join();
}

std::vector<JoinResponseMember> ClassicGroup::member_metadata() const {
  std::vector<JoinResponseMember> out;
  out.reserve(members_.size());
  for (const auto& [id, m] : members_) {
    const Bytes* md = m.metadata(protocol_name_);
    out.push_back({id, m.group_instance_id, md ? *md : Bytes{}});
  }
  return out;
}

JoinResponse ClassicGroup::current_join_response(const std::string& member_id, bool with_members,
                                                 bool skip_assignment) const {
  JoinResponse r;
  r.generation_id = generation_id_;
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_name_;
  r.leader = leader_id_;
  r.member_id = member_id;
  r.skip_assignment = skip_assignment;
  if (with_members) r.members = member_metadata();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Rebalance phases

void ClassicGroup::maybe_prepare_rebalance() {
  if (state_ == GroupState::Stable || state_ == GroupState::CompletingRebalance ||
      state_ == GroupState::Empty) {
    prepare_rebalance();
  }
}

void ClassicGroup::prepare_rebalance() {
  if (state_ == GroupState::CompletingRebalance) {
    reset_assignments_and_answer_syncs(ErrorCode::REBALANCE_IN_PROGRESS);
  }
  sync_deadline_ms_.reset();
  pending_sync_members_.clear();
  int64_t now = clock_.now_ms();
  int32_t timeout = rebalance_timeout_ms();
  JoinTimer t;
  if (state_ == GroupState::Empty && config_.initial_rebalance_delay_ms > 0) {
    t.initial = true;
    t.deadline_ms = now + config_.initial_rebalance_delay_ms;
    t.remaining_ms = std::max(timeout - config_.initial_rebalance_delay_ms, 0);
    new_member_added_ = false;
  } else {
    t.deadline_ms = now + timeout;
  }
  join_timer_ = t;
  transition_to(GroupState::PreparingRebalance);
}

void ClassicGroup::try_complete_join() {
  if (state_ != GroupState::PreparingRebalance || !join_timer_ || join_timer_->initial) return;
  if (all_members_joined()) complete_join();
}

bool ClassicGroup::maybe_elect_joined_leader() {
  auto it = members_.find(leader_id_);
  if (it != members_.end() && it->second.join_token) return true;
  for (const auto& [id, m] : members_) {
    if (m.join_token) {
      leader_id_ = id;
      return true;
    }
  }
  return false;
}

void ClassicGroup::complete_join() {
  join_timer_.reset();
  // Dynamic members that did not rejoin are dropped; static members stay until their
  // session times out.
  std::vector<std::string> gone;
  for (const auto& [id, m] : members_) {
    if (!m.join_token && !m.group_instance_id) gone.push_back(id);
  }
  for (const auto& id : gone) remove_member(id, ErrorCode::UNKNOWN_MEMBER_ID);
  if (state_ == GroupState::Dead) return;
  if (!members_.empty() && !maybe_elect_joined_leader()) {
    // Only static members are left and none rejoined: wait another rebalance timeout, until
    // one rejoins or the session timeouts remove them.
    JoinTimer t;
    t.deadline_ms = clock_.now_ms() + rebalance_timeout_ms();
    join_timer_ = t;
    return;
  }

  ++generation_id_;
  if (members_.empty()) {
    protocol_name_.clear();
    transition_to(GroupState::Empty);
    return;
  }
  protocol_name_ = select_protocol();
  transition_to(GroupState::CompletingRebalance);
  int64_t now = clock_.now_ms();
  for (auto& [id, m] : members_) {
    JoinResponse r = current_join_response(id, id == leader_id_, false);
    answer_join(m, std::move(r));
    m.is_new = false;
    m.last_heartbeat_ms = now;
    pending_sync_members_.insert(id);
  }
  sync_deadline_ms_ = now + rebalance_timeout_ms();
}

void ClassicGroup::reset_assignments_and_answer_syncs(ErrorCode error) {
  for (auto& [id, m] : members_) {
    m.assignment.clear();
    if (m.sync_token) {
      SyncResponse r;
      r.error = error;
      answer_sync(m, std::move(r));
    }
  }
}

void ClassicGroup::answer_join(Member& m, JoinResponse resp) {
  if (!m.join_token) return;
  ready_.joins.emplace_back(*m.join_token, std::move(resp));
  m.join_token.reset();
}

void ClassicGroup::answer_sync(Member& m, SyncResponse resp) {
  if (!m.sync_token) return;
  ready_.syncs.emplace_back(*m.sync_token, std::move(resp));
  m.sync_token.reset();
}

ReadyResponses ClassicGroup::take_ready_responses() { return std::exchange(ready_, {}); }

// ---------------------------------------------------------------------------------------------
// Member removal

void ClassicGroup::remove_member(const std::string& member_id, ErrorCode pending_error) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  Member& m = it->second;
  JoinResponse jr;
  jr.error = pending_error;
  jr.member_id = member_id;
  answer_join(m, std::move(jr));
  SyncResponse sr;
  sr.error = pending_error;
  answer_sync(m, std::move(sr));
  if (m.group_instance_id) {
    auto sit = static_members_.find(*m.group_instance_id);
    if (sit != static_members_.end() && sit->second == member_id) static_members_.erase(sit);
  }
  pending_sync_members_.erase(member_id);
  members_.erase(it);
  if (leader_id_ == member_id) {
    leader_id_ = members_.empty() ? std::string() : members_.begin()->first;
  }
}

void ClassicGroup::remove_member_and_update_group(const std::string& member_id) {
  remove_member(member_id, ErrorCode::UNKNOWN_MEMBER_ID);
  switch (state_) {
    case GroupState::Stable:
    case GroupState::CompletingRebalance:
      maybe_prepare_rebalance();
      try_complete_join();
      break;
    case GroupState::PreparingRebalance:
      try_complete_join();
      break;
    case GroupState::Empty:
    case GroupState::Dead:
      break;
  }
}

void ClassicGroup::remove_pending_member_and_update_group(const std::string& member_id) {
  pending_members_.erase(member_id);
  try_complete_join();
}

// ---------------------------------------------------------------------------------------------
// SyncGroup, Heartbeat, LeaveGroup

std::optional<SyncResponse> ClassicGroup::sync(const SyncRequest& req, const Store& store) {
  SyncResponse err;
  if (state_ == GroupState::Dead) {
    err.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    return err;
  }
  err.error = check_member(req.member_id, req.group_instance_id, req.generation_id);
  if (err.error != ErrorCode::NONE) return err;
  if ((req.protocol_type && *req.protocol_type != protocol_type_) ||
      (req.protocol_name && *req.protocol_name != protocol_name_)) {
    err.error = ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
    return err;
  }
  Member& m = members_.at(req.member_id);
  switch (state_) {
    case GroupState::Empty:
    case GroupState::Dead:
      err.error = ErrorCode::UNKNOWN_MEMBER_ID;
      return err;
    case GroupState::PreparingRebalance:
      err.error = ErrorCode::REBALANCE_IN_PROGRESS;
      return err;
    case GroupState::CompletingRebalance: {
      if (m.sync_token && *m.sync_token != req.token) {
        SyncResponse old;
        old.error = ErrorCode::REBALANCE_IN_PROGRESS;
        answer_sync(m, std::move(old));
      }
      m.sync_token = req.token;
      m.last_heartbeat_ms = clock_.now_ms();
      pending_sync_members_.erase(m.member_id);
      if (pending_sync_members_.empty()) sync_deadline_ms_.reset();
      if (m.member_id != leader_id_) return std::nullopt;
      // The leader's assignment goes to every member; members it does not name get an
      // empty one, names that are not members are ignored.
      for (auto& [id, member] : members_) member.assignment.clear();
      for (const auto& [id, assignment] : req.assignments) {
        auto target = members_.find(id);
        if (target != members_.end()) target->second.assignment = assignment;
      }
      if (store) {
        if (ErrorCode stored = store(snapshot()); stored != ErrorCode::NONE) {
          reset_assignments_and_answer_syncs(stored);
          maybe_prepare_rebalance();
          try_complete_join();
          return std::nullopt;
        }
      }
      const uint64_t stored_version = store_version_;
      transition_to(GroupState::Stable);
      if (store) store_version_ = stored_version;  // stored just now: nothing left to store
      for (auto& [id, member] : members_) {
        SyncResponse r;
        r.protocol_type = protocol_type_;
        r.protocol_name = protocol_name_;
        r.assignment = member.assignment;
        answer_sync(member, std::move(r));
      }
      return std::nullopt;
    }
    case GroupState::Stable: {
      m.last_heartbeat_ms = clock_.now_ms();
      pending_sync_members_.erase(m.member_id);
      if (pending_sync_members_.empty()) sync_deadline_ms_.reset();
      SyncResponse r;
      r.protocol_type = protocol_type_;
      r.protocol_name = protocol_name_;
      r.assignment = m.assignment;
      return r;
    }
  }
  err.error = ErrorCode::UNKNOWN_SERVER_ERROR;
  return err;
}

ErrorCode ClassicGroup::heartbeat(const HeartbeatRequest& req) {
  if (state_ == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (ErrorCode e = check_member(req.member_id, req.group_instance_id, req.generation_id);
      e != ErrorCode::NONE)
    return e;
  auto it = members_.find(req.member_id);
  switch (state_) {
    case GroupState::Empty:
    case GroupState::Dead:
      return ErrorCode::UNKNOWN_MEMBER_ID;
    case GroupState::PreparingRebalance:
      it->second.last_heartbeat_ms = clock_.now_ms();
      return ErrorCode::REBALANCE_IN_PROGRESS;
    case GroupState::CompletingRebalance:
    case GroupState::Stable:
      it->second.last_heartbeat_ms = clock_.now_ms();
      return ErrorCode::NONE;
  }
  return ErrorCode::UNKNOWN_SERVER_ERROR;
}

LeaveResult ClassicGroup::leave(const std::vector<LeaveMember>& members) {
  LeaveResult out;
  if (state_ == GroupState::Dead) {
    out.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    out.member_errors.assign(members.size(), ErrorCode::COORDINATOR_NOT_AVAILABLE);
    return out;
  }
  out.member_errors.reserve(members.size());
  for (const auto& lm : members) {
    if (lm.group_instance_id) {
      auto sit = static_members_.find(*lm.group_instance_id);
      if (sit == static_members_.end()) {
        out.member_errors.push_back(ErrorCode::UNKNOWN_MEMBER_ID);
      } else if (!lm.member_id.empty() && lm.member_id != sit->second) {
        out.member_errors.push_back(ErrorCode::FENCED_INSTANCE_ID);
      } else {
        std::string id = sit->second;
        remove_member_and_update_group(id);
        out.member_errors.push_back(ErrorCode::NONE);
      }
      continue;
    }
    if (pending_members_.count(lm.member_id)) {
      remove_pending_member_and_update_group(lm.member_id);
      out.member_errors.push_back(ErrorCode::NONE);
    } else if (!members_.count(lm.member_id)) {
      out.member_errors.push_back(ErrorCode::UNKNOWN_MEMBER_ID);
    } else {
      remove_member_and_update_group(lm.member_id);
      out.member_errors.push_back(ErrorCode::NONE);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timers

bool ClassicGroup::should_keep_alive(const Member& m, int64_t now) const {
  // A member waiting in a join is kept until the join phase ends (the rebalance timeout
  // bounds it), except a brand-new member, which has its own, longer, bound.
  if (m.join_token)
    return !m.is_new || m.last_heartbeat_ms + config_.new_member_join_timeout_ms > now;
  if (m.sync_token) return true;
  return m.last_heartbeat_ms + m.session_timeout_ms > now;
}

void ClassicGroup::expire_sync() {
  sync_deadline_ms_.reset();
  if (state_ != GroupState::CompletingRebalance && state_ != GroupState::Stable) return;
  if (pending_sync_members_.empty()) return;
  // Members that never sent SyncGroup in time are dropped and the group rebalances.
  std::vector<std::string> gone(pending_sync_members_.begin(), pending_sync_members_.end());
  for (const auto& id : gone) remove_member(id, ErrorCode::UNKNOWN_MEMBER_ID);
  prepare_rebalance();
  try_complete_join();
}

void ClassicGroup::tick() {
  const int64_t now = clock_.now_ms();
  // Each pass fires what is due; firing may schedule more (bounded: every timer either
  // clears itself or moves its deadline forward).
  for (int pass = 0; pass < 64; ++pass) {
    bool fired = false;
    if (state_ == GroupState::Dead) return;
    if (join_timer_ && join_timer_->deadline_ms <= now) {
      fired = true;
      JoinTimer t = *join_timer_;
      if (t.initial && new_member_added_ && t.remaining_ms > 0) {
        // New members arrived during the delay: wait a little longer.
        new_member_added_ = false;
        int32_t delay = std::min(config_.initial_rebalance_delay_ms, t.remaining_ms);
        join_timer_->deadline_ms = t.deadline_ms + delay;
        join_timer_->remaining_ms =
            std::max(t.remaining_ms - config_.initial_rebalance_delay_ms, 0);
      } else {
        complete_join();
      }
    }
    std::vector<std::string> expired;
    for (const auto& [id, m] : members_) {
      if (!should_keep_alive(m, now)) expired.push_back(id);
    }
    for (const auto& id : expired) {
      fired = true;
      if (members_.count(id)) remove_member_and_update_group(id);
    }
    std::vector<std::string> expired_pending;
    for (const auto& [id, deadline] : pending_members_) {
      if (deadline <= now) expired_pending.push_back(id);
    }
    for (const auto& id : expired_pending) {
      fired = true;
      remove_pending_member_and_update_group(id);
    }
    if (sync_deadline_ms_ && *sync_deadline_ms_ <= now) {
      fired = true;
      expire_sync();
    }
    if (!fired) return;
  }
}

std::optional<int64_t> ClassicGroup::next_deadline_ms() const {
  std::optional<int64_t> out;
  auto consider = [&](int64_t d) {
    if (!out || d < *out) out = d;
  };
  if (state_ == GroupState::Dead) return out;
  if (join_timer_) consider(join_timer_->deadline_ms);
  if (sync_deadline_ms_) consider(*sync_deadline_ms_);
  for (const auto& [id, m] : members_) {
    if (m.join_token) {
      if (m.is_new) consider(m.last_heartbeat_ms + config_.new_member_join_timeout_ms);
    } else if (!m.sync_token) {
      consider(m.last_heartbeat_ms + m.session_timeout_ms);
    }
  }
  for (const auto& [id, deadline] : pending_members_) consider(deadline);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Offsets, describe, death

ErrorCode ClassicGroup::validate_offset_commit(
    const std::string& member_id, int32_t generation_id,
    const std::optional<std::string>& group_instance_id) const {
  if (state_ == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  // A standalone consumer (or an admin) commits without membership: only when nobody owns
  // the partitions.
  if (generation_id < 0 && state_ == GroupState::Empty) return ErrorCode::NONE;
  if (generation_id >= 0 || !member_id.empty() || group_instance_id) {
    if (ErrorCode e = check_member(member_id, group_instance_id, generation_id);
        e != ErrorCode::NONE)
      return e;
  } else {
    return ErrorCode::UNKNOWN_MEMBER_ID;
  }
  if (state_ == GroupState::CompletingRebalance) return ErrorCode::REBALANCE_IN_PROGRESS;
  return ErrorCode::NONE;
}

void ClassicGroup::touch(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it != members_.end() && state_ == GroupState::Stable)
    it->second.last_heartbeat_ms = clock_.now_ms();
}

void ClassicGroup::mark_dead(ErrorCode error) {
  for (auto& [id, m] : members_) {
    JoinResponse jr;
    jr.error = error;
    jr.member_id = id;
    answer_join(m, std::move(jr));
    SyncResponse sr;
    sr.error = error;
    answer_sync(m, std::move(sr));
  }
  join_timer_.reset();
  sync_deadline_ms_.reset();
  members_.clear();
  static_members_.clear();
  pending_members_.clear();
  pending_sync_members_.clear();
  leader_id_.clear();
  protocol_name_.clear();
  transition_to(GroupState::Dead);
}

GroupDescription ClassicGroup::describe() const {
  GroupDescription d;
  d.group_id = group_id_;
  d.state = std::string(state_name(state_));
  d.protocol_type = protocol_type_;
  bool stable = state_ == GroupState::Stable;
  if (stable) d.protocol = protocol_name_;
  for (const auto& [id, m] : members_) {
    MemberDescription md;
    md.member_id = id;
    md.group_instance_id = m.group_instance_id;
    md.client_id = m.client_id;
    md.client_host = m.client_host;
    if (stable) {
      const Bytes* meta = m.metadata(protocol_name_);
      if (meta) md.metadata = *meta;
      md.assignment = m.assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Persistence

GroupMetadataValue ClassicGroup::snapshot() const {
  GroupMetadataValue v;
  v.protocol_type = protocol_type_;
  v.generation = generation_id_;
  if (!protocol_name_.empty()) v.protocol = protocol_name_;
  if (!leader_id_.empty()) v.leader = leader_id_;
  v.current_state_timestamp = state_timestamp_ms_;
  for (const auto& [id, m] : members_) {
    GroupMetadataMember gm;
    gm.member_id = id;
    gm.group_instance_id = m.group_instance_id;
    gm.client_id = m.client_id;
    gm.client_host = m.client_host;
    gm.rebalance_timeout_ms = m.rebalance_timeout_ms;
    gm.session_timeout_ms = m.session_timeout_ms;
    if (const Bytes* meta = m.metadata(protocol_name_)) gm.subscription = *meta;
    gm.assignment = m.assignment;
    v.members.push_back(std::move(gm));
  }
  return v;
}

std::unique_ptr<ClassicGroup> ClassicGroup::restore(std::string group_id,
                                                    const GroupMetadataValue& v, GroupConfig config,
                                                    const storage::Clock& clock,
                                                    MemberIdGenerator member_ids) {
  auto g =
      std::make_unique<ClassicGroup>(std::move(group_id), config, clock, std::move(member_ids));
  const int64_t now = clock.now_ms();
  g->protocol_type_ = v.protocol_type;
  g->generation_id_ = v.generation;
  g->state_timestamp_ms_ = v.current_state_timestamp;
  if (v.members.empty()) return g;  // Empty
  g->protocol_name_ = v.protocol.value_or(std::string());
  for (const auto& gm : v.members) {
    Member m;
    m.member_id = gm.member_id;
    m.group_instance_id = gm.group_instance_id;
    m.client_id = gm.client_id;
    m.client_host = gm.client_host;
    m.rebalance_timeout_ms = gm.rebalance_timeout_ms;
    m.session_timeout_ms = gm.session_timeout_ms;
    m.protocol_type = v.protocol_type;
    m.protocols.push_back({g->protocol_name_, gm.subscription});
    m.assignment = gm.assignment;
    m.last_heartbeat_ms = now;
    if (gm.group_instance_id) g->static_members_[*gm.group_instance_id] = gm.member_id;
    g->members_.emplace(gm.member_id, std::move(m));
  }
  g->leader_id_ = v.leader && g->members_.count(*v.leader) ? *v.leader : g->members_.begin()->first;
  g->state_ = GroupState::Stable;
  return g;
}

}  // namespace runnel::coordinator

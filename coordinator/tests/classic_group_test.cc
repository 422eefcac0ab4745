#include "coordinator/classic_group.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace runnel::coordinator {

// Reaches the state machine's private transition, to prove the table is enforced.
struct ClassicGroupTestPeer {
  static void transition(ClassicGroup& g, GroupState to) { g.transition_to(to); }
};

namespace {

constexpr int32_t kSession = 10000;
constexpr int32_t kRebalance = 20000;

class ClassicGroupTest : public ::testing::Test {
 protected:
  ClassicGroupTest() { make_group(GroupConfig{}); }

  void make_group(GroupConfig cfg) {
    group = std::make_unique<ClassicGroup>(
        "g", cfg, clock, [this](const std::string& c) { return c + "-" + std::to_string(++ids); });
  }

  JoinRequest join_req(const std::string& client, std::string member_id = "",
                       std::optional<std::string> instance = std::nullopt,
                       std::vector<Protocol> protocols = {{"range", {1}}}) {
    JoinRequest r;
    r.token = ++tokens;
    r.member_id = std::move(member_id);
    r.group_instance_id = std::move(instance);
    r.client_id = client;
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = kSession;
    r.rebalance_timeout_ms = kRebalance;
    r.protocol_type = "consumer";
    r.protocols = std::move(protocols);
    return r;
  }

  // Joins and returns the token; an immediate response is recorded under that token.
  uint64_t join(const JoinRequest& r) {
    auto resp = group->join(r);
    if (resp) joins[r.token] = *resp;
    drain();
    return r.token;
  }

  uint64_t sync(const std::string& member, int32_t generation,
                std::vector<std::pair<std::string, Bytes>> assignments = {}) {
    SyncRequest r;
    r.token = ++tokens;
    r.member_id = member;
    r.generation_id = generation;
    r.assignments = std::move(assignments);
    auto resp = group->sync(r);
    if (resp) syncs[r.token] = *resp;
    drain();
    return r.token;
  }

  ErrorCode heartbeat(const std::string& member, int32_t generation,
                      std::optional<std::string> instance = std::nullopt) {
    return group->heartbeat({member, std::move(instance), generation});
  }

  void advance(int64_t ms) {
    clock.advance(ms);
    group->tick();
    drain();
  }

  void drain() {
    auto ready = group->take_ready_responses();
    for (auto& [t, r] : ready.joins) joins[t] = r;
    for (auto& [t, r] : ready.syncs) syncs[t] = r;
  }

  // n members join together, the join phase completes and the leader assigns Bytes{i} to the
  // i-th member. Returns the member ids in join order.
  std::vector<std::string> stable_group(int n) {
    std::vector<uint64_t> tks;
    for (int i = 0; i < n; ++i) tks.push_back(join(join_req("c" + std::to_string(i))));
    for (int i = 0; i < 10 && group->state() == GroupState::PreparingRebalance; ++i) advance(3000);
    EXPECT_EQ(group->state(), GroupState::CompletingRebalance);
    std::vector<std::string> ids;
    for (auto t : tks) {
      EXPECT_TRUE(joins.count(t));
      ids.push_back(joins[t].member_id);
    }
    std::vector<std::pair<std::string, Bytes>> assignment;
    for (int i = 0; i < n; ++i) assignment.emplace_back(ids[i], Bytes{static_cast<uint8_t>(i)});
    for (int i = 1; i < n; ++i) sync(ids[i], group->generation_id());
    sync(group->leader_id(), group->generation_id(), assignment);
    EXPECT_EQ(group->state(), GroupState::Stable);
    return ids;
  }

  storage::ManualClock clock{0};
  std::unique_ptr<ClassicGroup> group;
  int ids = 0;
  uint64_t tokens = 0;
  std::map<uint64_t, JoinResponse> joins;
  std::map<uint64_t, SyncResponse> syncs;
};

TEST(GroupStateTest, TransitionsAndNames) {
  using S = GroupState;
  EXPECT_TRUE(can_transition(S::Empty, S::PreparingRebalance));
  EXPECT_TRUE(can_transition(S::PreparingRebalance, S::CompletingRebalance));
  EXPECT_TRUE(can_transition(S::PreparingRebalance, S::Empty));
  EXPECT_TRUE(can_transition(S::CompletingRebalance, S::Stable));
  EXPECT_TRUE(can_transition(S::CompletingRebalance, S::PreparingRebalance));
  EXPECT_TRUE(can_transition(S::Stable, S::PreparingRebalance));
  EXPECT_TRUE(can_transition(S::Stable, S::Dead));
  EXPECT_FALSE(can_transition(S::Empty, S::Stable));
  EXPECT_FALSE(can_transition(S::Empty, S::CompletingRebalance));
  EXPECT_FALSE(can_transition(S::Stable, S::CompletingRebalance));
  EXPECT_FALSE(can_transition(S::Stable, S::Empty));
  EXPECT_FALSE(can_transition(S::Dead, S::Empty));
  EXPECT_FALSE(can_transition(S::PreparingRebalance, S::Stable));
  EXPECT_EQ(state_name(S::CompletingRebalance), "CompletingRebalance");
  EXPECT_EQ(state_name(S::Dead), "Dead");
}

TEST_F(ClassicGroupTest, OneMemberJoinsAndSyncs) {
  auto t = join(join_req("c"));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  EXPECT_FALSE(joins.count(t));
  advance(2999);
  EXPECT_FALSE(joins.count(t));
  advance(1);  // initial rebalance delay over, nobody else came
  ASSERT_TRUE(joins.count(t));
  const JoinResponse& r = joins[t];
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.generation_id, 1);
  EXPECT_EQ(r.member_id, "c-1");
  EXPECT_EQ(r.leader, "c-1");
  EXPECT_EQ(r.protocol_type, "consumer");
  EXPECT_EQ(r.protocol_name, "range");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].metadata, Bytes{1});
  EXPECT_EQ(group->state(), GroupState::CompletingRebalance);

  auto s = sync("c-1", 1, {{"c-1", Bytes{7, 7}}});
  ASSERT_TRUE(syncs.count(s));
  EXPECT_EQ(syncs[s].error, ErrorCode::NONE);
  EXPECT_EQ(syncs[s].assignment, (Bytes{7, 7}));
  EXPECT_EQ(group->state(), GroupState::Stable);
  EXPECT_EQ(heartbeat("c-1", 1), ErrorCode::NONE);

  auto d = group->describe();
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol, "range");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].client_id, "c");
  EXPECT_EQ(d.members[0].metadata, Bytes{1});
  EXPECT_EQ(d.members[0].assignment, (Bytes{7, 7}));
}

TEST_F(ClassicGroupTest, ThreeMembersJoinAndSync) {
  auto a = join(join_req("a"));
  auto b = join(join_req("b"));
  auto c = join(join_req("c"));
  advance(3000);  // extended: new members arrived during the delay
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  advance(3000);
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  ASSERT_TRUE(joins.count(a) && joins.count(b) && joins.count(c));
  EXPECT_EQ(joins[a].leader, "a-1");
  EXPECT_EQ(joins[a].members.size(), 3u);
  EXPECT_TRUE(joins[b].members.empty());
  EXPECT_TRUE(joins[c].members.empty());
  for (auto t : {a, b, c}) EXPECT_EQ(joins[t].generation_id, 1);

  auto sb = sync("b-2", 1);
  EXPECT_FALSE(syncs.count(sb));  // followers wait for the leader
  auto sa = sync("a-1", 1, {{"a-1", Bytes{1}}, {"b-2", Bytes{2}}, {"nobody", Bytes{9}}});
  ASSERT_TRUE(syncs.count(sa) && syncs.count(sb));
  EXPECT_EQ(syncs[sa].assignment, Bytes{1});
  EXPECT_EQ(syncs[sb].assignment, Bytes{2});
  EXPECT_EQ(group->state(), GroupState::Stable);
  auto sc = sync("c-3", 1);  // late follower, answered at once; unnamed: empty assignment
  ASSERT_TRUE(syncs.count(sc));
  EXPECT_EQ(syncs[sc].error, ErrorCode::NONE);
  EXPECT_TRUE(syncs[sc].assignment.empty());
}

TEST_F(ClassicGroupTest, DelayedInitialRebalanceIsExtendedUpToTheRebalanceTimeout) {
  GroupConfig cfg;
  cfg.initial_rebalance_delay_ms = 3000;
  make_group(cfg);
  auto r = join_req("a");
  r.rebalance_timeout_ms = 7000;
  auto a = join(r);  // t=0: deadline 3000, 4000 left to extend
  clock.set(1000);
  auto b = join(join_req("b"));
  advance(2000);  // t=3000: extended to 6000, 1000 left
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  clock.set(5000);
  join(join_req("c"));
  clock.set(5999);
  group->tick();
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  advance(1);  // t=6000: extended by the last 1000
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  clock.set(6500);
  join(join_req("d"));
  clock.set(6999);
  group->tick();
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  advance(1);  // t=7000: nothing left to extend, completes although d just came
  EXPECT_EQ(group->state(), GroupState::CompletingRebalance);
  EXPECT_EQ(group->size(), 4u);
  EXPECT_EQ(joins[a].generation_id, 1);
  EXPECT_EQ(joins[b].generation_id, 1);
}

TEST_F(ClassicGroupTest, MemberIdRequiredRound) {
  auto r = join_req("c");
  r.require_known_member_id = true;
  auto t = join(r);
  ASSERT_TRUE(joins.count(t));
  EXPECT_EQ(joins[t].error, ErrorCode::MEMBER_ID_REQUIRED);
  EXPECT_EQ(joins[t].member_id, "c-1");
  EXPECT_EQ(group->state(), GroupState::Empty);
  EXPECT_EQ(group->size(), 0u);

  auto bogus = join(join_req("c", "c-99"));
  EXPECT_EQ(joins[bogus].error, ErrorCode::UNKNOWN_MEMBER_ID);

  auto again = join_req("c", "c-1");
  again.require_known_member_id = true;
  auto t2 = join(again);
  EXPECT_FALSE(joins.count(t2));
  advance(3000);
  ASSERT_TRUE(joins.count(t2));
  EXPECT_EQ(joins[t2].error, ErrorCode::NONE);
  EXPECT_EQ(joins[t2].member_id, "c-1");
  EXPECT_EQ(joins[t2].generation_id, 1);
}

TEST_F(ClassicGroupTest, PendingMemberExpiresAfterItsSessionTimeout) {
  auto ids = stable_group(1);
  auto r = join_req("late");
  r.require_known_member_id = true;
  auto t = join(r);
  ASSERT_EQ(joins[t].error, ErrorCode::MEMBER_ID_REQUIRED);
  EXPECT_EQ(group->state(), GroupState::Stable);  // a pending member does not rebalance
  advance(kSession - 1);
  EXPECT_EQ(heartbeat(ids[0], 1), ErrorCode::NONE);
  advance(1);
  EXPECT_EQ(group->state(), GroupState::Stable);
  auto t2 = join(join_req("late", joins[t].member_id));
  EXPECT_EQ(joins[t2].error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(ClassicGroupTest, PendingMemberHoldsTheJoinPhaseUntilItExpires) {
  auto ids = stable_group(1);  // stable at t=3000
  auto r = join_req("late");
  r.require_known_member_id = true;
  auto t = join(r);  // pending until t=13000
  ASSERT_EQ(joins[t].error, ErrorCode::MEMBER_ID_REQUIRED);
  clock.advance(1000);
  auto a = join(join_req("c0", ids[0], std::nullopt, {{"range", {4}}}));  // leader rejoins
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  EXPECT_FALSE(joins.count(a));  // waits for the pending member
  advance(8999);
  EXPECT_FALSE(joins.count(a));
  advance(1);  // the pending member's session timeout
  ASSERT_TRUE(joins.count(a));
  EXPECT_EQ(joins[a].generation_id, 2);
  EXPECT_EQ(joins[a].members.size(), 1u);
}

TEST_F(ClassicGroupTest, JoinDuringStableTriggersRebalance) {
  auto ids = stable_group(2);
  auto c = join(join_req("new"));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  EXPECT_EQ(heartbeat(ids[0], 1), ErrorCode::REBALANCE_IN_PROGRESS);
  EXPECT_EQ(heartbeat(ids[1], 1), ErrorCode::REBALANCE_IN_PROGRESS);
  auto s = sync(ids[1], 1);
  EXPECT_EQ(syncs[s].error, ErrorCode::REBALANCE_IN_PROGRESS);
  auto a = join(join_req("c0", ids[0]));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);  // waiting for ids[1]
  auto b = join(join_req("c1", ids[1]));
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  for (auto t : {a, b, c}) {
    ASSERT_TRUE(joins.count(t));
    EXPECT_EQ(joins[t].error, ErrorCode::NONE);
    EXPECT_EQ(joins[t].generation_id, 2);
    EXPECT_EQ(joins[t].leader, ids[0]);
  }
  EXPECT_EQ(joins[a].members.size(), 3u);
}

TEST_F(ClassicGroupTest, FollowerRejoinInStableWithSameMetadataGetsCurrentGeneration) {
  auto ids = stable_group(2);
  auto t = join(join_req("c1", ids[1]));
  ASSERT_TRUE(joins.count(t));
  EXPECT_EQ(joins[t].generation_id, 1);
  EXPECT_EQ(group->state(), GroupState::Stable);
  auto t2 = join(join_req("c0", ids[0]));  // the leader rejoining always rebalances
  EXPECT_FALSE(joins.count(t2));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
}

TEST_F(ClassicGroupTest, MemberLeaving) {
  auto ids = stable_group(3);
  auto res = group->leave({{ids[1], std::nullopt}, {"ghost", std::nullopt}});
  EXPECT_EQ(res.error, ErrorCode::NONE);
  ASSERT_EQ(res.member_errors.size(), 2u);
  EXPECT_EQ(res.member_errors[0], ErrorCode::NONE);
  EXPECT_EQ(res.member_errors[1], ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  EXPECT_EQ(heartbeat(ids[1], 1), ErrorCode::UNKNOWN_MEMBER_ID);
  auto a = join(join_req("c0", ids[0]));
  auto c = join(join_req("c2", ids[2]));
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  EXPECT_EQ(joins[a].generation_id, 2);
  EXPECT_EQ(joins[c].generation_id, 2);
  EXPECT_EQ(group->size(), 2u);

  // The leader leaves: leadership moves, and when the last member goes the group is Empty.
  res = group->leave({{ids[0], std::nullopt}});
  EXPECT_EQ(res.member_errors[0], ErrorCode::NONE);
  EXPECT_EQ(group->leader_id(), ids[2]);
  res = group->leave({{ids[2], std::nullopt}});
  EXPECT_EQ(group->state(), GroupState::Empty);
  EXPECT_EQ(group->generation_id(), 3);
  EXPECT_EQ(group->describe().state, "Empty");
}

TEST_F(ClassicGroupTest, SessionTimeoutRemovesMember) {
  auto ids = stable_group(2);
  advance(kSession - 1);
  EXPECT_EQ(heartbeat(ids[0], 1), ErrorCode::NONE);
  EXPECT_EQ(group->state(), GroupState::Stable);
  advance(1);  // ids[1] has not heartbeated for a full session timeout
  EXPECT_FALSE(group->has_member(ids[1]));
  EXPECT_TRUE(group->has_member(ids[0]));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  auto a = join(join_req("c0", ids[0]));
  ASSERT_TRUE(joins.count(a));
  EXPECT_EQ(joins[a].generation_id, 2);
  EXPECT_EQ(joins[a].members.size(), 1u);
}

TEST_F(ClassicGroupTest, RebalanceTimeoutRemovesMemberThatDidNotRejoin) {
  auto ids = stable_group(2);
  auto c = join(join_req("new"));
  auto a = join(join_req("c0", ids[0]));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  // ids[1] keeps heartbeating but never rejoins.
  for (int i = 0; i < 3; ++i) {
    advance(kRebalance / 4);
    EXPECT_EQ(heartbeat(ids[1], 1), ErrorCode::REBALANCE_IN_PROGRESS);
  }
  advance(kRebalance / 4 - 1);
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  advance(1);
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  EXPECT_FALSE(group->has_member(ids[1]));
  EXPECT_EQ(joins[a].generation_id, 2);
  EXPECT_EQ(joins[c].generation_id, 2);
  EXPECT_EQ(heartbeat(ids[1], 2), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(ClassicGroupTest, LeaderThatDoesNotRejoinIsReplaced) {
  auto ids = stable_group(2);
  auto b = join(join_req("c1", ids[1], std::nullopt, {{"range", {5}}}));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
  advance(kRebalance);
  ASSERT_TRUE(joins.count(b));
  EXPECT_EQ(joins[b].leader, ids[1]);
  EXPECT_EQ(joins[b].members.size(), 1u);
  EXPECT_FALSE(group->has_member(ids[0]));
}

TEST_F(ClassicGroupTest, SyncTimeoutRemovesMembersThatNeverSynced) {
  auto a = join(join_req("a"));
  auto b = join(join_req("b"));
  advance(6000);
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  std::string leader = joins[a].member_id;
  std::string follower = joins[b].member_id;
  sync(leader, 1, {{leader, Bytes{1}}, {follower, Bytes{2}}});
  EXPECT_EQ(group->state(), GroupState::Stable);
  for (int i = 0; i < 3; ++i) {
    advance(5000);
    EXPECT_EQ(heartbeat(follower, 1), ErrorCode::NONE);
    EXPECT_EQ(heartbeat(leader, 1), ErrorCode::NONE);
  }
  advance(4999);
  EXPECT_TRUE(group->has_member(follower));
  advance(1);  // the rebalance timeout after the join phase: the follower never synced
  EXPECT_FALSE(group->has_member(follower));
  EXPECT_TRUE(group->has_member(leader));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
}

TEST_F(ClassicGroupTest, WaitingFollowerGetsRebalanceInProgressWhenRebalanceStarts) {
  auto a = join(join_req("a"));
  auto b = join(join_req("b"));
  advance(6000);
  auto s = sync(joins[b].member_id, 1);
  EXPECT_FALSE(syncs.count(s));
  join(join_req("c"));
  ASSERT_TRUE(syncs.count(s));
  EXPECT_EQ(syncs[s].error, ErrorCode::REBALANCE_IN_PROGRESS);
  auto s2 = sync(joins[a].member_id, 1, {});
  EXPECT_EQ(syncs[s2].error, ErrorCode::REBALANCE_IN_PROGRESS);
}

TEST_F(ClassicGroupTest, StaticMemberRejoinKeepsAssignmentWithoutRebalance) {
  auto ra = join_req("a", "", "instance-a");
  auto rb = join_req("b", "", "instance-b");
  auto a = join(ra);
  auto b = join(rb);
  advance(6000);
  std::string leader = joins[a].member_id;
  std::string old_b = joins[b].member_id;
  sync(old_b, 1);
  sync(leader, 1, {{leader, Bytes{1}}, {old_b, Bytes{2}}});
  ASSERT_EQ(group->state(), GroupState::Stable);

  // b restarts: same instance id, no member id, same metadata.
  auto b2 = join(join_req("b", "", "instance-b"));
  ASSERT_TRUE(joins.count(b2));
  EXPECT_EQ(joins[b2].error, ErrorCode::NONE);
  EXPECT_EQ(joins[b2].generation_id, 1);
  std::string new_b = joins[b2].member_id;
  EXPECT_NE(new_b, old_b);
  EXPECT_EQ(group->state(), GroupState::Stable);
  EXPECT_EQ(group->static_member_id("instance-b"), new_b);
  auto s = sync(new_b, 1);
  EXPECT_EQ(syncs[s].assignment, Bytes{2});
  // The old incarnation is fenced.
  EXPECT_EQ(heartbeat(old_b, 1, "instance-b"), ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(heartbeat(old_b, 1), ErrorCode::UNKNOWN_MEMBER_ID);
  auto stale = join(join_req("b", old_b, "instance-b"));
  EXPECT_EQ(joins[stale].error, ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(heartbeat(new_b, 1, "instance-b"), ErrorCode::NONE);

  // The static leader rejoins with skip_assignment support: members, but no rebalance.
  auto ra2 = join_req("a", "", "instance-a");
  ra2.supports_skip_assignment = true;
  auto a2 = join(ra2);
  ASSERT_TRUE(joins.count(a2));
  EXPECT_TRUE(joins[a2].skip_assignment);
  EXPECT_EQ(joins[a2].members.size(), 2u);
  EXPECT_EQ(group->leader_id(), joins[a2].member_id);
  EXPECT_EQ(group->state(), GroupState::Stable);

  // Changed metadata that leaves the selected protocol as it is: stored, no rebalance.
  auto b3 = join(join_req("b", "", "instance-b", {{"range", {9}}}));
  ASSERT_TRUE(joins.count(b3));
  EXPECT_EQ(joins[b3].generation_id, 1);
  EXPECT_EQ(group->state(), GroupState::Stable);
}

TEST_F(ClassicGroupTest, LeaveByInstanceId) {
  auto a = join(join_req("a", "", "ia"));
  auto b = join(join_req("b", "", "ib"));
  advance(6000);
  auto res = group->leave({{"wrong-id", "ia"}, {"", "ib"}, {"", "nope"}});
  ASSERT_EQ(res.member_errors.size(), 3u);
  EXPECT_EQ(res.member_errors[0], ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(res.member_errors[1], ErrorCode::NONE);
  EXPECT_EQ(res.member_errors[2], ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_TRUE(group->has_member(joins[a].member_id));
  EXPECT_FALSE(group->has_member(joins[b].member_id));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
}

TEST_F(ClassicGroupTest, StaleGenerationIsFenced) {
  auto ids = stable_group(2);
  join(join_req("c0", ids[0]));
  join(join_req("c1", ids[1]));
  ASSERT_EQ(group->generation_id(), 2);
  EXPECT_EQ(heartbeat(ids[0], 1), ErrorCode::ILLEGAL_GENERATION);
  auto s = sync(ids[1], 1);
  EXPECT_EQ(syncs[s].error, ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(group->validate_offset_commit(ids[0], 1, std::nullopt), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(heartbeat(ids[0], 2), ErrorCode::NONE);
}

TEST_F(ClassicGroupTest, InconsistentProtocols) {
  auto bad = join_req("x");
  bad.protocol_type = "";
  EXPECT_EQ(joins[join(bad)].error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  auto none = join_req("x", "", std::nullopt, {});
  EXPECT_EQ(joins[join(none)].error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  auto a = join(join_req("a", "", std::nullopt, {{"roundrobin", {1}}, {"range", {2}}}));
  auto other_type = join_req("b");
  other_type.protocol_type = "connect";
  EXPECT_EQ(joins[join(other_type)].error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  auto disjoint = join_req("b", "", std::nullopt, {{"sticky", {3}}});
  EXPECT_EQ(joins[join(disjoint)].error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  // Both supported by everyone; two of three prefer range.
  auto b = join(join_req("b", "", std::nullopt, {{"range", {3}}, {"roundrobin", {4}}}));
  auto c = join(join_req("c", "", std::nullopt, {{"range", {5}}, {"roundrobin", {6}}}));
  advance(6000);
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  EXPECT_EQ(joins[a].protocol_name, "range");
  EXPECT_EQ(joins[b].protocol_name, "range");
  ASSERT_EQ(joins[a].members.size(), 3u);
  EXPECT_EQ(joins[a].members[0].metadata, Bytes{2});  // the leader's range metadata
  EXPECT_EQ(joins[c].error, ErrorCode::NONE);
  auto s = sync(joins[a].member_id, 1);
  SyncRequest wrong;
  wrong.member_id = joins[b].member_id;
  wrong.generation_id = 1;
  wrong.protocol_name = "roundrobin";
  EXPECT_EQ(group->sync(wrong)->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  EXPECT_EQ(syncs[s].error, ErrorCode::NONE);
}

TEST_F(ClassicGroupTest, GroupMaxSize) {
  GroupConfig cfg;
  cfg.max_size = 2;
  make_group(cfg);
  join(join_req("a"));
  join(join_req("b"));
  auto c = join(join_req("c"));
  ASSERT_TRUE(joins.count(c));
  EXPECT_EQ(joins[c].error, ErrorCode::GROUP_MAX_SIZE_REACHED);
  advance(6000);
  EXPECT_EQ(group->size(), 2u);
  auto d = join(join_req("d"));
  EXPECT_EQ(joins[d].error, ErrorCode::GROUP_MAX_SIZE_REACHED);
}

TEST_F(ClassicGroupTest, SessionTimeoutBounds) {
  auto low = join_req("a");
  low.session_timeout_ms = 5999;
  EXPECT_EQ(joins[join(low)].error, ErrorCode::INVALID_SESSION_TIMEOUT);
  auto high = join_req("a");
  high.session_timeout_ms = 1800001;
  EXPECT_EQ(joins[join(high)].error, ErrorCode::INVALID_SESSION_TIMEOUT);
  EXPECT_EQ(group->state(), GroupState::Empty);
}

TEST_F(ClassicGroupTest, HeartbeatInEveryState) {
  // Empty: nobody is a member.
  EXPECT_EQ(heartbeat("x", 0), ErrorCode::UNKNOWN_MEMBER_ID);
  auto a = join(join_req("a", "", "ia"));
  // PreparingRebalance (generation 0 while joining).
  EXPECT_EQ(heartbeat("a-1", 0), ErrorCode::REBALANCE_IN_PROGRESS);
  advance(3000);
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  EXPECT_EQ(heartbeat("a-1", 1), ErrorCode::NONE);
  EXPECT_EQ(heartbeat("a-1", 0), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(heartbeat("zzz", 1), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(heartbeat("zzz", 1, "ia"), ErrorCode::FENCED_INSTANCE_ID);
  sync(joins[a].member_id, 1, {});
  ASSERT_EQ(group->state(), GroupState::Stable);
  EXPECT_EQ(heartbeat("a-1", 1), ErrorCode::NONE);
  EXPECT_EQ(heartbeat("a-1", 2), ErrorCode::ILLEGAL_GENERATION);
  group->mark_dead();
  EXPECT_EQ(heartbeat("a-1", 1), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(group->describe().state, "Dead");
  EXPECT_TRUE(group->describe().members.empty());
  auto s = sync("a-1", 1);
  EXPECT_EQ(syncs[s].error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(group->leave({{"a-1", std::nullopt}}).error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(joins[join(join_req("late"))].error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
}

TEST_F(ClassicGroupTest, MarkDeadAnswersWaitingRequests) {
  auto a = join(join_req("a"));
  group->mark_dead(ErrorCode::NOT_COORDINATOR);
  drain();
  ASSERT_TRUE(joins.count(a));
  EXPECT_EQ(joins[a].error, ErrorCode::NOT_COORDINATOR);
  EXPECT_FALSE(group->next_deadline_ms().has_value());
}

TEST_F(ClassicGroupTest, OffsetCommitValidation) {
  EXPECT_EQ(group->validate_offset_commit("", -1, std::nullopt), ErrorCode::NONE);
  auto a = join(join_req("a"));
  auto b = join(join_req("b"));
  EXPECT_EQ(group->validate_offset_commit("", -1, std::nullopt), ErrorCode::UNKNOWN_MEMBER_ID);
  advance(6000);
  std::string ma = joins[a].member_id;
  EXPECT_EQ(group->validate_offset_commit(ma, 1, std::nullopt), ErrorCode::REBALANCE_IN_PROGRESS);
  sync(ma, 1, {});
  EXPECT_EQ(group->validate_offset_commit(ma, 1, std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(group->validate_offset_commit("ghost", 1, std::nullopt), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(group->validate_offset_commit(ma, 0, std::nullopt), ErrorCode::ILLEGAL_GENERATION);
  // Commits from the current generation are still accepted while rebalancing.
  join(join_req("c"));
  ASSERT_EQ(group->state(), GroupState::PreparingRebalance);
  EXPECT_EQ(group->validate_offset_commit(ma, 1, std::nullopt), ErrorCode::NONE);
  // Once the others have left, the waiting new member is the whole group.
  group->leave({{ma, std::nullopt}, {joins[b].member_id, std::nullopt}});
  EXPECT_EQ(group->state(), GroupState::CompletingRebalance);
  EXPECT_EQ(group->size(), 1u);
}

TEST_F(ClassicGroupTest, RejoinDuringCompletingRebalanceResendsTheJoinResponse) {
  auto a = join(join_req("a"));
  auto b = join(join_req("b"));
  advance(6000);
  ASSERT_EQ(group->state(), GroupState::CompletingRebalance);
  auto a2 = join(join_req("a", joins[a].member_id));
  auto b2 = join(join_req("b", joins[b].member_id));
  ASSERT_TRUE(joins.count(a2) && joins.count(b2));
  EXPECT_EQ(joins[a2].generation_id, 1);
  EXPECT_EQ(joins[a2].members.size(), 2u);  // the leader gets the members again
  EXPECT_TRUE(joins[b2].members.empty());
  EXPECT_EQ(group->state(), GroupState::CompletingRebalance);
  // Different metadata: a new rebalance.
  auto b3 = join(join_req("b", joins[b].member_id, std::nullopt, {{"range", {8}}}));
  EXPECT_FALSE(joins.count(b3));
  EXPECT_EQ(group->state(), GroupState::PreparingRebalance);
}

TEST_F(ClassicGroupTest, StaticLeaderRejoinWithoutSkipAssignmentActsAsFollower) {
  auto a = join(join_req("a", "", "ia"));
  advance(3000);
  sync(joins[a].member_id, 1, {{joins[a].member_id, Bytes{7}}});
  ASSERT_EQ(group->state(), GroupState::Stable);
  auto a2 = join(join_req("a", "", "ia"));
  // No rebalance: the current generation, and the previous leader id in the answer so that a
  // client older than JoinGroup v9 does not run the assignor.
  EXPECT_EQ(group->state(), GroupState::Stable);
  ASSERT_TRUE(joins.count(a2));
  EXPECT_EQ(joins[a2].error, ErrorCode::NONE);
  EXPECT_EQ(joins[a2].generation_id, 1);
  EXPECT_FALSE(joins[a2].skip_assignment);
  EXPECT_TRUE(joins[a2].members.empty());
  EXPECT_NE(joins[a2].member_id, joins[a].member_id);
  EXPECT_EQ(joins[a2].leader, joins[a].member_id);
  EXPECT_EQ(group->leader_id(), joins[a2].member_id);
  auto s = sync(joins[a2].member_id, 1);
  EXPECT_EQ(syncs[s].assignment, Bytes{7});
}

TEST_F(ClassicGroupTest, StaticRejoinThatChangesTheSelectedProtocolRebalances) {
  auto a = join(join_req("a", "", "ia", {{"range", {1}}, {"roundrobin", {1}}}));
  advance(3000);
  sync(joins[a].member_id, 1, {});
  ASSERT_EQ(group->protocol_name(), "range");
  auto a2 = join(join_req("a", "", "ia", {{"roundrobin", {1}}, {"range", {1}}}));
  // The only member rejoined at once, so the rebalance completed with the new protocol.
  ASSERT_TRUE(joins.count(a2));
  EXPECT_EQ(joins[a2].generation_id, 2);
  EXPECT_EQ(joins[a2].protocol_name, "roundrobin");
  EXPECT_EQ(group->state(), GroupState::CompletingRebalance);
}

TEST_F(ClassicGroupTest, StaticMembersThatDoNotRejoinStayUntilTheirSessionEnds) {
  auto a = join(join_req("a", "", "ia"));
  auto b = join(join_req("b", "", "ib"));
  advance(6000);  // the initial delay, extended once for the second member
  std::string ma = joins[a].member_id, mb = joins[b].member_id;
  sync(mb, 1);
  sync(ma, 1, {});
  ASSERT_EQ(group->state(), GroupState::Stable);
  // A dynamic member joins; only a rejoins in time; b (static) is kept into generation 2.
  auto c = join(join_req("c"));
  auto a2 = join(join_req("a", ma, "ia"));
  // b is alive (it heartbeats) but does not rejoin before the rebalance timeout.
  for (int i = 0; i < 2; ++i) {
    clock.advance(kRebalance / 2 - 1000);
    EXPECT_EQ(heartbeat(mb, 1), ErrorCode::REBALANCE_IN_PROGRESS);
  }
  advance(2000);
  ASSERT_TRUE(joins.count(a2));
  EXPECT_EQ(joins[a2].generation_id, 2);
  EXPECT_TRUE(group->has_member(mb));
  (void)c;
}

TEST_F(ClassicGroupTest, StandaloneCommitOnlyOnEmptyGroup) {
  EXPECT_EQ(group->validate_offset_commit("", -1, std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(group->validate_offset_commit("someone", -1, std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(group->validate_offset_commit("someone", 3, std::nullopt),
            ErrorCode::UNKNOWN_MEMBER_ID);
  group->mark_dead();
  EXPECT_EQ(group->validate_offset_commit("", -1, std::nullopt),
            ErrorCode::COORDINATOR_NOT_AVAILABLE);
}

TEST_F(ClassicGroupTest, NextDeadlineFollowsTimers) {
  join(join_req("a"));
  EXPECT_EQ(group->next_deadline_ms(), 3000);
  advance(3000);
  // Sync phase: the member's session (heartbeats are due) comes before the sync timeout.
  EXPECT_EQ(group->next_deadline_ms(), 3000 + kSession);
  clock.advance(2000);
  sync("a-1", 1, {});
  EXPECT_EQ(group->next_deadline_ms(), 5000 + kSession);
  clock.advance(2000);
  EXPECT_EQ(heartbeat("a-1", 1), ErrorCode::NONE);
  EXPECT_EQ(group->next_deadline_ms(), 7000 + kSession);
}

}  // namespace
}  // namespace runnel::coordinator

namespace runnel::coordinator {
namespace {

TEST(ClassicGroupCommit, ACommitKeepsTheMemberAlive) {
  storage::ManualClock clock(0);
  GroupConfig cfg;
  cfg.initial_rebalance_delay_ms = 0;
  ClassicGroup g("g", cfg, clock, [](const std::string& c) { return c + "-1"; });
  JoinRequest j;
  j.token = 1;
  j.client_id = "c";
  j.session_timeout_ms = 10000;
  j.rebalance_timeout_ms = 10000;
  j.protocol_type = "consumer";
  j.protocols = {{"range", {1}}};
  EXPECT_FALSE(g.join(j).has_value());
  SyncRequest s;
  s.token = 2;
  s.member_id = "c-1";
  s.generation_id = 1;
  EXPECT_FALSE(g.sync(s).has_value());
  ASSERT_EQ(g.state(), GroupState::Stable);
  const uint64_t stored = g.store_version();
  clock.advance(9000);
  ASSERT_EQ(g.validate_offset_commit("c-1", 1, std::nullopt), ErrorCode::NONE);
  g.touch("c-1");
  clock.advance(9000);
  g.tick();
  EXPECT_TRUE(g.has_member("c-1"));
  clock.advance(1000);
  g.tick();
  EXPECT_FALSE(g.has_member("c-1"));
  EXPECT_EQ(g.state(), GroupState::Empty);
  EXPECT_GT(g.store_version(), stored);  // Empty must be stored
}

// A transition the table forbids is refused in every build, not only where asserts are on.
TEST(ClassicGroupTransitions, IllegalTransitionIsRefusedInEveryBuild) {
  storage::ManualClock clock{1000};
  ClassicGroup g("g", GroupConfig{}, clock);
  ASSERT_EQ(g.state(), GroupState::Empty);
  try {
    ClassicGroupTestPeer::transition(g, GroupState::Stable);
    FAIL() << "Empty -> Stable was allowed";
  } catch (const IllegalGroupTransition& e) {
    EXPECT_STREQ(e.what(), "group g: illegal transition from Empty to Stable");
  }
  EXPECT_EQ(g.state(), GroupState::Empty);
  ClassicGroupTestPeer::transition(g, GroupState::PreparingRebalance);
  EXPECT_EQ(g.state(), GroupState::PreparingRebalance);
}

}  // namespace
}  // namespace runnel::coordinator

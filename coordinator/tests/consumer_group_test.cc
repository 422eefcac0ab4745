// The consumer group protocol (KIP-848) through the GroupCoordinator, with the MemoryLog as
// its runtime and a manual clock.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/group_coordinator.h"
#include "coordinator/tests/memory_log.h"

namespace runnel::coordinator {
namespace {

using protocol::ConsumerGroupHeartbeatRequest;
using protocol::ConsumerGroupHeartbeatResponse;
using protocol::ErrorCode;

protocol::Uuid uuid(uint8_t b) {
  protocol::Uuid u;
  u.bytes.fill(b);
  return u;
}

const protocol::Uuid kOrders = uuid(1);
const protocol::Uuid kPayments = uuid(2);
const protocol::Uuid kPayroll = uuid(3);

size_t count(const TopicPartitionSet& s) {
  size_t n = 0;
  for (const auto& [t, p] : s) n += p.size();
  return n;
}

// What a consumer does with its answers: it owns what the last assignment gave it.
struct Client {
  explicit Client(std::string id, std::optional<std::string> instance = std::nullopt)
      : member_id(std::move(id)), instance_id(std::move(instance)) {}
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t epoch = 0;
  TopicPartitionSet owned;
};

class ConsumerGroupTest : public ::testing::Test {
 protected:
  ConsumerGroupTest() {
    topics.add("orders", kOrders, 4);
    topics.add("payments", kPayments, 2);
    coord = make();
    coord->mark_all_loaded();
    log.attach(coord.get());
  }

  std::unique_ptr<GroupCoordinator> make() {
    CoordinatorConfig cfg;
    cfg.offsets_partitions = 3;
    auto c = std::make_unique<GroupCoordinator>(cfg, clock, log);
    c->set_topics_source([this] { return topics; });
    return c;
  }

  ConsumerGroupHeartbeatRequest join_request(const Client& c,
                                             std::vector<std::string> names = {"orders"}) {
    ConsumerGroupHeartbeatRequest r;
    r.group_id = "g";
    r.member_id = c.member_id;
    r.member_epoch = 0;
    r.instance_id = c.instance_id;
    r.rebalance_timeout_ms = 10000;
    r.subscribed_topic_names = std::move(names);
    r.topic_partitions.emplace();
    return r;
  }

  ConsumerGroupHeartbeatRequest beat_request(const Client& c) {
    ConsumerGroupHeartbeatRequest r;
    r.group_id = "g";
    r.member_id = c.member_id;
    r.member_epoch = c.epoch;
    r.instance_id = c.instance_id;
    r.topic_partitions.emplace();
    for (const auto& [t, ps] : c.owned)
      r.topic_partitions->push_back({t, std::vector<int32_t>(ps.begin(), ps.end()), {}});
    return r;
  }

  ConsumerGroupHeartbeatResponse send(const ConsumerGroupHeartbeatRequest& r) {
    return coord->consumer_group_heartbeat(r, {1, "client", "/10.0.0.1"}, topics);
  }

  // One heartbeat of `c`, which then owns what it was given.
  ConsumerGroupHeartbeatResponse beat(Client& c,
                                      std::optional<ConsumerGroupHeartbeatRequest> r = {}) {
    auto resp = send(r ? *r : beat_request(c));
    if (resp.error_code != ErrorCode::NONE) return resp;
    c.epoch = resp.member_epoch;
    if (resp.assignment) {
      c.owned.clear();
      for (const auto& tp : resp.assignment->topic_partitions)
        c.owned[tp.topic_id].insert(tp.partitions.begin(), tp.partitions.end());
    }
    expect_exclusive();
    return resp;
  }

  ConsumerGroupHeartbeatResponse join(Client& c, std::vector<std::string> names = {"orders"}) {
    return beat(c, join_request(c, std::move(names)));
  }

  // No partition is owned by two clients, nor held (owned or being revoked) by two members.
  void expect_exclusive() {
    std::map<std::pair<protocol::Uuid, int32_t>, std::string> held;
    for (const Client* c : clients) {
      if (!member(*c)) continue;  // fenced: a zombie whose partitions are no longer its own
      for (const auto& [t, ps] : c->owned)
        for (int32_t p : ps) {
          auto [it, fresh] = held.emplace(std::make_pair(t, p), c->member_id);
          EXPECT_TRUE(fresh) << "partition " << p << " owned by " << it->second << " and "
                             << c->member_id;
        }
    }
    const ConsumerGroup* g = group();
    if (!g) return;
    held.clear();
    for (const auto& [id, m] : g->members())
      for (const auto* set : {&m.assigned_partitions, &m.partitions_pending_revocation})
        for (const auto& [t, ps] : *set)
          for (int32_t p : ps) EXPECT_TRUE(held.emplace(std::make_pair(t, p), id).second);
  }

  const ConsumerGroup* group() const { return coord->consumer_groups().group("g"); }
  const ConsumerGroupMember* member(const Client& c) const {
    return group() ? group()->member(c.member_id) : nullptr;
  }

  // Heartbeats every client in turn until the group is stable (at most `rounds` rounds).
  void settle(std::vector<Client*> cs, int rounds = 6) {
    for (int i = 0; i < rounds && group()->state() != ConsumerGroupState::STABLE; ++i)
      for (Client* c : cs) ASSERT_EQ(beat(*c).error_code, ErrorCode::NONE);
    ASSERT_EQ(group()->state(), ConsumerGroupState::STABLE);
  }

  storage::ManualClock clock{1'000'000};
  MemoryLog log;
  TopicsImage topics;
  std::unique_ptr<GroupCoordinator> coord;
  Client a{"member-a"}, b{"member-b"};
  std::vector<const Client*> clients{&a, &b};
};

TEST_F(ConsumerGroupTest, FirstMemberGetsEverything) {
  auto r = join(a);
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.member_id, "member-a");
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(a.owned.at(kOrders), (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(group()->state(), ConsumerGroupState::STABLE);
  EXPECT_EQ(group()->group_epoch(), 1);
  EXPECT_EQ(group()->assignment_epoch(), 1);
  EXPECT_EQ(coord->consumer_groups().assignor_name(*group()), "uniform");
  // What ConsumerGroupDescribe reports of the member.
  const ConsumerGroupMember* m = member(a);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->metadata.client_id, "client");
  EXPECT_EQ(m->metadata.client_host, "/10.0.0.1");
  EXPECT_EQ(m->metadata.subscribed_topic_names, std::vector<std::string>{"orders"});
  EXPECT_EQ(m->metadata.rebalance_timeout_ms, 10000);
  EXPECT_EQ(m->assigned_partitions, group()->target(a.member_id));
  // A heartbeat that changes nothing writes nothing and carries no assignment.
  const size_t stored = log.records().size();
  r = beat(a);
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_FALSE(r.assignment);
  EXPECT_EQ(log.records().size(), stored);
}

TEST_F(ConsumerGroupTest, SecondMemberWaitsForRevocation) {
  join(a);
  auto r = join(b);
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, 2);
  EXPECT_EQ(group()->state(), ConsumerGroupState::RECONCILING);
  // b's partitions are still a's: it waits for them.
  EXPECT_TRUE(b.owned.empty());
  EXPECT_EQ(member(b)->state, MemberState::UNRELEASED_PARTITIONS);

  // a is asked to revoke two partitions and stays at epoch 1 until it does.
  r = beat(a);
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(member(a)->state, MemberState::UNREVOKED_PARTITIONS);
  EXPECT_EQ(count(a.owned), 2u);
  EXPECT_EQ(count(member(a)->partitions_pending_revocation), 2u);
  EXPECT_TRUE(coord->consumer_groups().rebalance_deadline("g", a.member_id));
  // b still cannot have them: a has not acknowledged.
  r = beat(b);
  EXPECT_FALSE(r.assignment);
  EXPECT_TRUE(b.owned.empty());

  // a acknowledges (its heartbeat no longer lists them): epoch 2, stable.
  r = beat(a);
  EXPECT_EQ(r.member_epoch, 2);
  EXPECT_EQ(member(a)->state, MemberState::STABLE);
  EXPECT_FALSE(coord->consumer_groups().rebalance_deadline("g", a.member_id));
  r = beat(b);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(count(b.owned), 2u);
  EXPECT_EQ(group()->state(), ConsumerGroupState::STABLE);
}

TEST_F(ConsumerGroupTest, ThreeMembersTwoTopicsSettleBalanced) {
  Client c{"member-c"};
  clients.push_back(&c);
  join(a, {"orders", "payments"});
  join(b, {"orders", "payments"});
  join(c, {"orders", "payments"});
  settle({&a, &b, &c});
  for (const Client* x : {&a, &b, &c}) {
    EXPECT_EQ(x->epoch, 3);
    EXPECT_EQ(count(x->owned), 2u);
  }
}

TEST_F(ConsumerGroupTest, LeavingMemberReleasesItsPartitions) {
  join(a);
  join(b);
  settle({&a, &b});
  auto leave = beat_request(a);
  leave.member_epoch = kLeaveGroupMemberEpoch;
  auto r = send(leave);
  EXPECT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, -1);
  a.owned.clear();
  EXPECT_FALSE(member(a));
  EXPECT_EQ(group()->group_epoch(), 3);
  EXPECT_FALSE(coord->consumer_groups().session_deadline("g", a.member_id));
  r = beat(b);
  EXPECT_EQ(r.member_epoch, 3);
  EXPECT_EQ(count(b.owned), 4u);
  // The one who left is unknown now.
  a.epoch = 2;
  EXPECT_EQ(send(beat_request(a)).error_code, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(ConsumerGroupTest, SessionExpiryFencesTheSilentMember) {
  join(a);
  join(b);
  settle({&a, &b});
  const int64_t a_deadline = *coord->consumer_groups().session_deadline("g", a.member_id);
  clock.advance(30000);
  beat(b);
  EXPECT_EQ(coord->next_deadline_ms(), a_deadline);
  clock.set(a_deadline - 1);
  coord->tick();
  EXPECT_TRUE(member(a));
  clock.set(a_deadline);
  coord->tick();
  EXPECT_FALSE(member(a));
  a.owned.clear();
  EXPECT_TRUE(member(b));
  beat(b);
  EXPECT_EQ(count(b.owned), 4u);
  EXPECT_EQ(send(beat_request(a)).error_code, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(ConsumerGroupTest, RevocationPastTheRebalanceTimeoutFencesTheMember) {
  join(a);
  join(b);
  beat(a);  // asked to revoke two partitions
  ASSERT_EQ(member(a)->state, MemberState::UNREVOKED_PARTITIONS);
  // a keeps heartbeating but never lets go.
  auto hold = beat_request(a);
  hold.topic_partitions->clear();
  hold.topic_partitions->push_back({kOrders, {0, 1, 2, 3}, {}});
  clock.advance(5000);
  EXPECT_EQ(send(hold).member_epoch, 1);
  clock.advance(5000);
  coord->tick();
  EXPECT_FALSE(member(a));
  a.owned.clear();
  EXPECT_EQ(send(hold).error_code, ErrorCode::UNKNOWN_MEMBER_ID);
  beat(b);
  EXPECT_EQ(count(b.owned), 4u);
}

TEST_F(ConsumerGroupTest, LostBumpIsAcceptedAtThePreviousEpoch) {
  join(a);
  join(b);
  beat(a);  // revoking, epoch 1
  beat(a);  // acknowledged: epoch 2, but say the answer was lost
  Client lost = a;
  lost.epoch = 1;
  auto r = send(beat_request(lost));
  EXPECT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, 2);
  // A partition it does not own at the previous epoch: fenced.
  lost.owned[kOrders].insert(3);
  lost.owned[kOrders].insert(2);
  lost.owned[kOrders].insert(1);
  lost.owned[kOrders].insert(0);
  EXPECT_EQ(send(beat_request(lost)).error_code, ErrorCode::FENCED_MEMBER_EPOCH);
  // An epoch from the future: fenced.
  Client ahead = a;
  ahead.epoch = 7;
  EXPECT_EQ(send(beat_request(ahead)).error_code, ErrorCode::FENCED_MEMBER_EPOCH);
}

TEST_F(ConsumerGroupTest, StaticMemberLeavesAndRejoins) {
  a.instance_id = "instance-1";
  join(a);
  join(b);
  settle({&a, &b});
  const TopicPartitionSet a_owned = a.owned;
  const int32_t epoch = group()->group_epoch();

  // Another process with the same instance id while a is in the group.
  Client twin{"member-twin", "instance-1"};
  EXPECT_EQ(send(join_request(twin)).error_code, ErrorCode::UNRELEASED_INSTANCE_ID);
  // A heartbeat naming the instance with another member id.
  twin.epoch = a.epoch;
  EXPECT_EQ(send(beat_request(twin)).error_code, ErrorCode::FENCED_INSTANCE_ID);

  auto leave = beat_request(a);
  leave.member_epoch = kLeaveGroupStaticMemberEpoch;
  auto r = send(leave);
  EXPECT_EQ(r.member_epoch, -2);
  EXPECT_EQ(member(a)->member_epoch, -2);
  EXPECT_EQ(group()->group_epoch(), epoch);  // no rebalance
  // Its partitions stay with it: b does not get them.
  beat(b);
  EXPECT_EQ(count(b.owned), 2u);

  // It comes back as a new process (new member id), within its session.
  clock.advance(10000);
  Client back{"member-a2", "instance-1"};
  clients = {&back, &b};
  r = join(back);
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, epoch);
  EXPECT_EQ(back.owned, a_owned);
  EXPECT_EQ(group()->group_epoch(), epoch);
  EXPECT_FALSE(member(a));
  EXPECT_FALSE(coord->consumer_groups().session_deadline("g", a.member_id));
  EXPECT_EQ(group()->state(), ConsumerGroupState::STABLE);
}

TEST_F(ConsumerGroupTest, StaticMemberThatDoesNotReturnExpires) {
  a.instance_id = "instance-1";
  join(a);
  auto leave = beat_request(a);
  leave.member_epoch = kLeaveGroupStaticMemberEpoch;
  send(leave);
  clock.advance(45000);
  coord->tick();
  EXPECT_FALSE(member(a));
  EXPECT_EQ(group()->state(), ConsumerGroupState::EMPTY);
}

TEST_F(ConsumerGroupTest, RegexSubscription) {
  auto req = join_request(a, {});
  req.subscribed_topic_names.reset();
  req.subscribed_topic_regex = "pay.*";
  auto r = beat(a, req);
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  // The regex is resolved after the heartbeat, as Kafka resolves it: nothing yet.
  EXPECT_EQ(count(a.owned), 0u);
  EXPECT_FALSE(group()->regexes().count("pay.*"));
  ASSERT_EQ(coord->next_deadline_ms(), clock.now_ms());
  coord->tick();
  r = beat(a);
  EXPECT_EQ(count(a.owned), 2u);
  EXPECT_TRUE(a.owned.count(kPayments));
  ASSERT_TRUE(group()->regexes().count("pay.*"));
  EXPECT_EQ(group()->regexes().at("pay.*").topics, std::vector<std::string>{"payments"});
  // A new topic that matches: the group rebalances onto it.
  topics.add("payroll", kPayroll, 3);
  r = beat(a);
  EXPECT_EQ(r.member_epoch, 3);
  EXPECT_EQ(count(a.owned), 5u);
  // The whole name must match (as Kafka's matches()).
  topics.add("repay", uuid(9), 1);
  r = beat(a);
  EXPECT_EQ(count(a.owned), 5u);
  // Back to topic names: the regex is no longer used and its record is deleted.
  auto names = beat_request(a);
  names.subscribed_topic_names = std::vector<std::string>{"orders"};
  names.subscribed_topic_regex = "";
  beat(a, names);
  beat(a);
  EXPECT_EQ(a.owned.count(kOrders), 1u);
  EXPECT_EQ(count(a.owned), 4u);
  EXPECT_TRUE(group()->regexes().empty());
}

TEST_F(ConsumerGroupTest, InvalidRequests) {
  auto r = join_request(a);
  r.rebalance_timeout_ms = -1;
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REQUEST);
  r = join_request(a);
  r.topic_partitions->push_back({kOrders, {0}, {}});
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REQUEST);
  r = join_request(a);
  r.subscribed_topic_names.reset();
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REQUEST);
  r = join_request(a);
  r.member_id.clear();
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REQUEST);
  r = join_request(a);
  r.member_epoch = -2;  // a static leave without an instance id
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REQUEST);
  r = join_request(a);
  r.member_epoch = -3;
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REQUEST);
  r = join_request(a);
  r.subscribed_topic_regex = "(unclosed";
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REGULAR_EXPRESSION);
  r = join_request(a);
  r.subscribed_topic_regex = std::string(20000, '(');
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REGULAR_EXPRESSION);
  r.subscribed_topic_regex = "(?=t)t.*";  // a lookahead: RE2/J refuses it
  EXPECT_EQ(send(r).error_code, ErrorCode::INVALID_REGULAR_EXPRESSION);
  r = join_request(a);
  r.server_assignor = "sticky";
  EXPECT_EQ(send(r).error_code, ErrorCode::UNSUPPORTED_ASSIGNOR);
  // No group: a heartbeat past the first one.
  Client ghost{"ghost"};
  ghost.epoch = 3;
  EXPECT_EQ(send(beat_request(ghost)).error_code, ErrorCode::GROUP_ID_NOT_FOUND);
  EXPECT_FALSE(group());
  EXPECT_TRUE(log.records().empty());
}

TEST_F(ConsumerGroupTest, VersionZeroGetsAMemberIdFromTheCoordinator) {
  auto r = join_request(a);
  r.member_id.clear();
  auto resp = coord->consumer_group_heartbeat(r, {0, "client", "/10.0.0.1"}, topics);
  ASSERT_EQ(resp.error_code, ErrorCode::NONE);
  ASSERT_TRUE(resp.member_id);
  EXPECT_FALSE(resp.member_id->empty());
  EXPECT_TRUE(group()->member(*resp.member_id));
}

TEST_F(ConsumerGroupTest, GroupMaxSize) {
  CoordinatorConfig cfg;
  cfg.offsets_partitions = 3;
  cfg.consumer_group.max_size = 1;
  MemoryLog small_log;
  GroupCoordinator small(cfg, clock, small_log);
  small.mark_all_loaded();
  small_log.attach(&small);
  EXPECT_EQ(small.consumer_group_heartbeat(join_request(a), {}, topics).error_code,
            ErrorCode::NONE);
  EXPECT_EQ(small.consumer_group_heartbeat(join_request(b), {}, topics).error_code,
            ErrorCode::GROUP_MAX_SIZE_REACHED);
}

TEST_F(ConsumerGroupTest, RangeAssignorOnRequest) {
  auto ra = join_request(a, {"orders", "payments"});
  ra.server_assignor = "range";
  beat(a, ra);
  auto rb = join_request(b, {"orders", "payments"});
  rb.server_assignor = "range";
  beat(b, rb);
  settle({&a, &b});
  EXPECT_EQ(coord->consumer_groups().assignor_name(*group()), "range");
  EXPECT_EQ(a.owned.at(kOrders), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(a.owned.at(kPayments), (std::set<int32_t>{0}));
  EXPECT_EQ(b.owned.at(kOrders), (std::set<int32_t>{2, 3}));
  EXPECT_EQ(b.owned.at(kPayments), (std::set<int32_t>{1}));
}

TEST_F(ConsumerGroupTest, FailedAppendLeavesStateUnchanged) {
  log.fail_next = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  EXPECT_EQ(send(join_request(a)).error_code, ErrorCode::NOT_COORDINATOR);
  EXPECT_FALSE(group());
  EXPECT_FALSE(coord->next_deadline_ms());

  join(a);
  const ConsumerGroup before = *group();
  const size_t stored = log.records().size();
  log.fail_next = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  EXPECT_EQ(send(join_request(b)).error_code, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(group()->members(), before.members());
  EXPECT_EQ(group()->group_epoch(), before.group_epoch());
  EXPECT_EQ(group()->targets(), before.targets());
  EXPECT_EQ(log.records().size(), stored);
  EXPECT_FALSE(coord->consumer_groups().session_deadline("g", b.member_id));

  // A fencing whose write fails keeps the member and tries again later.
  clock.advance(45000);
  log.fail_next = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  coord->tick();
  EXPECT_TRUE(member(a));
  EXPECT_EQ(coord->next_deadline_ms(), clock.now_ms() + 5000);
  clock.advance(5000);
  coord->tick();
  EXPECT_FALSE(member(a));
}

TEST_F(ConsumerGroupTest, ReloadRebuildsTheSameState) {
  Client c{"member-c"};
  c.instance_id = "static-c";
  clients.push_back(&c);
  join(a, {"orders", "payments"});
  join(b, {"orders"});
  beat(a);
  auto req = join_request(c, {});
  req.subscribed_topic_regex = "pay.*";
  beat(c, req);
  coord->tick();  // the regex is resolved
  beat(c);
  beat(b);  // some members are mid-reconciliation now
  ASSERT_NE(group()->state(), ConsumerGroupState::STABLE);

  auto fresh = make();
  log.load_into(*fresh);
  const ConsumerGroup* g = fresh->consumer_groups().group("g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->group_epoch(), group()->group_epoch());
  EXPECT_EQ(g->metadata_hash(), group()->metadata_hash());
  EXPECT_EQ(g->assignment_epoch(), group()->assignment_epoch());
  EXPECT_EQ(g->members(), group()->members());
  EXPECT_EQ(g->targets(), group()->targets());
  EXPECT_EQ(g->regexes(), group()->regexes());
  EXPECT_EQ(g->state(), group()->state());
  EXPECT_EQ(fresh->skipped_records(), 0u);
  // Sessions run from the load.
  for (const Client* x : clients)
    EXPECT_EQ(fresh->consumer_groups().session_deadline("g", x->member_id), clock.now_ms() + 45000);
}

TEST_F(ConsumerGroupTest, OffsetCommitsAreCheckedAgainstTheMemberEpoch) {
  join(a);
  OffsetCommitPartition p{"orders", 0, 42, -1, "", -1};
  EXPECT_EQ(coord->commit_offsets("g", a.member_id, 1, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(coord->fetch_offset("g", "orders", 0)->offset, 42);
  EXPECT_EQ(coord->commit_offsets("g", a.member_id, 0, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::STALE_MEMBER_EPOCH});
  EXPECT_EQ(coord->commit_offsets("g", "nobody", 1, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::UNKNOWN_MEMBER_ID});
  EXPECT_EQ(coord->commit_offsets("g", "", -1, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::UNKNOWN_MEMBER_ID});
  // Transactional commits from a member are checked the same way.
  EXPECT_EQ(coord->commit_txn_offsets("g", 7, 0, a.member_id, 0, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::STALE_MEMBER_EPOCH});
  EXPECT_EQ(coord->commit_txn_offsets("g", 7, 0, a.member_id, 1, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::NONE});
  // Once the group is empty, standalone commits are allowed.
  auto leave = beat_request(a);
  leave.member_epoch = -1;
  send(leave);
  EXPECT_EQ(coord->commit_offsets("g", "", -1, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::NONE});
  // The group is still a consumer group, not a classic one.
  EXPECT_FALSE(coord->group("g"));
  auto listed = coord->list({});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].protocol_type, "consumer");
  EXPECT_EQ(listed[0].state, "Empty");
}

TEST_F(ConsumerGroupTest, OneProtocolPerGroupId) {
  join(a);
  JoinRequest classic;
  classic.token = 1;
  classic.client_id = "c";
  classic.session_timeout_ms = 10000;
  classic.rebalance_timeout_ms = 10000;
  classic.protocol_type = "consumer";
  classic.protocols = {{"range", {}}};
  auto j = coord->join("g", classic);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  // A classic group with members refuses the consumer protocol.
  EXPECT_FALSE(coord->join("classic", classic));  // waits for the initial rebalance delay
  ASSERT_TRUE(coord->group("classic"));
  EXPECT_NE(coord->group("classic")->state(), GroupState::Empty);
  auto req = join_request(b);
  req.group_id = "classic";
  EXPECT_EQ(send(req).error_code, ErrorCode::GROUP_ID_NOT_FOUND);
}

TEST_F(ConsumerGroupTest, EmptyGroupCanBeDeleted) {
  join(a);
  EXPECT_EQ(coord->delete_group("g"), ErrorCode::NON_EMPTY_GROUP);
  auto leave = beat_request(a);
  leave.member_epoch = -1;
  send(leave);
  EXPECT_EQ(coord->delete_group("g"), ErrorCode::NONE);
  EXPECT_FALSE(group());
  auto fresh = make();
  log.load_into(*fresh);
  EXPECT_FALSE(fresh->consumer_groups().group("g"));
}

TEST_F(ConsumerGroupTest, MalformedRecordsAreSkipped) {
  join(a);
  const size_t stored = log.records().size();
  // A member record of a known type with a value that is not one.
  log.append(coord->partition_for("g"),
             {{encode_consumer_group_key({ConsumerGroupRecordType::MemberMetadata, "g", "x"}),
               protocol::Bytes{0, 0, 9}},
              {encode_consumer_group_key(
                   {ConsumerGroupRecordType::CurrentMemberAssignment, "g", a.member_id}),
               protocol::Bytes{0, 1}}});
  EXPECT_EQ(coord->skipped_records(), 2u);
  EXPECT_EQ(group()->members().size(), 1u);
  EXPECT_EQ(member(a)->member_epoch, 1);
  EXPECT_EQ(log.records().size(), stored + 2);
}

// Members join, heartbeat (acknowledging or not), leave and time out in a random order; no
// partition is ever held by two members, and once everyone heartbeats the group settles.
TEST_F(ConsumerGroupTest, RandomScheduleKeepsPartitionsExclusive) {
  std::vector<std::unique_ptr<Client>> pool;
  for (int i = 0; i < 5; ++i) pool.push_back(std::make_unique<Client>("m" + std::to_string(i)));
  clients.clear();
  for (auto& c : pool) clients.push_back(c.get());
  std::map<const Client*, bool> in;
  uint32_t rng = 99;
  auto next = [&rng] {
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
  };
  for (int step = 0; step < 400; ++step) {
    Client& c = *pool[next() % pool.size()];
    const uint32_t action = next() % 10;
    if (!in[&c]) {
      c.owned.clear();
      c.epoch = 0;
      ASSERT_EQ(join(c, {"orders", "payments"}).error_code, ErrorCode::NONE);
      in[&c] = true;
    } else if (action == 0) {
      auto leave = beat_request(c);
      leave.member_epoch = -1;
      const ErrorCode e = send(leave).error_code;
      ASSERT_TRUE(e == ErrorCode::NONE || (e == ErrorCode::UNKNOWN_MEMBER_ID && !member(c)));
      c.owned.clear();
      in[&c] = false;
    } else if (action <= 2) {
      // Slow to revoke: it takes what it is given but lets go of nothing this time.
      auto r = send(beat_request(c));
      if (r.error_code == ErrorCode::UNKNOWN_MEMBER_ID) {
        c.owned.clear();
        in[&c] = false;
      } else {
        ASSERT_EQ(r.error_code, ErrorCode::NONE);
        c.epoch = r.member_epoch;
        if (r.assignment)
          for (const auto& tp : r.assignment->topic_partitions)
            c.owned[tp.topic_id].insert(tp.partitions.begin(), tp.partitions.end());
      }
    } else {
      auto r = beat(c);
      if (r.error_code == ErrorCode::UNKNOWN_MEMBER_ID) {
        c.owned.clear();
        in[&c] = false;
      } else {
        ASSERT_EQ(r.error_code, ErrorCode::NONE);
      }
    }
    expect_exclusive();
    clock.advance(1000);
    coord->tick();
  }
  EXPECT_GT(group()->group_epoch(), 20);  // many joins, leaves and fencings happened
  std::vector<Client*> live;
  for (auto& c : pool)
    if (in[c.get()] && member(*c)) live.push_back(c.get());
  if (live.empty()) return;
  settle(live, 8);
  size_t total = 0;
  for (Client* c : live) {
    total += count(c->owned);
    EXPECT_EQ(c->owned, member(*c)->assigned_partitions);
  }
  EXPECT_EQ(total, 6u);
}

}  // namespace
}  // namespace runnel::coordinator

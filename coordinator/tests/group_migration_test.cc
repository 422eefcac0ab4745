// The online migration between the classic and the consumer group protocol (KIP-848) through
// the GroupCoordinator, with the MemoryLog as its runtime and a manual clock: a classic group
// upgraded by a joining consumer, its classic members reconciled through JoinGroup/SyncGroup/
// Heartbeat, the downgrade when the last consumer leaves, the policy, and reload.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/consumer_protocol.h"
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

// A consumer of the classic protocol (cooperative: it reports what it owns when it rejoins).
struct ClassicClient {
  std::string member_id;
  int32_t generation = -1;
  NamedPartitions owned;
};

class GroupMigrationTest : public ::testing::Test {
 protected:
  GroupMigrationTest() {
    topics.add("orders", kOrders, 4);
    coord = make();
    coord->mark_all_loaded();
    log.attach(coord.get());
  }

  std::unique_ptr<GroupCoordinator> make(ConsumerGroupConfig cg = {}) {
    CoordinatorConfig cfg;
    cfg.offsets_partitions = 3;
    cfg.group.initial_rebalance_delay_ms = 0;
    cfg.consumer_group = std::move(cg);
    auto c = std::make_unique<GroupCoordinator>(cfg, clock, log, [this](const std::string& client) {
      return client + "-" + std::to_string(++ids);
    });
    c->set_topics_source([this] { return topics; });
    return c;
  }

  JoinRequest join_req(const ClassicClient& c) {
    JoinRequest r;
    r.token = ++tokens;
    r.member_id = c.member_id;
    r.client_id = "classic";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 20000;
    r.protocol_type = "consumer";
    ConsumerProtocolSubscription s;
    s.topics = {"orders"};
    s.owned_partitions = c.owned;
    r.protocols = {{"cooperative-sticky", encode_consumer_subscription(s)},
                   {"range", encode_consumer_subscription(s)}};
    return r;
  }

  // The classic group "g" of one member that owns every partition, Stable at generation 1.
  ClassicClient stable_classic_group() {
    ClassicClient c;
    EXPECT_FALSE(coord->join("g", join_req(c)).has_value());
    auto ready = coord->take_ready_responses();
    EXPECT_EQ(ready.joins.size(), 1u);
    c.member_id = ready.joins.at(0).second.member_id;
    c.generation = ready.joins.at(0).second.generation_id;
    ConsumerProtocolAssignment all;
    all.partitions["orders"] = {0, 1, 2, 3};
    SyncRequest s;
    s.token = ++tokens;
    s.member_id = c.member_id;
    s.generation_id = c.generation;
    s.assignments = {{c.member_id, encode_consumer_assignment(all)}};
    EXPECT_FALSE(coord->sync("g", s).has_value());
    EXPECT_EQ(coord->take_ready_responses().syncs.size(), 1u);
    c.owned = all.partitions;
    return c;
  }

  ConsumerGroupHeartbeatRequest consumer_join(const std::string& member_id) {
    ConsumerGroupHeartbeatRequest r;
    r.group_id = "g";
    r.member_id = member_id;
    r.member_epoch = 0;
    r.rebalance_timeout_ms = 10000;
    r.subscribed_topic_names = std::vector<std::string>{"orders"};
    r.topic_partitions.emplace();
    return r;
  }

  ConsumerGroupHeartbeatResponse send(const ConsumerGroupHeartbeatRequest& r) {
    return coord->consumer_group_heartbeat(r, {1, "consumer", "/10.0.0.1"}, topics);
  }

  // The classic client rejoins and syncs, as the Java client does; returns the join's error.
  ErrorCode rejoin(ClassicClient& c) {
    auto j = coord->join("g", join_req(c));
    if (!j) return ErrorCode::UNKNOWN_SERVER_ERROR;  // a consumer group answers at once
    if (j->error != ErrorCode::NONE) return j->error;
    EXPECT_EQ(j->protocol_name, "cooperative-sticky");
    EXPECT_EQ(j->leader, "");
    EXPECT_TRUE(j->members.empty());
    c.member_id = j->member_id;
    c.generation = j->generation_id;
    SyncRequest s;
    s.token = ++tokens;
    s.member_id = c.member_id;
    s.generation_id = c.generation;
    s.protocol_type = "consumer";
    s.protocol_name = "cooperative-sticky";
    auto sr = coord->sync("g", s);
    EXPECT_TRUE(sr.has_value());
    if (!sr) return ErrorCode::UNKNOWN_SERVER_ERROR;
    if (sr->error != ErrorCode::NONE) return sr->error;
    auto a = decode_consumer_assignment(sr->assignment);
    EXPECT_TRUE(a.has_value());
    if (a) c.owned = a->partitions;
    return ErrorCode::NONE;
  }

  ErrorCode classic_heartbeat(const ClassicClient& c) {
    HeartbeatRequest h;
    h.member_id = c.member_id;
    h.generation_id = c.generation;
    return coord->heartbeat("g", h);
  }

  const ConsumerGroup* group() const { return coord->consumer_groups().group("g"); }

  storage::ManualClock clock{1'000'000};
  MemoryLog log;
  TopicsImage topics;
  std::unique_ptr<GroupCoordinator> coord;
  uint64_t tokens = 0;
  int ids = 0;
};

TEST_F(GroupMigrationTest, UpgradeKeepsTheClassicMemberAndItsPartitions) {
  ClassicClient a = stable_classic_group();
  ASSERT_EQ(coord->commit_offsets("g", a.member_id, a.generation, std::nullopt,
                                  {{"orders", 0, 42, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::NONE});

  auto r = send(consumer_join("b"));
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(coord->group("g"), nullptr);  // the classic group is gone
  ASSERT_TRUE(group());
  const ConsumerGroupMember* ma = group()->member(a.member_id);
  ASSERT_TRUE(ma);
  ASSERT_TRUE(ma->metadata.classic_member_metadata);
  EXPECT_EQ(ma->metadata.classic_member_metadata->session_timeout_ms, 10000);
  ASSERT_EQ(ma->metadata.classic_member_metadata->supported_protocols.size(), 2u);
  EXPECT_EQ(ma->metadata.subscribed_topic_names, std::vector<std::string>{"orders"});
  EXPECT_EQ(ma->member_epoch, 1);  // the classic generation
  EXPECT_EQ(ma->assigned_partitions.at(kOrders), (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(group()->group_epoch(), 2);
  EXPECT_EQ(r.member_epoch, 2);
  // b waits for a's partitions; the classic session timeout is a's own.
  EXPECT_EQ(group()->member("b")->state, MemberState::UNRELEASED_PARTITIONS);
  EXPECT_EQ(coord->consumer_groups().session_deadline("g", a.member_id), clock.now_ms() + 10000);
  // The offsets stay.
  ASSERT_TRUE(coord->fetch_offset("g", "orders", 0));
  EXPECT_EQ(coord->fetch_offset("g", "orders", 0)->offset, 42);

  // a learns of the rebalance from its heartbeat and rejoins: it must give two partitions up
  // first (its generation stays 1), then rejoins owning only what it kept.
  EXPECT_EQ(classic_heartbeat(a), ErrorCode::REBALANCE_IN_PROGRESS);
  ASSERT_EQ(rejoin(a), ErrorCode::NONE);
  EXPECT_EQ(a.generation, 1);
  EXPECT_EQ(a.owned.at("orders").size(), 2u);
  EXPECT_EQ(group()->member(a.member_id)->state, MemberState::UNREVOKED_PARTITIONS);
  EXPECT_EQ(classic_heartbeat(a), ErrorCode::REBALANCE_IN_PROGRESS);
  ASSERT_EQ(rejoin(a), ErrorCode::NONE);
  EXPECT_EQ(a.generation, 2);
  EXPECT_EQ(group()->member(a.member_id)->state, MemberState::STABLE);
  EXPECT_EQ(classic_heartbeat(a), ErrorCode::NONE);

  // b now gets the released partitions.
  ConsumerGroupHeartbeatRequest hb;
  hb.group_id = "g";
  hb.member_id = "b";
  hb.member_epoch = 2;
  hb.topic_partitions.emplace();
  r = send(hb);
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  ASSERT_TRUE(r.assignment);
  ASSERT_EQ(r.assignment->topic_partitions.size(), 1u);
  EXPECT_EQ(r.assignment->topic_partitions[0].partitions.size(), 2u);
  EXPECT_EQ(group()->state(), ConsumerGroupState::STABLE);

  // A classic member commits with its generation, which is its member epoch.
  EXPECT_EQ(coord->commit_offsets("g", a.member_id, 2, std::nullopt, {{"orders", 0, 43, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(coord->commit_offsets("g", a.member_id, 1, std::nullopt, {{"orders", 0, 44, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::ILLEGAL_GENERATION});
  // Its SyncGroup is checked as Kafka checks it.
  SyncRequest bad;
  bad.member_id = a.member_id;
  bad.generation_id = 1;
  EXPECT_EQ(coord->sync("g", bad)->error, ErrorCode::ILLEGAL_GENERATION);
  bad.generation_id = 2;
  bad.protocol_name = "range";
  EXPECT_EQ(coord->sync("g", bad)->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  bad.member_id = "b";  // not a member of the classic protocol
  bad.protocol_name.reset();
  EXPECT_EQ(coord->sync("g", bad)->error, ErrorCode::UNKNOWN_MEMBER_ID);

  // The whole of it survives a restart: the classic member keeps its own session timeout.
  auto again = make();
  log.load_into(*again);
  const ConsumerGroup* g = again->consumer_groups().group("g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->members().size(), 2u);
  EXPECT_TRUE(g->member(a.member_id)->metadata.classic_member_metadata);
  EXPECT_EQ(again->group("g"), nullptr);
  EXPECT_EQ(again->consumer_groups().session_deadline("g", a.member_id), clock.now_ms() + 10000);
}

TEST_F(GroupMigrationTest, DowngradeWhenTheLastConsumerLeaves) {
  ClassicClient a = stable_classic_group();
  ASSERT_EQ(send(consumer_join("b")).error_code, ErrorCode::NONE);
  ASSERT_EQ(rejoin(a), ErrorCode::NONE);
  ASSERT_EQ(rejoin(a), ErrorCode::NONE);
  const int32_t epoch = group()->group_epoch();

  ConsumerGroupHeartbeatRequest leave;
  leave.group_id = "g";
  leave.member_id = "b";
  leave.member_epoch = -1;
  auto r = send(leave);
  ASSERT_EQ(r.error_code, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, -1);
  EXPECT_EQ(group(), nullptr);
  const ClassicGroup* cg = coord->group("g");
  ASSERT_NE(cg, nullptr);
  EXPECT_EQ(cg->state(), GroupState::PreparingRebalance);
  EXPECT_EQ(cg->generation_id(), epoch);
  EXPECT_EQ(cg->protocol_name(), "cooperative-sticky");
  EXPECT_TRUE(cg->has_member(a.member_id));
  // a keeps its target partitions until it rejoins.
  auto stored = decode_consumer_assignment(cg->snapshot().members.at(0).assignment);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->partitions.at("orders").size(), 2u);

  EXPECT_EQ(classic_heartbeat(a), ErrorCode::REBALANCE_IN_PROGRESS);
  EXPECT_FALSE(coord->join("g", join_req(a)).has_value());
  auto ready = coord->take_ready_responses();
  ASSERT_EQ(ready.joins.size(), 1u);
  EXPECT_EQ(ready.joins[0].second.error, ErrorCode::NONE);
  EXPECT_EQ(ready.joins[0].second.generation_id, epoch + 1);
  EXPECT_EQ(ready.joins[0].second.leader, a.member_id);

  // A restart finds the classic group.
  auto again = make();
  log.load_into(*again);
  EXPECT_EQ(again->consumer_groups().group("g"), nullptr);
  ASSERT_NE(again->group("g"), nullptr);
  EXPECT_TRUE(again->group("g")->has_member(a.member_id));
}

TEST_F(GroupMigrationTest, SessionExpiryOfTheLastConsumerDowngrades) {
  ClassicClient a = stable_classic_group();
  ASSERT_EQ(send(consumer_join("b")).error_code, ErrorCode::NONE);
  ASSERT_EQ(rejoin(a), ErrorCode::NONE);
  ASSERT_EQ(rejoin(a), ErrorCode::NONE);
  // a keeps its session alive; b's (45 s) expires.
  for (int i = 0; i < 6; ++i) {
    clock.advance(8000);
    coord->tick();
    if (coord->group("g")) break;
    EXPECT_NE(classic_heartbeat(a), ErrorCode::UNKNOWN_MEMBER_ID);
  }
  ASSERT_NE(coord->group("g"), nullptr);
  EXPECT_EQ(coord->group("g")->state(), GroupState::PreparingRebalance);
  EXPECT_EQ(group(), nullptr);
}

TEST_F(GroupMigrationTest, PolicyRefusesTheUpgrade) {
  ConsumerGroupConfig cg;
  ASSERT_TRUE(parse_migration_policy("Downgrade", cg));
  EXPECT_FALSE(cg.upgrade);
  EXPECT_TRUE(cg.downgrade);
  EXPECT_FALSE(parse_migration_policy("sideways", cg));
  coord = make(cg);
  coord->mark_all_loaded();
  log.attach(coord.get());
  ClassicClient a = stable_classic_group();
  auto r = send(consumer_join("b"));
  EXPECT_EQ(r.error_code, ErrorCode::GROUP_ID_NOT_FOUND);
  EXPECT_EQ(r.error_message,
            "Cannot upgrade classic group g to consumer group because online "
            "upgrade is disabled.");
  ASSERT_NE(coord->group("g"), nullptr);
  EXPECT_EQ(coord->group("g")->state(), GroupState::Stable);
  EXPECT_EQ(group(), nullptr);
  // Any other epoch for a classic group is refused too.
  auto hb = consumer_join("b");
  hb.member_epoch = 3;
  EXPECT_EQ(send(hb).error_code, ErrorCode::GROUP_ID_NOT_FOUND);
}

TEST_F(GroupMigrationTest, ClassicJoinsToAConsumerGroupAreChecked) {
  ASSERT_EQ(send(consumer_join("b")).error_code, ErrorCode::NONE);
  ClassicClient c;
  JoinRequest j = join_req(c);
  j.require_known_member_id = true;
  auto r = coord->join("g", j);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, ErrorCode::MEMBER_ID_REQUIRED);
  EXPECT_FALSE(r->member_id.empty());
  c.member_id = r->member_id;
  j = join_req(c);
  j.protocol_type = "connect";
  EXPECT_EQ(coord->join("g", j)->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  j = join_req(c);
  j.session_timeout_ms = 1;
  EXPECT_EQ(coord->join("g", j)->error, ErrorCode::INVALID_SESSION_TIMEOUT);
  j = join_req(c);
  j.protocols[0].metadata = {0, 9};
  EXPECT_EQ(coord->join("g", j)->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  // A classic member joins the consumer group: b gives it half.
  ASSERT_EQ(rejoin(c), ErrorCode::NONE);
  EXPECT_EQ(group()->members().size(), 2u);
  EXPECT_EQ(group()->target(c.member_id).at(kOrders).size(), 2u);
  // It leaves with LeaveGroup: the consumer group stays (b speaks the consumer protocol).
  auto left = coord->leave("g", {{c.member_id, std::nullopt}, {"nobody", std::nullopt}});
  EXPECT_EQ(left.error, ErrorCode::NONE);
  EXPECT_EQ(left.member_errors,
            (std::vector<ErrorCode>{ErrorCode::NONE, ErrorCode::UNKNOWN_MEMBER_ID}));
  ASSERT_TRUE(group());
  EXPECT_EQ(group()->members().size(), 1u);
  EXPECT_EQ(coord->group("g"), nullptr);
}

}  // namespace
}  // namespace runnel::coordinator

#include "coordinator/group_coordinator.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/tests/memory_log.h"

namespace runnel::coordinator {
namespace {

constexpr int32_t kPartitions = 5;

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest() {
    coord = make();
    topic.attach(coord.get());
  }

  std::unique_ptr<GroupCoordinator> make() {
    CoordinatorConfig cfg;
    cfg.offsets_partitions = kPartitions;
    cfg.group.initial_rebalance_delay_ms = 0;
    cfg.offsets_retention_ms = 60000;
    return std::make_unique<GroupCoordinator>(cfg, clock, topic, [this](const std::string& c) {
      return c + "-" + std::to_string(++ids);
    });
  }

  // A new coordinator that loads every partition from the topic, as at start-up.
  std::unique_ptr<GroupCoordinator> reload() {
    auto c = make();
    topic.load_into(*c);
    return c;
  }

  JoinRequest join_req(const std::string& member_id = "") {
    JoinRequest r;
    r.token = ++tokens;
    r.member_id = member_id;
    r.client_id = "c";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 10000;
    r.protocol_type = "consumer";
    // ConsumerProtocolSubscription v0 naming topic "t".
    r.protocols = {{"range", {0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}}};
    return r;
  }

  // One member joins and syncs; returns its member id.
  std::string stable_member(const std::string& group) {
    auto j = coord->join(group, join_req());
    EXPECT_FALSE(j.has_value());
    auto ready = coord->take_ready_responses();
    EXPECT_EQ(ready.joins.size(), 1u);
    std::string member = ready.joins.at(0).second.member_id;
    SyncRequest s;
    s.token = ++tokens;
    s.member_id = member;
    s.generation_id = ready.joins.at(0).second.generation_id;
    s.assignments = {{member, {9, 9}}};
    EXPECT_FALSE(coord->sync(group, s).has_value());
    ready = coord->take_ready_responses();
    EXPECT_EQ(ready.syncs.size(), 1u);
    EXPECT_EQ(ready.syncs.at(0).second.error, ErrorCode::NONE);
    return member;
  }

  storage::ManualClock clock{1'000'000};
  MemoryLog topic;
  std::unique_ptr<GroupCoordinator> coord;
  uint64_t tokens = 0;
  int ids = 0;
};

TEST_F(GroupCoordinatorTest, LoadInProgressUntilThePartitionIsLoaded) {
  EXPECT_EQ(coord->check_group("g"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  int32_t p = coord->partition_for("g");
  coord->begin_load(p);
  EXPECT_EQ(coord->check_group("g"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  coord->finish_load(p);
  EXPECT_EQ(coord->check_group("g"), ErrorCode::NONE);
  EXPECT_EQ(coord->check_group(""), ErrorCode::INVALID_GROUP_ID);
}

TEST_F(GroupCoordinatorTest, StableGroupAndOffsetsSurviveAReload) {
  coord->mark_all_loaded();
  std::string member = stable_member("g");
  auto errors = coord->commit_offsets("g", member, 1, std::nullopt, {{"t", 0, 42, 3, "meta"}});
  ASSERT_EQ(errors, std::vector<ErrorCode>{ErrorCode::NONE});
  // Everything went to the group's partition: metadata, then the offset.
  EXPECT_EQ(topic.partitions.size(), 1u);
  EXPECT_EQ(topic.partitions.begin()->first, coord->partition_for("g"));

  auto again = reload();
  const ClassicGroup* g = again->group("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state(), GroupState::Stable);
  EXPECT_EQ(g->generation_id(), 1);
  EXPECT_TRUE(g->has_member(member));
  EXPECT_EQ(g->describe().members.at(0).assignment, (Bytes{9, 9}));
  auto off = again->fetch_offset("g", "t", 0);
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->offset, 42);
  EXPECT_EQ(off->leader_epoch, 3);
  EXPECT_EQ(off->metadata, "meta");
  // The restored member keeps heartbeating with its generation.
  EXPECT_EQ(again->heartbeat("g", {member, std::nullopt, 1}), ErrorCode::NONE);
  // ... and is removed when it stops.
  clock.advance(10001);
  again->tick();
  EXPECT_EQ(again->group("g")->state(), GroupState::Empty);
}

TEST_F(GroupCoordinatorTest, StandaloneCommitsCreateAnEmptyGroup) {
  coord->mark_all_loaded();
  auto errors = coord->commit_offsets("solo", "", -1, std::nullopt, {{"t", 1, 7, -1, ""}});
  EXPECT_EQ(errors, std::vector<ErrorCode>{ErrorCode::NONE});
  auto listed = coord->list({});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].group_id, "solo");
  EXPECT_EQ(listed[0].state, "Empty");
  EXPECT_TRUE(coord->list({"stable"}).empty());
  EXPECT_EQ(coord->list({"EMPTY"}).size(), 1u);
  // A generation without a group is a stale member.
  EXPECT_EQ(coord->commit_offsets("nobody", "m", 3, std::nullopt, {{"t", 0, 1, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::ILLEGAL_GENERATION});
  // Reloaded, the offsets-only group is still listed.
  auto again = reload();
  EXPECT_EQ(again->list({}).size(), 1u);
  EXPECT_EQ(again->fetch_offset("solo", "t", 1)->offset, 7);
}

TEST_F(GroupCoordinatorTest, StandaloneCommitRefusedWhileMembersOwnTheGroup) {
  coord->mark_all_loaded();
  stable_member("g");
  EXPECT_EQ(coord->commit_offsets("g", "", -1, std::nullopt, {{"t", 0, 1, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::UNKNOWN_MEMBER_ID});
}

TEST_F(GroupCoordinatorTest, FailedAppendChangesNothing) {
  coord->mark_all_loaded();
  topic.fail_next = ErrorCode::KAFKA_STORAGE_ERROR;
  EXPECT_EQ(coord->commit_offsets("g", "", -1, std::nullopt, {{"t", 0, 5, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::COORDINATOR_NOT_AVAILABLE});
  EXPECT_FALSE(coord->fetch_offset("g", "t", 0).has_value());
}

// The leader's assignment is stored before anyone is answered: when that append fails, every
// waiting member gets the store's error as Kafka maps it, nothing of the assignment is kept (in
// memory or in the log) and the group rebalances; the next round completes normally.
TEST_F(GroupCoordinatorTest, FailedStoreOfTheAssignmentAnswersItsErrorAndRebalances) {
  coord->mark_all_loaded();
  const std::string a = stable_member("g");
  // A second member: the first rejoins, both get generation 2.
  JoinRequest jb = join_req();
  EXPECT_FALSE(coord->join("g", jb).has_value());
  EXPECT_EQ(coord->group("g")->state(), GroupState::PreparingRebalance);
  EXPECT_FALSE(coord->join("g", join_req(a)).has_value());
  auto ready = coord->take_ready_responses();
  ASSERT_EQ(ready.joins.size(), 2u);
  std::string b;
  for (const auto& [token, r] : ready.joins)
    if (r.member_id != a) b = r.member_id;
  ASSERT_FALSE(b.empty());
  const int32_t generation = ready.joins[0].second.generation_id;
  ASSERT_EQ(coord->group("g")->leader_id(), a);
  const size_t records_before = topic.partitions[coord->partition_for("g")].size();

  SyncRequest follower;
  follower.token = ++tokens;
  follower.member_id = b;
  follower.generation_id = generation;
  EXPECT_FALSE(coord->sync("g", follower).has_value());
  EXPECT_TRUE(coord->take_ready_responses().syncs.empty());  // waits for the leader
  SyncRequest leader;
  leader.token = ++tokens;
  leader.member_id = a;
  leader.generation_id = generation;
  leader.assignments = {{a, {1}}, {b, {2}}};
  topic.fail_next = ErrorCode::KAFKA_STORAGE_ERROR;
  EXPECT_FALSE(coord->sync("g", leader).has_value());
  ready = coord->take_ready_responses();
  ASSERT_EQ(ready.syncs.size(), 2u);
  for (const auto& [token, r] : ready.syncs) {
    EXPECT_EQ(r.error, ErrorCode::NOT_COORDINATOR) << token;
    EXPECT_TRUE(r.assignment.empty());
  }
  EXPECT_EQ(coord->group("g")->state(), GroupState::PreparingRebalance);
  EXPECT_EQ(topic.partitions[coord->partition_for("g")].size(), records_before);
  EXPECT_EQ(reload()->group("g")->generation_id(), 1);  // the log still holds generation 1

  // Both rejoin; this time the store succeeds and the assignment reaches everyone.
  EXPECT_FALSE(coord->join("g", join_req(a)).has_value());
  EXPECT_FALSE(coord->join("g", join_req(b)).has_value());
  ready = coord->take_ready_responses();
  ASSERT_EQ(ready.joins.size(), 2u);
  leader.token = ++tokens;
  leader.generation_id = ready.joins[0].second.generation_id;
  follower.token = ++tokens;
  follower.generation_id = leader.generation_id;
  EXPECT_FALSE(coord->sync("g", leader).has_value());
  auto mine = coord->sync("g", follower);
  ready = coord->take_ready_responses();
  ASSERT_EQ(ready.syncs.size(), 1u);
  EXPECT_EQ(ready.syncs[0].second.error, ErrorCode::NONE);
  EXPECT_EQ(ready.syncs[0].second.assignment, (Bytes{1}));
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->assignment, (Bytes{2}));
  EXPECT_EQ(coord->group("g")->state(), GroupState::Stable);
  // One GroupMetadata record for the completed rebalance, not two.
  EXPECT_EQ(topic.partitions[coord->partition_for("g")].size(), records_before + 1);
  EXPECT_EQ(reload()->group("g")->generation_id(), leader.generation_id);
}

TEST_F(GroupCoordinatorTest, StoreErrorsAreMappedAsKafkaMapsThem) {
  coord->mark_all_loaded();
  auto j = coord->join("g", join_req());
  auto ready = coord->take_ready_responses();
  ASSERT_EQ(ready.joins.size(), 1u);
  const std::string member = ready.joins[0].second.member_id;
  SyncRequest s;
  s.token = ++tokens;
  s.member_id = member;
  s.generation_id = ready.joins[0].second.generation_id;
  s.assignments = {{member, {7}}};
  topic.fail_next = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  EXPECT_FALSE(coord->sync("g", s).has_value());
  ready = coord->take_ready_responses();
  ASSERT_EQ(ready.syncs.size(), 1u);
  EXPECT_EQ(ready.syncs[0].second.error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
}

// Whoever calls the coordinator, answers that become ready and deadlines that move reach the
// owner through the change listener: nothing has to be remembered by the caller.
TEST_F(GroupCoordinatorTest, ChangeListenerHearsOfReadyAnswersAndMovedDeadlines) {
  coord->mark_all_loaded();
  const std::string a = stable_member("g");
  int heard = 0;
  size_t ready_seen = 0;
  coord->set_change_listener([&] {
    ++heard;
    auto r = coord->take_ready_responses();
    ready_seen += r.joins.size() + r.syncs.size();
  });
  // A heartbeat moves the member's session deadline.
  clock.advance(1000);
  const int32_t generation = coord->group("g")->generation_id();
  EXPECT_EQ(coord->heartbeat("g", {a, std::nullopt, generation}), ErrorCode::NONE);
  EXPECT_EQ(heard, 1);
  EXPECT_EQ(ready_seen, 0u);
  // A new member starts a rebalance; the old one's rejoin completes it, and both answers
  // reach the listener without anyone draining them.
  EXPECT_FALSE(coord->join("g", join_req()).has_value());
  EXPECT_FALSE(coord->join("g", join_req(a)).has_value());
  EXPECT_EQ(ready_seen, 2u);
  EXPECT_TRUE(coord->take_ready_responses().joins.empty());
}

TEST_F(GroupCoordinatorTest, MetadataTooLargeOnlyFailsItsPartition) {
  coord->mark_all_loaded();
  auto errors = coord->commit_offsets(
      "g", "", -1, std::nullopt, {{"t", 0, 5, -1, std::string(5000, 'x')}, {"t", 1, 6, -1, ""}});
  EXPECT_EQ(errors,
            (std::vector<ErrorCode>{ErrorCode::OFFSET_METADATA_TOO_LARGE, ErrorCode::NONE}));
  EXPECT_FALSE(coord->fetch_offset("g", "t", 0).has_value());
  EXPECT_EQ(coord->fetch_offset("g", "t", 1)->offset, 6);
}

TEST_F(GroupCoordinatorTest, DeleteGroupRemovesOffsetsAndMetadata) {
  coord->mark_all_loaded();
  std::string member = stable_member("g");
  coord->commit_offsets("g", member, 1, std::nullopt, {{"t", 0, 1, -1, ""}});
  EXPECT_EQ(coord->delete_group("g"), ErrorCode::NON_EMPTY_GROUP);
  EXPECT_EQ(coord->delete_group("missing"), ErrorCode::GROUP_ID_NOT_FOUND);
  LeaveResult left = coord->leave("g", {{member, std::nullopt}});
  EXPECT_EQ(left.member_errors, std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(coord->group("g")->state(), GroupState::Empty);
  EXPECT_EQ(coord->delete_group("g"), ErrorCode::NONE);
  EXPECT_EQ(coord->group("g"), nullptr);
  EXPECT_EQ(coord->describe("g").state, "Dead");
  EXPECT_FALSE(coord->fetch_offset("g", "t", 0).has_value());
  auto again = reload();
  EXPECT_EQ(again->group("g"), nullptr);
  EXPECT_FALSE(again->fetch_offset("g", "t", 0).has_value());
}

TEST_F(GroupCoordinatorTest, OffsetDeleteRefusesSubscribedTopicsOfActiveGroups) {
  coord->mark_all_loaded();
  std::string member = stable_member("g");
  coord->commit_offsets("g", member, 1, std::nullopt, {{"t", 0, 1, -1, ""}, {"u", 0, 2, -1, ""}});
  auto r = coord->delete_offsets("g", {{"t", 0}, {"u", 0}});
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.partition_errors,
            (std::vector<ErrorCode>{ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode::NONE}));
  EXPECT_TRUE(coord->fetch_offset("g", "t", 0).has_value());
  EXPECT_FALSE(coord->fetch_offset("g", "u", 0).has_value());
  EXPECT_EQ(coord->delete_offsets("nope", {{"t", 0}}).error, ErrorCode::GROUP_ID_NOT_FOUND);
}

TEST_F(GroupCoordinatorTest, OffsetExpiryIsADeadlineWhileThereAreGroups) {
  coord = make();  // its first check one interval from now
  topic.attach(coord.get());
  coord->mark_all_loaded();
  EXPECT_FALSE(coord->next_deadline_ms().has_value());  // no group, nothing to expire
  const int64_t t0 = clock.now_ms();
  coord->commit_offsets("idle", "", -1, std::nullopt, {{"t", 0, 1, -1, ""}});
  const int64_t interval = coord->config().offsets_retention_check_interval_ms;
  EXPECT_EQ(coord->next_deadline_ms(), t0 + interval);
  clock.set(t0 + interval - 1);
  coord->tick();
  EXPECT_TRUE(coord->fetch_offset("idle", "t", 0).has_value());
  // At the check, the offset is older than the retention (60 s here): it expires, the group
  // goes, and with it the deadline.
  clock.set(t0 + interval);
  coord->tick();
  EXPECT_FALSE(coord->fetch_offset("idle", "t", 0).has_value());
  EXPECT_EQ(coord->group("idle"), nullptr);
  EXPECT_FALSE(coord->next_deadline_ms().has_value());
}

TEST_F(GroupCoordinatorTest, OffsetsOfEmptyGroupsExpireAndTheGroupGoes) {
  coord->mark_all_loaded();
  std::string member = stable_member("active");
  coord->commit_offsets("active", member, 1, std::nullopt, {{"t", 0, 1, -1, ""}});
  coord->commit_offsets("idle", "", -1, std::nullopt, {{"t", 0, 1, -1, ""}});
  clock.advance(30000);
  coord->heartbeat("active", {member, std::nullopt, 1});
  EXPECT_EQ(coord->expire_offsets(), 0u);
  clock.advance(30000);
  coord->heartbeat("active", {member, std::nullopt, 1});
  EXPECT_EQ(coord->expire_offsets(), 1u);  // only the idle group's offset
  EXPECT_EQ(coord->group("idle"), nullptr);
  EXPECT_TRUE(coord->fetch_offset("active", "t", 0).has_value());
  auto again = reload();
  EXPECT_EQ(again->group("idle"), nullptr);
  EXPECT_FALSE(again->fetch_offset("idle", "t", 0).has_value());
}

TEST_F(GroupCoordinatorTest, UnknownGroupAnswers) {
  coord->mark_all_loaded();
  EXPECT_EQ(coord->heartbeat("x", {"m", std::nullopt, 1}), ErrorCode::UNKNOWN_MEMBER_ID);
  SyncRequest s;
  s.member_id = "m";
  EXPECT_EQ(coord->sync("x", s)->error, ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(coord->join("x", join_req("m"))->error, ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(coord->leave("x", {{"m", std::nullopt}}).member_errors,
            std::vector<ErrorCode>{ErrorCode::UNKNOWN_MEMBER_ID});
}

TEST_F(GroupCoordinatorTest, FirstJoinRefusedForItsSessionTimeoutLeavesNoGroup) {
  coord->mark_all_loaded();
  auto bad_timeout = join_req();
  bad_timeout.session_timeout_ms = 10;
  auto j = coord->join("g", bad_timeout);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->error, ErrorCode::INVALID_SESSION_TIMEOUT);
  auto no_protocols = join_req();
  no_protocols.protocols.clear();
  j = coord->join("h", no_protocols);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  // As Kafka 4.4: the session timeout refusal leaves nothing, the protocol one an Empty group.
  auto listed = coord->list({});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].group_id, "h");
  EXPECT_EQ(listed[0].state, "Empty");
  coord->delete_group("h");
  // MEMBER_ID_REQUIRED (JoinGroup v4+) is no refusal: the group and its pending member stay.
  auto v4 = join_req();
  v4.require_known_member_id = true;
  j = coord->join("k", v4);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->error, ErrorCode::MEMBER_ID_REQUIRED);
  auto again = join_req(j->member_id);
  again.require_known_member_id = true;
  EXPECT_FALSE(coord->join("k", again).has_value());  // waits for the rebalance
  EXPECT_EQ(coord->list({}).size(), 1u);
}

TEST(SubscribedTopics, DecodesConsumerProtocolSubscriptions) {
  // v1: version, topics ["a","bc"], user data (null), owned partitions (empty).
  Bytes v1 = {0, 1, 0, 0, 0, 2, 0, 1, 'a', 0, 2, 'b', 'c', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  auto t = subscribed_topics(v1);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, (std::vector<std::string>{"a", "bc"}));
  Bytes truncated = {0, 1, 0, 0, 0, 2, 0, 1, 'a'};
  EXPECT_FALSE(subscribed_topics(truncated).has_value());
  Bytes huge_count = {0, 0, 0x7f, 0xff, 0xff, 0xff};
  EXPECT_FALSE(subscribed_topics(huge_count).has_value());
}

TEST(GroupMetadataValue, RoundTripsEveryVersion) {
  GroupMetadataValue v;
  v.protocol_type = "consumer";
  v.generation = 7;
  v.protocol = "range";
  v.leader = "m1";
  v.current_state_timestamp = 123;
  v.members.push_back({"m1", "i1", "client", "/127.0.0.1", 30000, 10000, {1, 2}, {3}});
  for (int16_t version = 0; version <= 3; ++version) {
    auto bytes = encode_group_metadata_value(v, version);
    auto back = decode_group_metadata_value(bytes);
    ASSERT_TRUE(back.has_value()) << version;
    GroupMetadataValue want = v;
    if (version < 3) want.members[0].group_instance_id.reset();
    if (version < 2) want.current_state_timestamp = -1;
    if (version < 1) want.members[0].rebalance_timeout_ms = want.members[0].session_timeout_ms;
    EXPECT_EQ(*back, want) << version;
    bytes.pop_back();
    EXPECT_FALSE(decode_group_metadata_value(bytes).has_value()) << version;
  }
  Bytes v9 = {0, 9};
  EXPECT_FALSE(decode_group_metadata_value(v9).has_value());
}

}  // namespace
}  // namespace runnel::coordinator

namespace runnel::coordinator {
namespace {

TEST_F(GroupCoordinatorTest, RetentionOfAConsumerGroupCountsFromWhenItBecameEmpty) {
  coord->mark_all_loaded();
  std::string member = stable_member("g");
  coord->commit_offsets("g", member, 1, std::nullopt, {{"t", 0, 1, -1, ""}});
  // Active for longer than the retention: nothing expires while it has members.
  for (int i = 0; i < 8; ++i) {
    clock.advance(9000);
    EXPECT_EQ(coord->heartbeat("g", {member, std::nullopt, 1}), ErrorCode::NONE);
  }
  EXPECT_EQ(coord->expire_offsets(), 0u);
  coord->leave("g", {{member, std::nullopt}});
  ASSERT_EQ(coord->group("g")->state(), GroupState::Empty);
  // The commit is 72 s old, but the group has been Empty for less than the 60 s retention.
  clock.advance(59999);
  EXPECT_EQ(coord->expire_offsets(), 0u);
  clock.advance(1);
  EXPECT_EQ(coord->expire_offsets(), 1u);
  EXPECT_EQ(coord->group("g"), nullptr);
}

}  // namespace
}  // namespace runnel::coordinator

namespace runnel::coordinator {
namespace {

TEST_F(GroupCoordinatorTest, ExplicitRetentionOfACommitWins) {
  coord->mark_all_loaded();
  OffsetCommitPartition p{"t", 0, 5, -1, "", 1000};
  EXPECT_EQ(coord->commit_offsets("solo", "", -1, std::nullopt, {p}),
            std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(coord->fetch_offset("solo", "t", 0)->expire_timestamp, clock.now_ms() + 1000);
  auto again = reload();  // written as value v1, read back with its expire timestamp
  EXPECT_EQ(again->fetch_offset("solo", "t", 0)->expire_timestamp, clock.now_ms() + 1000);
  clock.advance(999);
  EXPECT_EQ(coord->expire_offsets(), 0u);
  clock.advance(1);
  EXPECT_EQ(coord->expire_offsets(), 1u);
}

}  // namespace
}  // namespace runnel::coordinator

namespace runnel::coordinator {
namespace {

TEST_F(GroupCoordinatorTest, NextDeadlineIsTheEarliestOfAllGroups) {
  coord->mark_all_loaded();
  EXPECT_FALSE(coord->next_deadline_ms().has_value());
  const int64_t t0 = clock.now_ms();
  std::string a = stable_member("a");  // session 10 s
  EXPECT_EQ(coord->next_deadline_ms(), t0 + 10000);
  clock.advance(4000);
  std::string b = stable_member("b");
  EXPECT_EQ(coord->next_deadline_ms(), t0 + 10000);
  clock.advance(1000);
  EXPECT_EQ(coord->heartbeat("a", {a, std::nullopt, 1}), ErrorCode::NONE);
  EXPECT_EQ(coord->next_deadline_ms(), t0 + 14000);  // b's, now the earliest
  // A commit is a heartbeat too.
  coord->commit_offsets("b", b, 1, std::nullopt, {{"t", 0, 1, -1, ""}});
  EXPECT_EQ(coord->next_deadline_ms(), t0 + 15000);
  clock.set(t0 + 15000);
  coord->tick();  // both sessions end at 15 s
  EXPECT_EQ(coord->group("a")->state(), GroupState::Empty);
  EXPECT_EQ(coord->group("b")->state(), GroupState::Empty);
  // No session left; the groups remain, and so does the check for their offsets' expiry.
  EXPECT_EQ(coord->next_deadline_ms(), t0 + coord->config().offsets_retention_check_interval_ms);
  EXPECT_EQ(coord->delete_group("a"), ErrorCode::NONE);
}

}  // namespace
}  // namespace runnel::coordinator

namespace runnel::coordinator {
namespace {

TEST_F(GroupCoordinatorTest, StateChangesAreLogged) {
  std::vector<std::string> lines;
  coord->set_event_log([&](const std::string& l) { lines.push_back(l); });
  coord->mark_all_loaded();
  std::string m = stable_member("g");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "group g: CompletingRebalance, generation 1, 1 member, protocol range, leader " + m);
  EXPECT_EQ(lines[1], "group g: Stable, generation 1, 1 member, protocol range, leader " + m);
  EXPECT_EQ(coord->heartbeat("g", {m, std::nullopt, 1}), ErrorCode::NONE);
  EXPECT_EQ(lines.size(), 2u);  // nothing changed
  coord->leave("g", {{m, std::nullopt}});
  EXPECT_EQ(lines.back(), "group g: Empty, generation 2, 0 members");
}

TEST_F(GroupCoordinatorTest, TransactionalOffsetsApplyOnlyOnCommit) {
  coord->mark_all_loaded();
  const int32_t p = coord->partition_for("txg");
  auto errors = coord->commit_txn_offsets("txg", 7, 0, "", -1, std::nullopt,
                                          {{"t", 0, 10, -1, "m"}, {"t", 1, 20, -1, ""}});
  EXPECT_EQ(errors, (std::vector<ErrorCode>{ErrorCode::NONE, ErrorCode::NONE}));
  EXPECT_FALSE(coord->fetch_offset("txg", "t", 0));
  EXPECT_TRUE(coord->has_pending_offset("txg", "t", 0));
  EXPECT_FALSE(coord->has_pending_offset("txg", "t", 2));
  topic.write_marker(p, 7, true);
  ASSERT_TRUE(coord->fetch_offset("txg", "t", 0));
  EXPECT_EQ(coord->fetch_offset("txg", "t", 0)->offset, 10);
  EXPECT_EQ(coord->fetch_offset("txg", "t", 1)->offset, 20);
  EXPECT_FALSE(coord->has_pending_offset("txg", "t", 0));
  EXPECT_EQ(coord->pending_txn_count(), 0u);

  // An aborted transaction leaves the committed offsets alone.
  coord->commit_txn_offsets("txg", 7, 1, "", -1, std::nullopt, {{"t", 0, 99, -1, ""}});
  topic.write_marker(p, 7, false);
  EXPECT_EQ(coord->fetch_offset("txg", "t", 0)->offset, 10);

  // A reload replays the same outcome from the log.
  auto again = reload();
  EXPECT_EQ(again->fetch_offset("txg", "t", 0)->offset, 10);
  EXPECT_EQ(again->fetch_offset("txg", "t", 1)->offset, 20);
  EXPECT_EQ(again->pending_txn_count(), 0u);
}

TEST_F(GroupCoordinatorTest, OpenTransactionalOffsetsStayPendingAcrossAReload) {
  coord->mark_all_loaded();
  const int32_t p = coord->partition_for("txg");
  coord->commit_txn_offsets("txg", 3, 0, "", -1, std::nullopt, {{"t", 0, 5, -1, ""}});
  auto again = reload();
  EXPECT_FALSE(again->fetch_offset("txg", "t", 0));
  EXPECT_TRUE(again->has_pending_offset("txg", "t", 0));
  topic.attach(again.get());
  topic.write_marker(p, 3, true);
  EXPECT_EQ(again->fetch_offset("txg", "t", 0)->offset, 5);
}

TEST_F(GroupCoordinatorTest, TransactionalCommitChecksAGivenMember) {
  coord->mark_all_loaded();
  std::string member = stable_member("g");
  const int32_t generation = 1;
  // A wrong generation from a named member is refused; nothing is written.
  EXPECT_EQ(coord->commit_txn_offsets("g", 1, 0, member, generation + 5, std::nullopt,
                                      {{"t", 0, 1, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::ILLEGAL_GENERATION});
  EXPECT_EQ(coord->commit_txn_offsets("g", 1, 0, "stranger", generation, std::nullopt,
                                      {{"t", 0, 1, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::UNKNOWN_MEMBER_ID});
  EXPECT_EQ(coord->pending_txn_count(), 0u);
  // Without a member (an older producer) the commit is accepted.
  EXPECT_EQ(coord->commit_txn_offsets("g", 1, 0, "", -1, std::nullopt, {{"t", 0, 1, -1, ""}}),
            std::vector<ErrorCode>{ErrorCode::NONE});
}

TEST_F(GroupCoordinatorTest, FailedTransactionalAppendKeepsNothingPending) {
  coord->mark_all_loaded();
  topic.fail_next = ErrorCode::KAFKA_STORAGE_ERROR;
  auto errors = coord->commit_txn_offsets("txg", 9, 0, "", -1, std::nullopt, {{"t", 0, 1, -1, ""}});
  EXPECT_NE(errors[0], ErrorCode::NONE);
  EXPECT_EQ(coord->pending_txn_count(), 0u);
}

}  // namespace
}  // namespace runnel::coordinator

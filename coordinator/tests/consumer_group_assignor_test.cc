#include "coordinator/consumer_group_assignor.h"

#include <gtest/gtest.h>

namespace runnel::coordinator {
namespace {

protocol::Uuid uuid(uint8_t b) {
  protocol::Uuid u;
  u.bytes.fill(b);
  return u;
}

const protocol::Uuid kA = uuid(1);
const protocol::Uuid kB = uuid(2);
const protocol::Uuid kC = uuid(3);

size_t count(const TopicPartitionSet& s) {
  size_t n = 0;
  for (const auto& [t, p] : s) n += p.size();
  return n;
}

// Every partition of every topic someone subscribes to is assigned exactly once, to a
// subscriber of its topic.
void expect_complete(const AssignmentInput& in, const GroupAssignment& out) {
  std::map<std::pair<protocol::Uuid, int32_t>, int> seen;
  for (const auto& [member, parts] : out) {
    ASSERT_TRUE(in.members.count(member));
    for (const auto& [topic, ps] : parts)
      for (int32_t p : ps) {
        EXPECT_TRUE(in.members.at(member).subscribed_topic_ids.count(topic));
        ++seen[{topic, p}];
      }
  }
  for (const auto& [id, t] : in.topics) {
    bool subscribed = false;
    for (const auto& [m, spec] : in.members) subscribed |= spec.subscribed_topic_ids.count(id) > 0;
    for (int32_t p = 0; p < t.partitions; ++p)
      EXPECT_EQ(seen[std::make_pair(id, p)], subscribed ? 1 : 0);
  }
  EXPECT_EQ(out.size(), in.members.size());
}

AssignmentInput homogeneous(int members, std::vector<std::pair<protocol::Uuid, int32_t>> topics) {
  AssignmentInput in;
  for (const auto& [id, n] : topics) in.topics[id] = {id, "t", n};
  for (int i = 0; i < members; ++i) {
    AssignmentMember m;
    for (const auto& [id, n] : topics) m.subscribed_topic_ids.insert(id);
    in.members["m" + std::to_string(i)] = m;
  }
  return in;
}

TEST(UniformAssignorTest, AJoiningMemberTakesOnlyWhatItNeedsAndNoOneElseGains) {
  // 9 members over 100 partitions, then a 10th: each old member gives up only what it has
  // above 10, all of it to the new member; no old member gains a partition (it would wait a
  // heartbeat for another's release) and exactly 10 partitions move.
  auto nine = homogeneous(9, {{kA, 100}});
  auto before = UniformAssignor().assign(nine);
  auto ten = homogeneous(10, {{kA, 100}});
  for (auto& [id, m] : ten.members)
    if (before.count(id)) m.current = before.at(id);
  auto after = UniformAssignor().assign(ten);
  expect_complete(ten, after);
  size_t moved = 0;
  for (const auto& [id, parts] : after) {
    EXPECT_EQ(count(parts), 10u) << id;
    if (!before.count(id)) {
      moved += count(parts);
      continue;
    }
    for (int32_t p : parts.count(kA) ? parts.at(kA) : std::set<int32_t>{})
      EXPECT_TRUE(before.at(id).at(kA).count(p)) << id << " gained partition " << p;
  }
  EXPECT_EQ(moved, 10u);
}

TEST(UniformAssignorTest, BalancedWithIdenticalSubscriptions) {
  auto in = homogeneous(3, {{kA, 7}, {kB, 3}});
  auto out = UniformAssignor().assign(in);
  expect_complete(in, out);
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [m, parts] : out)
    lo = std::min(lo, count(parts)), hi = std::max(hi, count(parts));
  EXPECT_LE(hi - lo, 1u);
  // Deterministic.
  EXPECT_EQ(out, UniformAssignor().assign(in));
}

TEST(UniformAssignorTest, StickyWhenAMemberJoins) {
  auto in = homogeneous(2, {{kA, 6}});
  auto first = UniformAssignor().assign(in);
  for (auto& [m, spec] : in.members) spec.current = first.at(m);
  AssignmentMember newcomer;
  newcomer.subscribed_topic_ids = {kA};
  in.members["m2"] = newcomer;
  auto second = UniformAssignor().assign(in);
  expect_complete(in, second);
  // Each old member keeps 2 of its 3 partitions; only one moves from each.
  for (const char* m : {"m0", "m1"}) {
    EXPECT_EQ(count(second.at(m)), 2u);
    for (int32_t p : second.at(m).at(kA)) EXPECT_TRUE(first.at(m).at(kA).count(p));
  }
  EXPECT_EQ(count(second.at("m2")), 2u);
}

TEST(UniformAssignorTest, StickyWhenAMemberLeaves) {
  auto in = homogeneous(3, {{kA, 6}});
  auto first = UniformAssignor().assign(in);
  for (auto& [m, spec] : in.members) spec.current = first.at(m);
  in.members.erase("m1");
  auto second = UniformAssignor().assign(in);
  expect_complete(in, second);
  for (const char* m : {"m0", "m2"}) {
    EXPECT_EQ(count(second.at(m)), 3u);
    for (int32_t p : first.at(m).at(kA)) EXPECT_TRUE(second.at(m).at(kA).count(p));
  }
}

TEST(UniformAssignorTest, CurrentAssignmentIsKeptWhenBalanced) {
  auto in = homogeneous(2, {{kA, 4}});
  in.members["m0"].current[kA] = {1, 3};
  in.members["m1"].current[kA] = {0, 2};
  auto out = UniformAssignor().assign(in);
  EXPECT_EQ(out.at("m0").at(kA), (std::set<int32_t>{1, 3}));
  EXPECT_EQ(out.at("m1").at(kA), (std::set<int32_t>{0, 2}));
}

TEST(UniformAssignorTest, StalePartitionsAreDropped) {
  auto in = homogeneous(2, {{kA, 2}});
  in.members["m0"].current[kA] = {0, 1, 5};  // partition 5 does not exist
  in.members["m0"].current[kC] = {0};        // nor does topic C
  in.members["m1"].current[kA] = {1};        // claimed twice: the first member keeps it
  auto out = UniformAssignor().assign(in);
  expect_complete(in, out);
  EXPECT_EQ(count(out.at("m0")), 1u);
  EXPECT_EQ(count(out.at("m1")), 1u);
}

TEST(UniformAssignorTest, HeterogeneousSubscriptions) {
  AssignmentInput in;
  in.topics[kA] = {kA, "a", 4};
  in.topics[kB] = {kB, "b", 4};
  in.topics[kC] = {kC, "c", 2};
  in.members["m0"].subscribed_topic_ids = {kA};
  in.members["m1"].subscribed_topic_ids = {kA, kB};
  in.members["m2"].subscribed_topic_ids = {kB, kC};
  in.members["m3"].subscribed_topic_ids = {};
  auto out = UniformAssignor().assign(in);
  expect_complete(in, out);
  EXPECT_TRUE(out.at("m3").empty());
  // 10 partitions over the 3 subscribed members: as even as the subscriptions allow.
  for (const char* m : {"m0", "m1", "m2"}) {
    EXPECT_GE(count(out.at(m)), 3u) << m;
    EXPECT_LE(count(out.at(m)), 4u) << m;
  }
}

TEST(UniformAssignorTest, NoMembersOrNoTopics) {
  AssignmentInput in;
  EXPECT_TRUE(UniformAssignor().assign(in).empty());
  in.members["m0"].subscribed_topic_ids = {kA};  // not an existing topic
  auto out = UniformAssignor().assign(in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out.at("m0").empty());
}

TEST(RangeAssignorTest, RangesPerTopicAreCoPartitioned) {
  auto in = homogeneous(3, {{kA, 7}, {kB, 7}});
  auto out = RangeAssignor().assign(in);
  expect_complete(in, out);
  EXPECT_EQ(out.at("m0").at(kA), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(out.at("m1").at(kA), (std::set<int32_t>{3, 4}));
  EXPECT_EQ(out.at("m2").at(kA), (std::set<int32_t>{5, 6}));
  for (const auto& [m, parts] : out) EXPECT_EQ(parts.at(kA), parts.at(kB));
}

TEST(RangeAssignorTest, MoreMembersThanPartitions) {
  auto in = homogeneous(3, {{kA, 2}});
  auto out = RangeAssignor().assign(in);
  expect_complete(in, out);
  EXPECT_EQ(out.at("m0").at(kA), std::set<int32_t>{0});
  EXPECT_EQ(out.at("m1").at(kA), std::set<int32_t>{1});
  EXPECT_TRUE(out.at("m2").empty());
}

TEST(RangeAssignorTest, OnlySubscribersShareATopic) {
  AssignmentInput in;
  in.topics[kA] = {kA, "a", 4};
  in.topics[kB] = {kB, "b", 3};
  in.members["m0"].subscribed_topic_ids = {kA, kB};
  in.members["m1"].subscribed_topic_ids = {kA};
  in.members["m2"].subscribed_topic_ids = {kB};
  auto out = RangeAssignor().assign(in);
  expect_complete(in, out);
  EXPECT_EQ(out.at("m0").at(kA), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(out.at("m1").at(kA), (std::set<int32_t>{2, 3}));
  EXPECT_EQ(out.at("m0").at(kB), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(out.at("m2").at(kB), (std::set<int32_t>{2}));
}

TEST(AssignorTest, ByName) {
  EXPECT_EQ(make_assignor("uniform")->name(), "uniform");
  EXPECT_EQ(make_assignor("range")->name(), "range");
  EXPECT_EQ(make_assignor("sticky"), nullptr);
}

}  // namespace
}  // namespace runnel::coordinator

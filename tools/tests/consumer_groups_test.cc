// Unit tests of runnel-consumer-groups' pure parts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "protocol/messages/consumer_protocol_assignment.h"
#include "protocol/wire.h"
#include "tools/consumer_groups_core.h"

namespace runnel::tools::groups {
namespace {

std::optional<Options> parse(std::vector<std::string> args, std::string* error = nullptr) {
  std::string e;
  auto o = parse_args(args, e);
  if (error) *error = e;
  return o;
}

const std::string kBs = "--bootstrap-server";

TEST(ConsumerGroupsArgs, ListWithAndWithoutStateFilter) {
  auto o = parse({kBs, "127.0.0.1:9092", "--list"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::List);
  EXPECT_FALSE(o->state);
  EXPECT_TRUE(o->state_filter.empty());

  o = parse({"--list", "--state", "Stable,Empty", kBs, "h:1"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->state);
  EXPECT_EQ(o->state_filter, (std::vector<std::string>{"Stable", "Empty"}));
  EXPECT_EQ(o->bootstrap_server, "h:1");

  // --state without a value, followed by another option.
  o = parse({"--list", "--state", kBs, "h:1"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->state);
  EXPECT_TRUE(o->state_filter.empty());
}

TEST(ConsumerGroupsArgs, DescribeVariants) {
  auto o = parse({kBs, "h:1", "--describe", "--group", "a", "--group", "b"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::Describe);
  EXPECT_EQ(o->groups, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(o->members);

  o = parse({kBs + "=h:1", "--describe", "--all-groups", "--members", "--verbose"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->all_groups);
  EXPECT_TRUE(o->members);
  EXPECT_TRUE(o->verbose);

  o = parse({kBs, "h:1", "--describe", "--group=g", "--state"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->state);
  EXPECT_EQ(o->groups, std::vector<std::string>{"g"});

  std::string err;
  EXPECT_FALSE(parse({kBs, "h:1", "--describe"}, &err));
  EXPECT_NE(err.find("--group"), std::string::npos);
  EXPECT_FALSE(parse({kBs, "h:1", "--describe", "--group", "g", "--members", "--state"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--describe", "--group", "g", "--state", "Stable"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--describe", "--group", "g", "--all-groups"}));
}

TEST(ConsumerGroupsArgs, RequiresBootstrapAndOneCommand) {
  std::string err;
  EXPECT_FALSE(parse({"--list"}, &err));
  EXPECT_NE(err.find("bootstrap-server"), std::string::npos);
  EXPECT_FALSE(parse({kBs, "h:1"}, &err));
  EXPECT_NE(err.find("exactly one action"), std::string::npos);
  EXPECT_FALSE(parse({kBs, "h:1", "--list", "--describe", "--group", "g"}));
  EXPECT_FALSE(parse({kBs, "nohostport", "--list"}, &err));
  EXPECT_FALSE(parse({kBs, "h:0", "--list"}));
  EXPECT_FALSE(parse({kBs, "h:70000", "--list"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--list", "--bogus"}, &err));
  EXPECT_NE(err.find("--bogus"), std::string::npos);
  EXPECT_FALSE(parse({kBs}, &err));
  EXPECT_NE(err.find("requires an argument"), std::string::npos);
  EXPECT_TRUE(parse({kBs, "a:1,b:2", "--list"}));
  EXPECT_FALSE(parse({kBs, "a:1,b", "--list"}));
  auto o = parse({"--help"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->help);
}

TEST(ConsumerGroupsArgs, ResetOffsets) {
  auto o = parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--topic", "t:0,2", "--topic", "u",
                  "--to-offset", "42", "--execute"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::ResetOffsets);
  EXPECT_EQ(o->reset, ResetSpec::ToOffset);
  EXPECT_EQ(o->reset_value, 42);
  EXPECT_TRUE(o->execute);
  ASSERT_EQ(o->topics.size(), 2u);
  EXPECT_EQ(o->topics[0], (TopicSpec{"t", {0, 2}}));
  EXPECT_EQ(o->topics[1], (TopicSpec{"u", {}}));

  o = parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics", "--shift-by", "-3",
             "--dry-run"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->reset, ResetSpec::ShiftBy);
  EXPECT_EQ(o->reset_value, -3);
  EXPECT_TRUE(o->dry_run);

  o = parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics", "--to-datetime",
             "2026-11-21T10:00:00.000Z"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->reset, ResetSpec::ToDatetime);
  EXPECT_EQ(o->reset_value, 1795255200000);

  std::string err;
  // No scope, two scopes, no scenario, two scenarios, dry-run with execute.
  EXPECT_FALSE(parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--to-earliest"}, &err));
  EXPECT_NE(err.find("--all-topics"), std::string::npos);
  EXPECT_FALSE(parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics", "--topic", "t",
                      "--to-earliest"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics"}, &err));
  EXPECT_NE(err.find("--to-earliest"), std::string::npos);
  EXPECT_FALSE(parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics",
                      "--to-earliest", "--to-latest"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics",
                      "--to-earliest", "--dry-run", "--execute"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--reset-offsets", "--all-topics", "--to-earliest"}));
  EXPECT_FALSE(
      parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics", "--to-offset", "-1"}));
  EXPECT_FALSE(
      parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics", "--to-offset", "12x"}));
  EXPECT_FALSE(parse(
      {kBs, "h:1", "--reset-offsets", "--group", "g", "--all-topics", "--to-datetime", "yesterday"},
      &err));
  EXPECT_NE(err.find("YYYY-MM-DDTHH:mm:SS.sss"), std::string::npos);
  EXPECT_FALSE(
      parse({kBs, "h:1", "--reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest"}));
  // Reset options belong to --reset-offsets only.
  EXPECT_FALSE(parse({kBs, "h:1", "--describe", "--group", "g", "--to-earliest"}));
  EXPECT_FALSE(parse({kBs, "h:1", "--describe", "--group", "g", "--topic", "t"}));
}

TEST(ConsumerGroupsArgs, DeleteAndDeleteOffsets) {
  auto o = parse({kBs, "h:1", "--delete", "--group", "g"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::Delete);
  EXPECT_FALSE(parse({kBs, "h:1", "--delete"}));

  o = parse({kBs, "h:1", "--delete-offsets", "--group", "g", "--topic", "t"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::DeleteOffsets);
  EXPECT_FALSE(parse({kBs, "h:1", "--delete-offsets", "--group", "g"}));
  EXPECT_FALSE(
      parse({kBs, "h:1", "--delete-offsets", "--group", "g", "--group", "h", "--topic", "t"}));
}

TEST(ConsumerGroupsArgs, HostPortAndTopicSpec) {
  std::string host;
  int port = 0;
  EXPECT_TRUE(parse_host_port("localhost:9092", host, port));
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 9092);
  EXPECT_TRUE(parse_host_port("[::1]:19092", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 19092);
  EXPECT_FALSE(parse_host_port(":9092", host, port));
  EXPECT_FALSE(parse_host_port("h:", host, port));
  EXPECT_FALSE(parse_host_port("h:-1", host, port));

  EXPECT_EQ(parse_topic_spec("t"), (TopicSpec{"t", {}}));
  EXPECT_EQ(parse_topic_spec("my.topic:3"), (TopicSpec{"my.topic", {3}}));
  EXPECT_EQ(parse_topic_spec("t:0,1,2"), (TopicSpec{"t", {0, 1, 2}}));
  EXPECT_FALSE(parse_topic_spec(""));
  EXPECT_FALSE(parse_topic_spec(":1"));
  EXPECT_FALSE(parse_topic_spec("t:"));
  EXPECT_FALSE(parse_topic_spec("t:1,,2"));
  EXPECT_FALSE(parse_topic_spec("t:-1"));
}

TEST(ConsumerGroupsDatetime, ZonesAndMilliseconds) {
  EXPECT_EQ(parse_datetime("2026-11-21T10:00:00.000Z"), 1795255200000);
  EXPECT_EQ(parse_datetime("2026-11-21T10:00:00.123Z"), 1795255200123);
  EXPECT_EQ(parse_datetime("2026-11-21T10:00:00.5Z"), 1795255200500);
  EXPECT_EQ(parse_datetime("2026-11-21T10:00:00Z"), 1795255200000);
  EXPECT_EQ(parse_datetime("2026-11-21T11:00:00.000+01:00"), 1795255200000);
  EXPECT_EQ(parse_datetime("2026-11-21T11:00:00.000+0100"), 1795255200000);
  EXPECT_EQ(parse_datetime("2026-11-21T11:00:00.000+01"), 1795255200000);
  EXPECT_EQ(parse_datetime("2026-11-21T04:30:00.000-05:30"), 1795255200000);
  EXPECT_EQ(parse_datetime("2024-02-29T23:59:59.000Z"), 1709251199000);
  EXPECT_EQ(parse_datetime("1969-12-31T23:00:00.000Z"), -3600000);
}

TEST(ConsumerGroupsDatetime, Rejects) {
  for (const char* bad :
       {"", "2026-11-21", "2026-11-21 10:00:00.000", "2026-13-01T00:00:00.000Z",
        "2026-00-01T00:00:00.000Z", "2025-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z",
        "2026-11-21T24:00:00.000Z", "2026-11-21T10:60:00.000Z", "2026-11-21T10:00:00.Z",
        "2026-11-21T10:00:00.000X", "2026-11-21T10:00:00.000+1", "2026-11-21T10:00:00.000+01:0",
        "2026-1a-21T10:00:00.000Z", "2026-11-21T10:00:00.000Z "})
    EXPECT_FALSE(parse_datetime(bad)) << bad;
}

TEST(ConsumerGroupsDatetime, NoZoneIsLocalTime) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(parse_datetime("2026-11-21T10:00:00.000"), 1795255200000);
  ::setenv("TZ", "UTC-2", 1);  // POSIX: two hours east of UTC
  ::tzset();
  EXPECT_EQ(parse_datetime("2026-11-21T12:00:00.000"), 1795255200000);
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

TEST(ConsumerGroupsLag, KnownAndUnknown) {
  EXPECT_EQ(compute_lag(10, 25), 15);
  EXPECT_EQ(compute_lag(25, 25), 0);
  EXPECT_EQ(compute_lag(0, 0), 0);
  EXPECT_EQ(compute_lag(std::nullopt, 25), std::nullopt);
  EXPECT_EQ(compute_lag(10, std::nullopt), std::nullopt);
  EXPECT_EQ(compute_lag(-1, 25), std::nullopt);
  EXPECT_EQ(compute_lag(3, -1), std::nullopt);
}

TEST(ConsumerGroupsReset, Scenarios) {
  PartitionOffsets p;
  p.committed = 30;
  p.earliest = 10;
  p.latest = 100;
  EXPECT_EQ(compute_reset(ResetSpec::ToEarliest, 0, p, "t-0").offset, 10);
  EXPECT_EQ(compute_reset(ResetSpec::ToLatest, 0, p, "t-0").offset, 100);
  auto r = compute_reset(ResetSpec::ToOffset, 50, p, "t-0");
  EXPECT_EQ(r.offset, 50);
  EXPECT_TRUE(r.warning.empty());
  EXPECT_EQ(compute_reset(ResetSpec::ShiftBy, 5, p, "t-0").offset, 35);
  EXPECT_EQ(compute_reset(ResetSpec::ShiftBy, -20, p, "t-0").offset, 10);
  p.at_timestamp = 42;
  EXPECT_EQ(compute_reset(ResetSpec::ToDatetime, 0, p, "t-0").offset, 42);
  p.at_timestamp = std::nullopt;
  EXPECT_EQ(compute_reset(ResetSpec::ToDatetime, 0, p, "t-0").offset, 100);
  p.at_timestamp = -1;
  EXPECT_EQ(compute_reset(ResetSpec::ToDatetime, 0, p, "t-0").offset, 100);
}

TEST(ConsumerGroupsReset, ClampsLikeKafka) {
  PartitionOffsets p;
  p.committed = 30;
  p.earliest = 10;
  p.latest = 100;
  auto high = compute_reset(ResetSpec::ToOffset, 500, p, "t-2");
  EXPECT_EQ(high.offset, 100);
  EXPECT_EQ(high.warning,
            "New offset (500) is higher than latest offset for topic partition t-2. Value will "
            "be set to 100");
  auto low = compute_reset(ResetSpec::ToOffset, 3, p, "t-2");
  EXPECT_EQ(low.offset, 10);
  EXPECT_NE(low.warning.find("lower than earliest"), std::string::npos);
  EXPECT_EQ(compute_reset(ResetSpec::ShiftBy, -100, p, "t-2").offset, 10);
  EXPECT_EQ(compute_reset(ResetSpec::ShiftBy, 1000, p, "t-2").offset, 100);
  EXPECT_EQ(compute_reset(ResetSpec::ShiftBy, INT64_MAX, p, "t-2").offset, 100);
  p.committed = 12;
  EXPECT_EQ(compute_reset(ResetSpec::ShiftBy, INT64_MIN, p, "t-2").offset, 10);
}

TEST(ConsumerGroupsReset, ShiftWithoutCommittedOffsetFails) {
  PartitionOffsets p;
  p.earliest = 0;
  p.latest = 9;
  auto r = compute_reset(ResetSpec::ShiftBy, 1, p, "t-1");
  EXPECT_FALSE(r.offset);
  EXPECT_NE(r.error.find("no current committed offset"), std::string::npos);
  EXPECT_NE(r.error.find("t-1"), std::string::npos);
  // --to-offset needs none.
  EXPECT_EQ(compute_reset(ResetSpec::ToOffset, 4, p, "t-1").offset, 4);
}

protocol::Bytes encode_assignment(int16_t version, const protocol::ConsumerProtocolAssignment& a,
                                  int extra_bytes = 0) {
  protocol::Writer w;
  w.i16(version);
  a.encode(w, std::min<int16_t>(version, protocol::ConsumerProtocolAssignment::kMaxVersion));
  for (int i = 0; i < extra_bytes; ++i) w.i8(0);
  return w.buf();
}

TEST(ConsumerGroupsAssignment, Decodes) {
  protocol::ConsumerProtocolAssignment a;
  a.assigned_partitions.push_back({"orders", {0, 2}, {}});
  a.assigned_partitions.push_back({"audit", {1}, {}});
  a.user_data = protocol::Bytes{1, 2, 3};
  for (int16_t v = 0; v <= 3; ++v) {
    auto got = decode_assignment(encode_assignment(v, a));
    ASSERT_TRUE(got) << v;
    EXPECT_EQ(*got, (std::vector<AssignedTopic>{{"orders", {0, 2}}, {"audit", {1}}}));
  }
  // A newer version: the known fields, then bytes this reader leaves alone.
  auto newer = decode_assignment(encode_assignment(7, a, 5));
  ASSERT_TRUE(newer);
  EXPECT_EQ(newer->size(), 2u);
  // Trailing garbage in a known version, a truncated body, a negative version.
  EXPECT_FALSE(decode_assignment(encode_assignment(1, a, 1)));
  auto cut = encode_assignment(1, a);
  cut.resize(cut.size() - 4);
  EXPECT_FALSE(decode_assignment(cut));
  EXPECT_FALSE(decode_assignment(protocol::Bytes{0xff, 0xff}));
  // An empty assignment (a member that has none yet).
  auto empty = decode_assignment({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  // A huge array count is rejected before anything is allocated.
  EXPECT_FALSE(decode_assignment(protocol::Bytes{0, 0, 0x7f, 0xff, 0xff, 0xff}));
}

TEST(ConsumerGroupsErrors, Names) {
  EXPECT_EQ(error_name(0), "NONE");
  EXPECT_EQ(error_name(-1), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(error_name(15), "COORDINATOR_NOT_AVAILABLE");
  EXPECT_EQ(error_name(68), "NON_EMPTY_GROUP");
  EXPECT_EQ(error_name(69), "GROUP_ID_NOT_FOUND");
  EXPECT_EQ(error_name(86), "GROUP_SUBSCRIBED_TO_TOPIC");
  EXPECT_EQ(error_name(9999), "UNKNOWN_ERROR_CODE_9999");
}

TEST(ConsumerGroupsTable, Layout) {
  std::string t =
      format_table({"GROUP", "TOPIC", "LAG"}, {{"g", "orders", "5"}, {"longer-group", "t", "-"}});
  EXPECT_EQ(t,
            "\n"
            "GROUP        TOPIC  LAG\n"
            "g            orders 5\n"
            "longer-group t      -\n");
  EXPECT_EQ(format_table({"A", "B"}, {}), "\nA B\n");
}

}  // namespace
}  // namespace runnel::tools::groups

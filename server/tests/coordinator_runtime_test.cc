// The coordinator runtime over a real log directory, with a state machine that only records
// what it is given: an append is replayed once stored and never when it failed; loading
// replays records and markers exactly as the appends did; what is appended to a partition
// while it loads is replayed once; the timer fires at the state machine's deadline, moved
// earlier on demand, and not before. The event loop is driven by hand (poll), with a manual
// clock: no sleeps.
#include "server/coordinator_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "server/log_service.h"
#include "server/partition_leadership.h"
#include "server/waiters.h"
#include "storage/clock.h"
#include "storage/partition_log.h"
#include "storage/sys.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
namespace fs = std::filesystem;

constexpr int32_t kPartitions = 2;

// Records every call, as text.
class RecordingMachine : public coordinator::CoordinatorStateMachine {
 public:
  int32_t partition_count() const override { return kPartitions; }
  void begin_load(int32_t p) override { events.push_back("begin " + std::to_string(p)); }
  void replay(int32_t p, const coordinator::ReplayedRecord& r) override {
    std::string e = "record " + std::to_string(p) + " " + std::string(r.key.begin(), r.key.end());
    e += r.value ? "=" + std::string(r.value->begin(), r.value->end()) : " tombstone";
    if (r.producer_id >= 0) e += " txn " + std::to_string(r.producer_id);
    events.push_back(e);
  }
  void replay_marker(int32_t p, int64_t pid, bool commit) override {
    events.push_back("marker " + std::to_string(p) + " " + std::to_string(pid) +
                     (commit ? " commit" : " abort"));
  }
  void finish_load(int32_t p) override { events.push_back("finish " + std::to_string(p)); }
  void mark_all_loaded() override { events.push_back("all loaded"); }
  std::optional<int64_t> next_deadline_ms() const override { return deadline; }
  void tick() override {
    ++ticks;
    deadline.reset();
  }

  // The events that are replays (records and markers), in order.
  std::vector<std::string> replays() const {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.rfind("record", 0) == 0 || e.rfind("marker", 0) == 0) out.push_back(e);
    return out;
  }

  std::vector<std::string> events;
  std::optional<int64_t> deadline;
  int ticks = 0;
};

coordinator::CoordinatorRecord rec(const std::string& key, std::optional<std::string> value) {
  coordinator::CoordinatorRecord r;
  r.key.assign(key.begin(), key.end());
  if (value) r.value = protocol::Bytes(value->begin(), value->end());
  return r;
}

class CoordinatorRuntimeTest : public ::testing::Test {
 protected:
  CoordinatorRuntimeTest() {
    dir = fs::temp_directory_path() /
          ("runnel-coordinator-runtime-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    config = Config::from_text("log.dirs=" + dir.string() + "\noffsets.topic.num.partitions=" +
                               std::to_string(kPartitions) + "\n");
    open_logs();
  }
  ~CoordinatorRuntimeTest() override {
    stop();
    logs.reset();
    fs::remove_all(dir);
  }

  void open_logs() {
    logs = std::make_unique<storage::LogManager>(std::vector<std::string>{dir.string()},
                                                 log_defaults(config), clock);
    std::string error;
    ASSERT_TRUE(logs->load(&error)) << error;
  }

  // Stops the runtime and lets its coroutines end before it goes.
  void stop() {
    if (!runtime) return;
    runtime->stop();
    io.restart();
    io.poll();
    runtime.reset();
  }

  // A new runtime serving a new machine over the same logs, started and run until idle.
  void start() {
    stop();
    machine = RecordingMachine();
    runtime =
        std::make_unique<CoordinatorRuntime>(io, config, clock, *logs, waiters, kOffsetsTopic);
    runtime->serve(machine);
    runtime->start();
    io.restart();
    io.poll();
  }

  fs::path dir;
  Config config;
  storage::ManualClock clock{1'000'000};
  asio::io_context io;
  FetchWaiters waiters{io.get_executor()};
  std::unique_ptr<storage::LogManager> logs;
  RecordingMachine machine;
  std::unique_ptr<CoordinatorRuntime> runtime;
};

TEST_F(CoordinatorRuntimeTest, AnAppendIsReplayedOnceStoredAndLoadingReplaysTheSame) {
  start();
  ASSERT_TRUE(runtime->loaded());
  EXPECT_EQ(machine.events, std::vector<std::string>{"all loaded"});  // no topic yet
  ASSERT_EQ(runtime->append(0, {rec("a", "1"), rec("b", std::nullopt)}), ErrorCode::NONE);
  ASSERT_EQ(runtime->append(1, {rec("c", "2")}, coordinator::ProducerRef{7, 0}), ErrorCode::NONE);
  ASSERT_EQ(runtime->append_marker(1, 7, 0, 0, true), ErrorCode::NONE);
  ASSERT_EQ(runtime->append(0, {rec("a", "3")}), ErrorCode::NONE);
  const std::vector<std::string> at_run_time = {"record 0 a=1", "record 0 b tombstone",
                                                "record 1 c=2 txn 7", "marker 1 7 commit",
                                                "record 0 a=3"};
  EXPECT_EQ(machine.replays(), at_run_time);
  ASSERT_NE(logs->topic(std::string(kOffsetsTopic)), nullptr);  // created by the first append
  EXPECT_EQ(logs->get(std::string(kOffsetsTopic), 0)->log_end_offset(), 3);

  // A restart replays the same records and markers, partition by partition.
  start();
  ASSERT_TRUE(runtime->loaded());
  EXPECT_EQ(machine.events,
            (std::vector<std::string>{"begin 0", "record 0 a=1", "record 0 b tombstone",
                                      "record 0 a=3", "finish 0", "begin 1", "record 1 c=2 txn 7",
                                      "marker 1 7 commit", "finish 1"}));
}

TEST_F(CoordinatorRuntimeTest, AFailedAppendIsNotReplayed) {
  start();
  ASSERT_EQ(runtime->ensure_topic(), ErrorCode::NONE);
  storage::sys::FaultPlan plan;
  plan.ops = storage::sys::op_bit(storage::sys::Op::write);
  plan.fail_at = 1;
  plan.error = ENOSPC;
  storage::sys::set_fault_plan(&plan);
  const ErrorCode e = runtime->append(0, {rec("a", "1")});
  storage::sys::set_fault_plan(nullptr);
  EXPECT_EQ(e, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(plan.failed, 1u);
  EXPECT_TRUE(machine.replays().empty());
  EXPECT_EQ(logs->get(std::string(kOffsetsTopic), 0)->log_end_offset(), 0);
}

TEST_F(CoordinatorRuntimeTest, WhatIsAppendedWhileAPartitionLoadsIsReplayedOnce) {
  start();
  // More than one load chunk (1 MiB) in partition 0, so loading yields in the middle of it.
  const std::string big(200 * 1024, 'x');
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(runtime->append(0, {rec("k" + std::to_string(i), big)}), ErrorCode::NONE);

  stop();
  machine = RecordingMachine();
  runtime = std::make_unique<CoordinatorRuntime>(io, config, clock, *logs, waiters, kOffsetsTopic);
  runtime->serve(machine);
  runtime->start();
  io.restart();
  // Run until partition 0 has begun loading and the loader yielded after its first chunk.
  while (io.poll_one() && machine.events.size() < 2) {
  }
  ASSERT_FALSE(runtime->loaded());
  ASSERT_EQ(machine.events.front(), "begin 0");
  ASSERT_EQ(runtime->append(0, {rec("late", "v")}), ErrorCode::NONE);   // during the load
  ASSERT_EQ(runtime->append(1, {rec("early", "v")}), ErrorCode::NONE);  // not loaded yet
  io.poll();
  ASSERT_TRUE(runtime->loaded());
  std::vector<std::string> keys;
  for (const auto& e : machine.replays()) keys.push_back(e.substr(0, e.find('=')));
  std::vector<std::string> want;
  for (int i = 0; i < 8; ++i) want.push_back("record 0 k" + std::to_string(i));
  want.push_back("record 0 late");
  want.push_back("record 1 early");
  EXPECT_EQ(keys, want);
}

TEST_F(CoordinatorRuntimeTest, TheTimerFiresAtTheNextDeadlineAndNotBefore) {
  machine.deadline.reset();
  start();
  EXPECT_EQ(machine.ticks, 0);
  // A deadline ten minutes away (of the manual clock, which does not move): nothing fires.
  machine.deadline = clock.now_ms() + 600'000;
  runtime->deadline_changed();
  io.poll();
  EXPECT_EQ(machine.ticks, 0);
  // An earlier deadline, due now, moves the timer: it fires once, and the tick cleared it.
  machine.deadline = clock.now_ms();
  runtime->deadline_changed();
  io.poll();
  EXPECT_EQ(machine.ticks, 1);
  io.poll();
  EXPECT_EQ(machine.ticks, 1);
  // A later deadline than the one armed does not wake the timer early.
  machine.deadline = clock.now_ms() + 600'000;
  runtime->deadline_changed();
  io.poll();
  EXPECT_EQ(machine.ticks, 1);
}

}  // namespace
}  // namespace runnel::server

#include "server/waiters.h"

#include <gtest/gtest.h>

#include <optional>

namespace runnel::server {
namespace {

using Clock = FetchWaiters::Clock;
constexpr auto kFar = std::chrono::hours(1);

struct Fixture : ::testing::Test {
  asio::io_context io;
  FetchWaiters waiters{io.get_executor()};

  // Runs what is ready. restart(): poll() leaves the context stopped once it
  // ran out of work.
  void poll() {
    io.restart();
    io.poll();
  }

  // Starts a waiter; the result lands in *out when it resumes.
  void start(std::vector<PartitionKey> keys, Clock::time_point deadline, std::optional<bool>* out) {
    asio::co_spawn(
        io,
        [this, keys = std::move(keys), deadline, out]() -> asio::awaitable<void> {
          *out = co_await waiters.wait_any(keys, deadline);
        },
        asio::detached);
    poll();
  }
};

TEST_F(Fixture, NotifyWakesOnlyMatchingWaiters) {
  std::optional<bool> a, b;
  start({{"t", 0}, {"t", 1}}, Clock::now() + kFar, &a);
  start({{"u", 0}}, Clock::now() + kFar, &b);
  EXPECT_EQ(waiters.waiting(), 2u);
  EXPECT_FALSE(a.has_value());

  waiters.notify("t", 2);  // nobody waits on it
  waiters.notify("u", 1);
  poll();
  EXPECT_FALSE(a.has_value());
  EXPECT_FALSE(b.has_value());

  waiters.notify("t", 1);
  poll();
  EXPECT_EQ(a, std::optional<bool>(true));
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(waiters.waiting(), 1u);

  waiters.notify_all();
  poll();
  EXPECT_EQ(b, std::optional<bool>(true));
  EXPECT_EQ(waiters.waiting(), 0u);
}

TEST_F(Fixture, DeadlineInThePastTimesOut) {
  std::optional<bool> a;
  start({{"t", 0}}, Clock::now() - std::chrono::seconds(1), &a);
  poll();
  EXPECT_EQ(a, std::optional<bool>(false));
  EXPECT_EQ(waiters.waiting(), 0u);
  // A later notify finds nothing registered.
  waiters.notify("t", 0);
  poll();
}

TEST_F(Fixture, ManyWaitersOnOnePartitionAllWake) {
  std::vector<std::optional<bool>> results(5);
  for (auto& r : results) start({{"t", 3}}, Clock::now() + kFar, &r);
  EXPECT_EQ(waiters.waiting(), 5u);
  waiters.notify("t", 3);
  poll();
  for (auto& r : results) EXPECT_EQ(r, std::optional<bool>(true));
}

TEST_F(Fixture, DuplicateKeysRegisterOnce) {
  std::optional<bool> a;
  start({{"t", 0}, {"t", 0}}, Clock::now() + kFar, &a);
  waiters.notify("t", 0);
  poll();
  EXPECT_EQ(a, std::optional<bool>(true));
  EXPECT_EQ(waiters.waiting(), 0u);
}

TEST_F(Fixture, NotifyAfterWakeIsHarmless) {
  std::optional<bool> a, b;
  start({{"t", 0}}, Clock::now() + kFar, &a);
  waiters.notify("t", 0);
  waiters.notify("t", 0);
  poll();
  EXPECT_EQ(a, std::optional<bool>(true));
  // A new waiter on the same partition is not woken by the earlier notifies.
  start({{"t", 0}}, Clock::now() + kFar, &b);
  EXPECT_FALSE(b.has_value());
  waiters.notify_all();
  poll();
  EXPECT_EQ(b, std::optional<bool>(true));
}

}  // namespace
}  // namespace runnel::server

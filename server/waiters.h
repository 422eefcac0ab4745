// Partition-keyed wake-ups for long-polling Fetch requests.
//
// A Fetch that finds too little data calls wait_any() with the partitions it
// reads and its deadline; Produce (or anything that appends) calls notify()
// for each partition it appended to. The waiter resumes either because one of
// its partitions was notified (true) or because the deadline passed (false).
// No polling: a waiter costs one timer and a few map entries.
//
// Threading: used from the single io_context thread only. Because nothing
// else runs between a handler's last log read and its call to wait_any()
// (as long as the handler does not suspend in between), an append cannot be
// missed.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runnel::server {

struct PartitionKey {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const PartitionKey&) const = default;
};

class FetchWaiters {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FetchWaiters(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  FetchWaiters(const FetchWaiters&) = delete;
  FetchWaiters& operator=(const FetchWaiters&) = delete;

  // Suspends until notify() touches one of `keys` (returns true), notify_all()
  // is called (true), or `deadline` passes (false). A deadline in the past
  // still yields once to the event loop.
  asio::awaitable<bool> wait_any(std::span<const PartitionKey> keys, Clock::time_point deadline);

  // Wakes every waiter registered on (topic, partition).
  void notify(std::string_view topic, int32_t partition);
  // Wakes everyone (shutdown).
  void notify_all();

  // Number of suspended waiters (tests, metrics).
  size_t waiting() const { return count_; }

 private:
  struct Waiter {
    asio::steady_timer timer;
    bool notified = false;
  };
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      std::string_view at(a.first), bt(b.first);
      return at < bt || (at == bt && a.second < b.second);
    }
  };
  using Map = std::map<std::pair<std::string, int32_t>, std::vector<Waiter*>, KeyLess>;

  void wake(Waiter* w);

  asio::any_io_executor executor_;
  Map by_partition_;
  std::vector<Waiter*> all_;
  size_t count_ = 0;
};

}  // namespace runnel::server

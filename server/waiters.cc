#include "server/waiters.h"

#include <algorithm>

namespace runnel::server {

namespace {
template <typename V, typename T>
void erase_one(V& v, T* p) {
  auto it = std::find(v.begin(), v.end(), p);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
}
}  // namespace

asio::awaitable<bool> FetchWaiters::wait_any(std::span<const PartitionKey> keys,
                                             Clock::time_point deadline) {
  Waiter w{asio::steady_timer(executor_, deadline)};
  std::vector<Map::iterator> entries;
  entries.reserve(keys.size());
  for (auto& k : keys) {
    auto it = by_partition_.try_emplace({k.topic, k.partition}).first;
    if (std::find(it->second.begin(), it->second.end(), &w) == it->second.end()) {
      it->second.push_back(&w);
      entries.push_back(it);
    }
  }
  all_.push_back(&w);
  ++count_;

  // Unregisters on every exit path, including cancellation of this coroutine.
  struct Cleanup {
    FetchWaiters* self;
    Waiter* w;
    std::vector<Map::iterator>* entries;
    ~Cleanup() {
      for (auto it : *entries) {
        erase_one(it->second, w);
        if (it->second.empty()) self->by_partition_.erase(it);
      }
      erase_one(self->all_, w);
      --self->count_;
    }
  } cleanup{this, &w, &entries};

  std::error_code ec;
  co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return w.notified;
}

void FetchWaiters::wake(Waiter* w) {
  if (w->notified) return;
  w->notified = true;
  w->timer.cancel();
}

void FetchWaiters::notify(std::string_view topic, int32_t partition) {
  auto it = by_partition_.find(std::pair<std::string_view, int32_t>(topic, partition));
  if (it == by_partition_.end()) return;
  for (Waiter* w : it->second) wake(w);
}

void FetchWaiters::notify_all() {
  for (Waiter* w : all_) wake(w);
}

}  // namespace runnel::server

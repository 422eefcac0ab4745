#include "server/topic_work.h"

namespace runnel::server {

asio::awaitable<void> TopicWork::run(std::function<void()> work) {
  if (stopped_) {
    work();
    co_return;
  }
  auto initiate = [this](auto handler, std::function<void()> work) {
    // The io_context keeps running (and the handler stays valid) while the work is away.
    auto guard = asio::make_work_guard(asio::get_associated_executor(handler));
    asio::post(pool_, [handler = std::move(handler), work = std::move(work),
                       guard = std::move(guard)]() mutable {
      std::exception_ptr error;
      try {
        work();
      } catch (...) {
        error = std::current_exception();
      }
      auto executor = guard.get_executor();
      asio::post(executor, [handler = std::move(handler), error,
                            guard = std::move(guard)]() mutable { std::move(handler)(error); });
    });
  };
  co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
      initiate, asio::use_awaitable, std::move(work));
}

void TopicWork::stop() {
  if (stopped_) return;
  stopped_ = true;
  pool_.join();
}

asio::awaitable<void> run_topic_changes(TopicWork* work, TopicChanges changes) {
  if (changes.empty()) co_return;
  // The changes are held by the job itself, not by the awaiting frame.
  auto job = [changes = std::move(changes)] {
    for (const auto& c : changes) c->run();
  };
  if (work)
    co_await work->run(std::move(job));
  else
    job();
}

}  // namespace runnel::server

// File work of topic changes (creating and deleting partitions), off the event
// loop: a small thread pool whose jobs complete back on the loop.
//
// A handler begins a change on the loop (storage::LogManager::begin_*), awaits
// run() with the change's file work, and finishes the change when it resumes,
// again on the loop: other connections are served meanwhile. Without a
// TopicWork (tests that drive handlers in-process) the work runs inline.
#pragma once

#include <asio.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "storage/log_manager.h"

namespace runnel::server {

class TopicWork {
 public:
  explicit TopicWork(size_t threads = 2) : pool_(threads) {}
  ~TopicWork() { stop(); }
  TopicWork(const TopicWork&) = delete;
  TopicWork& operator=(const TopicWork&) = delete;

  // Runs `work` on a worker thread; the awaiting coroutine resumes on its own executor after
  // it, with the exception `work` threw, if any. After stop(), runs `work` inline.
  asio::awaitable<void> run(std::function<void()> work);

  // Waits for the work already started or queued; later run()s are inline. Call it before
  // closing the logs: a change's file work must not run while they close.
  void stop();

 private:
  asio::thread_pool pool_;
  bool stopped_ = false;
};

using TopicChanges = std::vector<std::shared_ptr<storage::LogManager::TopicChange>>;

// Runs the file work of `changes` (each change's run()): on `work`'s threads, or here when
// `work` is null. The changes are then ready for LogManager::finish.
asio::awaitable<void> run_topic_changes(TopicWork* work, TopicChanges changes);

}  // namespace runnel::server

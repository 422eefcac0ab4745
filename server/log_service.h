// The broker's storage: LogManager opened from the configuration, plus the
// periodic work it needs on the event loop:
//   every log.retention.check.interval.ms  apply_retention()
//   every housekeeping tick                maybe_roll_all(), maybe_flush_all()
//   every log.flush.offset.checkpoint.interval.ms  checkpoint_recovery_points()
// and a flusher thread: a segment that rolls is flushed (fdatasync) there, off
// the event loop, and its log's recovery point moves when that is done.
// The housekeeping tick is min(1 s, log.flush.interval.ms) so that segment.ms
// rolls and per-topic flush.ms are honoured within a second. It also owns the
// threads of topic changes' file work (topic_work.h), stopped before the logs
// close.
#pragma once

#include <asio.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/config.h"
#include "server/topic_work.h"
#include "storage/clock.h"
#include "storage/log_config.h"
#include "storage/log_manager.h"

namespace runnel::server {

// The topic-level defaults from the broker keys (log.segment.bytes →
// segment.bytes, retention resolved ms > minutes > hours, ...). Throws
// ConfigError when storage rejects a value.
storage::LogConfig log_defaults(const Config& config);

class LogService {
 public:
  LogService(asio::io_context& io, const Config& config, const storage::Clock& clock);
  ~LogService();

  // Opens and recovers every log; throws std::runtime_error on failure.
  void open();
  // Starts the periodic timers.
  void start_timers();
  // Stops the timers, waits for topic changes' file work, flushes and closes every log.
  // Returns false when a flush failed (logged).
  bool close();

  storage::LogManager& logs() { return *logs_; }
  TopicWork& topic_work() { return topic_work_; }

 private:
  asio::awaitable<void> retention_loop();
  asio::awaitable<void> housekeeping_loop();
  asio::awaitable<void> checkpoint_loop();
  // The flusher thread's loop; runs queued work and posts each result back to io_.
  void flusher();
  void stop_flusher();

  asio::io_context& io_;
  const Config& config_;
  const storage::Clock& clock_;
  std::unique_ptr<storage::LogManager> logs_;
  TopicWork topic_work_;
  asio::steady_timer retention_timer_;
  asio::steady_timer housekeeping_timer_;
  asio::steady_timer checkpoint_timer_;
  struct Job {
    std::function<bool()> work;
    std::function<void(bool)> done;
  };
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread flusher_;
  bool running_ = false;
  bool closed_ = false;
};

}  // namespace runnel::server

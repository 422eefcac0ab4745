#include "server/log_service.h"

#include <algorithm>

#include "protocol/records/compression.h"
#include "server/log.h"

namespace runnel::server {

storage::LogConfig log_defaults(const Config& config) {
  storage::LogConfig lc;
  auto set = [&](std::string_view key, const std::string& value, std::string_view from) {
    std::string message;
    if (lc.set(key, value, &message) != protocol::ErrorCode::NONE)
      throw ConfigError("invalid value '" + value + "' for configuration '" + std::string(from) +
                        "': " + message);
  };
  for (const auto& def : config_defs()) {
    if (def.topic_synonym.empty()) continue;
    // Resolved below from several keys.
    if (def.name == "log.retention.ms" || def.name == "log.roll.ms" ||
        def.name == "log.roll.jitter.ms" || def.name == "log.flush.interval.ms")
      continue;
    auto v = config.value(def.name);
    if (!v) continue;
    set(def.topic_synonym, *v, def.name);
  }
  set("retention.ms", std::to_string(config.log_retention_ms()), "log.retention.ms");
  set("segment.ms", std::to_string(config.log_roll_ms()), "log.roll.ms");
  set("flush.ms", std::to_string(config.log_flush_interval_ms()), "log.flush.interval.ms");
  return lc;
}

LogService::LogService(asio::io_context& io, const Config& config, const storage::Clock& clock)
    : io_(io),
      config_(config),
      clock_(clock),
      retention_timer_(io),
      housekeeping_timer_(io),
      checkpoint_timer_(io) {}

LogService::~LogService() { close(); }

void LogService::open() {
  logs_ = std::make_unique<storage::LogManager>(std::vector<std::string>{config_.log_dir()},
                                                log_defaults(config_), clock_);
  logs_->set_decompressor(
      [max = static_cast<size_t>(config_.get_int("message.max.bytes")) * 64](
          protocol::Compression codec, std::span<const uint8_t> in, std::vector<uint8_t>* out) {
        auto d = protocol::decompress(codec, in, max);
        if (!d.ok()) return false;
        *out = std::move(d.data);
        return true;
      });
  flusher_ = std::thread([this] { flusher(); });
  logs_->set_background_runner([this](std::function<bool()> work, std::function<void(bool)> done) {
    std::lock_guard lock(mutex_);
    jobs_.push_back({std::move(work), std::move(done)});
    wake_.notify_one();
  });
  std::string error;
  if (!logs_->load(&error))
    throw std::runtime_error("cannot open the log directory " + config_.log_dir() + ": " + error);
}

void LogService::start_timers() {
  running_ = true;
  asio::co_spawn(io_, retention_loop(), asio::detached);
  asio::co_spawn(io_, housekeeping_loop(), asio::detached);
  asio::co_spawn(io_, checkpoint_loop(), asio::detached);
}

void LogService::flusher() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    bool ok = job.work();
    asio::post(io_, [done = std::move(job.done), ok] { done(ok); });
  }
}

void LogService::stop_flusher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (flusher_.joinable()) flusher_.join();
}

asio::awaitable<void> LogService::checkpoint_loop() {
  auto interval = std::chrono::milliseconds(
      std::max<int64_t>(config_.get_long("log.flush.offset.checkpoint.interval.ms"), 100));
  while (running_) {
    checkpoint_timer_.expires_after(interval);
    std::error_code ec;
    co_await checkpoint_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    logs_->checkpoint_recovery_points();
  }
}

asio::awaitable<void> LogService::retention_loop() {
  auto interval = std::chrono::milliseconds(config_.get_long("log.retention.check.interval.ms"));
  while (running_) {
    retention_timer_.expires_after(interval);
    std::error_code ec;
    co_await retention_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    int deleted = logs_->apply_retention(clock_.now_ms());
    if (deleted > 0) log_info("retention deleted ", deleted, " segment(s)");
  }
}

asio::awaitable<void> LogService::housekeeping_loop() {
  auto tick =
      std::chrono::milliseconds(std::clamp<int64_t>(config_.log_flush_interval_ms(), 1, 1000));
  while (running_) {
    housekeeping_timer_.expires_after(tick);
    std::error_code ec;
    co_await housekeeping_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!running_) break;
    int64_t now = clock_.now_ms();
    logs_->maybe_roll_all(now);
    logs_->maybe_flush_all(now);
  }
}

bool LogService::close() {
  running_ = false;
  retention_timer_.cancel();
  housekeeping_timer_.cancel();
  checkpoint_timer_.cancel();
  // Queued flushes finish first; their results are not needed: close() flushes everything.
  stop_flusher();
  // A topic change's file work must not run while the logs close; one that ran but was not
  // finished is closed by LogManager::close.
  topic_work_.stop();
  if (!logs_ || closed_) return true;
  closed_ = true;
  bool ok = logs_->close();
  if (!ok) log_error("flushing the logs at shutdown failed");
  return ok;
}

}  // namespace runnel::server

// What every coordinator of an internal topic (__consumer_offsets, __transaction_state, and
// next __share_group_state) shares with the runtime that serves it.
//
// The shape
// ---------
// A coordinator is a state machine over the records of its topic. An operation works out the
// records of its change and hands them to the CoordinatorLog; the log appends them and, once
// they are stored, replays them into the coordinator, before append() returns. Only then does
// the operation answer, from the state the replay left. The same replay() is what loading
// calls for every record of the log, so the state after a write is, by construction, the
// state a restart rebuilds, and a failed append (nothing stored, nothing replayed) leaves the
// state as it was. Appends are synchronous: the broker's storage writes to the page cache on
// its one event-loop thread, so "return the records, append, replay, answer" needs no futures.
//
// A transaction's COMMIT or ABORT marker that lands on a coordinator's partition (a
// TxnOffsetCommit's offsets on __consumer_offsets) reaches the coordinator the same way, by
// replay_marker(), whether the marker is written now or read at load.
//
// What a coordinator implements (CoordinatorStateMachine): loading (begin_load, replay,
// finish_load), replay of markers, and its timers as one next deadline and a tick() that
// fires what is due. What the runtime does (server/coordinator_runtime.h): creates the topic,
// loads each partition chunk by chunk between other requests, appends, replays, wakes
// fetchers of the topic, and arms one timer at next_deadline_ms(). In tests,
// coordinator/tests/memory_log.h is a runtime in memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/errors.h"
#include "protocol/wire.h"

namespace runnel::coordinator {

// One record a coordinator writes: key bytes and value bytes (nullopt: a tombstone).
struct CoordinatorRecord {
  protocol::Bytes key;
  std::optional<protocol::Bytes> value;
};

// The producer a transactional batch belongs to (TxnOffsetCommit's offsets).
struct ProducerRef {
  int64_t id = -1;
  int16_t epoch = -1;
};

// One record as it is replayed: bytes borrowed from the batch being replayed.
struct ReplayedRecord {
  std::span<const uint8_t> key;
  std::optional<std::span<const uint8_t>> value;
  // The producer of a transactional batch; -1 for the coordinator's own records.
  int64_t producer_id = -1;
};

class CoordinatorStateMachine {
 public:
  virtual ~CoordinatorStateMachine() = default;
  // The partitions of the topic this state machine lives in.
  virtual int32_t partition_count() const = 0;
  // Loading of `partition` begins: what was known of it is rebuilt from its records.
  virtual void begin_load(int32_t partition) = 0;
  // One record of `partition`, while loading and after every append alike.
  virtual void replay(int32_t partition, const ReplayedRecord& record) = 0;
  // A transaction marker of `producer_id` on `partition` (COMMIT when `commit`).
  virtual void replay_marker(int32_t partition, int64_t producer_id, bool commit) = 0;
  // Loading of `partition` is complete: requests for it are served from now on.
  virtual void finish_load(int32_t partition) = 0;
  // No topic yet: every partition is loaded (and empty).
  virtual void mark_all_loaded() = 0;
  // When tick() next has something to do; nullopt: nothing.
  virtual std::optional<int64_t> next_deadline_ms() const = 0;
  virtual void tick() = 0;
};

// A coordinator's door to its topic.
class CoordinatorLog {
 public:
  virtual ~CoordinatorLog() = default;
  // Appends `records` to `partition` as one batch (a transactional batch of `producer` when
  // given) and replays them into the state machine once stored. NONE, or the append's own
  // error (unmapped; see append_errors.h) with nothing stored and nothing replayed.
  virtual protocol::ErrorCode append(int32_t partition,
                                     const std::vector<CoordinatorRecord>& records,
                                     std::optional<ProducerRef> producer = std::nullopt) = 0;
};

}  // namespace runnel::coordinator

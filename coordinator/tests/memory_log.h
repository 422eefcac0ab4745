// A coordinator runtime in memory for tests: the CoordinatorLog of one state machine, whose
// partitions are lists of stored records. An append stores and then replays, as the broker's
// runtime does; load_into() replays everything into a fresh state machine, as a start-up does.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "coordinator/runtime.h"

namespace runnel::coordinator {

class MemoryLog : public CoordinatorLog {
 public:
  struct Stored {
    CoordinatorRecord record;
    int64_t producer_id = -1;    // >= 0: a record of a transactional batch, or a marker's
    std::optional<bool> marker;  // a COMMIT (true) or ABORT (false) marker
  };

  // The state machine appends replay into (none: they are only stored).
  void attach(CoordinatorStateMachine* machine) { machine_ = machine; }

  protocol::ErrorCode append(int32_t partition, const std::vector<CoordinatorRecord>& records,
                             std::optional<ProducerRef> producer = std::nullopt) override {
    ++calls;
    if (fail_next != protocol::ErrorCode::NONE)
      return std::exchange(fail_next, protocol::ErrorCode::NONE);
    if (fail_always != protocol::ErrorCode::NONE) return fail_always;
    auto& log = partitions[partition];
    const size_t first = log.size();
    for (const auto& r : records) log.push_back({r, producer ? producer->id : -1, std::nullopt});
    if (machine_)
      for (size_t i = first; i < log.size(); ++i) replay(*machine_, partition, log[i]);
    return protocol::ErrorCode::NONE;
  }

  // A COMMIT or ABORT marker of `producer_id` written to `partition` (and replayed).
  void write_marker(int32_t partition, int64_t producer_id, bool commit) {
    partitions[partition].push_back({{}, producer_id, commit});
    if (machine_) machine_->replay_marker(partition, producer_id, commit);
  }

  // Loads every partition of `machine` from what is stored, as at start-up.
  void load_into(CoordinatorStateMachine& machine) const {
    for (int32_t p = 0; p < machine.partition_count(); ++p) {
      machine.begin_load(p);
      auto it = partitions.find(p);
      if (it != partitions.end())
        for (const auto& s : it->second) replay(machine, p, s);
      machine.finish_load(p);
    }
  }

  // Every stored record, partition by partition, in order (markers excepted).
  std::vector<std::pair<int32_t, CoordinatorRecord>> records() const {
    std::vector<std::pair<int32_t, CoordinatorRecord>> out;
    for (const auto& [p, log] : partitions)
      for (const auto& s : log)
        if (!s.marker) out.emplace_back(p, s.record);
    return out;
  }

  std::map<int32_t, std::vector<Stored>> partitions;
  protocol::ErrorCode fail_next = protocol::ErrorCode::NONE;
  protocol::ErrorCode fail_always = protocol::ErrorCode::NONE;
  int calls = 0;

 private:
  static void replay(CoordinatorStateMachine& machine, int32_t partition, const Stored& s) {
    if (s.marker) {
      machine.replay_marker(partition, s.producer_id, *s.marker);
      return;
    }
    ReplayedRecord r;
    r.key = s.record.key;
    if (s.record.value) r.value = std::span<const uint8_t>(*s.record.value);
    r.producer_id = s.producer_id;
    machine.replay(partition, r);
  }

  CoordinatorStateMachine* machine_ = nullptr;
};

}  // namespace runnel::coordinator

#include "storage/producer_state.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "protocol/records/crc32c.h"
#include "storage/io_util.h"
#include "storage/sys.h"

namespace runnel::storage {

using protocol::BatchHeader;
using protocol::ErrorCode;

namespace {

constexpr char kMagic[4] = {'R', 'N', 'P', 'S'};
constexpr int16_t kVersion = 1;
constexpr size_t kHeaderSize = 22;
constexpr size_t kProducerFixedSize = 8 + 2 + 4 + 8 + 8 + 1;
constexpr size_t kBatchSize = 4 + 4 + 8 + 4 + 8;

// Kafka's inSequence: the next sequence follows the last one, wrapping to 0
// after INT32_MAX.
bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return int64_t{next_seq} == int64_t{last_seq} + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v >> 16));
  put16(s, static_cast<uint16_t>(v));
}
void put64(std::string& s, uint64_t v) {
  put32(s, static_cast<uint32_t>(v >> 32));
  put32(s, static_cast<uint32_t>(v));
}

// A bounds-checked big-endian reader over the snapshot bytes.
struct Cursor {
  const uint8_t* p;
  size_t left;
  bool ok = true;
  uint64_t take(size_t n) {
    if (!ok || left < n) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    p += n;
    left -= n;
    return v;
  }
  int8_t i8() { return static_cast<int8_t>(take(1)); }
  int16_t i16() { return static_cast<int16_t>(take(2)); }
  int32_t i32() { return static_cast<int32_t>(take(4)); }
  int64_t i64() { return static_cast<int64_t>(take(8)); }
};

}  // namespace

int32_t increment_sequence(int32_t sequence, int32_t increment) {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

int32_t decrement_sequence(int32_t sequence, int32_t decrement) {
  if (sequence < decrement) return INT32_MAX - (decrement - sequence) + 1;
  return sequence - decrement;
}

const BatchMetadata* ProducerStateEntry::find_duplicate(int16_t batch_epoch, int32_t first_seq,
                                                        int32_t last_seq_of_batch) const {
  if (batch_epoch != epoch) return nullptr;
  for (const auto& b : batches)
    if (b.first_seq == first_seq && b.last_seq == last_seq_of_batch) return &b;
  return nullptr;
}

const ProducerStateEntry* ProducerStateManager::get(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

void ProducerStateManager::clear() {
  producers_.clear();
  ongoing_.clear();
}

const BatchMetadata* ProducerStateManager::find_duplicate(const BatchHeader& h) const {
  const ProducerStateEntry* e = get(h.producer_id);
  if (!e || h.last_offset_delta < 0) return nullptr;
  return e->find_duplicate(h.producer_epoch, h.base_sequence,
                           increment_sequence(h.base_sequence, h.last_offset_delta));
}

ProducerStateManager::Update::Pending& ProducerStateManager::pending_for(
    Update& u, int64_t producer_id) const {
  auto it = u.producers.find(producer_id);
  if (it != u.producers.end()) return it->second;
  Update::Pending p;
  if (const ProducerStateEntry* e = get(producer_id)) {
    p.entry = *e;
    p.committed_epoch = e->epoch;
  } else {
    p.entry.producer_id = producer_id;
  }
  return u.producers.emplace(producer_id, std::move(p)).first->second;
}

namespace {

void maybe_update_epoch(ProducerStateEntry& e, int16_t epoch) {
  if (e.epoch != epoch) {
    e.batches.clear();
    e.epoch = epoch;
  }
}

}  // namespace

ErrorCode ProducerStateManager::append_data(Update& u, const BatchHeader& h, int64_t timestamp,
                                            AppendOrigin origin) const {
  Update::Pending& pending = pending_for(u, h.producer_id);
  ProducerStateEntry& e = pending.entry;
  const bool check = origin != AppendOrigin::replay;
  // checkProducerEpoch: an older epoch is fenced.
  if (check && h.producer_epoch < e.epoch) return ErrorCode::INVALID_PRODUCER_EPOCH;
  if (origin == AppendOrigin::client) {
    // checkSequence (Kafka 3.9, after KIP-360). A producer this partition
    // does not know (no epoch: never seen, or expired) is accepted with any
    // sequence, so UNKNOWN_PRODUCER_ID is never answered; a known producer's
    // new epoch must start at 0; the same epoch must continue the sequence.
    if (h.producer_epoch != e.epoch) {
      if (h.base_sequence != 0 && e.epoch != -1) return ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
    } else if (pending.committed_epoch != -1 && !in_sequence(e.last_seq(), h.base_sequence)) {
      return ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
  }
  maybe_update_epoch(e, h.producer_epoch);
  BatchMetadata b;
  b.last_seq = increment_sequence(h.base_sequence, std::max(0, h.last_offset_delta));
  b.first_seq = decrement_sequence(b.last_seq, std::max(0, h.last_offset_delta));
  b.last_offset = h.last_offset();
  b.offset_delta = h.last_offset_delta;
  b.timestamp = timestamp;
  if (e.batches.size() == ProducerStateEntry::kBatchesToRetain) e.batches.pop_front();
  e.batches.push_back(b);
  e.last_timestamp = timestamp;
  if (e.current_txn_first_offset >= 0 && !h.is_transactional()) {
    if (check) return ErrorCode::INVALID_TXN_STATE;
  } else if (e.current_txn_first_offset < 0 && h.is_transactional()) {
    e.current_txn_first_offset = h.base_offset;
  }
  return ErrorCode::NONE;
}

ErrorCode ProducerStateManager::append_marker(Update& u, int64_t producer_id, int16_t epoch,
                                              int32_t coordinator_epoch, bool commit,
                                              int64_t offset, int64_t timestamp,
                                              AppendOrigin origin,
                                              std::optional<CompletedTxn>* completed) const {
  completed->reset();
  Update::Pending& pending = pending_for(u, producer_id);
  ProducerStateEntry& e = pending.entry;
  if (origin != AppendOrigin::replay) {
    if (epoch < e.epoch) return ErrorCode::INVALID_PRODUCER_EPOCH;
    if (e.coordinator_epoch > coordinator_epoch) return ErrorCode::TRANSACTION_COORDINATOR_FENCED;
  }
  // A marker without data in this partition completes nothing (it does not
  // move the last stable offset and has no place in the txn index).
  if (e.current_txn_first_offset >= 0)
    *completed = CompletedTxn{producer_id, e.current_txn_first_offset, offset, !commit};
  maybe_update_epoch(e, epoch);
  e.current_txn_first_offset = -1;
  e.coordinator_epoch = coordinator_epoch;
  e.last_timestamp = timestamp;
  return ErrorCode::NONE;
}

void ProducerStateManager::commit(Update&& u) {
  for (auto& [pid, pending] : u.producers) {
    auto it = producers_.find(pid);
    if (it != producers_.end() && it->second.current_txn_first_offset >= 0)
      ongoing_.erase(it->second.current_txn_first_offset);
    if (pending.entry.current_txn_first_offset >= 0)
      ongoing_[pending.entry.current_txn_first_offset] = pid;
    producers_[pid] = std::move(pending.entry);
  }
  u.producers.clear();
}

int64_t ProducerStateManager::first_unstable_offset() const {
  return ongoing_.empty() ? -1 : ongoing_.begin()->first;
}

int64_t ProducerStateManager::last_stable_offset_after(const CompletedTxn& txn) const {
  for (const auto& [first, pid] : ongoing_)
    if (pid != txn.producer_id) return first;
  return txn.last_offset + 1;
}

int64_t ProducerStateManager::last_stable_offset_after(const CompletedTxn& txn,
                                                       const Update& u) const {
  int64_t first = -1;
  for (const auto& [offset, pid] : ongoing_)
    if (pid != txn.producer_id && !u.producers.contains(pid)) {
      first = offset;
      break;
    }
  for (const auto& [pid, pending] : u.producers) {
    const int64_t f = pending.entry.current_txn_first_offset;
    if (pid != txn.producer_id && f >= 0 && (first < 0 || f < first)) first = f;
  }
  return first >= 0 ? first : txn.last_offset + 1;
}

size_t ProducerStateManager::expire(int64_t now_ms, int64_t expiration_ms) {
  size_t removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    const ProducerStateEntry& e = it->second;
    if (e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms) {
      it = producers_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

void ProducerStateManager::rebuild_ongoing() {
  ongoing_.clear();
  for (const auto& [pid, e] : producers_)
    if (e.current_txn_first_offset >= 0) ongoing_[e.current_txn_first_offset] = pid;
}

std::string ProducerStateManager::snapshot_file_name(int64_t offset) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%020" PRId64 ".snapshot", offset);
  return buf;
}

std::vector<int64_t> ProducerStateManager::list_snapshots(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<int64_t> out;
  std::error_code ec;
  std::vector<sys::DirEntry> entries;
  sys::list_dir(dir, &entries, ec);
  for (const auto& entry : entries) {
    const fs::path p(entry.name);
    if (p.extension() != ".snapshot") continue;
    std::string stem = p.stem().string();
    if (stem.size() != 20 ||
        !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    uint64_t v = 0;
    bool overflow = false;
    for (char c : stem) {
      if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(c - '0')) / 10)
        overflow = true;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!overflow) out.push_back(static_cast<int64_t>(v));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ProducerStateManager::encode_snapshot(int64_t offset) const {
  std::string s(kMagic, sizeof kMagic);
  put16(s, static_cast<uint16_t>(kVersion));
  put32(s, 0);  // CRC, filled below
  put64(s, static_cast<uint64_t>(offset));
  put32(s, static_cast<uint32_t>(producers_.size()));
  for (const auto& [pid, e] : producers_) {
    put64(s, static_cast<uint64_t>(pid));
    put16(s, static_cast<uint16_t>(e.epoch));
    put32(s, static_cast<uint32_t>(e.coordinator_epoch));
    put64(s, static_cast<uint64_t>(e.last_timestamp));
    put64(s, static_cast<uint64_t>(e.current_txn_first_offset));
    s.push_back(static_cast<char>(e.batches.size()));
    for (const auto& b : e.batches) {
      put32(s, static_cast<uint32_t>(b.first_seq));
      put32(s, static_cast<uint32_t>(b.last_seq));
      put64(s, static_cast<uint64_t>(b.last_offset));
      put32(s, static_cast<uint32_t>(b.offset_delta));
      put64(s, static_cast<uint64_t>(b.timestamp));
    }
  }
  auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  uint32_t crc = protocol::crc32c(bytes + 10, s.size() - 10);
  io::put_u32(reinterpret_cast<uint8_t*>(s.data()) + 6, crc);
  return s;
}

bool ProducerStateManager::decode_snapshot(const std::string& bytes, int64_t offset) {
  if (bytes.size() < kHeaderSize || bytes.compare(0, 4, kMagic, 4) != 0) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  Cursor c{p + 4, bytes.size() - 4};
  if (c.i16() != kVersion) return false;
  uint32_t crc = static_cast<uint32_t>(c.take(4));
  if (protocol::crc32c(p + 10, bytes.size() - 10) != crc) return false;
  if (c.i64() != offset) return false;
  int32_t count = c.i32();
  if (!c.ok || count < 0 || static_cast<uint64_t>(count) > c.left / kProducerFixedSize)
    return false;
  std::map<int64_t, ProducerStateEntry> loaded;
  for (int32_t i = 0; i < count; ++i) {
    ProducerStateEntry e;
    e.producer_id = c.i64();
    e.epoch = c.i16();
    e.coordinator_epoch = c.i32();
    e.last_timestamp = c.i64();
    e.current_txn_first_offset = c.i64();
    int8_t n = c.i8();
    if (!c.ok || n < 0 || static_cast<size_t>(n) > ProducerStateEntry::kBatchesToRetain ||
        e.producer_id < 0 || e.current_txn_first_offset < -1 ||
        e.current_txn_first_offset >= offset)
      return false;
    for (int8_t j = 0; j < n; ++j) {
      BatchMetadata b;
      b.first_seq = c.i32();
      b.last_seq = c.i32();
      b.last_offset = c.i64();
      b.offset_delta = c.i32();
      b.timestamp = c.i64();
      e.batches.push_back(b);
    }
    if (!c.ok || !loaded.emplace(e.producer_id, std::move(e)).second) return false;
  }
  if (!c.ok || c.left != 0) return false;
  producers_ = std::move(loaded);
  rebuild_ongoing();
  return true;
}

bool ProducerStateManager::write_snapshot(const std::string& dir, int64_t offset,
                                          std::string* error) const {
  std::string path = dir + "/" + snapshot_file_name(offset);
  std::string bytes = encode_snapshot(offset);
  // A snapshot already on disk with these very bytes (a close after a restart without appends,
  // a second close at the same offset) is durable as it is: no second write and fsync.
  std::string current;
  if (io::read_file(path, &current) && current == bytes) return true;
  return io::write_file_atomic(path, bytes, error);
}

bool ProducerStateManager::load_snapshot(const std::string& dir, int64_t offset) {
  std::string bytes;
  if (!io::read_file(dir + "/" + snapshot_file_name(offset), &bytes)) return false;
  return decode_snapshot(bytes, offset);
}

}  // namespace runnel::storage

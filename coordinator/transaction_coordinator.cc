#include "coordinator/transaction_coordinator.h"

#include <algorithm>

#include "coordinator/append_errors.h"

namespace runnel::coordinator {

namespace {

bool is_prepare(TransactionState s) {
  return s == TransactionState::PrepareCommit || s == TransactionState::PrepareAbort;
}

bool is_complete_or_empty(TransactionState s) {
  return s == TransactionState::Empty || s == TransactionState::CompleteCommit ||
         s == TransactionState::CompleteAbort;
}

std::optional<TransactionMetadata> metadata_of(const std::string& id, const TxnLogValue& v) {
  TransactionMetadata m;
  m.transactional_id = id;
  m.producer_id = v.producer_id;
  m.last_producer_id = v.previous_producer_id;
  m.producer_epoch = v.producer_epoch;
  m.last_producer_epoch = kNoProducerEpoch;  // never stored
  m.timeout_ms = v.transaction_timeout_ms;
  m.state = v.status;
  if (m.state != TransactionState::Empty && v.partitions) {
    for (const auto& t : *v.partitions)
      for (int32_t p : t.partition_ids) m.partitions.insert({t.topic, p});
  }
  m.start_time_ms = v.start_timestamp_ms;
  m.last_update_time_ms = v.last_update_timestamp_ms;
  m.next_producer_id = v.next_producer_id;
  m.client_transaction_version = v.client_transaction_version;
  return m;
}

// The error Produce (and TxnOffsetCommit) answers for the coordinator's verdict on a
// partition of a transaction, as Kafka's AddPartitionsToTxnManager maps it: PRODUCER_FENCED
// becomes INVALID_PRODUCER_EPOCH, what a retry will cure NOT_ENOUGH_REPLICAS, and a partition
// not in the transaction INVALID_TXN_STATE unless the client knows TRANSACTION_ABORTABLE.
ErrorCode produce_error_of(ErrorCode e, bool abortable_supported) {
  switch (e) {
    case ErrorCode::PRODUCER_FENCED:
      return ErrorCode::INVALID_PRODUCER_EPOCH;
    case ErrorCode::TRANSACTION_ABORTABLE:
      return abortable_supported ? ErrorCode::TRANSACTION_ABORTABLE : ErrorCode::INVALID_TXN_STATE;
    case ErrorCode::CONCURRENT_TRANSACTIONS:
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
      return ErrorCode::NOT_ENOUGH_REPLICAS;
    default:
      return e;
  }
}

}  // namespace

TransactionCoordinator::TransactionCoordinator(TxnConfig config, const storage::Clock& clock,
                                               CoordinatorLog& log, TxnMarkerWriter& markers,
                                               ProducerIdSource& producer_ids)
    : config_(config),
      clock_(clock),
      log_(log),
      markers_(markers),
      producer_ids_(producer_ids),
      load_state_(static_cast<size_t>(std::max(config.log_partitions, 1)), LoadState::Unloaded),
      coordinator_epochs_(load_state_.size(), 0),
      next_expiration_check_ms_(clock.now_ms() + config.remove_expired_interval_ms) {}

int32_t TransactionCoordinator::partition_for(std::string_view transactional_id) const {
  return partition_for_transactional_id(transactional_id, static_cast<int32_t>(load_state_.size()));
}

ErrorCode TransactionCoordinator::check_id(std::string_view transactional_id) const {
  if (!loaded(partition_for(transactional_id))) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  return ErrorCode::NONE;
}

int32_t TransactionCoordinator::coordinator_epoch(const std::string& id) const {
  return coordinator_epochs_[static_cast<size_t>(partition_for(id))];
}

// ---------------------------------------------------------------------------------------------
// Metadata and its records

TransactionCoordinator::Entry* TransactionCoordinator::find(const std::string& id) {
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : &it->second;
}

const TransactionCoordinator::Entry* TransactionCoordinator::find(const std::string& id) const {
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : &it->second;
}

const TransactionMetadata* TransactionCoordinator::metadata(const std::string& id) const {
  const Entry* e = find(id);
  return e ? &e->meta : nullptr;
}

std::optional<int64_t> TransactionCoordinator::new_producer_id() {
  return producer_ids_.next_producer_id();
}

void TransactionCoordinator::log_event(const TransactionMetadata& m) {
  if (!event_log_) return;
  // The steps of every committed transaction (Ongoing, PrepareCommit, CompleteCommit) and the
  // Prepare step of an abort would be several lines per transaction; unless asked for, only
  // new epochs (Empty), aborts (CompleteAbort) and removals (Dead) are logged.
  if (!log_every_change_ && m.state != TransactionState::Empty &&
      m.state != TransactionState::CompleteAbort && m.state != TransactionState::Dead)
    return;
  const size_t n = m.partitions.size();
  event_log_("transaction " + m.transactional_id + ": " +
             std::string(transaction_state_name(m.state)) + ", producer id " +
             std::to_string(m.producer_id) + ", epoch " + std::to_string(m.producer_epoch) + ", " +
             std::to_string(n) + (n == 1 ? " partition" : " partitions"));
}

void TransactionCoordinator::install(const TransactionMetadata& m, bool log_change) {
  auto [it, inserted] = txns_.try_emplace(m.transactional_id);
  Entry& e = it->second;
  const bool changed = inserted || e.meta.state != m.state || e.meta.producer_id != m.producer_id ||
                       e.meta.producer_epoch != m.producer_epoch;
  if (!inserted) {
    auto pit = by_producer_id_.find(e.meta.producer_id);
    if (pit != by_producer_id_.end() && pit->second == m.transactional_id)
      by_producer_id_.erase(pit);
    if (e.meta.state == TransactionState::Ongoing)
      timeouts_.erase({e.meta.start_time_ms + e.meta.timeout_ms, m.transactional_id});
  }
  const TransactionState old_state = inserted ? TransactionState::Empty : e.meta.state;
  e.meta = m;
  by_producer_id_[m.producer_id] = m.transactional_id;
  if (m.state == TransactionState::Ongoing) {
    timeouts_.emplace(m.start_time_ms + m.timeout_ms, m.transactional_id);
    if (deadline_added_) deadline_added_();
  }
  if (is_prepare(m.state)) {
    if (old_state != m.state) e.markers_left = m.partitions;
  } else {
    e.markers_left.clear();
    incomplete_.erase(m.transactional_id);
  }
  if (changed && log_change) log_event(m);
}

void TransactionCoordinator::erase(const std::string& id) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;
  const TransactionMetadata& m = it->second.meta;
  auto pit = by_producer_id_.find(m.producer_id);
  if (pit != by_producer_id_.end() && pit->second == id) by_producer_id_.erase(pit);
  if (m.state == TransactionState::Ongoing) timeouts_.erase({m.start_time_ms + m.timeout_ms, id});
  incomplete_.erase(id);
  txns_.erase(it);
}

ErrorCode TransactionCoordinator::transit(const TransactionMetadata& target) {
  const Entry* e = find(target.transactional_id);
  // A new id starts as Empty metadata that was never stored (Kafka creates it in the cache
  // first); its first record is its first transition.
  const TransactionState from = e ? e->meta.state : TransactionState::Empty;
  if (!is_valid_transition(from, target.state)) return ErrorCode::INVALID_TXN_STATE;
  std::vector<TxnLogRecord> records;
  // As Kafka: the flexible value (version 1) once transaction.version is 1 or more.
  records.push_back(
      {encode_txn_log_key(target.transactional_id),
       encode_txn_log_value(txn_log_value_of(target), transaction_version_ >= 1 ? 1 : 0)});
  pending_ = target;
  const ErrorCode err = log_.append(partition_for(target.transactional_id), records);
  pending_.reset();
  if (err != ErrorCode::NONE) return coordinator_append_error(err);
  return ErrorCode::NONE;
}

// ---------------------------------------------------------------------------------------------
// Loading

void TransactionCoordinator::begin_load(int32_t partition, int32_t coordinator_epoch) {
  if (partition < 0 || static_cast<size_t>(partition) >= load_state_.size()) return;
  const auto p = static_cast<size_t>(partition);
  load_state_[p] = LoadState::Loading;
  coordinator_epochs_[p] = coordinator_epoch;
  loading_[partition].clear();
  // Whatever was known of this partition is rebuilt from its log.
  std::vector<std::string> stale;
  for (const auto& [id, e] : txns_)
    if (partition_for(id) == partition) stale.push_back(id);
  for (const auto& id : stale) erase(id);
}

void TransactionCoordinator::replay(int32_t partition, const ReplayedRecord& record) {
  auto k = decode_txn_log_key(record.key);
  if (!k || k->version != kTxnLogKeyVersion) {
    ++skipped_records_;
    return;
  }
  std::optional<TransactionMetadata> m;  // nullopt: the id is gone
  if (record.value) {
    auto v = decode_txn_log_value(*record.value);
    if (!v || v->status == TransactionState::PrepareEpochFence) {
      // PrepareEpochFence is never stored; a record claiming it is not trusted.
      ++skipped_records_;
      return;
    }
    if (v->status != TransactionState::Dead) m = metadata_of(k->transactional_id, *v);
  }
  if (!loaded(partition)) {
    loading_[partition][k->transactional_id] = std::move(m);
    return;
  }
  // At run time: the record of a transition this coordinator just appended.
  if (!m) {
    if (const Entry* e = find(k->transactional_id)) {
      TransactionMetadata dead = e->meta;
      dead.state = TransactionState::Dead;
      log_event(dead);
    }
    erase(k->transactional_id);
    return;
  }
  if (pending_ && pending_->transactional_id == m->transactional_id) {
    // Fields a version 0 value does not hold (all of them kept in memory, as Kafka does).
    m->last_producer_id = pending_->last_producer_id;
    m->last_producer_epoch = pending_->last_producer_epoch;
    m->next_producer_id = pending_->next_producer_id;
    m->client_transaction_version = pending_->client_transaction_version;
  }
  install(*m);
}

void TransactionCoordinator::finish_load(int32_t partition) {
  if (partition < 0 || static_cast<size_t>(partition) >= load_state_.size()) return;
  load_state_[static_cast<size_t>(partition)] = LoadState::Loaded;
  auto staged = std::move(loading_[partition]);
  loading_.erase(partition);
  std::vector<std::string> to_complete;
  for (auto& [id, m] : staged) {
    if (!m) continue;
    install(*m, /*log_change=*/false);
    if (is_prepare(m->state)) to_complete.push_back(id);
  }
  // Transactions whose outcome was decided but not completed before the restart: their
  // markers are written again (a partition may get its marker twice, which is harmless).
  for (const auto& id : to_complete) complete_transaction(id);
}

void TransactionCoordinator::mark_all_loaded() {
  std::fill(load_state_.begin(), load_state_.end(), LoadState::Loaded);
}

bool TransactionCoordinator::loaded(int32_t partition) const {
  return partition >= 0 && static_cast<size_t>(partition) < load_state_.size() &&
         load_state_[static_cast<size_t>(partition)] == LoadState::Loaded;
}

// ---------------------------------------------------------------------------------------------
// InitProducerId

TransactionCoordinator::InitPidResult TransactionCoordinator::init_producer_id(
    const std::optional<std::string>& transactional_id, int32_t txn_timeout_ms,
    int64_t expected_pid, int16_t expected_epoch) {
  // Kafka's request check: an expected producer id and epoch come together or not at all.
  if ((expected_pid == kNoProducerId) != (expected_epoch == kNoProducerEpoch))
    return {ErrorCode::INVALID_REQUEST};
  if (!transactional_id) {
    // An idempotent producer: a fresh producer id, nothing to store.
    auto pid = new_producer_id();
    if (!pid) return {ErrorCode::COORDINATOR_LOAD_IN_PROGRESS};
    return {ErrorCode::NONE, *pid, 0};
  }
  const std::string& id = *transactional_id;
  if (id.empty()) return {ErrorCode::INVALID_REQUEST};
  if (txn_timeout_ms <= 0 || txn_timeout_ms > config_.max_timeout_ms)
    return {ErrorCode::INVALID_TRANSACTION_TIMEOUT};
  if (ErrorCode e = check_id(id); e != ErrorCode::NONE) return {e};
  const bool has_expected = expected_pid != kNoProducerId;
  const int64_t now = clock_.now_ms();

  TransactionMetadata current;
  if (const Entry* e = find(id)) {
    current = e->meta;
  } else {
    auto pid = new_producer_id();
    if (!pid) return {ErrorCode::COORDINATOR_LOAD_IN_PROGRESS};
    current.transactional_id = id;
    current.producer_id = *pid;
    current.timeout_ms = txn_timeout_ms;
    current.state = TransactionState::Empty;
    current.last_update_time_ms = now;
  }

  // Two rounds at most: an Ongoing transaction is fenced and aborted in the first, and the
  // second bumps the epoch for the new producer.
  for (int round = 0; round < 2; ++round) {
    if (has_expected) {
      // KIP-360: accept the current producer, a producer id just created (no epoch yet), or
      // the retry of a rotation whose answer was lost (the previous id at an exhausted epoch).
      const bool valid =
          current.producer_epoch == kNoProducerEpoch || expected_pid == current.producer_id ||
          (expected_pid == current.last_producer_id && is_epoch_exhausted(expected_epoch));
      if (!valid) return {ErrorCode::PRODUCER_FENCED};
    }
    switch (current.state) {
      case TransactionState::PrepareCommit:
      case TransactionState::PrepareAbort:
        return {ErrorCode::CONCURRENT_TRANSACTIONS};
      case TransactionState::Empty:
      case TransactionState::CompleteCommit:
      case TransactionState::CompleteAbort: {
        TransactionMetadata target = current;
        target.timeout_ms = txn_timeout_ms;
        target.state = TransactionState::Empty;
        target.partitions.clear();
        target.start_time_ms = -1;
        target.last_update_time_ms = now;
        if (is_epoch_exhausted(current.producer_epoch) &&
            (!has_expected || expected_epoch == current.producer_epoch)) {
          // The epoch is used up: a new producer id, epoch 0.
          auto pid = new_producer_id();
          if (!pid) return {ErrorCode::COORDINATOR_LOAD_IN_PROGRESS};
          target.last_producer_id = current.producer_id;
          target.producer_id = *pid;
          target.producer_epoch = 0;
          target.last_producer_epoch = has_expected ? current.producer_epoch : kNoProducerEpoch;
        } else if (!has_expected) {
          target.producer_epoch = static_cast<int16_t>(current.producer_epoch + 1);
          target.last_producer_epoch = kNoProducerEpoch;
        } else if (current.producer_epoch == kNoProducerEpoch ||
                   expected_epoch == current.producer_epoch) {
          if (is_epoch_exhausted(current.producer_epoch)) return {ErrorCode::PRODUCER_FENCED};
          target.producer_epoch = static_cast<int16_t>(current.producer_epoch + 1);
          target.last_producer_epoch = current.producer_epoch;
        } else if (expected_epoch == current.last_producer_epoch) {
          // The retry of a bump that succeeded: the same epoch again, nothing bumped.
          target.producer_epoch = current.producer_epoch;
          target.last_producer_epoch = current.last_producer_epoch;
        } else {
          return {ErrorCode::PRODUCER_FENCED};
        }
        if (ErrorCode e = transit(target); e != ErrorCode::NONE) return {e};
        return {ErrorCode::NONE, target.producer_id, target.producer_epoch};
      }
      case TransactionState::Ongoing: {
        if (round > 0) return {ErrorCode::CONCURRENT_TRANSACTIONS};
        Entry* e = find(id);
        if (!e) return {ErrorCode::UNKNOWN_SERVER_ERROR};
        const ErrorCode fenced = fence_and_abort(*e);
        if (fenced == ErrorCode::NONE) {
          current = find(id)->meta;
          continue;
        }
        // The abort was stored but not completed: retry later, as Kafka answers.
        if (e->meta.state == TransactionState::PrepareAbort)
          return {ErrorCode::CONCURRENT_TRANSACTIONS};
        return {fenced};
      }
      case TransactionState::Dead:
      case TransactionState::PrepareEpochFence:
        return {ErrorCode::UNKNOWN_SERVER_ERROR};  // never kept; Kafka treats it as fatal
    }
  }
  return {ErrorCode::CONCURRENT_TRANSACTIONS};
}

// ---------------------------------------------------------------------------------------------
// Transactions

ErrorCode TransactionCoordinator::check_producer(const Entry* e, int64_t pid, int16_t epoch) const {
  if (!e || e->meta.producer_id != pid) return ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  if (e->meta.producer_epoch != epoch) return ErrorCode::PRODUCER_FENCED;
  return ErrorCode::NONE;
}

std::vector<ErrorCode> TransactionCoordinator::add_partitions(
    const std::string& id, int64_t pid, int16_t epoch, const std::vector<TopicPartition>& tps,
    int16_t client_version) {
  auto all = [&](ErrorCode e) { return std::vector<ErrorCode>(tps.size(), e); };
  if (id.empty()) return all(ErrorCode::INVALID_REQUEST);
  if (ErrorCode e = check_id(id); e != ErrorCode::NONE) return all(e);
  const Entry* e = find(id);
  if (ErrorCode c = check_producer(e, pid, epoch); c != ErrorCode::NONE) return all(c);
  const TransactionMetadata& m = e->meta;
  if (is_prepare(m.state)) return all(ErrorCode::CONCURRENT_TRANSACTIONS);
  if (m.state == TransactionState::Ongoing &&
      std::all_of(tps.begin(), tps.end(), [&](const auto& tp) { return m.partitions.count(tp); }))
    return all(ErrorCode::NONE);
  if (m.state != TransactionState::Ongoing && !is_complete_or_empty(m.state))
    return all(ErrorCode::UNKNOWN_SERVER_ERROR);
  const int64_t now = clock_.now_ms();
  TransactionMetadata target = m;
  target.state = TransactionState::Ongoing;
  target.partitions.insert(tps.begin(), tps.end());
  if (is_complete_or_empty(m.state)) target.start_time_ms = now;
  target.last_update_time_ms = now;
  target.client_transaction_version = client_version;
  return all(transit(target));
}

std::vector<ErrorCode> TransactionCoordinator::verify_partitions(
    const std::string& id, int64_t pid, int16_t epoch,
    const std::vector<TopicPartition>& tps) const {
  auto all = [&](ErrorCode e) { return std::vector<ErrorCode>(tps.size(), e); };
  if (id.empty()) return all(ErrorCode::INVALID_REQUEST);
  if (ErrorCode e = check_id(id); e != ErrorCode::NONE) return all(e);
  const Entry* e = find(id);
  if (ErrorCode c = check_producer(e, pid, epoch); c != ErrorCode::NONE) return all(c);
  if (is_prepare(e->meta.state)) return all(ErrorCode::CONCURRENT_TRANSACTIONS);
  std::vector<ErrorCode> out;
  out.reserve(tps.size());
  for (const auto& tp : tps)
    out.push_back(e->meta.partitions.count(tp) ? ErrorCode::NONE
                                               : ErrorCode::TRANSACTION_ABORTABLE);
  return out;
}

ErrorCode TransactionCoordinator::add_offsets(const std::string& id, int64_t pid, int16_t epoch,
                                              int32_t offsets_partition) {
  auto errors =
      add_partitions(id, pid, epoch, {{std::string(kConsumerOffsetsTopic), offsets_partition}});
  return errors.front();
}

ErrorCode TransactionCoordinator::end_txn(const std::string& id, int64_t pid, int16_t epoch,
                                          bool commit) {
  if (id.empty()) return ErrorCode::INVALID_REQUEST;
  if (ErrorCode e = check_id(id); e != ErrorCode::NONE) return e;
  const Entry* e = find(id);
  if (ErrorCode c = check_producer(e, pid, epoch); c != ErrorCode::NONE) return c;
  switch (e->meta.state) {
    case TransactionState::Ongoing: {
      TransactionMetadata target = e->meta;
      target.state = commit ? TransactionState::PrepareCommit : TransactionState::PrepareAbort;
      target.last_update_time_ms = clock_.now_ms();
      if (ErrorCode w = transit(target); w != ErrorCode::NONE) return w;
      // The outcome is stored: the client is answered NONE whatever the markers do; markers
      // that fail are written again by tick().
      complete_transaction(id);
      return ErrorCode::NONE;
    }
    case TransactionState::CompleteCommit:
      return commit ? ErrorCode::NONE : ErrorCode::INVALID_TXN_STATE;
    case TransactionState::CompleteAbort:
      return commit ? ErrorCode::INVALID_TXN_STATE : ErrorCode::NONE;
    case TransactionState::PrepareCommit:
      return commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE;
    case TransactionState::PrepareAbort:
      return commit ? ErrorCode::INVALID_TXN_STATE : ErrorCode::CONCURRENT_TRANSACTIONS;
    case TransactionState::Empty:
      return ErrorCode::INVALID_TXN_STATE;
    case TransactionState::Dead:
    case TransactionState::PrepareEpochFence:
      break;
  }
  return ErrorCode::UNKNOWN_SERVER_ERROR;
}

TransactionCoordinator::EndTxnResult TransactionCoordinator::end_txn_v2(const std::string& id,
                                                                        int64_t pid, int16_t epoch,
                                                                        bool commit) {
  if (id.empty()) return {ErrorCode::INVALID_REQUEST};
  if (ErrorCode e = check_id(id); e != ErrorCode::NONE) return {e};
  const Entry* e = find(id);
  if (!e) return {ErrorCode::INVALID_PRODUCER_ID_MAPPING};
  const TransactionMetadata& m = e->meta;
  const int32_t requested = epoch;
  // A retry after the epoch was used up and the producer moved to a new id.
  const bool retry_on_overflow =
      m.last_producer_id == pid && requested == kMaxProducerEpoch - 1 && m.producer_epoch == 0;
  // A retry of an EndTxn whose bump is stored.
  const bool retry_on_bump = m.producer_epoch == requested + 1;
  bool valid_epoch = false;
  switch (m.state) {
    case TransactionState::PrepareCommit:
    case TransactionState::PrepareAbort:
      valid_epoch = retry_on_bump;
      break;
    case TransactionState::CompleteCommit:
    case TransactionState::CompleteAbort:
      valid_epoch = retry_on_bump || retry_on_overflow || requested == m.producer_epoch;
      break;
    default:
      valid_epoch = requested == m.producer_epoch;
  }
  if (m.producer_id != pid && !retry_on_overflow) return {ErrorCode::INVALID_PRODUCER_ID_MAPPING};
  if (!valid_epoch) return {ErrorCode::PRODUCER_FENCED};
  const bool retry = retry_on_bump || retry_on_overflow;
  const EndTxnResult current{ErrorCode::NONE, m.producer_id, m.producer_epoch};
  switch (m.state) {
    case TransactionState::Ongoing:
      return prepare_v2(m, commit);
    case TransactionState::CompleteCommit:
      if (commit) return retry ? current : EndTxnResult{ErrorCode::INVALID_TXN_STATE};
      return retry ? EndTxnResult{ErrorCode::INVALID_TXN_STATE} : prepare_v2(m, false);
    case TransactionState::CompleteAbort:
      if (commit) return {ErrorCode::INVALID_TXN_STATE};
      return retry ? current : prepare_v2(m, false);
    case TransactionState::Empty:
      if (commit) return {ErrorCode::INVALID_TXN_STATE};
      return prepare_v2(m, false);
    case TransactionState::PrepareCommit:
      return {commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE};
    case TransactionState::PrepareAbort:
      return {commit ? ErrorCode::INVALID_TXN_STATE : ErrorCode::CONCURRENT_TRANSACTIONS};
    case TransactionState::Dead:
    case TransactionState::PrepareEpochFence:
      break;
  }
  return {ErrorCode::UNKNOWN_SERVER_ERROR};
}

TransactionCoordinator::EndTxnResult TransactionCoordinator::prepare_v2(
    const TransactionMetadata& current, bool commit) {
  // The producer may not reach the last epoch: it stays free to fence it.
  if (current.producer_epoch >= kMaxProducerEpoch) return {ErrorCode::PRODUCER_FENCED};
  const int64_t now = clock_.now_ms();
  TransactionMetadata target = current;
  target.state = commit ? TransactionState::PrepareCommit : TransactionState::PrepareAbort;
  target.next_producer_id = kNoProducerId;
  if (is_epoch_exhausted(current.producer_epoch)) {
    auto next = new_producer_id();
    if (!next) return {ErrorCode::COORDINATOR_LOAD_IN_PROGRESS};
    target.next_producer_id = *next;
  }
  target.last_producer_epoch = current.producer_epoch;
  target.producer_epoch = static_cast<int16_t>(current.producer_epoch + 1);
  target.client_transaction_version = 2;
  if (current.state != TransactionState::Ongoing) {
    // An abort with no partition: it starts and ends now.
    target.partitions.clear();
    target.start_time_ms = now;
  }
  target.last_update_time_ms = now;
  const std::string id = current.transactional_id;
  if (ErrorCode w = transit(target); w != ErrorCode::NONE) return {w};
  // The outcome is stored: the producer continues with the new epoch whatever the markers do.
  complete_transaction(id);
  const TransactionMetadata& m = find(id)->meta;
  if (m.next_producer_id != kNoProducerId) return {ErrorCode::NONE, m.next_producer_id, 0};
  return {ErrorCode::NONE, m.producer_id, m.producer_epoch};
}

ErrorCode TransactionCoordinator::fence_and_abort(Entry& e) {
  TransactionMetadata target = e.meta;
  if (!is_valid_transition(target.state, TransactionState::PrepareEpochFence))
    return ErrorCode::INVALID_TXN_STATE;
  // Ongoing -> PrepareEpochFence: the epoch is bumped so that the current producer is fenced
  // (at the very last epoch it stays, as there is none above it).
  target.state = TransactionState::PrepareEpochFence;
  if (target.producer_epoch < kMaxProducerEpoch)
    target.producer_epoch = static_cast<int16_t>(target.producer_epoch + 1);
  target.last_producer_epoch = kNoProducerEpoch;
  // PrepareEpochFence -> PrepareAbort: what is stored.
  if (!is_valid_transition(target.state, TransactionState::PrepareAbort))
    return ErrorCode::INVALID_TXN_STATE;
  target.state = TransactionState::PrepareAbort;
  target.last_update_time_ms = clock_.now_ms();
  if (ErrorCode w = transit(target); w != ErrorCode::NONE) return w;
  return complete_transaction(target.transactional_id);
}

ErrorCode TransactionCoordinator::complete_transaction(const std::string& id) {
  Entry* e = find(id);
  if (!e || !is_prepare(e->meta.state)) return ErrorCode::NONE;
  const bool commit = e->meta.state == TransactionState::PrepareCommit;
  const int32_t ce = coordinator_epoch(id);
  const auto pending = e->markers_left;
  for (const auto& tp : pending) {
    const ErrorCode w =
        markers_.write_marker(tp, e->meta.producer_id, e->meta.producer_epoch, ce, commit);
    // A partition that no longer exists is skipped, as Kafka does.
    if (w == ErrorCode::NONE || w == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
      e->markers_left.erase(tp);
  }
  if (!e->markers_left.empty()) {
    incomplete_.insert(id);
    if (deadline_added_) deadline_added_();
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  TransactionMetadata target = e->meta;
  target.state = commit ? TransactionState::CompleteCommit : TransactionState::CompleteAbort;
  target.partitions.clear();
  target.last_update_time_ms = clock_.now_ms();
  if (target.next_producer_id != kNoProducerId) {
    // Transactions v2 used up the epoch: the producer continues as the next producer id.
    target.last_producer_id = target.producer_id;
    target.producer_id = target.next_producer_id;
    target.producer_epoch = 0;
    target.next_producer_id = kNoProducerId;
  }
  const ErrorCode w = transit(target);
  if (w != ErrorCode::NONE) {
    // Every marker is written; only the Complete record is missing. tick() stores it.
    incomplete_.insert(id);
    if (deadline_added_) deadline_added_();
    return w;
  }
  return ErrorCode::NONE;
}

ErrorCode TransactionCoordinator::check_transactional_produce(int64_t pid, int16_t epoch,
                                                              const TopicPartition& tp,
                                                              bool abortable_supported) const {
  auto it = by_producer_id_.find(pid);
  if (it == by_producer_id_.end())
    return check_list() != ErrorCode::NONE ? ErrorCode::NOT_ENOUGH_REPLICAS
                                           : ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  return produce_error_of(verify_partitions(it->second, pid, epoch, {tp}).front(),
                          abortable_supported);
}

ErrorCode TransactionCoordinator::add_partition_for_produce(const std::string& transactional_id,
                                                            int64_t pid, int16_t epoch,
                                                            const TopicPartition& tp) {
  return produce_error_of(add_partitions(transactional_id, pid, epoch, {tp}, 2).front(), true);
}

// ---------------------------------------------------------------------------------------------
// Time

void TransactionCoordinator::tick() {
  const int64_t now = clock_.now_ms();
  // Transactions Ongoing for longer than their timeout (Kafka: start + timeout < now).
  std::vector<std::string> timed_out;
  for (auto it = timeouts_.begin(); it != timeouts_.end() && it->first < now; ++it)
    timed_out.push_back(it->second);
  for (const auto& id : timed_out) {
    Entry* e = find(id);
    if (!e || e->meta.state != TransactionState::Ongoing || !loaded(partition_for(id))) continue;
    fence_and_abort(*e);
  }
  // Markers (or Complete records) that failed before.
  const std::vector<std::string> retry(incomplete_.begin(), incomplete_.end());
  for (const auto& id : retry) {
    if (!loaded(partition_for(id))) continue;
    incomplete_.erase(id);
    complete_transaction(id);
  }
  // Transactional ids idle for transactional.id.expiration.ms.
  if (now >= next_expiration_check_ms_) {
    next_expiration_check_ms_ = now + config_.remove_expired_interval_ms;
    std::vector<std::string> expired;
    for (const auto& [id, e] : txns_) {
      if (is_expiration_allowed(e.meta.state) &&
          e.meta.last_update_time_ms <= now - config_.id_expiration_ms && loaded(partition_for(id)))
        expired.push_back(id);
    }
    for (const auto& id : expired) {
      Entry* e = find(id);
      if (!is_valid_transition(e->meta.state, TransactionState::Dead)) continue;
      std::vector<TxnLogRecord> tombstone;
      tombstone.push_back({encode_txn_log_key(id), std::nullopt});
      // Its replay logs the removal and forgets the id.
      log_.append(partition_for(id), tombstone);
    }
  }
}

std::optional<int64_t> TransactionCoordinator::next_deadline_ms() const {
  std::optional<int64_t> next;
  auto consider = [&](int64_t t) {
    if (!next || t < *next) next = t;
  };
  if (!timeouts_.empty()) consider(timeouts_.begin()->first + 1);
  if (!incomplete_.empty()) consider(clock_.now_ms() + config_.abort_check_interval_ms);
  if (!txns_.empty()) consider(next_expiration_check_ms_);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Administration

ErrorCode TransactionCoordinator::check_list() const {
  for (auto s : load_state_)
    if (s != LoadState::Loaded) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  return ErrorCode::NONE;
}

namespace {

TransactionCoordinator::TxnDescription describe_metadata(const TransactionMetadata& m) {
  TransactionCoordinator::TxnDescription d;
  d.transactional_id = m.transactional_id;
  d.state = std::string(transaction_state_name(m.state));
  d.timeout_ms = m.timeout_ms;
  d.start_time_ms = m.start_time_ms;
  d.producer_id = m.producer_id;
  d.producer_epoch = m.producer_epoch;
  d.partitions.assign(m.partitions.begin(), m.partitions.end());
  return d;
}

}  // namespace

TransactionCoordinator::TxnDescription TransactionCoordinator::describe(
    const std::string& id) const {
  TxnDescription d;
  d.transactional_id = id;
  if (id.empty()) {
    d.error = ErrorCode::INVALID_REQUEST;
    return d;
  }
  if (ErrorCode e = check_id(id); e != ErrorCode::NONE) {
    d.error = e;
    return d;
  }
  const Entry* e = find(id);
  if (!e || e->meta.state == TransactionState::Dead) {
    d.error = ErrorCode::TRANSACTIONAL_ID_NOT_FOUND;
    return d;
  }
  return describe_metadata(e->meta);
}

std::vector<TransactionCoordinator::TxnDescription> TransactionCoordinator::list(
    const std::vector<std::string>& states, const std::vector<int64_t>& pids,
    int64_t min_duration_ms, std::vector<std::string>* unknown_states) const {
  std::set<TransactionState> wanted_states;
  for (const auto& name : states) {
    if (auto s = transaction_state_from_name(name)) {
      wanted_states.insert(*s);
    } else if (unknown_states) {
      unknown_states->push_back(name);
    }
  }
  // As Kafka 4.4: a state filter of unknown names only matches no transaction.
  const bool filter_states = !states.empty();
  const std::set<int64_t> wanted_pids(pids.begin(), pids.end());
  const int64_t now = clock_.now_ms();
  std::vector<TxnDescription> out;
  for (const auto& [id, e] : txns_) {
    const TransactionMetadata& m = e.meta;
    if (m.state == TransactionState::Dead) continue;
    if (!wanted_pids.empty() && !wanted_pids.count(m.producer_id)) continue;
    if (filter_states && !wanted_states.count(m.state)) continue;
    if (min_duration_ms >= 0 && now - m.start_time_ms <= min_duration_ms) continue;
    out.push_back(describe_metadata(m));
  }
  return out;
}

}  // namespace runnel::coordinator

// Helpers shared by the transaction coordinator's request handlers (init_producer_id.cc,
// add_partitions_to_txn.cc, add_offsets_to_txn.cc, end_txn.cc, txn_offset_commit.cc,
// describe_transactions.cc, list_transactions.cc, and find_coordinator.cc).
#pragma once

#include <string_view>

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/txn_service.h"

namespace runnel::server {

// Whether requests for `transactional_id` can be served now: COORDINATOR_LOAD_IN_PROGRESS
// while its partition of __transaction_state loads, NONE otherwise.
inline protocol::ErrorCode txn_status(const Broker& broker, std::string_view transactional_id) {
  return broker.txns.coordinator().check_id(transactional_id);
}

// KIP-588: PRODUCER_FENCED is sent only to clients that know it (InitProducerId v4+,
// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v2+); older ones get INVALID_PRODUCER_EPOCH.
inline protocol::ErrorCode fenced_for_version(protocol::ErrorCode e, int16_t version,
                                              int16_t first_fenced_version) {
  if (e == protocol::ErrorCode::PRODUCER_FENCED && version < first_fenced_version)
    return protocol::ErrorCode::INVALID_PRODUCER_EPOCH;
  return e;
}

}  // namespace runnel::server

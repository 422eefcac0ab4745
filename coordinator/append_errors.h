// What a failed append of coordinator state (a group's metadata to __consumer_offsets, a
// transaction's state to __transaction_state) means to the client, as Kafka maps it
// (appendGroupMetadataErrorToResponseError, TransactionStateManager): the partition is not
// writable now (retry here), or this broker is no longer its coordinator (find it again).
#pragma once

#include "protocol/errors.h"

namespace runnel::coordinator {

constexpr protocol::ErrorCode coordinator_append_error(protocol::ErrorCode e) {
  using protocol::ErrorCode;
  switch (e) {
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT:
      return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::KAFKA_STORAGE_ERROR:
      return ErrorCode::NOT_COORDINATOR;
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
    case ErrorCode::INVALID_FETCH_SIZE:
      return ErrorCode::UNKNOWN_SERVER_ERROR;
    default:
      return e;
  }
}

}  // namespace runnel::coordinator

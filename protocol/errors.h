// Kafka protocol error codes: one table, RUNNEL_KAFKA_ERRORS, from which the
// ErrorCode enum, error_name() and is_retriable() all come.
//
// Each entry is X(name, code, retriable): Kafka's name and number for the
// error (org.apache.kafka.common.protocol.Errors), and whether Kafka's
// exception for it is a RetriableException (a client may retry the request
// as it is and expect it to succeed once the cause passes).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

// clang-format off
#define RUNNEL_KAFKA_ERRORS(X)                              \
  X(UNKNOWN_SERVER_ERROR,                    -1, false)     \
  X(NONE,                                     0, false)     \
  X(OFFSET_OUT_OF_RANGE,                      1, false)     \
  X(CORRUPT_MESSAGE,                          2, true)      \
  X(UNKNOWN_TOPIC_OR_PARTITION,               3, true)      \
  X(INVALID_FETCH_SIZE,                       4, false)     \
  X(LEADER_NOT_AVAILABLE,                     5, true)      \
  X(NOT_LEADER_OR_FOLLOWER,                   6, true)      \
  X(REQUEST_TIMED_OUT,                        7, true)      \
  X(BROKER_NOT_AVAILABLE,                     8, false)     \
  X(REPLICA_NOT_AVAILABLE,                    9, true)      \
  X(MESSAGE_TOO_LARGE,                       10, false)     \
  X(STALE_CONTROLLER_EPOCH,                  11, false)     \
  X(OFFSET_METADATA_TOO_LARGE,               12, false)     \
  X(NETWORK_EXCEPTION,                       13, true)      \
  X(COORDINATOR_LOAD_IN_PROGRESS,            14, true)      \
  X(COORDINATOR_NOT_AVAILABLE,               15, true)      \
  X(NOT_COORDINATOR,                         16, true)      \
  X(INVALID_TOPIC_EXCEPTION,                 17, false)     \
  X(RECORD_LIST_TOO_LARGE,                   18, false)     \
  X(NOT_ENOUGH_REPLICAS,                     19, true)      \
  X(NOT_ENOUGH_REPLICAS_AFTER_APPEND,        20, true)      \
  X(INVALID_REQUIRED_ACKS,                   21, false)     \
  X(ILLEGAL_GENERATION,                      22, false)     \
  X(INCONSISTENT_GROUP_PROTOCOL,             23, false)     \
  X(INVALID_GROUP_ID,                        24, false)     \
  X(UNKNOWN_MEMBER_ID,                       25, false)     \
  X(INVALID_SESSION_TIMEOUT,                 26, false)     \
  X(REBALANCE_IN_PROGRESS,                   27, false)     \
  X(INVALID_COMMIT_OFFSET_SIZE,              28, false)     \
  X(TOPIC_AUTHORIZATION_FAILED,              29, false)     \
  X(GROUP_AUTHORIZATION_FAILED,              30, false)     \
  X(CLUSTER_AUTHORIZATION_FAILED,            31, false)     \
  X(INVALID_TIMESTAMP,                       32, false)     \
  X(UNSUPPORTED_SASL_MECHANISM,              33, false)     \
  X(ILLEGAL_SASL_STATE,                      34, false)     \
  X(UNSUPPORTED_VERSION,                     35, false)     \
  X(TOPIC_ALREADY_EXISTS,                    36, false)     \
  X(INVALID_PARTITIONS,                      37, false)     \
  X(INVALID_REPLICATION_FACTOR,              38, false)     \
  X(INVALID_REPLICA_ASSIGNMENT,              39, false)     \
  X(INVALID_CONFIG,                          40, false)     \
  X(NOT_CONTROLLER,                          41, true)      \
  X(INVALID_REQUEST,                         42, false)     \
  X(UNSUPPORTED_FOR_MESSAGE_FORMAT,          43, false)     \
  X(POLICY_VIOLATION,                        44, false)     \
  X(OUT_OF_ORDER_SEQUENCE_NUMBER,            45, false)     \
  X(DUPLICATE_SEQUENCE_NUMBER,               46, false)     \
  X(INVALID_PRODUCER_EPOCH,                  47, false)     \
  X(INVALID_TXN_STATE,                       48, false)     \
  X(INVALID_PRODUCER_ID_MAPPING,             49, false)     \
  X(INVALID_TRANSACTION_TIMEOUT,             50, false)     \
  X(CONCURRENT_TRANSACTIONS,                 51, true)      \
  X(TRANSACTION_COORDINATOR_FENCED,          52, false)     \
  X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED,   53, false)     \
  X(SECURITY_DISABLED,                       54, false)     \
  X(OPERATION_NOT_ATTEMPTED,                 55, false)     \
  X(KAFKA_STORAGE_ERROR,                     56, true)      \
  X(LOG_DIR_NOT_FOUND,                       57, false)     \
  X(SASL_AUTHENTICATION_FAILED,              58, false)     \
  X(UNKNOWN_PRODUCER_ID,                     59, false)     \
  X(REASSIGNMENT_IN_PROGRESS,                60, false)     \
  X(DELEGATION_TOKEN_AUTH_DISABLED,          61, false)     \
  X(DELEGATION_TOKEN_NOT_FOUND,              62, false)     \
  X(DELEGATION_TOKEN_OWNER_MISMATCH,         63, false)     \
  X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED,    64, false)     \
  X(DELEGATION_TOKEN_AUTHORIZATION_FAILED,   65, false)     \
  X(DELEGATION_TOKEN_EXPIRED,                66, false)     \
  X(INVALID_PRINCIPAL_TYPE,                  67, false)     \
  X(NON_EMPTY_GROUP,                         68, false)     \
  X(GROUP_ID_NOT_FOUND,                      69, false)     \
  X(FETCH_SESSION_ID_NOT_FOUND,              70, true)      \
  X(INVALID_FETCH_SESSION_EPOCH,             71, true)      \
  X(LISTENER_NOT_FOUND,                      72, true)      \
  X(TOPIC_DELETION_DISABLED,                 73, false)     \
  X(FENCED_LEADER_EPOCH,                     74, true)      \
  X(UNKNOWN_LEADER_EPOCH,                    75, true)      \
  X(UNSUPPORTED_COMPRESSION_TYPE,            76, false)     \
  X(STALE_BROKER_EPOCH,                      77, false)     \
  X(OFFSET_NOT_AVAILABLE,                    78, true)      \
  X(MEMBER_ID_REQUIRED,                      79, false)     \
  X(PREFERRED_LEADER_NOT_AVAILABLE,          80, true)      \
  X(GROUP_MAX_SIZE_REACHED,                  81, false)     \
  X(FENCED_INSTANCE_ID,                      82, false)     \
  X(ELIGIBLE_LEADERS_NOT_AVAILABLE,          83, true)      \
  X(ELECTION_NOT_NEEDED,                     84, true)      \
  X(NO_REASSIGNMENT_IN_PROGRESS,             85, false)     \
  X(GROUP_SUBSCRIBED_TO_TOPIC,               86, false)     \
  X(INVALID_RECORD,                          87, false)     \
  X(UNSTABLE_OFFSET_COMMIT,                  88, true)      \
  X(THROTTLING_QUOTA_EXCEEDED,               89, true)      \
  X(PRODUCER_FENCED,                         90, false)     \
  X(RESOURCE_NOT_FOUND,                      91, false)     \
  X(DUPLICATE_RESOURCE,                      92, false)     \
  X(UNACCEPTABLE_CREDENTIAL,                 93, false)     \
  X(INCONSISTENT_VOTER_SET,                  94, false)     \
  X(INVALID_UPDATE_VERSION,                  95, false)     \
  X(FEATURE_UPDATE_FAILED,                   96, false)     \
  X(PRINCIPAL_DESERIALIZATION_FAILURE,       97, false)     \
  X(SNAPSHOT_NOT_FOUND,                      98, false)     \
  X(POSITION_OUT_OF_RANGE,                   99, false)     \
  X(UNKNOWN_TOPIC_ID,                       100, true)      \
  X(DUPLICATE_BROKER_REGISTRATION,          101, false)     \
  X(BROKER_ID_NOT_REGISTERED,               102, false)     \
  X(INCONSISTENT_TOPIC_ID,                  103, true)      \
  X(INCONSISTENT_CLUSTER_ID,                104, false)     \
  X(TRANSACTIONAL_ID_NOT_FOUND,             105, false)     \
  X(FETCH_SESSION_TOPIC_ID_ERROR,           106, true)      \
  X(INELIGIBLE_REPLICA,                     107, false)     \
  X(NEW_LEADER_ELECTED,                     108, false)     \
  X(OFFSET_MOVED_TO_TIERED_STORAGE,         109, false)     \
  X(FENCED_MEMBER_EPOCH,                    110, false)     \
  X(UNRELEASED_INSTANCE_ID,                 111, false)     \
  X(UNSUPPORTED_ASSIGNOR,                   112, false)     \
  X(STALE_MEMBER_EPOCH,                     113, false)     \
  X(MISMATCHED_ENDPOINT_TYPE,               114, false)     \
  X(UNSUPPORTED_ENDPOINT_TYPE,              115, false)     \
  X(UNKNOWN_CONTROLLER_ID,                  116, false)     \
  X(UNKNOWN_SUBSCRIPTION_ID,                117, false)     \
  X(TELEMETRY_TOO_LARGE,                    118, false)     \
  X(INVALID_REGISTRATION,                   119, false)     \
  X(TRANSACTION_ABORTABLE,                  120, false)     \
  X(INVALID_RECORD_STATE,                   121, false)     \
  X(SHARE_SESSION_NOT_FOUND,                122, true)      \
  X(INVALID_SHARE_SESSION_EPOCH,            123, true)      \
  X(FENCED_STATE_EPOCH,                     124, false)     \
  X(INVALID_VOTER_KEY,                      125, false)     \
  X(DUPLICATE_VOTER,                        126, false)     \
  X(VOTER_NOT_FOUND,                        127, false)     \
  X(INVALID_REGULAR_EXPRESSION,             128, false)     \
  X(REBOOTSTRAP_REQUIRED,                   129, false)     \
  X(STREAMS_INVALID_TOPOLOGY,               130, false)     \
  X(STREAMS_INVALID_TOPOLOGY_EPOCH,         131, false)     \
  X(STREAMS_TOPOLOGY_FENCED,                132, false)     \
  X(SHARE_SESSION_LIMIT_REACHED,            133, true)      \
  X(GROUP_DELETION_FAILED,                  134, false)     \
  X(STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED, 135, false) \
  X(CONTROLLER_ID_NOT_REGISTERED,           136, false)     \
  /* end of RUNNEL_KAFKA_ERRORS */
// clang-format on

namespace runnel::protocol {

// Any int16 is a valid ErrorCode value: a code this table does not know (a
// newer peer's) still decodes and is passed on; error_name(int16_t) names it.
enum class ErrorCode : int16_t {
#define RUNNEL_ERROR_ENUMERATOR(name, number, retriable) name = (number),
  RUNNEL_KAFKA_ERRORS(RUNNEL_ERROR_ENUMERATOR)
#undef RUNNEL_ERROR_ENUMERATOR
};

// Every ErrorCode of the table, in ascending code order.
inline constexpr ErrorCode kAllErrorCodes[] = {
#define RUNNEL_ERROR_LIST_ENTRY(name, number, retriable) ErrorCode::name,
    RUNNEL_KAFKA_ERRORS(RUNNEL_ERROR_LIST_ENTRY)
#undef RUNNEL_ERROR_LIST_ENTRY
};

constexpr int16_t code(ErrorCode e) { return static_cast<int16_t>(e); }

// Whether the table has `e`.
constexpr bool is_known(ErrorCode e) {
  switch (e) {
#define RUNNEL_ERROR_CASE(name, number, retriable) case ErrorCode::name:
    RUNNEL_KAFKA_ERRORS(RUNNEL_ERROR_CASE)
#undef RUNNEL_ERROR_CASE
    return true;
  }
  return false;
}

// Kafka's name ("UNKNOWN_TOPIC_OR_PARTITION"); "UNKNOWN_ERROR_CODE" for a code
// the table does not have (error_name(int16_t) adds the number).
constexpr std::string_view error_name(ErrorCode e) {
  switch (e) {
#define RUNNEL_ERROR_CASE(name, number, retriable) \
  case ErrorCode::name:                            \
    return #name;
    RUNNEL_KAFKA_ERRORS(RUNNEL_ERROR_CASE)
#undef RUNNEL_ERROR_CASE
  }
  return "UNKNOWN_ERROR_CODE";
}

// Kafka's name for a code, or "UNKNOWN_ERROR_CODE_<code>" for one the table
// does not have (a code received from a peer may be anything).
std::string error_name(int16_t code);

// Writes error_name(code(e)): log lines and test failures show the name.
std::ostream& operator<<(std::ostream& out, ErrorCode e);

// Whether Kafka classes the error as retriable (its exception is a
// RetriableException). False for NONE and for a code the table does not have.
constexpr bool is_retriable(ErrorCode e) {
  switch (e) {
#define RUNNEL_ERROR_CASE(name, number, retriable) \
  case ErrorCode::name:                            \
    return (retriable);
    RUNNEL_KAFKA_ERRORS(RUNNEL_ERROR_CASE)
#undef RUNNEL_ERROR_CASE
  }
  return false;
}

}  // namespace runnel::protocol

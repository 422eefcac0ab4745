// The error table: Kafka's names and retriable flags, a name for every
// enumerator, and names for codes the table does not have.
#include "protocol/errors.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace runnel::protocol {
namespace {

TEST(Errors, NamesAreKafkas) {
  EXPECT_EQ(error_name(ErrorCode::NONE), "NONE");
  EXPECT_EQ(error_name(ErrorCode::UNKNOWN_SERVER_ERROR), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(error_name(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(error_name(ErrorCode::NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(error_name(ErrorCode::GROUP_ID_NOT_FOUND), "GROUP_ID_NOT_FOUND");
  EXPECT_EQ(error_name(ErrorCode::TRANSACTION_ABORTABLE), "TRANSACTION_ABORTABLE");
  static_assert(error_name(ErrorCode::NOT_COORDINATOR) == "NOT_COORDINATOR");
}

TEST(Errors, NumbersAreKafkas) {
  EXPECT_EQ(code(ErrorCode::UNKNOWN_SERVER_ERROR), -1);
  EXPECT_EQ(code(ErrorCode::NONE), 0);
  EXPECT_EQ(code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), 3);
  EXPECT_EQ(code(ErrorCode::COORDINATOR_NOT_AVAILABLE), 15);
  EXPECT_EQ(code(ErrorCode::GROUP_ID_NOT_FOUND), 69);
  EXPECT_EQ(code(ErrorCode::TRANSACTION_ABORTABLE), 120);
  EXPECT_EQ(code(ErrorCode::REBOOTSTRAP_REQUIRED), 129);
  EXPECT_EQ(code(ErrorCode::CONTROLLER_ID_NOT_REGISTERED), 136);
}

TEST(Errors, RetriableAsKafkaClassesThem) {
  for (ErrorCode e : {ErrorCode::CORRUPT_MESSAGE,
                      ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                      ErrorCode::LEADER_NOT_AVAILABLE,
                      ErrorCode::NOT_LEADER_OR_FOLLOWER,
                      ErrorCode::REQUEST_TIMED_OUT,
                      ErrorCode::REPLICA_NOT_AVAILABLE,
                      ErrorCode::NETWORK_EXCEPTION,
                      ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
                      ErrorCode::COORDINATOR_NOT_AVAILABLE,
                      ErrorCode::NOT_COORDINATOR,
                      ErrorCode::NOT_ENOUGH_REPLICAS,
                      ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                      ErrorCode::NOT_CONTROLLER,
                      ErrorCode::CONCURRENT_TRANSACTIONS,
                      ErrorCode::KAFKA_STORAGE_ERROR,
                      ErrorCode::FETCH_SESSION_ID_NOT_FOUND,
                      ErrorCode::INVALID_FETCH_SESSION_EPOCH,
                      ErrorCode::LISTENER_NOT_FOUND,
                      ErrorCode::FENCED_LEADER_EPOCH,
                      ErrorCode::UNKNOWN_LEADER_EPOCH,
                      ErrorCode::OFFSET_NOT_AVAILABLE,
                      ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE,
                      ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE,
                      ErrorCode::ELECTION_NOT_NEEDED,
                      ErrorCode::UNSTABLE_OFFSET_COMMIT,
                      ErrorCode::THROTTLING_QUOTA_EXCEEDED,
                      ErrorCode::UNKNOWN_TOPIC_ID,
                      ErrorCode::INCONSISTENT_TOPIC_ID,
                      ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR,
                      ErrorCode::SHARE_SESSION_NOT_FOUND,
                      ErrorCode::SHARE_SESSION_LIMIT_REACHED})
    EXPECT_TRUE(is_retriable(e)) << error_name(e);
  for (ErrorCode e :
       {ErrorCode::NONE, ErrorCode::UNKNOWN_SERVER_ERROR, ErrorCode::OFFSET_OUT_OF_RANGE,
        ErrorCode::MESSAGE_TOO_LARGE, ErrorCode::INVALID_REQUEST, ErrorCode::UNKNOWN_MEMBER_ID,
        ErrorCode::REBALANCE_IN_PROGRESS, ErrorCode::ILLEGAL_GENERATION,
        ErrorCode::TOPIC_ALREADY_EXISTS, ErrorCode::INVALID_PRODUCER_EPOCH,
        ErrorCode::PRODUCER_FENCED, ErrorCode::UNKNOWN_PRODUCER_ID, ErrorCode::GROUP_ID_NOT_FOUND,
        ErrorCode::TRANSACTION_ABORTABLE, ErrorCode::INVALID_REGULAR_EXPRESSION,
        ErrorCode::CONTROLLER_ID_NOT_REGISTERED, ErrorCode::REBOOTSTRAP_REQUIRED})
    EXPECT_FALSE(is_retriable(e)) << error_name(e);
  static_assert(is_retriable(ErrorCode::NOT_COORDINATOR));
  static_assert(!is_retriable(ErrorCode::NONE));
}

TEST(Errors, EveryEnumeratorHasAKafkaStyleName) {
  std::set<std::string_view> names;
  int previous = -2;
  for (ErrorCode e : kAllErrorCodes) {
    EXPECT_TRUE(is_known(e));
    EXPECT_GT(code(e), previous) << "kAllErrorCodes is in ascending code order";
    previous = code(e);
    const std::string_view name = error_name(e);
    EXPECT_NE(name, "UNKNOWN_ERROR_CODE") << code(e);
    ASSERT_FALSE(name.empty()) << code(e);
    for (char c : name)
      EXPECT_TRUE(std::isupper(static_cast<unsigned char>(c)) || c == '_') << name;
    EXPECT_TRUE(names.insert(name).second) << name << " appears twice";
    EXPECT_EQ(error_name(code(e)), name);
  }
  // The codes from UNKNOWN_SERVER_ERROR (-1) to CONTROLLER_ID_NOT_REGISTERED (136), none
  // missing (Kafka 4.4's table).
  EXPECT_EQ(std::size(kAllErrorCodes), 138u);
}

TEST(Errors, CodesTheTableDoesNotHave) {
  const auto unknown = static_cast<ErrorCode>(9999);
  EXPECT_FALSE(is_known(unknown));
  EXPECT_FALSE(is_retriable(unknown));
  EXPECT_EQ(error_name(unknown), "UNKNOWN_ERROR_CODE");
  EXPECT_EQ(error_name(int16_t{9999}), "UNKNOWN_ERROR_CODE_9999");
  EXPECT_EQ(error_name(int16_t{-2}), "UNKNOWN_ERROR_CODE_-2");
  EXPECT_EQ(error_name(int16_t{3}), "UNKNOWN_TOPIC_OR_PARTITION");
}

}  // namespace
}  // namespace runnel::protocol

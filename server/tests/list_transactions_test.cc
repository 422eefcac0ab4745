// ListTransactions through its handler: v2's transactional id pattern (KIP-1152).
#include "protocol/messages/list_transactions.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "server/tests/data_plane_test_util.h"
#include "server/txn_service.h"

namespace runnel::server {
namespace {

using protocol::ErrorCode;
using testing::DataPlane;
using Req = protocol::ListTransactionsRequest;
using Resp = protocol::ListTransactionsResponse;

class ListTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"orders-1", "orders-2", "payments", "a.b*(c)"})
      ASSERT_EQ(dp_.broker().txns.coordinator().init_producer_id(id, 60000).error, ErrorCode::NONE);
  }

  Resp list(int16_t version, std::optional<std::string> pattern,
            std::vector<std::string> states = {}) {
    Req req;
    req.state_filters = std::move(states);
    req.transactional_id_pattern = std::move(pattern);
    return dp_.call<Resp>(version, req).resp;
  }

  static std::vector<std::string> ids(const Resp& resp) {
    std::vector<std::string> out;
    for (const auto& s : resp.transaction_states) out.push_back(s.transactional_id);
    std::sort(out.begin(), out.end());
    return out;
  }

  DataPlane dp_;
};

TEST_F(ListTransactions, PatternMustMatchTheWholeId) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(list(2, "orders-.*")), (V{"orders-1", "orders-2"}));
  EXPECT_EQ(ids(list(2, "orders")), V{});  // not a search
  EXPECT_EQ(ids(list(2, "pay.*|orders-2")), (V{"orders-2", "payments"}));
  EXPECT_EQ(ids(list(2, "\\Qa.b*(c)\\E")), V{"a.b*(c)"});  // Java's Pattern.quote()
  EXPECT_EQ(list(2, "orders-.*").error_code, ErrorCode::NONE);
}

TEST_F(ListTransactions, NothingIsListedWhileAPartitionLoads) {
  auto& txns = dp_.broker().txns.coordinator();
  txns.begin_load(3);
  Resp r = list(2, std::nullopt);
  EXPECT_EQ(r.error_code, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_TRUE(r.transaction_states.empty());
  txns.finish_load(3);
  EXPECT_EQ(list(0, std::nullopt).error_code, ErrorCode::NONE);
}

TEST_F(ListTransactions, NullOrEmptyPatternFiltersNothing) {
  EXPECT_EQ(ids(list(2, std::nullopt)).size(), 4u);
  EXPECT_EQ(ids(list(2, "")).size(), 4u);
  EXPECT_EQ(ids(list(1, std::nullopt)).size(), 4u);
}

TEST_F(ListTransactions, PatternAndStateFiltersTogether) {
  EXPECT_EQ(ids(list(2, "orders-.*", {"Empty"})).size(), 2u);
  EXPECT_EQ(ids(list(2, "orders-.*", {"Ongoing"})).size(), 0u);
}

TEST_F(ListTransactions, InvalidPatternIsAnErrorAlone) {
  auto resp = list(2, "(orders", {"Bogus"});
  EXPECT_EQ(resp.error_code, ErrorCode::INVALID_REGULAR_EXPRESSION);
  EXPECT_TRUE(resp.transaction_states.empty());
  EXPECT_TRUE(resp.unknown_state_filters.empty());
}

}  // namespace
}  // namespace runnel::server

#include "server/producer_ids.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace runnel::server {
namespace {

class ProducerIdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/runnel-pids-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string dir;
};

TEST_F(ProducerIdsTest, IdsAreUniqueAcrossRestarts) {
  std::set<int64_t> seen;
  for (int restart = 0; restart < 3; ++restart) {
    ProducerIds ids(dir);
    std::string error;
    ASSERT_TRUE(ids.load(&error)) << error;
    for (int i = 0; i < 1500; ++i) {
      auto id = ids.next();
      ASSERT_TRUE(id);
      EXPECT_TRUE(seen.insert(*id).second) << "id " << *id << " handed out twice";
    }
  }
  // Each start skips the rest of the previous block: 3 starts x 2 blocks.
  ProducerIds ids(dir);
  std::string error;
  ASSERT_TRUE(ids.load(&error));
  EXPECT_EQ(ids.next(), 6 * ProducerIds::kBlockSize);
}

TEST_F(ProducerIdsTest, ABadFileIsRefused) {
  std::ofstream(dir + "/.runnel-producer-ids") << "version: 0\nnext_block: -5\n";
  ProducerIds ids(dir);
  std::string error;
  EXPECT_FALSE(ids.load(&error));
  EXPECT_NE(error.find(".runnel-producer-ids"), std::string::npos);
}

TEST_F(ProducerIdsTest, InMemoryWithoutADirectory) {
  ProducerIds ids("");
  std::string error;
  ASSERT_TRUE(ids.load(&error));
  EXPECT_EQ(ids.next(), 0);
  EXPECT_EQ(ids.next(), 1);
}

}  // namespace
}  // namespace runnel::server

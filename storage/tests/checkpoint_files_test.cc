#include <gtest/gtest.h>

#include <string>

#include "storage/offset_checkpoint.h"
#include "storage/producer_checkpoint.h"
#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

TEST(OffsetCheckpointTest, KafkasLayoutRoundTrips) {
  OffsetCheckpoint::Offsets offsets{{{"orders", 0}, 42}, {{"orders", 1}, 0}, {{"a.b_c-d", 7}, 9}};
  const std::string text = OffsetCheckpoint::encode(offsets);
  EXPECT_EQ(text, "0\n3\na.b_c-d 7 9\norders 0 42\norders 1 0\n");
  std::string err;
  auto back = OffsetCheckpoint::decode(text, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(*back, offsets);
  EXPECT_EQ(OffsetCheckpoint::decode("0\n0\n", &err)->size(), 0u);
}

TEST(OffsetCheckpointTest, AnythingElseIsRefusedAsAWhole) {
  for (const char* bad : {"", "1\n0\n", "0\n", "0\nx\n", "0\n2\nt 0 1\n", "0\n1\nt 0 1\nt 1 2\n",
                          "0\n1\nt 0\n", "0\n1\nt -1 5\n", "0\n1\nt 0 -5\n", "0\n1\nt 0 5x\n",
                          "0\n1\nbad/name 0 5\n", "0\n1\nt 0 99999999999999999999\n"}) {
    std::string err;
    EXPECT_FALSE(OffsetCheckpoint::decode(bad, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(OffsetCheckpointTest, AnAbsentFileIsEmptyAndAWrittenOneReadsBack) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/cp";
  std::string err;
  auto none = OffsetCheckpoint::read(path, &err);
  ASSERT_TRUE(none) << err;
  EXPECT_TRUE(none->empty());
  OffsetCheckpoint::Offsets offsets{{{"t", 3}, 17}};
  ASSERT_TRUE(OffsetCheckpoint::write(path, offsets, &err)) << err;
  EXPECT_EQ(*OffsetCheckpoint::read(path, &err), offsets);
}

TEST(ProducerCheckpointTest, RoundTripsAndRefusesWhatIsCutOrExtended) {
  ProducerCheckpoint::Snapshots snapshots{{{"t", 0}, std::string("\x01\x02\x00\x03", 4)},
                                          {{"u", 5}, ""}};
  const std::string bytes = ProducerCheckpoint::encode(snapshots);
  std::string err;
  auto back = ProducerCheckpoint::decode(bytes, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(*back, snapshots);
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(ProducerCheckpoint::decode(bytes.substr(0, cut), &err)) << cut;
  EXPECT_FALSE(ProducerCheckpoint::decode(bytes + "x", &err));
  std::string other_magic = bytes;
  other_magic[0] = 'X';
  EXPECT_FALSE(ProducerCheckpoint::decode(other_magic, &err));
  // A count far beyond the bytes there is refused without reserving room for it.
  std::string huge = bytes;
  huge[6] = '\x7f';
  EXPECT_FALSE(ProducerCheckpoint::decode(huge, &err));
}

}  // namespace
}  // namespace runnel::storage

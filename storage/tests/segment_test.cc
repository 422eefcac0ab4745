// Segment reads: batch headers come from the file or from the segment's
// cache of recent headers, and the cache never outlives the bytes it copied.
#include "storage/segment.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/tests/test_util.h"

namespace runnel::storage {
namespace {

using testing::make_batch;
using testing::TempDir;

std::vector<uint8_t> batch_at(int64_t base_offset, int count, size_t value_size = 10) {
  auto b = make_batch(count, 1000, 1, value_size);
  protocol::set_base_offset(b, base_offset);
  return b;
}

// Appends a copy of `batch`, framed as an append hands it to the segment.
bool append(Segment& seg, std::vector<uint8_t> batch) {
  protocol::ErrorCode e = protocol::ErrorCode::NONE;
  auto batches = protocol::ValidatedBatches::frame(batch, &e);
  return e == protocol::ErrorCode::NONE && seg.append(batches, nullptr);
}

std::unique_ptr<Segment> open_segment(const TempDir& dir) {
  std::string err;
  auto seg = Segment::open(dir.path(), 0, SegmentOptions{1, 1 << 20}, true, 0, &err);
  EXPECT_NE(seg, nullptr) << err;
  return seg;
}

TEST(SegmentRead, HeadersReadAgainAreTheSame) {
  TempDir dir;
  auto seg = open_segment(dir);
  ASSERT_TRUE(seg);
  const auto a = batch_at(0, 5);
  const auto b = batch_at(5, 5);
  ASSERT_TRUE(append(*seg, a));
  ASSERT_TRUE(append(*seg, b));
  for (int round = 0; round < 3; ++round) {
    auto ha = seg->read_header(0);
    auto hb = seg->read_header(a.size());
    ASSERT_TRUE(ha && hb);
    EXPECT_EQ(ha->base_offset, 0);
    EXPECT_EQ(ha->last_offset(), 4);
    EXPECT_EQ(hb->base_offset, 5);
    EXPECT_EQ(hb->total_size(), b.size());
    EXPECT_FALSE(seg->read_header(a.size() + b.size()));
  }
  auto found = seg->find_batch(7);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->position, a.size());
}

TEST(SegmentRead, AHeaderCutByTruncationIsNotServedAfterNewAppends) {
  TempDir dir;
  auto seg = open_segment(dir);
  ASSERT_TRUE(seg);
  const auto a = batch_at(0, 5);
  const auto b = batch_at(5, 5, 3);
  ASSERT_TRUE(append(*seg, a));
  ASSERT_TRUE(append(*seg, b));
  ASSERT_TRUE(seg->read_header(a.size()));  // cached: offsets 5..9

  ASSERT_TRUE(seg->truncate_to(5));
  EXPECT_FALSE(seg->read_header(a.size()));
  EXPECT_EQ(seg->next_offset(), 5);

  // A different batch where the cut one was: fewer records, larger, so that
  // the old header would still fit inside the log.
  const auto c = batch_at(5, 2, 200);
  ASSERT_GT(c.size(), b.size());
  ASSERT_TRUE(append(*seg, c));
  auto hc = seg->read_header(a.size());
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->base_offset, 5);
  EXPECT_EQ(hc->last_offset(), 6);
  EXPECT_EQ(hc->total_size(), c.size());
  auto found = seg->find_batch(6);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->header.last_offset(), 6);
  EXPECT_FALSE(seg->find_batch(7));
}

TEST(SegmentRead, TruncatingEverythingForgetsEveryHeader) {
  TempDir dir;
  auto seg = open_segment(dir);
  ASSERT_TRUE(seg);
  int64_t next = 0;
  std::vector<uint64_t> positions;
  uint64_t pos = 0;
  for (int i = 0; i < 6; ++i) {  // more batches than the cache holds
    const auto b = batch_at(next, 3);
    ASSERT_TRUE(append(*seg, b));
    positions.push_back(pos);
    pos += b.size();
    next += 3;
  }
  for (uint64_t p : positions) ASSERT_TRUE(seg->read_header(p));
  ASSERT_TRUE(seg->truncate_to(0));
  for (uint64_t p : positions) EXPECT_FALSE(seg->read_header(p)) << p;
  // New batches of another size over the old positions: every header read
  // is the new batch starting there, none of the old ones.
  std::vector<uint64_t> new_positions;
  pos = 0;
  for (int i = 0; i < 3; ++i) {
    const auto b = batch_at(i, 1, 300);
    ASSERT_TRUE(append(*seg, b));
    new_positions.push_back(pos);
    pos += b.size();
  }
  for (size_t i = 0; i < new_positions.size(); ++i) {
    auto h = seg->read_header(new_positions[i]);
    ASSERT_TRUE(h) << i;
    EXPECT_EQ(h->base_offset, static_cast<int64_t>(i));
    EXPECT_EQ(h->last_offset(), static_cast<int64_t>(i));
  }
  for (uint64_t p : positions) {
    if (p == 0 || p >= pos) continue;
    auto h = seg->read_header(p);  // mid-batch now: garbage or nothing, never an old header
    EXPECT_FALSE(h && h->base_offset % 3 == 0 && h->last_offset() == h->base_offset + 2) << p;
  }
}

}  // namespace
}  // namespace runnel::storage

#include "tools/bench/histogram.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace runnel::bench {
namespace {

TEST(BenchHistogram, BucketsCoverEveryValueInOrder) {
  // Each bucket starts right after the previous one ends.
  for (size_t i = 1; i < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::lowest(i), Histogram::highest(i - 1) + 1) << i;
  }
  const uint64_t samples[] = {0,
                              1,
                              63,
                              64,
                              65,
                              127,
                              128,
                              1000,
                              4095,
                              1000000007,
                              1ULL << 40,
                              ~uint64_t{0},
                              (1ULL << 63) + 5};
  for (uint64_t v : samples) {
    const size_t i = Histogram::index_of(v);
    ASSERT_LT(i, Histogram::kBuckets);
    EXPECT_LE(Histogram::lowest(i), v) << v;
    EXPECT_GE(Histogram::highest(i), v) << v;
  }
}

TEST(BenchHistogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(BenchHistogram, PercentilesWithinOneSubBucket) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms in ns
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  const struct {
    double p;
    uint64_t exact;
  } cases[] = {{50, 50000000}, {99, 99000000}, {99.9, 99900000}, {10, 10000000}};
  for (const auto& c : cases) {
    const uint64_t got = h.percentile(c.p);
    EXPECT_GE(got, c.exact) << c.p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(c.exact) * (1.0 + 1.0 / 32)) << c.p;
  }
  EXPECT_EQ(h.percentile(100), 100000000u);
}

TEST(BenchHistogram, MergeAddsCountsAndKeepsExtremes) {
  Histogram a, b;
  for (int i = 0; i < 99; ++i) a.record(10);
  b.record(5000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.min(), 10u);
  EXPECT_EQ(a.max(), 5000000u);
  EXPECT_EQ(a.percentile(99), 10u);
  EXPECT_EQ(a.percentile(99.9), 5000000u);
}

}  // namespace
}  // namespace runnel::bench

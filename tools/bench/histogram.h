// A fixed-size latency histogram for runnel-bench: values below 64 are kept
// exactly, larger values fall into 32 sub-buckets per power of two, so a
// reported percentile is at most 1/32 (about 3%) above the true value. The
// memory is fixed (1920 counters) whatever the number of values recorded.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace runnel::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // sub-buckets per power of two
  static constexpr size_t kBuckets = 2 * kSub + (64 - kSubBits - 1) * kSub;

  // The bucket holding `v`.
  static size_t index_of(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    const int e = std::bit_width(v) - 1;  // >= kSubBits + 1
    const int shift = e - kSubBits;
    const uint64_t sub = (v >> shift) - kSub;  // 0 .. kSub-1
    return static_cast<size_t>(2 * kSub + static_cast<uint64_t>(e - kSubBits - 1) * kSub + sub);
  }
  // The smallest value that falls into bucket `idx`.
  static uint64_t lowest(size_t idx) {
    if (idx < 2 * kSub) return idx;
    const uint64_t k = idx - 2 * kSub;
    const int e = static_cast<int>(k / kSub) + kSubBits + 1;
    return (kSub + k % kSub) << (e - kSubBits);
  }
  // The largest value that falls into bucket `idx`.
  static uint64_t highest(size_t idx) {
    if (idx + 1 >= kBuckets) return std::numeric_limits<uint64_t>::max();
    return lowest(idx + 1) - 1;
  }

  void record(uint64_t v) {
    ++counts_[index_of(v)];
    ++count_;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
  }
  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    if (o.min_ < min_) min_ = o.min_;
    if (o.max_ > max_) max_ = o.max_;
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }

  // The value at percentile `p` (0..100): the upper bound of the bucket that
  // holds the ceil(p% * count)-th smallest value, never above max(). 0 when
  // empty.
  uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    if (p <= 0) return min();
    if (p >= 100) return max_;
    uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const uint64_t h = highest(i);
        if (h > max_) return max_;
        return h < min_ ? min_ : h;
      }
    }
    return max_;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace runnel::bench

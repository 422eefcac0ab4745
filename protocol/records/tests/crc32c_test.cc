#include "protocol/records/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace runnel::protocol {
namespace {

TEST(Crc32c, KnownVectors) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c(s, 9), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(s, 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720 B.4: 32 bytes of zeros, 32 bytes of 0xff.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  std::vector<uint8_t> inc(32);
  for (size_t i = 0; i < inc.size(); ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(inc.data(), inc.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c_portable(inc.data(), inc.size()), 0x46DD794Eu);
}

TEST(Crc32c, IncrementalEqualsWhole) {
  const std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t split = 0; split <= s.size(); ++split) {
    uint32_t c = crc32c(s.data(), split);
    c = crc32c(s.data() + split, s.size() - split, c);
    EXPECT_EQ(c, crc32c(s.data(), s.size())) << split;
    uint32_t p = crc32c_portable(s.data(), split);
    p = crc32c_portable(s.data() + split, s.size() - split, p);
    EXPECT_EQ(p, c) << split;
  }
}

TEST(Crc32c, HardwareMatchesPortable) {
  std::mt19937_64 rng(12345);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t align = 0; align < 16; ++align) {
    for (size_t len :
         {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 100, 255, 1000, 4095, 4096}) {
      const uint8_t* p = buf.data() + align;
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(crc32c(p, len), crc32c_portable(p, len)) << align << " " << len;
      ASSERT_EQ(crc32c(p, len, seed), crc32c_portable(p, len, seed)) << align << " " << len;
    }
  }
}

}  // namespace
}  // namespace runnel::protocol

#include "protocol/records/compression.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <random>

namespace runnel::protocol {
namespace {

const Compression kCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                               Compression::lz4, Compression::zstd};

Bytes sample(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  // Half random, half repetitive, so codecs have something to compress.
  for (size_t i = 0; i < n; ++i) b[i] = (i % 3 == 0) ? static_cast<uint8_t>(rng()) : 'a' + i % 7;
  return b;
}

TEST(Compression, RoundTripAllCodecs) {
  for (auto c : kCodecs) {
    for (size_t n : {0, 1, 10, 1000, 32 * 1024, 32 * 1024 + 1, 200000}) {
      Bytes in = sample(n, n);
      Bytes z = compress(c, in);
      auto d = decompress(c, z, n);
      ASSERT_TRUE(d.ok()) << int(c) << " " << n;
      EXPECT_EQ(d.data, in) << int(c) << " " << n;
      if (n > 0) {
        auto small = decompress(c, z, n - 1);
        EXPECT_EQ(small.status, CodecStatus::kTooLarge) << int(c) << " " << n;
      }
    }
  }
}

TEST(Compression, SnappyUsesXerialFramingAndAcceptsRaw) {
  Bytes in = sample(100000, 7);
  Bytes z = compress(Compression::snappy, in);
  ASSERT_GE(z.size(), 16u);
  const uint8_t magic[] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_TRUE(std::equal(magic, magic + 16, z.begin()));
  // The first block is a raw snappy block; decoding it raw gives the first 32 KiB.
  size_t n = (size_t{z[16]} << 24) | (size_t{z[17]} << 16) | (size_t{z[18]} << 8) | z[19];
  auto raw = decompress(Compression::snappy, std::span(z).subspan(20, n), 1 << 20);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.data, Bytes(in.begin(), in.begin() + 32 * 1024));
}

TEST(Compression, DecompressionBombIsBounded) {
  Bytes zeros(64 << 20, 0);  // 64 MiB of zeros compresses to almost nothing
  for (auto c : kCodecs) {
    if (c == Compression::none) continue;
    Bytes z = compress(c, zeros);
    ASSERT_LT(z.size(), zeros.size() / 10) << int(c);
    auto d = decompress(c, z, 1 << 20);
    EXPECT_EQ(d.status, CodecStatus::kTooLarge) << int(c);
    EXPECT_TRUE(d.data.empty());
  }
}

TEST(Compression, TruncatedAndGarbageInputIsCorrupt) {
  Bytes in = sample(5000, 3);
  for (auto c : kCodecs) {
    if (c == Compression::none) continue;
    Bytes z = compress(c, in);
    for (size_t cut : {size_t{0}, size_t{1}, z.size() / 2, z.size() - 1}) {
      auto d = decompress(c, std::span(z).first(cut), 1 << 20);
      EXPECT_FALSE(d.ok()) << int(c) << " cut " << cut;
    }
    Bytes garbage = sample(300, 99);
    EXPECT_FALSE(decompress(c, garbage, 1 << 20).ok()) << int(c);
  }
}

TEST(Compression, UnknownCodec) {
  Bytes in = {1, 2, 3};
  EXPECT_EQ(decompress(static_cast<Compression>(5), in, 100).status, CodecStatus::kUnsupported);
  EXPECT_FALSE(is_known_compression(5));
  EXPECT_TRUE(is_known_compression(4));
}

TEST(Compression, GzipConcatenatedMembersAndZlib) {
  Bytes a = sample(1000, 1), b = sample(2000, 2);
  Bytes z = compress(Compression::gzip, a);
  Bytes zb = compress(Compression::gzip, b);
  z.insert(z.end(), zb.begin(), zb.end());
  auto d = decompress(Compression::gzip, z, 1 << 20);
  ASSERT_TRUE(d.ok());
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(d.data, ab);
}

TEST(Compression, Xxh32KnownValues) {
  EXPECT_EQ(xxh32("", 0, 0), 0x02CC5D05u);
  EXPECT_EQ(xxh32("abc", 3, 0), 0x32D153FFu);
}

TEST(Compression, Lz4AcceptsLegacyBrokenHeaderChecksum) {
  Bytes in = sample(3000, 5);
  Bytes z = compress(Compression::lz4, in);
  // Old Kafka hashed the magic number too: descriptor starts at 0 instead of 4.
  uint8_t flg = z[4];
  size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  uint8_t good = z[4 + desc];
  uint8_t broken = static_cast<uint8_t>((xxh32(z.data(), 4 + desc, 0) >> 8) & 0xff);
  EXPECT_EQ(good, static_cast<uint8_t>((xxh32(z.data() + 4, desc, 0) >> 8) & 0xff));
  z[4 + desc] = broken;
  auto d = decompress(Compression::lz4, z, 1 << 20);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.data, in);
}

TEST(Compression, ZstdWithoutContentSize) {
  Bytes in = sample(100000, 11);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  Bytes out(ZSTD_compressBound(in.size()));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  size_t rc = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
  ASSERT_EQ(rc, 0u);
  out.resize(ob.pos);
  EXPECT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  auto d = decompress(Compression::zstd, out, 1 << 20);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.data, in);
  EXPECT_EQ(decompress(Compression::zstd, out, 1000).status, CodecStatus::kTooLarge);
}

// Found by record_batch_fuzz: when a frame's output exactly filled the output buffer, zstd was
// called once more after the frame ended, answered the header hint of a next frame, and the
// complete frame was taken for a truncated one. Every output size from 1 byte to a few buffer
// growths must come back, whatever the bound.
TEST(Compression, EveryCodecRoundTripsEveryOutputSizeAtEveryBound) {
  for (auto codec : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    for (size_t n = 1; n <= 1100; ++n) {
      Bytes in(n, 'y');  // compresses well: the output buffer starts at 256 bytes and doubles
      in[n / 2] = 'i';
      Bytes packed = compress(codec, in);
      for (size_t bound : {n, n + 1, 2 * n}) {
        Decompressed back = decompress(codec, packed, bound);
        ASSERT_TRUE(back.ok()) << "codec " << int(codec) << " size " << n << " bound " << bound;
        ASSERT_EQ(back.data, in) << "codec " << int(codec) << " size " << n;
      }
      ASSERT_EQ(decompress(codec, packed, n - 1).status, CodecStatus::kTooLarge)
          << "codec " << int(codec) << " size " << n;
    }
  }
}

// decompress_reusing keeps one buffer across calls: outputs smaller and larger than the last
// come back exact, the bound holds even when the kept buffer is larger than it, and a failure
// leaves the next call unaffected.
TEST(Compression, ReusedScratchGivesExactOutputsAndKeepsTheBound) {
  for (auto codec : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                     Compression::zstd}) {
    Bytes scratch;
    for (size_t n : {size_t{5000}, size_t{10}, size_t{70000}, size_t{300}, size_t{70000}}) {
      Bytes in(n);
      for (size_t i = 0; i < n; ++i) in[i] = static_cast<uint8_t>('a' + (i * 7 + n) % 26);
      Bytes packed = compress(codec, in);
      DecompressedView v = decompress_reusing(codec, packed, n, scratch);
      ASSERT_TRUE(v.ok()) << "codec " << int(codec) << " size " << n;
      ASSERT_EQ(Bytes(v.data.begin(), v.data.end()), in) << "codec " << int(codec);
      // The kept buffer is at least n bytes now; a smaller bound is still enforced.
      EXPECT_EQ(decompress_reusing(codec, packed, n - 1, scratch).status, CodecStatus::kTooLarge)
          << "codec " << int(codec) << " size " << n;
      Bytes broken = packed;
      if (codec != Compression::none) {
        broken.pop_back();
        EXPECT_FALSE(decompress_reusing(codec, broken, n, scratch).ok()) << "codec " << int(codec);
      }
    }
  }
}

}  // namespace
}  // namespace runnel::protocol

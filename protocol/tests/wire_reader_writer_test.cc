// Reader / Writer primitives: varints, compact lengths, the sticky error and
// the length checks that keep bad input from allocating.
#include <gtest/gtest.h>

#include <limits>

#include "protocol/messages/metadata.h"
#include "protocol/wire.h"

namespace runnel::protocol {
namespace {

TEST(Wire, UnsignedVarintEdgeValues) {
  const uint32_t values[] = {0,       1,         127,       128,
                             255,     16383,     16384,     2097151,
                             2097152, 268435455, 268435456, std::numeric_limits<uint32_t>::max()};
  for (uint32_t v : values) {
    Writer w;
    w.uvarint(v);
    EXPECT_EQ(w.buf().size(), uvarint_size(v)) << v;
    Reader r(w.buf());
    EXPECT_EQ(r.uvarint(), v);
    EXPECT_TRUE(r.done());
  }
  Writer w;
  w.uvarint(300);
  EXPECT_EQ(w.buf(), (Bytes{0xac, 0x02}));
}

TEST(Wire, ZigzagVarintAndVarlong) {
  const int32_t v32[] = {
      0, -1, 1, -64, 64, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
  for (int32_t v : v32) {
    Writer w;
    w.varint(v);
    Reader r(w.buf());
    EXPECT_EQ(r.varint(), v);
    EXPECT_TRUE(r.done());
  }
  Writer one;
  one.varint(-1);
  EXPECT_EQ(one.buf(), Bytes{0x01});
  const int64_t v64[] = {0, -1, 1, std::numeric_limits<int64_t>::min(),
                         std::numeric_limits<int64_t>::max()};
  for (int64_t v : v64) {
    Writer w;
    w.varlong(v);
    Reader r(w.buf());
    EXPECT_EQ(r.varlong(), v);
    EXPECT_TRUE(r.done());
  }
}

TEST(Wire, OverlongVarintsAreRejected) {
  Bytes five_big = {0xff, 0xff, 0xff, 0xff, 0x7f};  // 35 bits
  Reader r(five_big);
  EXPECT_EQ(r.uvarint(), 0u);
  EXPECT_FALSE(r.ok());
  Bytes eleven(11, 0xff);
  Reader r2(eleven);
  r2.uvarlong();
  EXPECT_FALSE(r2.ok());
  Bytes unterminated = {0x80, 0x80};
  Reader r3(unterminated);
  r3.uvarint();
  EXPECT_FALSE(r3.ok());
}

TEST(Wire, CompactAndClassicLengths) {
  Writer w;
  w.string("abc", true);
  w.string("abc", false);
  w.nullable_string(std::nullopt, true);
  w.nullable_string(std::nullopt, false);
  w.bytes(Bytes{1, 2}, true);
  w.nullable_bytes(std::nullopt, true);
  w.array_length(-1, true);
  w.array_length(3, false);
  EXPECT_EQ(w.buf(), (Bytes{0x04, 'a',  'b', 'c', 0x00, 0x03, 'a', 'b', 'c', 0x00, 0xff,
                            0xff, 0x03, 1,   2,   0x00, 0x00, 0,   0,   0,   3}));
  Reader r(w.buf());
  EXPECT_EQ(r.string(true), "abc");
  EXPECT_EQ(r.string(false), "abc");
  EXPECT_EQ(r.nullable_string(true), std::nullopt);
  EXPECT_EQ(r.nullable_string(false), std::nullopt);
  EXPECT_EQ(r.bytes(true), (Bytes{1, 2}));
  EXPECT_EQ(r.nullable_bytes(true), std::nullopt);
  EXPECT_EQ(r.array_length(true), -1);
  EXPECT_EQ(r.i32(), 3);
  EXPECT_TRUE(r.done());

  std::string long_string(200, 'x');
  Writer w2;
  w2.string(long_string, true);
  EXPECT_EQ(w2.buf().size(), 202u);  // two-byte compact length
  Reader r2(w2.buf());
  EXPECT_EQ(r2.string(true), long_string);
  EXPECT_TRUE(r2.done());
}

TEST(Wire, ErrorIsSticky) {
  Bytes b = {0x00, 0x01, 0x02};
  Reader r(b);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_FALSE(r.ok());
  const char* first = r.error();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(r.i8(), 0);  // bytes are left, but the reader stays failed
  r.fail("another reason");
  EXPECT_STREQ(r.error(), first);
  EXPECT_FALSE(r.done());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Wire, TruncatedInputs) {
  Bytes b = {0x00, 0x05, 'a', 'b'};
  Reader r(b);
  EXPECT_EQ(r.string(false), "");
  EXPECT_FALSE(r.ok());
  Bytes u = {1, 2, 3};
  Reader r2(u);
  r2.uuid();
  EXPECT_FALSE(r2.ok());
  Reader r3(std::span<const uint8_t>{});
  r3.i64();
  EXPECT_FALSE(r3.ok());
}

TEST(Wire, HugeLengthsAreRejectedBeforeAllocating) {
  Bytes classic = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
  Reader r(classic);
  EXPECT_EQ(r.array_length(false), -1);
  EXPECT_FALSE(r.ok());
  Bytes compact = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  Reader r2(compact);
  EXPECT_EQ(r2.bytes_length(true), -1);
  EXPECT_FALSE(r2.ok());
  Bytes negative = {0xff, 0xff, 0xff, 0xfe};
  Reader r3(negative);
  EXPECT_EQ(r3.bytes_length(false), -1);
  EXPECT_FALSE(r3.ok());

  // The same through a generated decoder: a topic count of 2^31-1 with a
  // handful of bytes behind it fails without building the topics.
  Bytes metadata = {0x00, 0x00, 0x00, 0x00,               // throttle_time_ms (v3+)
                    0x00, 0x00, 0x00, 0x00,               // brokers: empty
                    0xff, 0xff,                           // cluster_id: null
                    0x00, 0x00, 0x00, 0x01,               // controller_id
                    0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};  // topics: huge count
  MetadataResponse m;
  Reader r4(metadata);
  m.decode(r4, 3);
  EXPECT_FALSE(r4.ok());
  EXPECT_TRUE(m.topics.empty());
}

TEST(Wire, FloatAndUnsigned) {
  Writer w;
  w.f64(-2.5);
  w.u16(65535);
  w.u32(4000000000u);
  Reader r(w.buf());
  EXPECT_EQ(r.f64(), -2.5);
  EXPECT_EQ(r.u16(), 65535);
  EXPECT_EQ(r.u32(), 4000000000u);
  EXPECT_TRUE(r.done());
}

}  // namespace
}  // namespace runnel::protocol

namespace runnel::protocol {
namespace {

TEST(Wire, CompactStringsLongerThan32767BytesAreRejected) {
  for (size_t len : {size_t{0x7fff}, size_t{0x8000}, size_t{300 * 1024}}) {
    Writer w;
    w.uvarint(static_cast<uint32_t>(len + 1));
    w.raw(Bytes(len, 'g'));
    Reader r(w.buf());
    std::string s = r.string(true);
    if (len <= 0x7fff) {
      EXPECT_TRUE(r.done()) << len;
      EXPECT_EQ(s.size(), len);
    } else {
      EXPECT_FALSE(r.ok()) << len;
    }
  }
}

// As Kafka's Uuid.randomUuid(): never the zero id, and never a text starting with '-', which
// tools would take for an option (one draw in 64 would without the check).
TEST(Wire, RandomUuidsNeverStartWithADash) {
  for (int i = 0; i < 20000; ++i) {
    const Uuid u = Uuid::random();
    ASSERT_FALSE(u.is_zero());
    ASSERT_NE(u.to_string().front(), '-') << u.to_string();
  }
}

}  // namespace
}  // namespace runnel::protocol

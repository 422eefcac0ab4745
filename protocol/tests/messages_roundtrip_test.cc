// Every message at every version: filled with non-default values, encoded,
// decoded and compared. Unknown tagged fields survive a round trip.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "protocol/messages/testing.h"

namespace runnel::protocol {
namespace {

template <class T>
void round_trip_all_versions(const char* name, size_t& cases) {
  for (int16_t v = T::kMinVersion; v <= T::kMaxVersion; ++v) {
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      SCOPED_TRACE(std::string(name) + " v" + std::to_string(v) + " seed " + std::to_string(seed));
      T in;
      fill_for_test(in, v, seed);
      Writer w;
      in.encode(w, v);
      T out;
      Reader r(w.buf());
      out.decode(r, v);
      EXPECT_TRUE(r.done()) << (r.error() ? r.error() : "bytes left over");
      EXPECT_TRUE(out == in) << to_json(in, v) << "\n" << to_json(out, v);
      Writer again;
      out.encode(again, v);
      EXPECT_EQ(again.buf(), w.buf());
      ++cases;
    }
    // A filled message must differ from a default one (the fill reaches
    // the fields), unless the version has no fields at all.
    T filled, fresh;
    fill_for_test(filled, v, 1);
    Writer a, b;
    filled.encode(a, v);
    fresh.encode(b, v);
    if (a.buf().size() > 1) {
      EXPECT_NE(a.buf(), b.buf()) << name << " v" << v;
    }
  }
}

TEST(RoundTrip, EveryMessageEveryVersion) {
  size_t cases = 0;
#define RUNNEL_RT(T) round_trip_all_versions<T>(#T, cases);
  RUNNEL_FOR_EACH_MESSAGE(RUNNEL_RT)
#undef RUNNEL_RT
  EXPECT_GT(cases, 1500u);
}

template <class T>
void unknown_tags_survive(const char* name) {
  if (T::kFlexibleMin < 0) return;
  for (int16_t v = T::kFlexibleMin; v <= T::kMaxVersion; ++v) {
    SCOPED_TRACE(std::string(name) + " v" + std::to_string(v));
    T in;
    fill_for_test(in, v, 7);
    in.unknown_tagged_fields = {{1000, {1, 2, 3}}, {1001, {}}};
    Writer w;
    in.encode(w, v);
    T out;
    Reader r(w.buf());
    out.decode(r, v);
    EXPECT_TRUE(r.done());
    EXPECT_TRUE(out == in);
  }
}

TEST(RoundTrip, UnknownTaggedFieldsAreKept) {
#define RUNNEL_UT(T) unknown_tags_survive<T>(#T);
  RUNNEL_FOR_EACH_MESSAGE(RUNNEL_UT)
#undef RUNNEL_UT
}

TEST(RoundTrip, KnownAndUnknownTagsAreMergedInOrder) {
  // ProduceResponse v10: NodeEndpoints is tag 0; an unknown tag 5 follows it.
  ProduceResponse in;
  in.node_endpoints.push_back({});
  in.node_endpoints[0].node_id = 3;
  in.node_endpoints[0].host = "h";
  in.node_endpoints[0].port = 9092;
  in.unknown_tagged_fields = {{5, {0xaa}}};
  Writer w;
  in.encode(w, 10);
  // responses: empty, throttle, then 2 tagged fields: tag 0 ..., tag 5.
  const Bytes& b = w.buf();
  ASSERT_GE(b.size(), 8u);
  EXPECT_EQ(b[0], 0x01);  // compact array, 0 elements
  EXPECT_EQ(b[5], 0x02);  // two tagged fields
  EXPECT_EQ(b[6], 0x00);  // tag 0 first
  EXPECT_EQ(b[b.size() - 3], 0x05);
  EXPECT_EQ(b[b.size() - 2], 0x01);
  EXPECT_EQ(b[b.size() - 1], 0xaa);
  ProduceResponse out;
  Reader r(b);
  out.decode(r, 10);
  EXPECT_TRUE(r.done());
  EXPECT_TRUE(out == in);
}

TEST(RoundTrip, TaggedFieldWithTrailingBytesIsRejected) {
  // ApiVersionsResponse v3, tag 1 (FinalizedFeaturesEpoch, int64) given 9 bytes.
  Writer w;
  w.i16(0);      // error_code
  w.uvarint(1);  // api_keys: empty
  w.i32(0);      // throttle_time_ms
  w.uvarint(1);  // one tagged field
  w.uvarint(1);  // tag 1
  w.uvarint(9);  // size 9
  w.i64(5);
  w.i8(0);
  ApiVersionsResponse m;
  Reader r(w.buf());
  m.decode(r, 3);
  EXPECT_FALSE(r.ok());
}

TEST(RoundTrip, NullInANonNullableVersionIsEncodedEmpty) {
  // MetadataRequest topics is nullable from v1 only; v0 writes an empty array.
  MetadataRequest m;
  m.topics.reset();
  Writer w0;
  m.encode(w0, 0);
  EXPECT_EQ(w0.buf(), (Bytes{0, 0, 0, 0}));
  Writer w1;
  m.encode(w1, 1);
  EXPECT_EQ(w1.buf(), (Bytes{0xff, 0xff, 0xff, 0xff}));
}

TEST(RoundTrip, ErrorCodesTheTableDoesNotHaveDecodeAndAreWrittenBack) {
  // A peer may answer with any int16; decoding keeps it and encoding writes it back.
  for (int16_t raw : {int16_t{-32768}, int16_t{-2}, int16_t{137}, int16_t{9999}, int16_t{32767}}) {
    Writer w;
    w.i32(0);    // throttle_time_ms
    w.i16(raw);  // error_code
    HeartbeatResponse m;
    Reader r(w.buf());
    m.decode(r, 3);
    EXPECT_TRUE(r.done()) << raw;
    EXPECT_EQ(code(m.error_code), raw);
    EXPECT_FALSE(is_known(m.error_code));
    Writer again;
    m.encode(again, 3);
    EXPECT_EQ(again.buf(), w.buf());
  }
  HeartbeatResponse known;
  EXPECT_EQ(known.error_code, ErrorCode::NONE);
  known.error_code = ErrorCode::REBALANCE_IN_PROGRESS;
  Writer w;
  known.encode(w, 0);
  EXPECT_EQ(w.buf(), (Bytes{0, 27}));
}

TEST(RoundTrip, RequestAndResponseNameEachOther) {
  static_assert(std::is_same_v<HeartbeatRequest::Response, HeartbeatResponse>);
  static_assert(std::is_same_v<HeartbeatResponse::Request, HeartbeatRequest>);
  static_assert(std::is_same_v<ProduceRequest::Response, ProduceResponse>);
  static_assert(std::is_same_v<FetchResponse::Request, FetchRequest>);
  static_assert(std::is_same_v<decltype(FetchResponse{}.error_code), ErrorCode>);
}

}  // namespace
}  // namespace runnel::protocol

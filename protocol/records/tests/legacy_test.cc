#include "protocol/records/legacy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "protocol/records/crc32c.h"
#include "protocol/records/tests/json_lite.h"

namespace runnel::protocol {
namespace {

using testing::Json;

Bytes unhex(const std::string& h) {
  Bytes b(h.size() / 2);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<uint8_t>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return b;
}
std::optional<Bytes> opt_hex(const Json& j) {
  if (j.is_null()) return std::nullopt;
  return unhex(j.s);
}
std::optional<Bytes> opt_bytes(const std::optional<std::span<const uint8_t>>& s) {
  if (!s) return std::nullopt;
  return Bytes(s->begin(), s->end());
}

std::vector<Json> legacy_vectors() {
  std::vector<Json> out;
  std::ifstream in(std::filesystem::path(RUNNEL_SHARED_DIR) / "golden" / "records" /
                   "record_batches.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    Json j;
    if (!line.empty() && testing::JsonParser(line).parse(j) && j["magic"].i != 2)
      out.push_back(std::move(j));
  }
  return out;
}

TEST(LegacyGolden, ParseUpAndDownConvert) {
  auto vectors = legacy_vectors();
  if (vectors.empty())
    GTEST_FAIL() << "golden record vectors not available under " << RUNNEL_SHARED_DIR;
  EXPECT_EQ(vectors.size(), 4u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v["name"].s);
    Bytes set = unhex(v["hex"].s);
    auto parsed = parse_legacy(set);
    ASSERT_EQ(parsed.error, ErrorCode::NONE);
    EXPECT_EQ(parsed.magic, v["magic"].i);
    EXPECT_EQ(parsed.codec, v["compression"].s == "gzip" ? Compression::gzip : Compression::none);
    const auto& inputs = v["records"].arr;
    ASSERT_EQ(parsed.records.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(parsed.records[i].offset, inputs[i]["offset"].i);
      EXPECT_EQ(parsed.records[i].timestamp, inputs[i]["timestamp"].i);
      EXPECT_EQ(parsed.records[i].key, opt_hex(inputs[i]["key"]));
      EXPECT_EQ(parsed.records[i].value, opt_hex(inputs[i]["value"]));
    }

    // Byte-exact re-encoding of the uncompressed sets.
    if (v["byte_exact_on_encode"].b) {
      Bytes built;
      for (const auto& r : inputs) {
        auto k = opt_hex(r["key"]);
        auto val = opt_hex(r["value"]);
        std::optional<std::span<const uint8_t>> ks, vs;
        if (k) ks = std::span<const uint8_t>(*k);
        if (val) vs = std::span<const uint8_t>(*val);
        append_legacy_message(built, static_cast<int8_t>(v["magic"].i), r["offset"].i, 0,
                              r["timestamp"].i, ks, vs);
      }
      EXPECT_EQ(built, set);
    }

    // Up-convert to one v2 batch; then down-convert back.
    auto up = up_convert(set);
    ASSERT_EQ(up.error, ErrorCode::NONE);
    EXPECT_EQ(validate_batch(up.batch), ErrorCode::NONE);
    auto h = BatchHeader::parse(up.batch);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->compression(), parsed.codec);
    EXPECT_EQ(h->record_count, static_cast<int32_t>(inputs.size()));
    auto view = RecordBatchView::open(up.batch);
    ASSERT_TRUE(view);
    auto recs = view->records();
    ASSERT_TRUE(recs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(opt_bytes((*recs)[i].key), opt_hex(inputs[i]["key"]));
      EXPECT_EQ(opt_bytes((*recs)[i].value), opt_hex(inputs[i]["value"]));
      EXPECT_EQ(h->base_timestamp + (*recs)[i].timestamp_delta, inputs[i]["timestamp"].i);
    }
    // Storage assigns the real offsets.
    set_base_offset(up.batch, inputs[0]["offset"].i);
    auto down = down_convert(up.batch, static_cast<int8_t>(v["magic"].i));
    ASSERT_EQ(down.error, ErrorCode::NONE);
    auto again = parse_legacy(down.message_set);
    ASSERT_EQ(again.error, ErrorCode::NONE);
    ASSERT_EQ(again.records.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(again.records[i].offset, inputs[i]["offset"].i);
      EXPECT_EQ(again.records[i].timestamp, inputs[i]["timestamp"].i);
      EXPECT_EQ(again.records[i].key, opt_hex(inputs[i]["key"]));
      EXPECT_EQ(again.records[i].value, opt_hex(inputs[i]["value"]));
    }
    if (!v["compression"].s.empty() && v["compression"].s == "none") {
      EXPECT_EQ(down.message_set, set);
    }

    // Corruption and every prefix.
    // The CRC covers magic..end of the first entry (offsets are outside it).
    size_t first_end =
        12 + ((size_t{set[8]} << 24) | (size_t{set[9]} << 16) | (size_t{set[10]} << 8) | set[11]);
    for (size_t i = 16; i < first_end; ++i) {
      Bytes bad = set;
      bad[i] ^= 0x40;
      EXPECT_NE(parse_legacy(bad).error, ErrorCode::NONE) << i;
    }
    for (size_t n = 1; n < set.size(); ++n) {
      auto pre = std::span<const uint8_t>(set).first(n);
      auto p = parse_legacy(pre);
      // A prefix that ends on an entry boundary is a valid, shorter set.
      size_t boundary = 0;
      bool on_boundary = false;
      for (auto e : split_batches(set).batches) {
        boundary += e.size();
        if (boundary == n) on_boundary = true;
      }
      EXPECT_EQ(p.error == ErrorCode::NONE, on_boundary) << n;
      (void)parse_legacy(pre, 1 << 20, true);
      (void)up_convert(pre);
    }
  }
}

TEST(Legacy, BadCrcIsCorrupt) {
  Bytes set;
  const uint8_t v[] = {1, 2, 3};
  append_legacy_message(set, 1, 0, 0, 123, std::nullopt, std::span<const uint8_t>(v));
  EXPECT_EQ(up_convert(set).error, ErrorCode::NONE);
  set[12] ^= 1;
  EXPECT_EQ(up_convert(set).error, ErrorCode::CORRUPT_MESSAGE);
}

TEST(Legacy, CompressedWrappersAllCodecs) {
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    for (int8_t magic : {0, 1}) {
      Bytes inner;
      for (int i = 0; i < 4; ++i) {
        std::string k = "key" + std::to_string(i);
        append_legacy_message(
            inner, magic, magic == 1 ? i : 100 + i, 0, 5000 + i,
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(k.data()), k.size()),
            std::nullopt);
      }
      Bytes set;
      append_legacy_wrapper(set, magic, c, 103, 5003, inner);
      auto p = parse_legacy(set);
      ASSERT_EQ(p.error, ErrorCode::NONE) << int(c) << " " << int(magic);
      ASSERT_EQ(p.records.size(), 4u);
      for (int i = 0; i < 4; ++i) EXPECT_EQ(p.records[i].offset, 100 + i);
      auto up = up_convert(set);
      ASSERT_EQ(up.error, ErrorCode::NONE);
      EXPECT_EQ(BatchHeader::parse(up.batch)->compression(), c);
      EXPECT_EQ(validate_batch(up.batch), ErrorCode::NONE);
    }
  }
}

TEST(Legacy, LogAppendTimeWrapperAndBomb) {
  Bytes inner;
  const uint8_t v[] = {9};
  append_legacy_message(inner, 1, 0, 0, 1, std::nullopt, std::span<const uint8_t>(v));
  append_legacy_message(inner, 1, 1, 0, 2, std::nullopt, std::span<const uint8_t>(v));
  Bytes z = compress(Compression::gzip, inner);
  Bytes set;
  append_legacy_message(set, 1, 10, static_cast<int8_t>(0x08 | 1), 777, std::nullopt,
                        std::span<const uint8_t>(z));
  auto p = parse_legacy(set);
  ASSERT_EQ(p.error, ErrorCode::NONE);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].offset, 9);
  EXPECT_EQ(p.records[0].timestamp, 777);
  EXPECT_TRUE(p.records[1].log_append_time);

  Bytes zeros(16 << 20, 0);
  Bytes bomb;
  append_legacy_wrapper(bomb, 1, Compression::gzip, 0, 0, zeros);
  EXPECT_EQ(parse_legacy(bomb, 1 << 20).error, ErrorCode::INVALID_RECORD);
}

TEST(Legacy, DownConvertSkipsControlAndKeepsLogAppendTime) {
  RecordBatchBuilder data;
  const uint8_t k[] = {'a'};
  data.base_offset(50).log_append_time(999);
  data.add(10, std::span<const uint8_t>(k), std::nullopt);
  data.add(20, std::nullopt, std::span<const uint8_t>(k));
  RecordBatchBuilder marker;
  marker.base_offset(52).transactional(true).add_control(30, 1, 4);
  Bytes both = data.build();
  Bytes m = marker.build();
  both.insert(both.end(), m.begin(), m.end());
  both.insert(both.end(), m.begin(), m.begin() + 20);  // a cut batch at the end is dropped
  auto down = down_convert(both, 1);
  ASSERT_EQ(down.error, ErrorCode::NONE);
  auto p = parse_legacy(down.message_set);
  ASSERT_EQ(p.error, ErrorCode::NONE);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].offset, 50);
  EXPECT_EQ(p.records[1].offset, 51);
  EXPECT_EQ(p.records[0].timestamp, 999);
  EXPECT_TRUE(p.records[0].log_append_time);
  auto down0 = down_convert(both, 0);
  ASSERT_EQ(down0.error, ErrorCode::NONE);
  auto p0 = parse_legacy(down0.message_set);
  ASSERT_EQ(p0.records.size(), 2u);
  EXPECT_EQ(p0.records[0].timestamp, -1);
}

// A batch whose base timestamp plus a record's delta passes INT64_MAX: the sum
// wraps as Kafka's long addition does (no undefined behaviour), giving INT64_MIN + 1.
TEST(Legacy, DownConvertWrapsTimestampOverflowLikeKafka) {
  RecordBatchBuilder b;
  b.base_offset(7);
  b.add(0, std::nullopt, std::nullopt);
  b.add(2, std::nullopt, std::nullopt);
  Bytes batch = b.build();
  auto h = BatchHeader::parse(batch);
  ASSERT_TRUE(h);
  h->base_timestamp = INT64_MAX;
  h->max_timestamp = INT64_MAX;
  h->write(batch);
  h->crc = crc32c(batch.data() + BatchHeader::kAttributesOffset,
                  batch.size() - BatchHeader::kAttributesOffset);
  h->write(batch);
  auto down = down_convert(batch, 1);
  ASSERT_EQ(down.error, ErrorCode::NONE);
  auto p = parse_legacy(down.message_set);
  ASSERT_EQ(p.error, ErrorCode::NONE);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].timestamp, INT64_MAX);
  EXPECT_EQ(p.records[1].timestamp, INT64_MIN + 1);
}

// The window: records before from_offset are left out, and conversion stops
// at the first message past max_bytes (the first one always with min_one).
TEST(Legacy, DownConvertWindowSkipsAndStops) {
  RecordBatchBuilder b;
  b.base_offset(10);
  const uint8_t v[100] = {};
  for (int i = 0; i < 5; ++i) b.add(i, std::nullopt, std::span<const uint8_t>(v));
  Bytes batch = b.build();
  size_t one = 12 + 14 + 8 + sizeof v;
  auto offsets = [](const DownConverted& d) {
    std::vector<int64_t> out;
    for (auto& r : parse_legacy(d.message_set).records) out.push_back(r.offset);
    return out;
  };
  auto d = down_convert(batch, 1, kDefaultMaxUncompressedBatch, {12, 2 * one, true});
  ASSERT_EQ(d.error, ErrorCode::NONE);
  EXPECT_EQ(offsets(d), (std::vector<int64_t>{12, 13}));
  d = down_convert(batch, 1, kDefaultMaxUncompressedBatch, {0, 10, true});
  EXPECT_EQ(offsets(d), (std::vector<int64_t>{10}));
  d = down_convert(batch, 1, kDefaultMaxUncompressedBatch, {0, 10, false});
  EXPECT_TRUE(d.message_set.empty());
  d = down_convert(batch, 0, kDefaultMaxUncompressedBatch, {14, SIZE_MAX, true});
  EXPECT_EQ(offsets(d), (std::vector<int64_t>{14}));
}

}  // namespace
}  // namespace runnel::protocol

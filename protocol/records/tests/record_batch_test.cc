#include "protocol/records/record_batch.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "protocol/records/crc32c.h"
#include "protocol/records/legacy.h"
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

Compression codec_named(const std::string& s) {
  if (s == "gzip") return Compression::gzip;
  if (s == "snappy") return Compression::snappy;
  if (s == "lz4") return Compression::lz4;
  if (s == "zstd") return Compression::zstd;
  return Compression::none;
}

std::vector<Json> load_vectors() {
  std::vector<Json> out;
  std::filesystem::path p =
      std::filesystem::path(RUNNEL_SHARED_DIR) / "golden" / "records" / "record_batches.jsonl";
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json j;
    if (!testing::JsonParser(line).parse(j)) {
      ADD_FAILURE() << "bad JSON line in " << p;
      continue;
    }
    out.push_back(std::move(j));
  }
  return out;
}

#define REQUIRE_VECTORS(v) \
  auto v = load_vectors(); \
  if (v.empty()) GTEST_FAIL() << "golden record vectors not available under " << RUNNEL_SHARED_DIR

std::vector<HeaderInput> header_inputs(const Json& rec) {
  std::vector<HeaderInput> hs;
  for (const auto& h : rec["headers"].arr) hs.push_back({h["key"].s, opt_hex(h["value"])});
  return hs;
}

// Builds the v2 batch described by a vector's inputs.
Bytes build_from_inputs(const Json& v, Compression codec) {
  RecordBatchBuilder b(codec);
  b.base_offset(v["base_offset"].i)
      .partition_leader_epoch(static_cast<int32_t>(v["partition_leader_epoch"].i))
      .producer(v["producer_id"].i, static_cast<int16_t>(v["producer_epoch"].i),
                static_cast<int32_t>(v["base_sequence"].i))
      .transactional(v["transactional"].b)
      .control(v["control"].b);
  if (v["timestamp_type"].s == "LogAppendTime") b.log_append_time(v["log_append_time"].i);
  for (const auto& r : v["records"].arr) {
    auto k = opt_hex(r["key"]);
    auto val = opt_hex(r["value"]);
    auto hs = header_inputs(r);
    std::optional<std::span<const uint8_t>> ks, vs;
    if (k) ks = std::span<const uint8_t>(*k);
    if (val) vs = std::span<const uint8_t>(*val);
    b.add(r["timestamp"].i, ks, vs, hs, static_cast<int32_t>(r["offset"].i - v["base_offset"].i));
  }
  return b.build();
}

void expect_records_match(const Json& v, std::span<const uint8_t> batch) {
  ErrorCode e;
  auto view = RecordBatchView::open(batch, 1 << 20, &e);
  ASSERT_TRUE(view) << error_name(e);
  const auto& h = view->header();
  auto recs = view->records();
  ASSERT_TRUE(recs);
  const auto& inputs = v["records"].arr;
  ASSERT_EQ(recs->size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& in = inputs[i];
    const auto& r = (*recs)[i];
    EXPECT_EQ(h.base_offset + r.offset_delta, in["offset"].i);
    EXPECT_EQ(h.base_timestamp + r.timestamp_delta, in["timestamp"].i);
    EXPECT_EQ(opt_bytes(r.key), opt_hex(in["key"]));
    EXPECT_EQ(opt_bytes(r.value), opt_hex(in["value"]));
    const auto& hin = in["headers"].arr;
    ASSERT_EQ(r.headers.size(), hin.size());
    for (size_t k = 0; k < hin.size(); ++k) {
      EXPECT_EQ(std::string(r.headers[k].key), hin[k]["key"].s);
      EXPECT_EQ(opt_bytes(r.headers[k].value), opt_hex(hin[k]["value"]));
    }
    if (h.is_control()) {
      auto c = parse_control_record(r);
      ASSERT_TRUE(c);
      EXPECT_EQ(c->type, in["control_type"].s == "COMMIT" ? 1 : 0);
      EXPECT_EQ(c->coordinator_epoch, in["coordinator_epoch"].i);
    }
  }
}

TEST(RecordBatchGolden, DecodeV2) {
  REQUIRE_VECTORS(vectors);
  int seen = 0;
  for (const auto& v : vectors) {
    if (v["magic"].i != 2) continue;
    SCOPED_TRACE(v["name"].s);
    ++seen;
    Bytes batch = unhex(v["hex"].s);
    ASSERT_EQ(v["batches"].arr.size(), 1u);
    const auto& jb = v["batches"].arr[0];
    auto h = BatchHeader::parse(batch);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, jb["base_offset"].i);
    EXPECT_EQ(h->last_offset(), jb["last_offset"].i);
    EXPECT_EQ(static_cast<int64_t>(h->total_size()), jb["size_in_bytes"].i);
    EXPECT_EQ(static_cast<int64_t>(h->total_size()), static_cast<int64_t>(batch.size()));
    EXPECT_EQ(h->magic, 2);
    EXPECT_EQ(static_cast<int64_t>(h->crc), jb["crc"].i);
    EXPECT_EQ(compute_batch_crc(batch), h->crc);
    EXPECT_EQ(h->compression(), codec_named(jb["compression"].s));
    EXPECT_EQ(h->log_append_time(), jb["timestamp_type"].s == "LogAppendTime");
    EXPECT_EQ(h->max_timestamp, jb["max_timestamp"].i);
    EXPECT_EQ(h->attributes, jb["attributes"].i);
    EXPECT_EQ(h->last_offset_delta, jb["last_offset_delta"].i);
    EXPECT_EQ(h->base_timestamp, jb["base_timestamp"].i);
    EXPECT_EQ(h->record_count, jb["records_count"].i);
    EXPECT_EQ(h->producer_id, jb["producer_id"].i);
    EXPECT_EQ(h->producer_epoch, jb["producer_epoch"].i);
    EXPECT_EQ(h->base_sequence, jb["base_sequence"].i);
    EXPECT_EQ(h->partition_leader_epoch, jb["partition_leader_epoch"].i);
    EXPECT_EQ(h->is_transactional(), jb["is_transactional"].b);
    EXPECT_EQ(h->is_control(), jb["is_control"].b);

    auto view = RecordBatchView::open(batch, 1 << 20);
    ASSERT_TRUE(view);
    Bytes section(view->records_section().begin(), view->records_section().end());
    if (!v["uncompressed_records_hex"].is_null()) {
      EXPECT_EQ(section, unhex(v["uncompressed_records_hex"].s));
    }
    expect_records_match(v, batch);
    ValidateOptions opts;
    opts.allow_control = h->is_control();
    EXPECT_EQ(validate_batch(batch, opts), ErrorCode::NONE);
  }
  EXPECT_EQ(seen, 10);
}

TEST(RecordBatchGolden, EncodeV2) {
  REQUIRE_VECTORS(vectors);
  for (const auto& v : vectors) {
    if (v["magic"].i != 2) continue;
    SCOPED_TRACE(v["name"].s);
    Compression codec = codec_named(v["compression"].s);
    Bytes built = build_from_inputs(v, codec);
    if (v["byte_exact_on_encode"].b) {
      EXPECT_EQ(built, unhex(v["hex"].s));
    } else {
      // Compressed: our compressor's bytes differ; the records round-trip.
      ASSERT_EQ(BatchHeader::parse(built)->compression(), codec);
      EXPECT_EQ(validate_batch(built), ErrorCode::NONE);
      expect_records_match(v, built);
      auto view = RecordBatchView::open(built);
      ASSERT_TRUE(view);
      EXPECT_EQ(Bytes(view->records_section().begin(), view->records_section().end()),
                unhex(v["uncompressed_records_hex"].s));
    }
  }
}

TEST(RecordBatchGolden, LogAppendTimeRewrite) {
  REQUIRE_VECTORS(vectors);
  const Json* create = nullptr;
  const Json* lat = nullptr;
  for (const auto& v : vectors) {
    if (v["name"].s == "v2_none") create = &v;
    if (v["name"].s == "v2_log_append_time") lat = &v;
  }
  ASSERT_TRUE(create && lat);
  Bytes b = unhex((*create)["hex"].s);
  ASSERT_TRUE(rewrite_for_log_append_time(b, (*lat)["log_append_time"].i));
  EXPECT_EQ(b, unhex((*lat)["hex"].s));
  EXPECT_EQ(validate_batch(b), ErrorCode::NONE);
}

TEST(RecordBatchGolden, NegativeAndPrefixes) {
  REQUIRE_VECTORS(vectors);
  for (const auto& v : vectors) {
    if (v["magic"].i != 2) continue;
    SCOPED_TRACE(v["name"].s);
    Bytes batch = unhex(v["hex"].s);
    ValidateOptions opts;
    opts.allow_control = true;
    // Every flipped bit after the length field is caught (CRC or length).
    for (size_t i = BatchHeader::kCrcOffset; i < batch.size(); ++i) {
      Bytes bad = batch;
      bad[i] ^= 0x01;
      EXPECT_EQ(validate_batch(bad, opts), ErrorCode::CORRUPT_MESSAGE) << i;
    }
    // Every prefix: rejected, and decoding never crashes.
    for (size_t n = 0; n < batch.size(); ++n) {
      auto pre = std::span<const uint8_t>(batch).first(n);
      EXPECT_NE(validate_batch(pre, opts), ErrorCode::NONE);
      EXPECT_FALSE(RecordBatchView::open(pre));
      auto split = split_batches(pre);
      if (n > 0) {
        EXPECT_EQ(split.error, ErrorCode::CORRUPT_MESSAGE);
      }
      auto split_fetch = split_batches(pre, true);
      EXPECT_EQ(split_fetch.error, ErrorCode::NONE);
      EXPECT_TRUE(split_fetch.batches.empty());
      // A prefix of the records section with the header's claims: the cursor stops cleanly.
      if (n > BatchHeader::kSize) {
        Bytes cut(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
        auto h = *BatchHeader::parse(cut);
        h.batch_length = static_cast<int32_t>(n - BatchHeader::kLogOverhead);
        h.write(cut);
        update_batch_crc(cut);
        EXPECT_NE(validate_batch(cut, opts), ErrorCode::NONE);
        if (auto view = RecordBatchView::open(cut, 1 << 20)) (void)view->records();
      }
    }
  }
}

Bytes sample_batch(Compression codec, int n) {
  RecordBatchBuilder b(codec);
  b.base_offset(42);
  for (int i = 0; i < n; ++i) {
    std::string k = "k" + std::to_string(i), val = "value-" + std::to_string(i);
    b.add(1000 + i, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(k.data()), k.size()),
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(val.data()), val.size()));
  }
  return b.build();
}

void set_i32(Bytes& b, size_t at, int32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (24 - 8 * i));
}

TEST(RecordBatch, ValidateRejects) {
  Bytes good = sample_batch(Compression::none, 3);
  EXPECT_EQ(validate_batch(good), ErrorCode::NONE);

  Bytes huge_count = good;
  set_i32(huge_count, 57, 0x7fffffff);
  set_i32(huge_count, 23, 0x7ffffffe);
  update_batch_crc(huge_count);
  EXPECT_EQ(validate_batch(huge_count), ErrorCode::CORRUPT_MESSAGE);
  auto view = RecordBatchView::open(huge_count);
  ASSERT_TRUE(view);
  EXPECT_FALSE(view->records());

  Bytes wrong_delta = good;
  set_i32(wrong_delta, 23, 5);
  update_batch_crc(wrong_delta);
  EXPECT_EQ(validate_batch(wrong_delta), ErrorCode::INVALID_RECORD);

  Bytes zero = good;
  set_i32(zero, 57, 0);
  set_i32(zero, 23, -1);
  update_batch_crc(zero);
  EXPECT_EQ(validate_batch(zero), ErrorCode::INVALID_RECORD);

  Bytes codec7 = good;
  codec7[22] |= 0x07;
  update_batch_crc(codec7);
  EXPECT_EQ(validate_batch(codec7), ErrorCode::UNSUPPORTED_COMPRESSION_TYPE);

  Bytes magic1 = good;
  magic1[16] = 1;
  EXPECT_EQ(validate_batch(magic1), ErrorCode::INVALID_RECORD);

  Bytes control = good;
  control[22] |= 0x20;
  update_batch_crc(control);
  EXPECT_EQ(validate_batch(control), ErrorCode::INVALID_RECORD);

  Bytes longer = good;
  longer.push_back(0);
  EXPECT_EQ(validate_batch(longer), ErrorCode::CORRUPT_MESSAGE);
}

TEST(RecordBatch, CompressedValidationAndBomb) {
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    Bytes b = sample_batch(c, 50);
    EXPECT_EQ(validate_batch(b), ErrorCode::NONE) << int(c);
    ValidateOptions tight;
    tight.max_uncompressed = 100;
    EXPECT_EQ(validate_batch(b, tight), ErrorCode::INVALID_RECORD) << int(c);
    auto view = RecordBatchView::open(b);
    ASSERT_TRUE(view);
    auto recs = view->records();
    ASSERT_TRUE(recs);
    EXPECT_EQ(recs->size(), 50u);
  }
  // A bomb: one record with a 32 MiB value of zeros, gzip.
  RecordBatchBuilder bomb(Compression::gzip);
  Bytes zeros(32 << 20, 0);
  bomb.add(0, std::nullopt, std::span<const uint8_t>(zeros));
  Bytes b = bomb.build();
  EXPECT_LT(b.size(), size_t{1} << 20);
  ValidateOptions opts;
  opts.max_uncompressed = 1 << 20;
  EXPECT_EQ(validate_batch(b, opts), ErrorCode::INVALID_RECORD);
  ErrorCode e;
  EXPECT_FALSE(RecordBatchView::open(b, 1 << 20, &e));
  EXPECT_EQ(e, ErrorCode::INVALID_RECORD);
}

TEST(RecordBatch, SplitBatches) {
  Bytes a = sample_batch(Compression::none, 2), b = sample_batch(Compression::lz4, 3);
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  auto s = split_batches(both);
  ASSERT_EQ(s.error, ErrorCode::NONE);
  ASSERT_EQ(s.batches.size(), 2u);
  EXPECT_EQ(s.batches[0].size(), a.size());
  EXPECT_EQ(s.batches[1].size(), b.size());
  both.push_back(0);
  EXPECT_EQ(split_batches(both).error, ErrorCode::CORRUPT_MESSAGE);
  auto f = split_batches(both, true);
  EXPECT_EQ(f.error, ErrorCode::NONE);
  EXPECT_EQ(f.batches.size(), 2u);
  EXPECT_EQ(f.trailing_bytes, 1u);
  EXPECT_TRUE(split_batches({}).batches.empty());
}

}  // namespace
}  // namespace runnel::protocol

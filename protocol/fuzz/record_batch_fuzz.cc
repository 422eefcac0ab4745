// libFuzzer target: record batches, legacy message sets and the compression
// codecs.
//
// The first input byte selects what else is checked besides the whole input
// going through every parser (validate_batch, split_batches, RecordBatchView
// with its cursor and control records, parse_legacy, up_convert and
// down_convert to magic 0 and 1): bits 0-2 a codec for decompress() of the
// rest of the input. Decompressed output is bounded by kBound.
//
// Properties checked beyond "no crash, no leak, no undefined behaviour":
//  - a batch that validate_batch accepts opens as a RecordBatchView whose
//    cursor yields exactly record_count records and ends exactly;
//  - a successful up_convert gives one batch that validate_batch accepts,
//    with as many records as parse_legacy found;
//  - a successful down_convert gives a message set that parse_legacy reads;
//  - decompress never returns more than its bound, and compress followed by
//    decompress gives the input back, for every codec.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "protocol/records/compression.h"
#include "protocol/records/legacy.h"
#include "protocol/records/record_batch.h"

using namespace runnel::protocol;

namespace {

constexpr size_t kBound = 1 << 20;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "record_batch_fuzz: %s\n", what);
  std::abort();
}

void check_batch(std::span<const uint8_t> batch) {
  ValidateOptions opts;
  opts.max_uncompressed = kBound;
  opts.allow_control = true;
  ErrorCode valid = validate_batch(batch, opts);
  auto view = RecordBatchView::open(batch, kBound);
  if (valid == ErrorCode::NONE && !view) fail("a valid batch does not open");
  if (!view) return;
  Record r;
  auto cursor = view->cursor();
  int64_t n = 0;
  while (cursor.next(r)) {
    ++n;
    if (view->header().is_control()) (void)parse_control_record(r);
  }
  if (valid == ErrorCode::NONE) {
    if (!cursor.finished_exactly()) fail("the cursor of a valid batch does not end exactly");
    if (n != view->header().record_count) fail("record count of a valid batch differs");
  }
  auto all = view->records();
  if (valid == ErrorCode::NONE && (!all || all->size() != static_cast<size_t>(n)))
    fail("records() of a valid batch differs from the cursor");

  // A valid batch stays valid when rewritten for LogAppendTime.
  if (valid == ErrorCode::NONE) {
    Bytes copy(batch.begin(), batch.end());
    if (!rewrite_for_log_append_time(copy, 1700000000000)) fail("rewrite refused a valid batch");
    if (validate_batch(copy, opts) != ErrorCode::NONE) fail("rewritten batch is not valid");
  }
}

void check_legacy(std::span<const uint8_t> in) {
  LegacyMessageSet set = parse_legacy(in, kBound, false);
  (void)parse_legacy(in, kBound, true);
  UpConverted up = up_convert(in, kBound);
  if (up.error == ErrorCode::NONE) {
    ValidateOptions opts;
    opts.max_uncompressed = SIZE_MAX;
    if (validate_batch(up.batch, opts) != ErrorCode::NONE) fail("up-converted batch is invalid");
    auto view = RecordBatchView::open(up.batch, SIZE_MAX);
    if (!view) fail("up-converted batch does not open");
    if (set.error == ErrorCode::NONE &&
        static_cast<size_t>(view->header().record_count) != set.records.size())
      fail("up-converted batch has a different record count");
  }
  for (int8_t magic : {int8_t{0}, int8_t{1}}) {
    DownConverted down = down_convert(in, magic, kBound);
    if (down.error == ErrorCode::NONE && !down.message_set.empty()) {
      LegacyMessageSet back = parse_legacy(down.message_set, SIZE_MAX, false);
      if (back.error != ErrorCode::NONE) fail("down-converted message set does not parse");
    }
  }
}

void check_codecs(uint8_t selector, std::span<const uint8_t> rest) {
  auto codec = static_cast<Compression>(selector & 7);
  for (size_t bound : {size_t{0}, rest.size(), kBound}) {
    Decompressed d = decompress(codec, rest, bound);
    if (d.data.size() > bound) fail("decompress produced more than its bound");
  }
  if (is_known_compression(selector & 7)) {
    Bytes packed = compress(codec, rest);
    Decompressed back = decompress(codec, packed, rest.size());
    if (!back.ok()) fail("decompress of compress output failed");
    if (back.data.size() != rest.size() ||
        !std::equal(back.data.begin(), back.data.end(), rest.begin()))
      fail("compress then decompress changed the data");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  check_batch(in);
  SplitResult split = split_batches(in, true);
  for (auto b : split.batches) check_batch(b);
  (void)split_batches(in, false);
  check_legacy(in);
  if (size > 0) check_codecs(data[0], in.subspan(1));
  return 0;
}

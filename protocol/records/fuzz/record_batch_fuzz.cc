// libFuzzer target: arbitrary bytes through every record-batch entry point.
// Nothing may crash, hang or allocate beyond the bounds given.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/records/legacy.h"
#include "protocol/records/record_batch.h"

using namespace runnel::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  constexpr size_t kBound = 1 << 20;
  ValidateOptions opts;
  opts.max_uncompressed = kBound;
  opts.allow_control = true;
  (void)validate_batch(in, opts);
  for (auto b : split_batches(in, true).batches) {
    if (auto view = RecordBatchView::open(b, kBound)) {
      Record r;
      auto c = view->cursor();
      while (c.next(r)) {
      }
      (void)view->records();
    }
  }
  (void)parse_legacy(in, kBound, true);
  (void)up_convert(in, kBound);
  (void)down_convert(in, 1, kBound);
  if (size > 0) (void)decompress(static_cast<Compression>(data[0] % 5), in.subspan(1), kBound);
  return 0;
}

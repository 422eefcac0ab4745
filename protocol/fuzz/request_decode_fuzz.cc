// libFuzzer target: a request as the broker receives it (the frame after its
// 4-byte size): request header, then the body of the API and version that
// the header names, decoded with the generated codec.
//
// The first 4 bytes pick the API and version: a known api key and a version
// in its range are used as they are, anything else is mapped into the range
// (key modulo the number of APIs, version modulo the API's versions), so that
// every API and version is reachable from random bytes. The request header
// is then parsed from the start of the input with the header version of that
// API version, as the broker does.
//
// A header or body that decodes without error is encoded again, decoded
// again and encoded a third time: the two decoded values must be equal and
// the two encodings identical. The one exception is AlterClientQuotas, whose
// float64 quota values may be NaN (NaN != NaN): for it only the encodings are
// compared. Nothing may crash, leak or hit undefined behaviour; tools/fuzz.sh
// also caps single allocations (-malloc_limit_mb), so a length field can not
// make the decoder allocate more than the input could hold.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "protocol/messages/api_keys.h"
#include "protocol/messages/testing.h"
#include "protocol/wire.h"

using namespace runnel::protocol;

namespace {

[[noreturn]] void fail(const char* what, const char* name, int16_t version) {
  std::fprintf(stderr, "request_decode_fuzz: %s: %s v%d\n", what, name, version);
  std::abort();
}

// Decodes, re-encodes and decodes again; aborts when the round trip differs.
template <class T>
void round_trip(std::span<const uint8_t> bytes, int16_t version, const char* name,
                bool compare_values) {
  T first;
  Reader r(bytes);
  first.decode(r, version);
  if (!r.ok()) return;
  Writer w1;
  first.encode(w1, version);
  T second;
  Reader r2(w1.buf());
  second.decode(r2, version);
  if (!r2.done()) fail(r2.ok() ? "re-encoding has bytes left over" : r2.error(), name, version);
  Writer w2;
  second.encode(w2, version);
  if (w2.buf() != w1.buf()) fail("second encoding differs from the first", name, version);
  if (compare_values && !(first == second))
    fail("decoded value differs after a round trip", name, version);
}

using BodyFn = void (*)(std::span<const uint8_t>, int16_t);

template <class T>
constexpr bool is_request(const char* name) {
  std::string_view n(name);
  return n.size() > 7 && n.substr(n.size() - 7) == "Request" && T::kApiKey >= 0;
}

struct Table {
  BodyFn body[128] = {};
  const char* name[128] = {};

  Table() {
#define RUNNEL_FUZZ_REGISTER(T)                                                               \
  if constexpr (is_request<T>(#T)) {                                                          \
    static_assert(T::kApiKey < 128);                                                          \
    body[T::kApiKey] = [](std::span<const uint8_t> b, int16_t v) {                            \
      round_trip<T>(b, v, #T, T::kApiKey != static_cast<int16_t>(ApiKey::AlterClientQuotas)); \
    };                                                                                        \
    name[T::kApiKey] = #T;                                                                    \
  }
    RUNNEL_FOR_EACH_MESSAGE(RUNNEL_FUZZ_REGISTER)
#undef RUNNEL_FUZZ_REGISTER
    for (const ApiInfo& api : all_apis()) {
      if (api.key < 0 || api.key >= 128 || !body[api.key]) {
        std::fprintf(stderr, "request_decode_fuzz: no request type for api key %d\n", api.key);
        std::abort();
      }
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Table& t = table();
  std::span<const uint8_t> in(data, size);
  Reader peek(in);
  int16_t raw_key = peek.i16();
  int16_t raw_version = peek.i16();
  if (!peek.ok()) return 0;

  auto apis = all_apis();
  const ApiInfo* api = api_info(raw_key);
  if (!api) api = &apis[static_cast<uint16_t>(raw_key) % apis.size()];
  int16_t version = raw_version;
  if (version < api->min_version || version > api->max_version) {
    auto span = static_cast<uint16_t>(api->max_version - api->min_version + 1);
    version = static_cast<int16_t>(api->min_version + static_cast<uint16_t>(raw_version) % span);
  }

  int16_t header_version = request_header_version(api->key, version);
  round_trip<RequestHeader>(in, header_version, "RequestHeader", true);

  RequestHeader header;
  Reader r(in);
  header.decode(r, header_version);
  if (!r.ok()) return 0;
  t.body[api->key](in.subspan(r.position()), version);
  return 0;
}

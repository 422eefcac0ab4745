// Wire primitives of the Kafka protocol: a bounds-checked Reader with a sticky
// error and a Writer that can splice in externally supplied bytes (for
// example a file range sent with sendfile) without copying them.
//
// Encodings (all integers big-endian):
//   int8/16/32/64, uint16/32, float64 (IEEE-754 bits as int64)
//   unsigned varint: 7 bits per byte, low groups first, high bit = more
//   varint / varlong: zigzag then unsigned varint
//   string:         int16 length (-1 = null) + UTF-8 bytes
//   compact string: uvarint (length + 1, 0 = null) + bytes
//   bytes:          int32 length (-1 = null) + bytes
//   compact bytes:  uvarint (length + 1, 0 = null) + bytes
//   array:          int32 count (-1 = null); compact array: uvarint count + 1
//   uuid:           16 raw bytes
//   tagged fields:  uvarint count, then per field uvarint tag, uvarint size, data
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::protocol {

using Bytes = std::vector<uint8_t>;

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool is_zero() const {
    for (auto b : bytes)
      if (b != 0) return false;
    return true;
  }
  auto operator<=>(const Uuid&) const = default;
  // Kafka's text form: URL-safe base64 without padding (22 characters).
  std::string to_string() const;
  static std::optional<Uuid> parse(std::string_view text);
  // A random version-4 UUID that is never all zeros.
  static Uuid random();
};

// A tagged field this code does not know: kept as raw bytes and re-encoded.
struct TaggedField {
  uint32_t tag = 0;
  Bytes data;
  bool operator==(const TaggedField&) const = default;
};

// Bytes that are not in the encoder's buffer but are sent after it, in
// order, by the connection (a file range, a down-converted message set...).
class ExternalBytes {
 public:
  virtual ~ExternalBytes() = default;
  virtual size_t size() const = 0;
};

// The value of a `records` field. Decoding borrows `inline_bytes` from the
// request buffer (which outlives the handler); encoding writes the inline
// bytes and then splices each external piece.
struct Records {
  bool is_null = true;
  std::span<const uint8_t> inline_bytes;
  std::shared_ptr<const Bytes> owner;  // keeps inline_bytes alive if set
  std::vector<std::shared_ptr<const ExternalBytes>> external;

  static Records null() { return {}; }
  static Records from_bytes(Bytes b) {
    Records r;
    r.is_null = false;
    r.owner = std::make_shared<const Bytes>(std::move(b));
    r.inline_bytes = *r.owner;
    return r;
  }
  size_t size() const {
    size_t n = inline_bytes.size();
    for (auto& e : external) n += e->size();
    return n;
  }
  bool operator==(const Records& o) const {
    if (is_null != o.is_null) return false;
    if (!external.empty() || !o.external.empty()) return false;
    return std::equal(inline_bytes.begin(), inline_bytes.end(), o.inline_bytes.begin(),
                      o.inline_bytes.end());
  }
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  bool ok() const { return error_ == nullptr; }
  const char* error() const { return error_; }
  size_t remaining() const { return ok() ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  // True when every byte was consumed and nothing was missing.
  bool done() const { return ok() && pos_ == data_.size(); }
  void fail(const char* why) {
    if (!error_) error_ = why;
  }

  int8_t i8() { return static_cast<int8_t>(be<uint8_t>()); }
  int16_t i16() { return static_cast<int16_t>(be<uint16_t>()); }
  int32_t i32() { return static_cast<int32_t>(be<uint32_t>()); }
  int64_t i64() { return static_cast<int64_t>(be<uint64_t>()); }
  uint16_t u16() { return be<uint16_t>(); }
  uint32_t u32() { return be<uint32_t>(); }
  bool boolean() { return be<uint8_t>() != 0; }
  double f64() {
    uint64_t bits = be<uint64_t>();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  Uuid uuid() {
    Uuid u;
    auto s = take(16);
    if (s.size() == 16) std::memcpy(u.bytes.data(), s.data(), 16);
    return u;
  }

  uint64_t uvarlong() {
    if (error_) return 0;
    const uint8_t* p = data_.data() + pos_;
    const size_t left = data_.size() - pos_;
    if (left > 0 && p[0] < 0x80) {  // one byte: most lengths and deltas of a record
      ++pos_;
      return p[0];
    }
    uint64_t v = 0;
    for (size_t i = 0; i < 10; ++i) {
      if (i == left) {
        fail("truncated");
        return 0;
      }
      v |= static_cast<uint64_t>(p[i] & 0x7f) << (7 * i);
      if (!(p[i] & 0x80)) {
        pos_ += i + 1;
        return v;
      }
    }
    fail("varint too long");
    return 0;
  }
  uint32_t uvarint() {
    uint64_t v = uvarlong();
    if (v > 0xffffffffu) {
      fail("varint out of range");
      return 0;
    }
    return static_cast<uint32_t>(v);
  }
  int32_t varint() {
    uint32_t v = uvarint();
    return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  int64_t varlong() {
    uint64_t v = uvarlong();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }

  // Borrow n bytes; an empty span (and a sticky error) when fewer are left.
  std::span<const uint8_t> take(size_t n) {
    if (!need(n)) return {};
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // Length of a string/bytes field: -1 for null. Checked against the bytes left.
  // Strings hold at most 32767 bytes in both encodings (Kafka rejects a
  // longer compact string as a malformed request).
  int64_t string_length(bool flexible) {
    int64_t n = flexible ? static_cast<int64_t>(uvarint()) - 1 : i16();
    if (n > 0x7fff) {
      fail("string longer than 32767 bytes");
      return -1;
    }
    return checked_length(n);
  }
  int64_t bytes_length(bool flexible) {
    int64_t n = flexible ? static_cast<int64_t>(uvarint()) - 1 : i32();
    return checked_length(n);
  }
  // Element count of an array: -1 for null. Every element takes at least one
  // byte, so a count larger than the bytes left is rejected before anything
  // is allocated.
  int64_t array_length(bool flexible) {
    int64_t n = flexible ? static_cast<int64_t>(uvarint()) - 1 : i32();
    return checked_length(n);
  }

  std::string string(bool flexible) {
    int64_t n = string_length(flexible);
    if (n < 0) {
      if (ok()) fail("null string where a string is required");
      return {};
    }
    auto s = take(static_cast<size_t>(n));
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }
  std::optional<std::string> nullable_string(bool flexible) {
    int64_t n = string_length(flexible);
    if (n < 0) return std::nullopt;
    auto s = take(static_cast<size_t>(n));
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }
  Bytes bytes(bool flexible) {
    int64_t n = bytes_length(flexible);
    if (n < 0) {
      if (ok()) fail("null bytes where bytes are required");
      return {};
    }
    auto s = take(static_cast<size_t>(n));
    return Bytes(s.begin(), s.end());
  }
  std::optional<Bytes> nullable_bytes(bool flexible) {
    int64_t n = bytes_length(flexible);
    if (n < 0) return std::nullopt;
    auto s = take(static_cast<size_t>(n));
    return Bytes(s.begin(), s.end());
  }
  Records records(bool flexible) {
    Records r;
    int64_t n = bytes_length(flexible);
    if (n < 0) return r;
    r.is_null = false;
    r.inline_bytes = take(static_cast<size_t>(n));
    return r;
  }

 private:
  bool need(size_t n) {
    if (error_) return false;
    if (data_.size() - pos_ < n) {
      fail("truncated");
      return false;
    }
    return true;
  }
  int64_t checked_length(int64_t n) {
    if (!ok()) return -1;
    if (n < -1) {
      fail("negative length");
      return -1;
    }
    if (n > static_cast<int64_t>(data_.size() - pos_)) {
      fail("length larger than the bytes left");
      return -1;
    }
    return n;
  }
  template <typename T>
  T be() {
    if (!need(sizeof(T))) return 0;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | data_[pos_ + i]);
    pos_ += sizeof(T);
    return v;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  const char* error_ = nullptr;
};

class Writer {
 public:
  struct Splice {
    size_t at;  // position in buf() before which the piece is sent
    std::shared_ptr<const ExternalBytes> bytes;
  };

  void i8(int8_t v) { be<uint8_t>(static_cast<uint8_t>(v)); }
  void i16(int16_t v) { be<uint16_t>(static_cast<uint16_t>(v)); }
  void i32(int32_t v) { be<uint32_t>(static_cast<uint32_t>(v)); }
  void i64(int64_t v) { be<uint64_t>(static_cast<uint64_t>(v)); }
  void u16(uint16_t v) { be<uint16_t>(v); }
  void u32(uint32_t v) { be<uint32_t>(v); }
  void boolean(bool v) { be<uint8_t>(v ? 1 : 0); }
  void f64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof d);
    be<uint64_t>(bits);
  }
  void uuid(const Uuid& u) { raw(u.bytes.data(), 16); }
  void uvarlong(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void uvarint(uint32_t v) { uvarlong(v); }
  void varint(int32_t v) {
    uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  void varlong(int64_t v) {
    uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void raw(const void* p, size_t n) {
    if (n == 0) return;
    size_t at = buf_.size();
    buf_.resize(at + n);
    std::memcpy(buf_.data() + at, p, n);
  }
  void raw(std::span<const uint8_t> s) { raw(s.data(), s.size()); }

  void string_length(int64_t n, bool flexible) {
    if (flexible)
      uvarint(static_cast<uint32_t>(n + 1));
    else
      i16(static_cast<int16_t>(n));
  }
  void bytes_length(int64_t n, bool flexible) {
    if (flexible)
      uvarint(static_cast<uint32_t>(n + 1));
    else
      i32(static_cast<int32_t>(n));
  }
  void array_length(int64_t n, bool flexible) { bytes_length(n, flexible); }

  void string(std::string_view s, bool flexible) {
    string_length(static_cast<int64_t>(s.size()), flexible);
    raw(s.data(), s.size());
  }
  void nullable_string(const std::optional<std::string>& s, bool flexible) {
    if (!s)
      string_length(-1, flexible);
    else
      string(*s, flexible);
  }
  void bytes(std::span<const uint8_t> b, bool flexible) {
    bytes_length(static_cast<int64_t>(b.size()), flexible);
    raw(b);
  }
  void nullable_bytes(const std::optional<Bytes>& b, bool flexible) {
    if (!b)
      bytes_length(-1, flexible);
    else
      bytes(*b, flexible);
  }
  void records(const Records& r, bool flexible) {
    if (r.is_null) {
      bytes_length(-1, flexible);
      return;
    }
    bytes_length(static_cast<int64_t>(r.size()), flexible);
    raw(r.inline_bytes);
    for (auto& e : r.external) external(e);
  }
  void external(std::shared_ptr<const ExternalBytes> e) {
    external_size_ += e->size();
    splices_.push_back({buf_.size(), std::move(e)});
  }

  // Reserve an int32 to patch later (frame sizes).
  size_t reserve_i32() {
    size_t at = buf_.size();
    be<uint32_t>(0);
    return at;
  }
  void patch_i32(size_t at, int32_t v) {
    auto u = static_cast<uint32_t>(v);
    for (int i = 3; i >= 0; --i) {
      buf_[at + static_cast<size_t>(i)] = static_cast<uint8_t>(u);
      u >>= 8;
    }
  }

  // Bytes written so far, external pieces included.
  size_t size() const { return buf_.size() + external_size_; }
  Bytes& buf() { return buf_; }
  const Bytes& buf() const { return buf_; }
  const std::vector<Splice>& splices() const { return splices_; }

 private:
  template <typename T>
  void be(T v) {
    uint8_t tmp[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i)
      tmp[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
    raw(tmp, sizeof(T));
  }

  Bytes buf_;
  std::vector<Splice> splices_;
  size_t external_size_ = 0;
};

// Size in bytes of an unsigned varint.
inline size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace runnel::protocol

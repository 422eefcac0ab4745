#include "protocol/wire.h"

#include <random>

namespace runnel::protocol {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string Uuid::to_string() const {
  std::string out;
  out.reserve(22);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  Uuid u;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < 16) u.bytes[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  if (n != 16) return std::nullopt;
  return u;
}

Uuid Uuid::random() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  Uuid u;
  do {
    for (size_t i = 0; i < 16; i += 8) {
      uint64_t r = rng();
      for (size_t j = 0; j < 8; ++j) u.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
    u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);
    u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);
    // Kafka's Uuid.randomUuid() draws again when the text would start with '-' (the first six
    // bits all but the last set): tools would read such an id as an option.
  } while (u.is_zero() || (u.bytes[0] >> 2) == 62);
  return u;
}

}  // namespace runnel::protocol

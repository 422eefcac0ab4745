#include "protocol/records/crc32c.h"

#include <array>
#include <cstring>

namespace runnel::protocol {

namespace {

// Slicing-by-8 tables for the reflected Castagnoli polynomial 0x82F63B78.
// kTables[0] is the classic byte table; kTables[k][i] is the CRC of byte i
// followed by k zero bytes.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}
constexpr auto kTables = make_tables();

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

#if defined(__x86_64__) || defined(__i386__)
#define RUNNEL_CRC32C_HW 1
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const void* data, size_t len,
                                                        uint32_t crc) {
  auto p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
#if defined(__x86_64__)
  // Align to 8 bytes, then 8 bytes per instruction.
  while (len > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = __builtin_ia32_crc32qi(static_cast<uint32_t>(c), *p++);
    --len;
  }
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    len -= 8;
  }
#endif
  uint32_t c32 = static_cast<uint32_t>(c);
  while (len > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p++);
    --len;
  }
  return ~c32;
}

bool have_sse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

uint32_t crc32c_portable(const void* data, size_t len, uint32_t crc) {
  auto p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (len >= 8) {
    uint64_t v = load_le64(p) ^ c;
    c = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^ kTables[5][(v >> 16) & 0xff] ^
        kTables[4][(v >> 24) & 0xff] ^ kTables[3][(v >> 32) & 0xff] ^ kTables[2][(v >> 40) & 0xff] ^
        kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len > 0) {
    c = kTables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    --len;
  }
  return ~c;
}

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
#ifdef RUNNEL_CRC32C_HW
  if (have_sse42()) return crc32c_sse42(data, len, crc);
#endif
  return crc32c_portable(data, len, crc);
}

}  // namespace runnel::protocol

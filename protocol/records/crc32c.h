// CRC-32C (Castagnoli), as used by record batch v2. Uses the SSE4.2 crc32
// instruction when the CPU has it, a slicing table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace runnel::protocol {

// Extends `crc` (0 to start) over `len` bytes at `data`.
uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0);

// The portable table implementation, exposed for tests that compare the two.
uint32_t crc32c_portable(const void* data, size_t len, uint32_t crc = 0);

}  // namespace runnel::protocol

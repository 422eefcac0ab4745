// runnel-bench: what this machine can do for the same bytes without a broker.
//
// The produce limit is the smallest pipe a broker could be: a loopback TCP
// socket receives the stream in chunks the size of a produce batch, the
// receiver computes CRC-32C over each chunk and appends it to a file. The
// consume limit sends that file with sendfile(2) over a loopback socket to a
// reader that discards what it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace runnel::bench {

struct LimitResult {
  bool ok = false;
  std::string error;
  uint64_t bytes = 0;
  double seconds = 0;
  double mb_per_s = 0;      // MB = 2^20 bytes
  double cpu_s_per_gb = 0;  // CPU of the receiving (pipe) or sending (sendfile) side, GB = 2^30
  uint32_t crc = 0;         // CRC-32C of everything received (pipe only)
};

// Streams `total` bytes in `chunk`-byte writes over loopback into `file_path`
// (created or truncated), with CRC-32C over every chunk.
LimitResult pipe_limit(const std::string& file_path, uint64_t total, size_t chunk);

// sendfile(2) of the whole of `file_path` over loopback to a discarding reader.
LimitResult sendfile_limit(const std::string& file_path);

// Fills `buf` with upper-case letters from a fixed seed: the payload of every
// record the bench sends (compressible, like kafka-producer-perf-test's).
void fill_letters(char* buf, size_t len, uint64_t seed);

}  // namespace runnel::bench

// Small POSIX helpers used inside storage/ (not part of the public API).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace runnel::storage::io {

inline void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void put_u64(uint8_t* p, uint64_t v) {
  put_u32(p, static_cast<uint32_t>(v >> 32));
  put_u32(p + 4, static_cast<uint32_t>(v));
}
inline uint32_t get_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t get_u64(const uint8_t* p) { return (uint64_t{get_u32(p)} << 32) | get_u32(p + 4); }

// "<what> <path>: <strerror(errno)>"
std::string errno_message(const char* what, const std::string& path);
// pwrite/pread the whole range (retrying on EINTR / short transfers). Every call to the file
// system goes through storage/sys.h, where tests inject faults.
bool pwrite_all(int fd, const uint8_t* data, size_t len, uint64_t offset);
// Returns the bytes read (short only at end of file), or -1 on error.
int64_t pread_full(int fd, uint8_t* data, size_t len, uint64_t offset);
// Reads a whole file of at most `max_bytes`. False when it cannot be opened or read, or is
// larger.
bool read_file(const std::string& path, std::string* out, size_t max_bytes = 16u << 20);
// The same for a file that may be absent: true with `*present` false when it is not there;
// false with `error` set when it cannot be told or read.
bool read_file_if_present(const std::string& path, std::string* out, bool* present,
                          size_t max_bytes, std::string* error);
// Writes `path` atomically: temp file, fsync, rename, fsync of the directory.
bool write_file_atomic(const std::string& path, const std::string& content, std::string* error);

bool fsync_dir(const std::string& dir);
// One line on stderr, prefixed with "storage: ".
void log_line(const std::string& line);

}  // namespace runnel::storage::io

// runnel-bench: blocking loopback TCP helpers of the bare Kafka clients
// (fetch_reader, produce_writer) and the limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace runnel::bench {

// A connected TCP socket to host:port with TCP_NODELAY set, or -1 with *err.
int connect_to(const std::string& bootstrap, std::string* err);
// Writes or reads exactly `len` bytes (retrying on EINTR); false on an error
// or, for read_all, an early end of stream.
bool write_all(int fd, const void* data, size_t len);
bool read_all(int fd, void* data, size_t len);

}  // namespace runnel::bench

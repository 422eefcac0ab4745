// Pieces of a response that are not in the encoder's buffer (see
// protocol::Writer splices). The connection's writer knows how to send each:
//   MemoryBytes — an owned or shared byte buffer, written as is;
//   FileSlice   — a range of an open file, sent with sendfile(2) straight
//                 from the page cache to the socket.
#pragma once

#include <cstdint>
#include <memory>

#include "protocol/wire.h"

namespace runnel::server {

class MemoryBytes final : public protocol::ExternalBytes {
 public:
  explicit MemoryBytes(std::shared_ptr<const protocol::Bytes> bytes) : bytes_(std::move(bytes)) {}
  explicit MemoryBytes(protocol::Bytes bytes)
      : bytes_(std::make_shared<const protocol::Bytes>(std::move(bytes))) {}
  size_t size() const override { return bytes_->size(); }
  const protocol::Bytes& bytes() const { return *bytes_; }

 private:
  std::shared_ptr<const protocol::Bytes> bytes_;
};

// An owned file descriptor, closed when the last FileSlice using it goes.
class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

class FileSlice final : public protocol::ExternalBytes {
 public:
  FileSlice(std::shared_ptr<const FileHandle> file, uint64_t position, size_t length)
      : fd_(file->fd()), owner_(std::move(file)), position_(position), length_(length) {}
  // `fd` stays open as long as `owner` lives (e.g. a storage segment).
  FileSlice(int fd, std::shared_ptr<const void> owner, uint64_t position, size_t length)
      : fd_(fd), owner_(std::move(owner)), position_(position), length_(length) {}

  size_t size() const override { return length_; }
  int fd() const { return fd_; }
  uint64_t position() const { return position_; }

 private:
  int fd_;
  std::shared_ptr<const void> owner_;
  uint64_t position_;
  size_t length_;
};

}  // namespace runnel::server

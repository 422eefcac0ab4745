// An open file descriptor shared by the segment that owns it and by every
// read result that still refers to it. The descriptor is closed when the last
// reference goes away, so a segment deleted by retention (unlinked) stays
// readable by a fetch that is still sending it with sendfile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace runnel::storage {

class FileHandle {
 public:
  FileHandle(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// A byte range of a file, to be sent as is (sendfile/pread).
struct FileSlice {
  std::shared_ptr<FileHandle> file;
  uint64_t file_position = 0;
  uint32_t length = 0;
};

}  // namespace runnel::storage

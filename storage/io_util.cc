#include "storage/io_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "storage/file_handle.h"
#include "storage/sys.h"

namespace runnel::storage {

FileHandle::~FileHandle() {
  if (fd_ >= 0) sys::close(fd_);
}

namespace io {

std::string errno_message(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool pwrite_all(int fd, const uint8_t* data, size_t len, uint64_t offset) {
  while (len > 0) {
    ssize_t n = sys::pwrite(fd, data, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

int64_t pread_full(int fd, uint8_t* data, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = sys::pread(fd, data + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(done);
}

bool read_file(const std::string& path, std::string* out, size_t max_bytes) {
  int fd = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  bool ok = true;
  for (;;) {
    ssize_t n = sys::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > max_bytes) {
      ok = false;
      break;
    }
  }
  sys::close(fd);
  return ok;
}

bool read_file_if_present(const std::string& path, std::string* out, bool* present,
                          size_t max_bytes, std::string* error) {
  std::error_code ec;
  *present = sys::exists(path, ec);
  if (ec) {
    if (error) *error = "stat " + path + ": " + ec.message();
    return false;
  }
  if (!*present) return true;
  if (!read_file(path, out, max_bytes)) {
    if (error) *error = errno_message("read", path);
    return false;
  }
  return true;
}

bool fsync_dir(const std::string& dir) {
  int fd = sys::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = sys::fsync(fd) == 0;
  sys::close(fd);
  return ok;
}

bool write_file_atomic(const std::string& path, const std::string& content, std::string* error) {
  std::string tmp = path + ".tmp";
  int fd = sys::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (error) *error = errno_message("open", tmp);
    return false;
  }
  bool ok = pwrite_all(fd, reinterpret_cast<const uint8_t*>(content.data()), content.size(), 0) &&
            sys::fsync(fd) == 0;
  if (!ok && error) *error = errno_message("write", tmp);
  sys::close(fd);
  if (ok && sys::rename(tmp, path) != 0) {
    if (error) *error = errno_message("rename", tmp);
    ok = false;
  }
  if (!ok) {
    sys::unlink(tmp);
    return false;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (!fsync_dir(dir.empty() ? "." : dir)) {
    if (error) *error = errno_message("fsync", dir);
    return false;
  }
  return true;
}

void log_line(const std::string& line) { std::fprintf(stderr, "storage: %s\n", line.c_str()); }

}  // namespace io
}  // namespace runnel::storage

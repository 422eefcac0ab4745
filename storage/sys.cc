#include "storage/sys.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace runnel::storage::sys {

namespace fs = std::filesystem;

namespace {

std::atomic<FaultPlan*> g_plan{nullptr};

std::string fd_path(int fd) {
  char link[64];
  char target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "fd " + std::to_string(fd);
}

// 0, or the errno the plan chose for this call. `path()` is asked only when the plan needs it.
template <class PathFn>
int fault(FaultPlan& p, Op op, PathFn&& path) {
  if (!(p.ops & op_bit(op))) return 0;
  std::string where;
  if (p.match || p.record_trace) where = path();
  if (p.match && !p.match(op, where)) return 0;
  ++p.calls;
  if (p.record_trace) p.trace.push_back({op, where});
  if (p.fail_at == 0 || p.calls < p.fail_at || p.calls - p.fail_at >= p.fail_count) return 0;
  ++p.failed;
  return p.error != 0 ? p.error : EIO;
}

// The plan, when one is set (the only cost without one: this load and its branch).
inline FaultPlan* plan() { return g_plan.load(std::memory_order_relaxed); }

int on_path(Op op, const std::string& path) {
  FaultPlan* p = plan();
  if (__builtin_expect(p == nullptr, 1)) return 0;
  return fault(*p, op, [&] { return path; });
}

int on_fd(Op op, int fd) {
  FaultPlan* p = plan();
  if (__builtin_expect(p == nullptr, 1)) return 0;
  return fault(*p, op, [&] { return fd_path(fd); });
}

int fail(int e) {
  errno = e;
  return -1;
}

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::open:
      return "open";
    case Op::read:
      return "read";
    case Op::write:
      return "write";
    case Op::sync:
      return "sync";
    case Op::truncate:
      return "truncate";
    case Op::rename:
      return "rename";
    case Op::unlink:
      return "unlink";
    case Op::mkdir:
      return "mkdir";
    case Op::rmtree:
      return "rmtree";
    case Op::list:
      return "list";
    case Op::stat:
      return "stat";
  }
  return "?";
}

void set_fault_plan(FaultPlan* plan) { g_plan.store(plan, std::memory_order_relaxed); }

int open(const std::string& path, int flags, mode_t mode) {
  if (int e = on_path(Op::open, path)) return fail(e);
  return ::open(path.c_str(), flags, mode);
}

int dup(int fd) {
  if (int e = on_fd(Op::open, fd)) return fail(e);
  return ::dup(fd);
}

int close(int fd) { return ::close(fd); }

ssize_t pread(int fd, void* buf, size_t len, off_t offset) {
  if (int e = on_fd(Op::read, fd)) return fail(e);
  return ::pread(fd, buf, len, offset);
}

ssize_t read(int fd, void* buf, size_t len) {
  if (int e = on_fd(Op::read, fd)) return fail(e);
  return ::read(fd, buf, len);
}

ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) {
  if (int e = on_fd(Op::write, fd)) {
    // A short write: part of it lands, the rest fails (what pwrite_all sees as a short count
    // followed by the error).
    if (plan()->short_write && len > 1) {
      if (::pwrite(fd, buf, len / 2, offset) < 0) return -1;
    }
    return fail(e);
  }
  return ::pwrite(fd, buf, len, offset);
}

int fsync(int fd) {
  if (int e = on_fd(Op::sync, fd)) return fail(e);
  if (FaultPlan* p = plan(); p && p->skip_sync) return 0;
  return ::fsync(fd);
}

int fdatasync(int fd) {
  if (int e = on_fd(Op::sync, fd)) return fail(e);
  if (FaultPlan* p = plan(); p && p->skip_sync) return 0;
  return ::fdatasync(fd);
}

int syncfs(const std::string& path) {
  if (int e = on_path(Op::sync, path)) return fail(e);
  if (FaultPlan* p = plan(); p && p->skip_sync) return 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = ::syncfs(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc;
}

int ftruncate(int fd, off_t length) {
  if (int e = on_fd(Op::truncate, fd)) return fail(e);
  return ::ftruncate(fd, length);
}

int rename(const std::string& from, const std::string& to) {
  if (int e = on_path(Op::rename, from)) return fail(e);
  return ::rename(from.c_str(), to.c_str());
}

int unlink(const std::string& path) {
  if (int e = on_path(Op::unlink, path)) return fail(e);
  return ::unlink(path.c_str());
}

int fstat(int fd, struct stat* st) {
  if (int e = on_fd(Op::stat, fd)) return fail(e);
  return ::fstat(fd, st);
}

int statvfs(const std::string& path, struct statvfs* out) {
  if (int e = on_path(Op::stat, path)) return fail(e);
  return ::statvfs(path.c_str(), out);
}

bool exists(const std::string& path, std::error_code& ec) {
  if (int e = on_path(Op::stat, path)) {
    ec = std::error_code(e, std::generic_category());
    return false;
  }
  return fs::exists(path, ec);
}

bool create_directories(const std::string& path, std::error_code& ec) {
  if (int e = on_path(Op::mkdir, path)) {
    ec = std::error_code(e, std::generic_category());
    return false;
  }
  fs::create_directories(path, ec);
  return !ec;
}

bool remove(const std::string& path, std::error_code& ec) {
  if (int e = on_path(Op::unlink, path)) {
    ec = std::error_code(e, std::generic_category());
    return false;
  }
  fs::remove(path, ec);
  return !ec;
}

bool remove_all(const std::string& path, std::error_code& ec) {
  if (int e = on_path(Op::rmtree, path)) {
    ec = std::error_code(e, std::generic_category());
    return false;
  }
  fs::remove_all(path, ec);
  return !ec;
}

bool list_dir(const std::string& dir, std::vector<DirEntry>* out, std::error_code& ec) {
  out->clear();
  if (int e = on_path(Op::list, dir)) {
    ec = std::error_code(e, std::generic_category());
    return false;
  }
  ec.clear();
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    out->push_back({it->path().filename().string(), it->is_directory(type_ec)});
  }
  if (ec) out->clear();
  return !ec;
}

}  // namespace runnel::storage::sys

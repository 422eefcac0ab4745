// The one door between storage/ and the file system: every call that can fail
// (open, read, write, sync, truncate, rename, unlink, directories) goes
// through these functions, never straight to the system. Each one behaves as
// the call it wraps (-1 and errno, or an std::error_code), so callers handle
// errors as before.
//
// Tests make any of them fail on purpose with a FaultPlan: it counts the calls
// (of the kinds it selects) and fails the Nth with a chosen errno (ENOSPC, EIO,
// EMFILE...), or makes a write short (half written, then the errno). Without
// a plan each function costs one predictable branch more than the call itself.
// A plan is for single-threaded tests: it is not safe against calls from other
// threads (a background flush), which production code makes.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace runnel::storage::sys {

// The kinds of call a plan can count and fail.
enum class Op : uint8_t {
  open,      // open(2) of a file or directory, dup(2)
  read,      // pread(2), read(2)
  write,     // pwrite(2)
  sync,      // fsync(2), fdatasync(2), syncfs(2)
  truncate,  // ftruncate(2)
  rename,    // rename(2)
  unlink,    // unlink(2), removing one file or empty directory
  mkdir,     // creating directories
  rmtree,    // removing a directory with everything in it
  list,      // listing a directory
  stat,      // fstat(2), stat(2) of a path (existence checks), statvfs(2)
};
constexpr int kOpCount = 11;
constexpr uint32_t op_bit(Op op) { return 1u << static_cast<unsigned>(op); }
constexpr uint32_t kAllOps = (1u << kOpCount) - 1;
const char* op_name(Op op);

struct FaultPlan {
  // --- what to fail ---
  uint32_t ops = kAllOps;  // kinds of call that count (op_bit | op_bit ...)
  // Counts only the calls it returns true for (the path is that of the call, or
  // of the descriptor's file for calls on a descriptor). Optional.
  std::function<bool(Op op, std::string_view path)> match;
  uint64_t fail_at = 0;      // 1-based number of the counted call to fail; 0: count only
  uint64_t fail_count = 1;   // how many counted calls fail from fail_at on (UINT64_MAX: all)
  int error = 0;             // the errno of a failed call
  bool short_write = false;  // a failed write first writes half its bytes (a disk filling up)
  // fsync/fdatasync return at once without syncing (nothing here simulates a power loss, and a
  // test that makes thousands of them stays fast on a real disk). Not a fault: never counted.
  bool skip_sync = false;
  bool record_trace = false;  // fill `trace`

  // --- what happened ---
  uint64_t calls = 0;   // counted calls so far
  uint64_t failed = 0;  // calls failed
  struct Call {
    Op op;
    std::string path;
  };
  std::vector<Call> trace;  // every counted call, when record_trace
};

// Installs `plan` (nullptr: none) for every following call; the caller keeps it alive until it
// is replaced.
void set_fault_plan(FaultPlan* plan);

int open(const std::string& path, int flags, mode_t mode = 0644);
int dup(int fd);
int close(int fd);  // not counted: nothing can be done about a failed close
ssize_t pread(int fd, void* buf, size_t len, off_t offset);
ssize_t read(int fd, void* buf, size_t len);
ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset);
int fsync(int fd);
int fdatasync(int fd);
// syncfs(2) of the file system that holds `path` (a directory): everything written to it is on
// disk once it returns 0 (Linux reports write-back errors here since 5.8).
int syncfs(const std::string& path);
int ftruncate(int fd, off_t length);
int rename(const std::string& from, const std::string& to);
int unlink(const std::string& path);
int fstat(int fd, struct stat* st);
// statvfs(2) of the file system that holds `path`.
int statvfs(const std::string& path, struct statvfs* out);

// True when `path` exists; false with `ec` set when that cannot be told.
bool exists(const std::string& path, std::error_code& ec);
// std::filesystem's, through the plan.
bool create_directories(const std::string& path, std::error_code& ec);
// Removes one file or empty directory; true when it is gone (also when it was never there).
bool remove(const std::string& path, std::error_code& ec);
// Removes `path` with everything in it; true when it is gone.
bool remove_all(const std::string& path, std::error_code& ec);
struct DirEntry {
  std::string name;  // file name only
  bool is_directory = false;
};
// The entries of `dir`, or false with `ec` set (never a partial list).
bool list_dir(const std::string& dir, std::vector<DirEntry>* out, std::error_code& ec);

}  // namespace runnel::storage::sys

// A bounded cache of open descriptors for the files of segments (`.log`,
// `.index`, `.timeindex`, `.txnindex`), so that the number of partitions is
// not capped by the open file limit (a partition used to hold three
// descriptors for as long as it existed).
//
// Each file of a segment is a CachedFile: a path, plus a descriptor only while
// the file is in the cache. The cache keeps at most `capacity` descriptors and
// closes the least recently used one to make room (preferring, among the last
// eight, one that needs no sync); the next use of an evicted
// file opens it again by path (never creating it). The indexes are kept in
// memory (offset_index.h, time_index.h, txn_index.h), so they need their file
// only to be written, cut or flushed; the active segment's log and the logs
// read lately are the ones that stay open.
//
// Rules that keep the rest of storage unaware of evictions:
//  - A descriptor is a shared FileHandle: a read result (FileSlice, sent with
//    sendfile) or a background flush that holds it keeps it open after it was
//    evicted, until that result is done.
//  - A file written since its last sync is synced (fdatasync) before its
//    descriptor is closed by an eviction, so a later sync() (PartitionLog's
//    flush) never has to reopen it; a sync that failed at eviction is
//    reported by the next sync() of that file.
//  - Opening again can fail (the file was deleted, the process is out of
//    descriptors): that is an I/O error of the operation that needed the file,
//    which the partition answers with KAFKA_STORAGE_ERROR. Out of descriptors
//    (EMFILE, ENFILE), the cache first closes some of its own and tries once
//    more.
//
// The capacity defaults to half the soft RLIMIT_NOFILE when the process-wide
// cache is first used (the broker raises the soft limit to the hard one at
// start); the other half is left to connections, files being sent and
// transient files (metadata, snapshots, checkpoints).
//
// Thread safety: every operation takes the cache's mutex (one log is used by
// one thread at a time, but flushes of rolled segments, topic creation and
// deletion, and the closing of logs at shutdown run on other threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "storage/file_handle.h"

namespace runnel::storage {

class FileCache;

class CachedFile {
 public:
  CachedFile() = default;
  ~CachedFile();
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;

  // Names the file (no I/O). A null `cache` means FileCache::process().
  void set_path(std::string path, FileCache* cache = nullptr);
  const std::string& path() const { return path_; }

  // Opens the file (creating it with `create`) and puts it in the cache. With
  // `created`, tells whether this call made the file (O_EXCL first).
  std::shared_ptr<FileHandle> open(bool create, std::string* error, bool* created = nullptr);
  // The open file, opened again by path when it was evicted (never created).
  // Null with `error` set when it cannot be opened.
  std::shared_ptr<FileHandle> handle(std::string* error);
  // pwrite of the whole range / ftruncate, through handle(); both mark the
  // file written. False on failure; `*touched` tells whether the file may
  // have changed (false when it could not even be opened).
  bool write_at(const uint8_t* data, size_t len, uint64_t offset, bool* touched = nullptr);
  bool truncate(uint64_t size);
  // Records that the file was written (pwrite, ftruncate): the next sync()
  // or eviction syncs it.
  void mark_written();
  // fdatasync when written since the last sync (or, with `always`, in any
  // case, opening the file when needed). False on failure, including a sync
  // that failed at eviction since the last call.
  bool sync(bool always = false);
  // The descriptor to sync elsewhere (a background flush) when the file was
  // written since its last sync; null when there is nothing to sync. The file
  // stays marked as written until a sync() here. `*failed` is set when a sync
  // at eviction failed.
  std::shared_ptr<FileHandle> handle_to_sync(bool* failed);
  // Drops the descriptor without syncing (the file is about to be deleted or
  // was synced by the caller).
  void forget();
  bool is_open() const;

 private:
  friend class FileCache;
  FileCache* cache_ = nullptr;
  std::string path_;
  std::shared_ptr<FileHandle> handle_;  // set while in the cache
  bool written_ = false;                // since the last sync
  bool sync_failed_ = false;            // a sync at eviction failed
  CachedFile* prev_ = nullptr;          // LRU list: towards the most recent
  CachedFile* next_ = nullptr;          // towards the least recent
};

class FileCache {
 public:
  explicit FileCache(size_t capacity);
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // The cache every segment uses unless told otherwise (capacity from
  // default_capacity() at first use).
  static FileCache& process();
  // Half the soft RLIMIT_NOFILE (at least 16; 1,000,000 when unlimited).
  static size_t default_capacity();

  size_t capacity() const;
  // Evicts down to the new capacity (at least 1).
  void set_capacity(size_t capacity);
  // Descriptors held by the cache now.
  size_t open_files() const;

  struct Stats {
    uint64_t opens = 0;    // first opens and opens again
    uint64_t reopens = 0;  // opens again after an eviction
    uint64_t evictions = 0;
    uint64_t eviction_syncs = 0;  // evictions of a written file (fdatasync first)
    uint64_t open_failures = 0;
  };
  Stats stats() const;

 private:
  friend class CachedFile;
  // With mutex_ held.
  std::shared_ptr<FileHandle> open_locked(CachedFile* f, int flags, std::string* error);
  void push_front(CachedFile* f);
  void unlink(CachedFile* f);
  void touch(CachedFile* f);
  void evict(CachedFile* f);
  void evict_down_to(size_t count);

  mutable std::mutex mutex_;
  size_t capacity_;
  size_t count_ = 0;
  CachedFile* head_ = nullptr;  // most recently used
  CachedFile* tail_ = nullptr;  // least recently used
  Stats stats_;
};

}  // namespace runnel::storage

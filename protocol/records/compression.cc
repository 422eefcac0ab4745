#include "protocol/records/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace runnel::protocol {

namespace {

// Output buffer that grows as a decoder produces bytes, never past max_out + 1
// (the extra byte detects "more output than allowed"). It writes into a
// caller's Bytes and never shrinks it, so a buffer reused from call to call
// is grown (and zero-filled) only the first time it is too small.
class BoundedOut {
 public:
  BoundedOut(size_t max_out, size_t hint, Bytes& buf)
      : max_out_(max_out), cap_(max_out == SIZE_MAX ? SIZE_MAX : max_out + 1), buf_(buf) {
    const size_t want = std::min(cap_, std::max<size_t>(hint, 256));
    if (buf_.size() < want) buf_.resize(want);
  }
  // Free space after `used`; grows the buffer if it is full. Empty when the
  // cap is reached.
  std::span<uint8_t> space(size_t used) {
    if (used == limit() && limit() < cap_) {
      const size_t size = buf_.size();
      buf_.resize(size > cap_ / 2 ? cap_ : size * 2);
    }
    return std::span<uint8_t>(buf_.data() + used, limit() - used);
  }
  bool over(size_t used) const { return used > max_out_; }

 private:
  size_t limit() const { return std::min(buf_.size(), cap_); }

  size_t max_out_;
  size_t cap_;
  Bytes& buf_;
};

size_t hint_for(size_t in_size) { return in_size > SIZE_MAX / 4 ? in_size : in_size * 4; }

Decompressed fail(CodecStatus s) { return Decompressed{{}, s}; }

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void put_be32(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

// --- gzip ---------------------------------------------------------------------

Bytes gzip_compress(std::span<const uint8_t> in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return {};
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.resize(produced);
  return out;
}

CodecStatus gzip_decompress(std::span<const uint8_t> in, BoundedOut& out, size_t& used) {
  z_stream zs{};
  // 15 + 32: detect gzip or zlib headers.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return CodecStatus::kCorrupt;
  size_t in_pos = 0;
  bool ended = false;
  while (true) {
    auto sp = out.space(used);
    if (sp.empty()) {
      inflateEnd(&zs);
      return CodecStatus::kTooLarge;
    }
    size_t in_chunk = std::min<size_t>(in.size() - in_pos, 1u << 30);
    zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
    zs.avail_in = static_cast<uInt>(in_chunk);
    size_t out_chunk = std::min<size_t>(sp.size(), 1u << 30);
    zs.next_out = sp.data();
    zs.avail_out = static_cast<uInt>(out_chunk);
    int rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += in_chunk - zs.avail_in;
    used += out_chunk - zs.avail_out;
    if (out.over(used)) {
      inflateEnd(&zs);
      return CodecStatus::kTooLarge;
    }
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (GZIPInputStream reads them all).
      if (in_pos < in.size() && in[in_pos] == 0x1f) {
        if (inflateReset(&zs) != Z_OK) break;
        continue;
      }
      ended = in_pos == in.size();
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) break;  // input ran out
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&zs);
  return ended ? CodecStatus::kOk : CodecStatus::kCorrupt;
}

// --- snappy -------------------------------------------------------------------

constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeader = 16;
constexpr size_t kXerialBlock = 32 * 1024;

Bytes snappy_compress(std::span<const uint8_t> in) {
  Bytes out(kXerialMagic, kXerialMagic + 8);
  put_be32(out, 1);  // version
  put_be32(out, 1);  // minimum compatible version
  size_t pos = 0;
  do {
    size_t n = std::min(kXerialBlock, in.size() - pos);
    size_t at = out.size();
    out.resize(at + 4 + snappy::MaxCompressedLength(n));
    size_t clen = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + pos), n,
                        reinterpret_cast<char*>(out.data() + at + 4), &clen);
    out.resize(at + 4 + clen);
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(clen >> (24 - 8 * i));
    pos += n;
  } while (pos < in.size());
  return out;
}

// Appends one raw snappy block to out (bounded).
CodecStatus snappy_raw_append(std::span<const uint8_t> block, Bytes& out, size_t max_out) {
  size_t n = 0;
  auto src = reinterpret_cast<const char*>(block.data());
  if (!snappy::GetUncompressedLength(src, block.size(), &n)) return CodecStatus::kCorrupt;
  if (n > max_out - out.size()) return CodecStatus::kTooLarge;
  if (!snappy::IsValidCompressedBuffer(src, block.size())) return CodecStatus::kCorrupt;
  size_t at = out.size();
  out.resize(at + n);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at)))
    return CodecStatus::kCorrupt;
  return CodecStatus::kOk;
}

Decompressed snappy_decompress(std::span<const uint8_t> in, size_t max_out) {
  Decompressed r;
  if (in.size() >= kXerialHeader && std::memcmp(in.data(), kXerialMagic, 8) == 0) {
    size_t pos = kXerialHeader;
    while (pos < in.size()) {
      if (in.size() - pos < 4) return fail(CodecStatus::kCorrupt);
      size_t n = be32(in.data() + pos);
      pos += 4;
      if (n > in.size() - pos) return fail(CodecStatus::kCorrupt);
      r.status = snappy_raw_append(in.subspan(pos, n), r.data, max_out);
      if (!r.ok()) return fail(r.status);
      pos += n;
    }
    return r;
  }
  r.status = snappy_raw_append(in, r.data, max_out);
  if (!r.ok()) return fail(r.status);
  return r;
}

// --- lz4 ----------------------------------------------------------------------

Bytes lz4_compress(std::span<const uint8_t> in) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  Bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return {};
  out.resize(n);
  return out;
}

constexpr uint32_t kLz4Magic = 0x184D2204;

// Rewrites the header checksum byte of the frame starting at `at` so that it
// is the correct XXH32 of the frame descriptor. Returns false when the bytes
// at `at` are not an LZ4 frame header.
bool fix_lz4_header_checksum(Bytes& buf, size_t at) {
  if (buf.size() - at < 7) return false;
  const uint8_t* p = buf.data() + at;
  uint32_t magic =
      uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  if (magic != kLz4Magic) return false;
  uint8_t flg = p[4];
  size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  if (buf.size() - at < 4 + desc + 1) return false;
  buf[at + 4 + desc] = static_cast<uint8_t>((xxh32(p + 4, desc, 0) >> 8) & 0xff);
  return true;
}

CodecStatus lz4_decompress(std::span<const uint8_t> in, BoundedOut& out, size_t& used) {
  // A private copy, so header checksums can be repaired frame by frame.
  Bytes src(in.begin(), in.end());
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return CodecStatus::kCorrupt;
  size_t pos = 0;
  bool at_frame_start = true;
  size_t hint = 1;
  CodecStatus status = CodecStatus::kOk;
  while (pos < src.size()) {
    if (at_frame_start) {
      fix_lz4_header_checksum(src, pos);
      at_frame_start = false;
    }
    auto sp = out.space(used);
    if (sp.empty()) {
      status = CodecStatus::kTooLarge;
      break;
    }
    size_t out_n = sp.size();
    size_t in_n = src.size() - pos;
    hint = LZ4F_decompress(dctx, sp.data(), &out_n, src.data() + pos, &in_n, nullptr);
    if (LZ4F_isError(hint)) {
      status = CodecStatus::kCorrupt;
      break;
    }
    pos += in_n;
    used += out_n;
    if (out.over(used)) {
      status = CodecStatus::kTooLarge;
      break;
    }
    if (hint == 0) at_frame_start = true;  // frame complete; another may follow
    if (in_n == 0 && out_n == 0) {
      status = CodecStatus::kCorrupt;  // no progress
      break;
    }
  }
  // Drain output that LZ4F may still hold after the last input byte.
  while (status == CodecStatus::kOk && hint != 0) {
    auto sp = out.space(used);
    if (sp.empty()) {
      status = CodecStatus::kTooLarge;
      break;
    }
    size_t out_n = sp.size();
    size_t in_n = 0;
    hint = LZ4F_decompress(dctx, sp.data(), &out_n, nullptr, &in_n, nullptr);
    if (LZ4F_isError(hint)) {
      status = CodecStatus::kCorrupt;
      break;
    }
    used += out_n;
    if (out.over(used)) {
      status = CodecStatus::kTooLarge;
      break;
    }
    if (out_n == 0 && hint != 0) {
      status = CodecStatus::kCorrupt;  // truncated frame
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  if (status != CodecStatus::kOk) return status;
  return src.empty() ? CodecStatus::kCorrupt : CodecStatus::kOk;
}

// --- zstd ---------------------------------------------------------------------

Bytes zstd_compress(std::span<const uint8_t> in) {
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

CodecStatus zstd_decompress(std::span<const uint8_t> in, BoundedOut& out, size_t& used) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) return CodecStatus::kCorrupt;
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t last = 1;
  CodecStatus status = CodecStatus::kOk;
  while (true) {
    auto sp = out.space(used);
    if (sp.empty()) {
      status = CodecStatus::kTooLarge;
      break;
    }
    ZSTD_outBuffer ob{sp.data(), sp.size(), 0};
    last = ZSTD_decompressStream(dctx, &ob, &ib);
    if (ZSTD_isError(last)) {
      status = CodecStatus::kCorrupt;
      break;
    }
    used += ob.pos;
    if (out.over(used)) {
      status = CodecStatus::kTooLarge;
      break;
    }
    // All input consumed and either the frame is complete (0) or zstd has nothing more to give
    // (a truncated frame, reported below). A call after a completed frame would start a new
    // one and answer a non-zero hint, so stop at 0 even when the output filled the buffer.
    if (ib.pos == ib.size && (last == 0 || ob.pos < ob.size)) break;
  }
  ZSTD_freeDCtx(dctx);
  if (status != CodecStatus::kOk) return status;
  if (last != 0 || in.empty()) return CodecStatus::kCorrupt;  // truncated frame
  return CodecStatus::kOk;
}

inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
inline uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

uint32_t xxh32(const void* data, size_t len, uint32_t seed) {
  constexpr uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u, P4 = 668265263u,
                     P5 = 374761393u;
  auto p = static_cast<const uint8_t*>(data);
  const uint8_t* end = p + len;
  uint32_t h;
  if (len >= 16) {
    uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    auto round = [](uint32_t acc, uint32_t in) { return rotl32(acc + in * P2, 13) * P1; };
    while (end - p >= 16) {
      v1 = round(v1, le32(p));
      v2 = round(v2, le32(p + 4));
      v3 = round(v3, le32(p + 8));
      v4 = round(v4, le32(p + 12));
      p += 16;
    }
    h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
  } else {
    h = seed + P5;
  }
  h += static_cast<uint32_t>(len);
  while (end - p >= 4) {
    h = rotl32(h + le32(p) * P3, 17) * P4;
    p += 4;
  }
  while (p < end) {
    h = rotl32(h + *p * P5, 11) * P1;
    ++p;
  }
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  h ^= h >> 16;
  return h;
}

bool is_known_compression(int codec) { return codec >= 0 && codec <= 4; }

Bytes compress(Compression codec, std::span<const uint8_t> in) {
  switch (codec) {
    case Compression::none:
      return Bytes(in.begin(), in.end());
    case Compression::gzip:
      return gzip_compress(in);
    case Compression::snappy:
      return snappy_compress(in);
    case Compression::lz4:
      return lz4_compress(in);
    case Compression::zstd:
      return zstd_compress(in);
  }
  return {};
}

namespace {

// Runs a streaming decoder (gzip, lz4, zstd) into `buf`; the output is its
// first `used` bytes.
CodecStatus run_streaming(Compression codec, std::span<const uint8_t> in, size_t max_out,
                          Bytes& buf, size_t& used) {
  BoundedOut out(max_out, hint_for(in.size()), buf);
  used = 0;
  switch (codec) {
    case Compression::gzip:
      return gzip_decompress(in, out, used);
    case Compression::lz4:
      return lz4_decompress(in, out, used);
    case Compression::zstd:
      return zstd_decompress(in, out, used);
    default:
      return CodecStatus::kUnsupported;
  }
}

}  // namespace

Decompressed decompress(Compression codec, std::span<const uint8_t> in, size_t max_out) {
  switch (codec) {
    case Compression::none:
      if (in.size() > max_out) return fail(CodecStatus::kTooLarge);
      return Decompressed{Bytes(in.begin(), in.end()), CodecStatus::kOk};
    case Compression::snappy:
      return snappy_decompress(in, max_out);
    case Compression::gzip:
    case Compression::lz4:
    case Compression::zstd: {
      Bytes buf;
      size_t used = 0;
      CodecStatus status = run_streaming(codec, in, max_out, buf, used);
      if (status != CodecStatus::kOk) return fail(status);
      buf.resize(used);
      return Decompressed{std::move(buf), CodecStatus::kOk};
    }
  }
  return fail(CodecStatus::kUnsupported);
}

DecompressedView decompress_reusing(Compression codec, std::span<const uint8_t> in, size_t max_out,
                                    Bytes& scratch) {
  if (codec == Compression::none || codec == Compression::snappy) {
    Decompressed d = decompress(codec, in, max_out);
    if (!d.ok()) return {{}, d.status};
    scratch = std::move(d.data);
    return {scratch, CodecStatus::kOk};
  }
  if (!is_known_compression(static_cast<int>(codec))) return {{}, CodecStatus::kUnsupported};
  size_t used = 0;
  CodecStatus status = run_streaming(codec, in, max_out, scratch, used);
  if (status != CodecStatus::kOk) return {{}, status};
  return {std::span<const uint8_t>(scratch.data(), used), CodecStatus::kOk};
}

}  // namespace runnel::protocol

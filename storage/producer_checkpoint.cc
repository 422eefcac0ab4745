#include "storage/producer_checkpoint.h"

#include "storage/io_util.h"
#include "storage/topic_name.h"

namespace runnel::storage {

namespace {

// Far above what a million partitions need; read whole into memory.
constexpr size_t kMaxFileBytes = size_t{1} << 30;

constexpr char kMagic[4] = {'R', 'N', 'P', 'C'};
constexpr int16_t kVersion = 0;

void put_u16(std::string& s, uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v);
}

void put_u32(std::string& s, uint32_t v) {
  uint8_t b[4];
  io::put_u32(b, v);
  s.append(reinterpret_cast<const char*>(b), 4);
}

// Reads fields off the front of `bytes`; `ok` turns false at the first one that is not there.
struct Reader {
  std::string_view bytes;
  bool ok = true;

  std::string_view take(size_t n) {
    if (!ok || bytes.size() < n) {
      ok = false;
      return {};
    }
    auto out = bytes.substr(0, n);
    bytes.remove_prefix(n);
    return out;
  }
  uint32_t u32() {
    auto b = take(4);
    return ok ? io::get_u32(reinterpret_cast<const uint8_t*>(b.data())) : 0;
  }
  uint16_t u16() {
    auto b = take(2);
    return ok ? static_cast<uint16_t>((static_cast<uint8_t>(b[0]) << 8) |
                                      static_cast<uint8_t>(b[1]))
              : 0;
  }
};

}  // namespace

std::string ProducerCheckpoint::encode(const Snapshots& snapshots) {
  std::string out(kMagic, sizeof kMagic);
  put_u16(out, static_cast<uint16_t>(kVersion));
  put_u32(out, static_cast<uint32_t>(snapshots.size()));
  for (const auto& [key, snapshot] : snapshots) {
    put_u16(out, static_cast<uint16_t>(key.first.size()));
    out += key.first;
    put_u32(out, static_cast<uint32_t>(key.second));
    put_u32(out, static_cast<uint32_t>(snapshot.size()));
    out += snapshot;
  }
  return out;
}

std::optional<ProducerCheckpoint::Snapshots> ProducerCheckpoint::decode(std::string_view bytes,
                                                                        std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Snapshots> {
    if (error) *error = why;
    return std::nullopt;
  };
  Reader r{bytes};
  if (r.take(4) != std::string_view(kMagic, sizeof kMagic))
    return fail("not a producer checkpoint");
  if (static_cast<int16_t>(r.u16()) != kVersion || !r.ok) return fail("unknown version");
  const uint32_t count = r.u32();
  Snapshots out;
  for (uint32_t i = 0; r.ok && i < count; ++i) {
    std::string_view topic = r.take(r.u16());
    const auto partition = static_cast<int32_t>(r.u32());
    std::string_view snapshot = r.take(r.u32());
    if (!r.ok) break;
    if (!is_valid_topic_name(topic) || partition < 0)
      return fail("malformed entry " + std::to_string(i));
    out[{std::string(topic), partition}] = std::string(snapshot);
  }
  if (!r.ok) return fail("cut short");
  if (!r.bytes.empty()) return fail("bytes after the last entry");
  return out;
}

std::optional<ProducerCheckpoint::Snapshots> ProducerCheckpoint::read(const std::string& path,
                                                                      std::string* error) {
  std::string bytes;
  bool present = false;
  if (!io::read_file_if_present(path, &bytes, &present, kMaxFileBytes, error)) return std::nullopt;
  if (!present) return Snapshots{};
  std::string why;
  auto out = decode(bytes, &why);
  if (!out && error) *error = path + ": " + why;
  return out;
}

bool ProducerCheckpoint::write(const std::string& path, const Snapshots& snapshots,
                               std::string* error) {
  return io::write_file_atomic(path, encode(snapshots), error);
}

}  // namespace runnel::storage

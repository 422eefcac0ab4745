#include "server/meta_properties.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/wire.h"
#include "server/config.h"

namespace runnel::server {

namespace {

void write_atomically(const std::string& dir, const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw std::runtime_error("cannot sync " + tmp + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

MetaProperties load_or_create_meta_properties(const std::string& dir, int32_t node_id,
                                              const std::optional<std::string>& cluster_id) {
  if (cluster_id && !protocol::Uuid::parse(*cluster_id))
    throw ConfigError("cluster.id '" + *cluster_id +
                      "' is not a 22-character base64 UUID (as kafka-storage.sh random-uuid)");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create log directory " + dir + ": " + ec.message());
  std::string path = dir + "/meta.properties";
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::ostringstream ss;
    ss << in.rdbuf();
    MetaProperties m;
    bool have_cluster = false, have_node = false;
    for (auto& [k, v] : parse_properties(ss.str(), path)) {
      if (k == "cluster.id") {
        m.cluster_id = v;
        have_cluster = true;
      } else if (k == "node.id") {
        try {
          m.node_id = std::stoi(v);
          have_node = true;
        } catch (const std::exception&) {
          throw ConfigError(path + ": node.id '" + v + "' is not a number");
        }
      } else if (k == "version") {
        if (v != "1" && v != "0") throw ConfigError(path + ": unsupported version " + v);
        m.version = v == "0" ? 0 : 1;
      }
    }
    if (!have_cluster || !have_node) throw ConfigError(path + ": cluster.id or node.id missing");
    if (m.node_id != node_id)
      throw ConfigError("node.id " + std::to_string(node_id) + " does not match " + path +
                        " (node.id=" + std::to_string(m.node_id) + ")");
    if (cluster_id && *cluster_id != m.cluster_id)
      throw ConfigError("cluster.id " + *cluster_id + " does not match " + path +
                        " (cluster.id=" + m.cluster_id + ")");
    return m;
  }
  MetaProperties m;
  m.node_id = node_id;
  m.cluster_id = cluster_id ? *cluster_id : protocol::Uuid::random().to_string();
  write_atomically(dir, path,
                   "#\n#Written by Runnel\ncluster.id=" + m.cluster_id +
                       "\nnode.id=" + std::to_string(m.node_id) + "\nversion=1\n");
  return m;
}

}  // namespace runnel::server

// A small blocking Kafka client for runnel-consumer-groups: one TCP
// connection per broker (POSIX sockets with a deadline on every connect,
// send and receive), ApiVersions negotiation, and typed request/response
// calls through the generated codecs. Failures throw ToolError.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/messages/api_keys.h"
#include "protocol/messages/headers.h"
#include "protocol/wire.h"

namespace runnel::tools::groups {

// A failure the tool reports as "Error: <message>" with exit status 1.
struct ToolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class BrokerConnection {
 public:
  // Connects and negotiates API versions; throws ToolError on failure.
  BrokerConnection(std::string host, int port, int timeout_ms);
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  const std::string& address() const { return address_; }

  // The highest version both sides support, or ToolError.
  int16_t version(int16_t api_key, int16_t our_min, int16_t our_max) const;
  template <class Req>
  int16_t version_for(int16_t our_min = Req::kMinVersion,
                      int16_t our_max = Req::kMaxVersion) const {
    return version(Req::kApiKey, our_min, our_max);
  }
  bool supports(int16_t api_key, int16_t min_version) const;

  // Sends `request` at `version` and decodes its answer (Req::Response).
  template <class Req, class Resp = typename Req::Response>
  Resp call(const Req& request, int16_t version) {
    protocol::Writer w;
    request.encode(w, version);
    protocol::Bytes body = roundtrip(Req::kApiKey, version, w.buf());
    protocol::Reader r(body);
    protocol::ResponseHeader header;
    header.decode(r, protocol::response_header_version(Req::kApiKey, version));
    Resp response;
    response.decode(r, version);
    if (!r.done())
      throw ToolError("malformed " + api_name(Req::kApiKey) + " response from " + address_);
    return response;
  }

 private:
  protocol::Bytes roundtrip(int16_t api_key, int16_t version, const protocol::Bytes& body);
  void send_all(const uint8_t* p, size_t n);
  void recv_all(uint8_t* p, size_t n);
  void negotiate();
  static std::string api_name(int16_t key);

  std::string host_;
  int port_;
  std::string address_;
  int timeout_ms_;
  int fd_ = -1;
  int32_t next_correlation_ = 1;
  std::map<int16_t, std::pair<int16_t, int16_t>> versions_;  // key -> (min, max)
};

// Connections to the brokers of a cluster, opened on demand and kept.
class Cluster {
 public:
  Cluster(std::vector<std::pair<std::string, int>> bootstrap, int timeout_ms);

  // A connection to any bootstrap server (the first that answers).
  BrokerConnection& any();
  // A connection to the broker at host:port, kept by node id.
  BrokerConnection& node(int32_t node_id, const std::string& host, int port);
  int timeout_ms() const { return timeout_ms_; }

 private:
  std::vector<std::pair<std::string, int>> bootstrap_;
  int timeout_ms_;
  std::unique_ptr<BrokerConnection> bootstrap_conn_;
  std::map<int32_t, std::unique_ptr<BrokerConnection>> nodes_;
};

}  // namespace runnel::tools::groups

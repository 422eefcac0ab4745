// Request header decoding and dispatch decisions shared by the connection
// and the tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "server/handler.h"

namespace runnel::server {

struct DecodedHeader {
  protocol::RequestHeader header;
  size_t body_offset = 0;  // where the body starts in the frame
  const protocol::ApiInfo* info = nullptr;
  const HandlerEntry* handler = nullptr;  // null when no handler is registered
  bool version_supported = false;
  std::string error;  // non-empty: the connection must be closed
};

// Decodes the header of one request frame (without the size prefix). The
// header layout (v1 or v2) follows the api key and version.
DecodedHeader decode_request_header(std::span<const uint8_t> frame,
                                    const HandlerRegistry& handlers);

// The answer to an ApiVersions request whose version is not supported: the
// v0 layout with UNSUPPORTED_VERSION and the supported ranges.
Response unsupported_api_versions_response(int32_t correlation_id, const HandlerRegistry& handlers);

}  // namespace runnel::server

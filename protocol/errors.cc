#include "protocol/errors.h"

namespace runnel::protocol {

std::string error_name(int16_t code) {
  const auto e = static_cast<ErrorCode>(code);
  if (is_known(e)) return std::string(error_name(e));
  return "UNKNOWN_ERROR_CODE_" + std::to_string(code);
}

}  // namespace runnel::protocol

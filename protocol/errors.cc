#include "protocol/errors.h"

#include <ostream>

namespace runnel::protocol {

std::string error_name(int16_t code) {
  const auto e = static_cast<ErrorCode>(code);
  if (is_known(e)) return std::string(error_name(e));
  return "UNKNOWN_ERROR_CODE_" + std::to_string(code);
}

std::ostream& operator<<(std::ostream& out, ErrorCode e) { return out << error_name(code(e)); }

}  // namespace runnel::protocol

#include "server/external_bytes.h"

#include <unistd.h>

namespace runnel::server {

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace runnel::server

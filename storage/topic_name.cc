#include "storage/topic_name.h"

namespace runnel::storage {

bool is_valid_topic_name(std::string_view name, std::string* reason) {
  auto fail = [&](const char* why) {
    if (reason) *reason = why;
    return false;
  };
  if (name.empty()) return fail("topic name is empty");
  if (name == "." || name == "..") return fail("topic name cannot be \".\" or \"..\"");
  if (name.size() > kMaxTopicNameLength) return fail("topic name is longer than 249 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return fail("topic name may only contain ASCII letters, digits, '.', '_' and '-'");
  }
  return true;
}

bool topic_names_collide(std::string_view a, std::string_view b) {
  if (a == b || a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '.' ? '_' : a[i];
    char y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace runnel::storage

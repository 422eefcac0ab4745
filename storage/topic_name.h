// Topic name rules, as Kafka's: 1 to 249 characters of [a-zA-Z0-9._-], and
// not "." or "..". Names that differ only by '.' versus '_' collide.
#pragma once

#include <string>
#include <string_view>

namespace runnel::storage {

inline constexpr size_t kMaxTopicNameLength = 249;

// True when valid; otherwise false and a reason in `*reason` (if given).
bool is_valid_topic_name(std::string_view name, std::string* reason = nullptr);
// True when the two names are different but equal once '.' is read as '_'.
bool topic_names_collide(std::string_view a, std::string_view b);

}  // namespace runnel::storage

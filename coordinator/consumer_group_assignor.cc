#include "coordinator/consumer_group_assignor.h"

#include <algorithm>
#include <utility>

namespace runnel::coordinator {

namespace {

using protocol::Uuid;

GroupAssignment empty_assignment(const AssignmentInput& input) {
  GroupAssignment out;
  for (const auto& [id, m] : input.members) out[id];
  return out;
}

// The members subscribed to each topic, in member id order.
std::map<Uuid, std::vector<const std::string*>> subscribers(const AssignmentInput& input) {
  std::map<Uuid, std::vector<const std::string*>> out;
  for (const auto& [id, m] : input.members)
    for (const Uuid& t : m.subscribed_topic_ids)
      if (input.topics.count(t)) out[t].push_back(&id);
  return out;
}

}  // namespace

GroupAssignment UniformAssignor::assign(const AssignmentInput& input) const {
  GroupAssignment out = empty_assignment(input);
  if (input.members.empty()) return out;
  const auto subs = subscribers(input);
  std::map<std::string, size_t> count;
  for (const auto& [id, m] : input.members) count[id] = 0;
  std::map<std::pair<Uuid, int32_t>, std::string> owner;

  auto give = [&](const std::string& member, const Uuid& topic, int32_t p) {
    out[member][topic].insert(p);
    ++count[member];
    owner[{topic, p}] = member;
  };
  auto take = [&](const std::string& member, const Uuid& topic, int32_t p) {
    auto& parts = out[member][topic];
    parts.erase(p);
    if (parts.empty()) out[member].erase(topic);
    --count[member];
    owner.erase({topic, p});
  };

  // 1. Stickiness: every partition stays where the current target has it, when it still exists
  //    and its member still subscribes to its topic.
  for (const auto& [id, m] : input.members) {
    for (const auto& [topic, parts] : m.current) {
      auto t = input.topics.find(topic);
      if (t == input.topics.end() || !m.subscribed_topic_ids.count(topic)) continue;
      for (int32_t p : parts)
        if (p >= 0 && p < t->second.partitions && !owner.count({topic, p})) give(id, topic, p);
    }
  }

  // The subscriber of `topic` with the fewest partitions (the first by member id on a tie).
  auto least_loaded = [&](const Uuid& topic) -> const std::string* {
    const std::string* best = nullptr;
    for (const std::string* id : subs.at(topic))
      if (!best || count[*id] < count[*best]) best = id;
    return best;
  };

  // 2. Every partition without an owner goes to the least loaded subscriber of its topic.
  for (const auto& [topic, t] : input.topics) {
    if (!subs.count(topic)) continue;
    for (int32_t p = 0; p < t.partitions; ++p)
      if (!owner.count({topic, p})) give(*least_loaded(topic), topic, p);
  }

  // 3. Balance, one partition at a time: the fullest member (the first by id on a tie) gives
  //    its highest partition whose topic has a subscriber with at least two partitions fewer
  //    to the least loaded such subscriber, until no such move is left. Taking from the
  //    fullest first moves the fewest partitions: with identical subscriptions only members
  //    above the balanced count give and only members below it receive, so a member that
  //    keeps its partitions never waits for another's to be released. Each move lowers the
  //    sum of squared counts, so this ends.
  for (bool moved = true; moved;) {
    moved = false;
    std::vector<std::pair<size_t, const std::string*>> by_load;
    for (const auto& [id, n] : count) by_load.emplace_back(n, &id);
    std::sort(by_load.begin(), by_load.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : *a.second < *b.second;
    });
    for (const auto& [n, from] : by_load) {
      const auto& held = out[*from];
      for (auto t = held.rbegin(); t != held.rend(); ++t) {
        const std::string* to = least_loaded(t->first);
        if (t->second.empty() || count[*to] + 1 >= count[*from]) continue;
        const Uuid topic = t->first;
        const int32_t p = *t->second.rbegin();
        take(*from, topic, p);
        give(*to, topic, p);
        moved = true;
        break;
      }
      if (moved) break;
    }
  }
  return out;
}

GroupAssignment RangeAssignor::assign(const AssignmentInput& input) const {
  GroupAssignment out = empty_assignment(input);
  for (const auto& [topic, members] : subscribers(input)) {
    const int32_t partitions = input.topics.at(topic).partitions;
    const auto n = static_cast<int32_t>(members.size());
    const int32_t per = partitions / n;
    const int32_t extra = partitions % n;
    int32_t start = 0;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t len = per + (i < extra ? 1 : 0);
      if (len == 0) continue;
      auto& parts = out[*members[static_cast<size_t>(i)]][topic];
      for (int32_t p = start; p < start + len; ++p) parts.insert(p);
      start += len;
    }
  }
  return out;
}

std::unique_ptr<ConsumerGroupAssignor> make_assignor(std::string_view name) {
  if (name == "uniform") return std::make_unique<UniformAssignor>();
  if (name == "range") return std::make_unique<RangeAssignor>();
  return nullptr;
}

}  // namespace runnel::coordinator

// States of a classic consumer group, with the transitions Kafka allows.
#pragma once

#include <string_view>

namespace runnel::coordinator {

// Each state lists the states it may be entered from (Kafka's ClassicGroupState).
enum class GroupState {
  // No members. Entered from PreparingRebalance when the join phase ends with no member left.
  // Offsets may still be kept and committed by standalone consumers.
  Empty,
  // Members are (re)joining. Entered from Stable, CompletingRebalance or Empty.
  PreparingRebalance,
  // The join phase is over; waiting for the leader's assignment in SyncGroup.
  // Entered from PreparingRebalance.
  CompletingRebalance,
  // Assignment distributed; members heartbeat. Entered from CompletingRebalance.
  Stable,
  // The group is gone (deleted or moved away). Entered from every state, including Dead.
  Dead,
};

constexpr bool can_transition(GroupState from, GroupState to) {
  switch (to) {
    case GroupState::Empty:
      return from == GroupState::PreparingRebalance;
    case GroupState::PreparingRebalance:
      return from == GroupState::Stable || from == GroupState::CompletingRebalance ||
             from == GroupState::Empty;
    case GroupState::CompletingRebalance:
      return from == GroupState::PreparingRebalance;
    case GroupState::Stable:
      return from == GroupState::CompletingRebalance;
    case GroupState::Dead:
      return true;
  }
  return false;
}

// The name Kafka reports in DescribeGroups / ListGroups.
constexpr std::string_view state_name(GroupState s) {
  switch (s) {
    case GroupState::Empty:
      return "Empty";
    case GroupState::PreparingRebalance:
      return "PreparingRebalance";
    case GroupState::CompletingRebalance:
      return "CompletingRebalance";
    case GroupState::Stable:
      return "Stable";
    case GroupState::Dead:
      return "Dead";
  }
  return "Unknown";
}

}  // namespace runnel::coordinator

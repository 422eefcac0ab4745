// Deterministic mutations of valid encodings, for the "malformed bytes never crash a decoder"
// tests: each round takes the next seed and applies one to four edits (overwrite a byte,
// truncate, insert a byte), from a fixed pseudo-random sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/wire.h"

namespace runnel::coordinator::testing {

// Calls `check(bytes)` with `rounds` mutated copies of `seeds`.
template <typename Check>
void for_each_mutation(const std::vector<protocol::Bytes>& seeds, int rounds, uint32_t seed,
                       Check&& check) {
  uint32_t rng = seed;
  auto next = [&rng] {
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
  };
  for (int i = 0; i < rounds && !seeds.empty(); ++i) {
    protocol::Bytes b = seeds[static_cast<size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < edits && !b.empty(); ++k) {
      switch (next() % 3) {
        case 0:
          b[next() % b.size()] = static_cast<uint8_t>(next());
          break;
        case 1:
          b.resize(next() % b.size());
          break;
        default:
          b.insert(b.begin() + static_cast<ptrdiff_t>(next() % b.size()),
                   static_cast<uint8_t>(next()));
      }
    }
    check(b);
  }
}

}  // namespace runnel::coordinator::testing

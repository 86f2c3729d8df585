#include "base/timer.h"

#include <cstdio>

namespace ctk {

void Timings::print() const {
  double total = 0;
  for (const Phase& p : phases_) {
    std::fprintf(stderr, "  %-24s %8.3f s\n", p.name.c_str(), p.seconds);
    total += p.seconds;
  }
  std::fprintf(stderr, "  %-24s %8.3f s\n", "total", total);
}

}  // namespace ctk

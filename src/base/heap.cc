#include "base/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace ctk {

void reserve_huge_heap(size_t reserve) {
  constexpr uintptr_t kHuge = 2 << 20;
  // malloc extends the heap (brk) by this much beyond each request; the
  // pages stay untouched, so unused reserve costs no memory.
  ::mallopt(M_TOP_PAD, int(reserve));
  ::mallopt(M_TRIM_THRESHOLD, int(reserve));  // and keeps it instead of trimming
  // A request larger than what the first heap holds, kept below the mmap
  // threshold, so that the heap itself grows now.
  constexpr size_t kGrow = 512 << 10;
  ::mallopt(M_MMAP_THRESHOLD, int(2 * kGrow));
  void* grow = std::malloc(kGrow);
  auto start = (reinterpret_cast<uintptr_t>(grow) + kHuge - 1) & ~(kHuge - 1);
  auto end = reinterpret_cast<uintptr_t>(::sbrk(0)) & ~(kHuge - 1);
  if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  std::free(grow);
}

}  // namespace ctk

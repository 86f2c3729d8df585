// Heap set-up for metadata-heavy passes (mkrootfs keeps the whole file tree
// in memory: tens of MiB in many small allocations).
#pragma once

#include <cstddef>

namespace ctk {

// Grows the heap by `reserve` bytes at once and asks the kernel to back that
// range with transparent huge pages (MADV_HUGEPAGE; the host's THP mode
// "madvise" allows it). Touching the heap then costs one fault per 2 MiB
// instead of one per 4 KiB: ~9,000 faults fewer, ~0.08 s, for /usr/share's
// 66k entries. Harmless where THP is off. Call before the heap is in use.
void reserve_huge_heap(size_t reserve);

}  // namespace ctk

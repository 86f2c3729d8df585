// What the VMM's helper processes (QEMU, virtiofsd) do between fork and
// exec. Only async-signal-safe calls: the parent may have other threads.
#pragma once

#include <sys/types.h>

namespace ctk::vz {

// In a child just forked from `parent`: it dies with the parent (even one
// killed with -9; if the parent is already gone, it exits 127), reads
// /dev/null, writes stdout and stderr to log_fd (when >= 0), and leads a
// session of its own.
void prepare_child(pid_t parent, int log_fd);

// execvp(argv[0], argv); if that fails, one line on stderr and exit 127.
[[noreturn]] void exec_child(char* const argv[]);

}  // namespace ctk::vz

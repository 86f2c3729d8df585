// Signals as docker takes them: a number ("9") or a name in any case, with or
// without "SIG" (kill, sigkill, SIGKILL). One parser for the host, which
// must know a SIGKILL when it sees one, and the guest agent, which sends it.
#pragma once

#include <string_view>

namespace ctk {

// The signal's number, or -1 for none.
int parse_signal(std::string_view text);

}  // namespace ctk

// Where ctk keeps things: caches (initramfs, root filesystems built from
// layers) and per-VM runtime files (sockets, console logs).
#pragma once

#include <cstdint>
#include <string>

namespace ctk {

// $XDG_CACHE_HOME/ctk, else ~/.cache/ctk; created on demand.
bool cache_dir(const std::string& sub, std::string* out, std::string* err);

// What identifies a file's version in a cache key: its real path, inode,
// size and modification time (to the nanosecond), one per line. A file
// replaced or edited gets a new identity.
bool file_identity(const std::string& path, std::string* id, std::string* err);

// Where ctk's runtime files (sockets, logs) go: $XDG_RUNTIME_DIR/ctk, else
// /tmp/ctk-UID. Not created here.
std::string runtime_root();

// A fresh private directory for one VM's sockets and logs, under
// runtime_root(); the caller removes it.
bool make_runtime_dir(std::string* out, std::string* err);

// The running ctk binary's path, for the processes it starts (supervisors,
// the network switch).
std::string self_exe();

// Removes a directory tree; errors are ignored (clean-up).
void remove_tree(const std::string& path);

// The bytes a tree's files take on disk (allocated blocks: a sparse file
// counts what it holds), symlinks not followed; what cannot be read counts 0.
uint64_t disk_usage(const std::string& path);

}  // namespace ctk

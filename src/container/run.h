// `ctk run`: one container in its own VM. Resolves the root filesystem (an
// ext4 image, or layers built into one and cached), boots a VM with it as a
// read-only disk, has the agent assemble an overlay root with a throwaway
// upper layer, runs the process with stdio (or a pty) attached, and returns
// its exit code as docker does.
#pragma once

#include <string>
#include <vector>

#include "base/timer.h"
#include "vz/machine.h"

namespace ctk::container {

struct RunOptions {
  std::vector<std::string> inputs;  // one ROOTFS.ext4, LAYER archives in order, or one IMAGE reference
  bool image = false;               // inputs[0] is an image reference (pulled when not in the store)
  std::string entrypoint;           // --entrypoint: replaces the image's
  std::vector<std::string> args;    // the command; the image's Cmd when empty
  std::vector<std::string> env;     // "K=V", over the image's
  std::string workdir;              // "": the image's, else /
  std::string user;                 // USER[:GROUP], names or numbers; "": the image's, else root
  std::string hostname;
  bool interactive = false;  // -i: stdin attached
  bool tty = false;          // -t: a pty
  // The container's cgroup limits; 0: none.
  uint64_t memory_limit = 0;  // bytes
  double cpus = 0;            // CPU time per second, as cpu.max's quota
  int64_t pids_limit = 0;
  vz::MachineConfig machine;
};

// Exit codes for failures before the process runs, as docker uses them.
constexpr int kExitRunFailed = 125;

// Splits positionals into root filesystem inputs and the command: a first
// argument that is an ext4 image stands alone; leading arguments that are
// archive files (sniffed from content) are layers; a first argument that is
// no file is an image reference.
bool split_inputs(const std::vector<std::string>& positional, std::vector<std::string>* inputs,
                  bool* image, std::vector<std::string>* command, std::string* err);

// Runs the container; *exit_code is the process's (or 125/126/127).
bool run(const RunOptions& options, Timings& timings, int* exit_code, std::string* err);

}  // namespace ctk::container

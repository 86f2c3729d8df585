// `ctk top`: the processes the agent's top op lists, in ps's columns, as
// docker top shows them (its API's Titles and Processes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctk::container {

// The columns that ps options name (what docker top passes to ps):
// none is ps -ef's UID PID PPID C STIME TTY TIME CMD; -e, -A and -f change
// nothing (a container's processes are all listed, -f is that format);
// -o LIST (also -eo LIST, -oLIST; repeatable; commas or blanks) names
// columns; BSD "aux" (any of a, u, x) is ps u's USER PID %CPU %MEM VSZ RSS
// TTY STAT START TIME COMMAND.
bool top_columns(const std::vector<std::string>& ps_args, std::vector<std::string>* columns, std::string* err);

struct TopTable {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};

// The rows of the top op's reply in those columns; now_ns (the time, in ns
// since 1970) for the columns that depend on it (C, %CPU, ELAPSED).
TopTable top_table(const nlohmann::json& reply, const std::vector<std::string>& columns, int64_t now_ns);

}  // namespace ctk::container

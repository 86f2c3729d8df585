#include "base/flags.h"

#include <doctest/doctest.h>

using namespace ctk;

namespace {
const Option kOptions[] = {
    {"output", 'o', "FILE", "Write here"},
    {"size", 0, "N", "Size"},
    {"journal", 0, "", "Add a journal"},
    {"env", 'e', "K=V", "Environment", true},
    {"interactive", 'i', "", "Keep stdin"},
    {"tty", 't', "", "Allocate a pty"},
};

bool parse(Flags& f, std::vector<std::string> words, bool stop, std::string* err) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return f.parse(argv, kOptions, stop, err);
}
}  // namespace

TEST_CASE("long, short, clustered and inline values") {
  Flags f;
  std::string err;
  REQUIRE(parse(f, {"-o", "out.img", "--size=64M", "a.tar", "--journal", "-it", "-eA=1", "-e", "B=2", "b.tar"}, false, &err));
  CHECK(f.get("output") == "out.img");
  CHECK(f.get("size") == "64M");
  CHECK(f.has("journal"));
  CHECK(f.has("interactive"));
  CHECK(f.has("tty"));
  CHECK(f.all("env") == std::vector<std::string>{"A=1", "B=2"});
  CHECK(f.positional() == std::vector<std::string>{"a.tar", "b.tar"});
}

TEST_CASE("stop at the first positional keeps the command's own flags") {
  Flags f;
  std::string err;
  REQUIRE(parse(f, {"-i", "image", "ls", "-l", "--size"}, true, &err));
  CHECK(f.positional() == std::vector<std::string>{"image", "ls", "-l", "--size"});
}

TEST_CASE("unknown flags name the closest option") {
  Flags f;
  std::string err;
  CHECK_FALSE(parse(f, {"--sise", "1"}, false, &err));
  CHECK(err == "unknown flag '--sise' (did you mean '--size'?)");
  Flags g;
  CHECK_FALSE(parse(g, {"-z"}, false, &err));
  CHECK(err.find("unknown flag '-z'") == 0);
  Flags h;
  CHECK_FALSE(parse(h, {"--size"}, false, &err));
  CHECK(err == "flag '--size' needs a value (N)");
  Flags k;
  CHECK_FALSE(parse(k, {"--journal=yes"}, false, &err));
}

TEST_CASE("defaults from elsewhere sit under the command line") {
  Flags f;
  std::string err;
  REQUIRE(parse(f, {"--size", "64M", "-e", "B=2", "x"}, false, &err));
  f.set_default("size", "1G");
  f.set_default("output", "o.img");
  f.prepend("env", {"A=1", "B=1"});
  f.prepend("journal", {});
  CHECK(f.get("size") == "64M");
  CHECK(f.get("output") == "o.img");
  CHECK(f.all("env") == std::vector<std::string>{"A=1", "B=1", "B=2"});
  CHECK_FALSE(f.has("journal"));
  f.set_all("env", {"C=3"});
  CHECK(f.all("env") == std::vector<std::string>{"C=3"});
  f.set_all("env", {});
  CHECK_FALSE(f.has("env"));
  CHECK(f.positional() == std::vector<std::string>{"x"});
}

// Named, timed phases (mold's Timer): each pass of a job records its wall
// time; `--timings` prints them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ctk {

class Timings {
 public:
  void add(std::string name, double seconds) { phases_.push_back({std::move(name), seconds}); }
  // "  phase  0.123 s" lines to stderr.
  void print() const;

  struct Phase {
    std::string name;
    double seconds;
  };
  const std::vector<Phase>& phases() const { return phases_; }

 private:
  std::vector<Phase> phases_;
};

class Timer {
 public:
  Timer(Timings& timings, std::string name)
      : timings_(timings), name_(std::move(name)), start_(std::chrono::steady_clock::now()) {}
  ~Timer() {
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start_;
    timings_.add(std::move(name_), d.count());
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

 private:
  Timings& timings_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ctk

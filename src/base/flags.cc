#include "base/flags.h"

#include "base/strings.h"

namespace ctk {

namespace {

const Option* find_long(std::span<const Option> options, std::string_view name) {
  for (const Option& o : options)
    if (o.name == name) return &o;
  return nullptr;
}

const Option* find_short(std::span<const Option> options, char c) {
  for (const Option& o : options)
    if (o.short_name && o.short_name == c) return &o;
  return nullptr;
}

std::string unknown_flag(std::string_view flag, std::span<const Option> options) {
  std::vector<std::string> spelled;
  for (const Option& o : options) spelled.push_back("--" + std::string(o.name));
  spelled.push_back("--help");
  std::vector<std::string_view> views(spelled.begin(), spelled.end());
  std::string msg = "unknown flag '" + std::string(flag) + "'";
  std::string_view near = closest_match(flag.substr(0, flag.find('=')), views);
  if (!near.empty()) msg += " (did you mean '" + std::string(near) + "'?)";
  return msg;
}

}  // namespace

bool Flags::parse(std::span<char* const> args, std::span<const Option> options,
                  bool stop_at_positional, std::string* err) {
  auto store = [&](const Option& o, std::string value) {
    auto& slot = values_[std::string(o.name)];
    if (o.repeatable) slot.push_back(std::move(value));
    else slot = {std::move(value)};
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) positional_.emplace_back(args[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      positional_.emplace_back(a);
      if (stop_at_positional) {
        for (++i; i < args.size(); ++i) positional_.emplace_back(args[i]);
        break;
      }
      continue;
    }
    if (a.starts_with("--")) {
      std::string_view body = a.substr(2);
      std::string_view name = body.substr(0, body.find('='));
      const Option* o = find_long(options, name);
      if (!o) {
        *err = unknown_flag(a, options);
        return false;
      }
      if (o->value_name.empty()) {
        if (name.size() != body.size()) {
          *err = "flag '--" + std::string(name) + "' takes no value";
          return false;
        }
        store(*o, "");
      } else if (name.size() != body.size()) {
        store(*o, std::string(body.substr(name.size() + 1)));
      } else if (i + 1 < args.size()) {
        store(*o, args[++i]);
      } else {
        *err = "flag '--" + std::string(name) + "' needs a value (" +
               std::string(o->value_name) + ")";
        return false;
      }
      continue;
    }
    // A cluster of short flags: -it, -o FILE, -oFILE.
    for (size_t k = 1; k < a.size(); ++k) {
      const Option* o = find_short(options, a[k]);
      if (!o) {
        *err = unknown_flag(std::string("-") + a[k], options);
        return false;
      }
      if (o->value_name.empty()) {
        store(*o, "");
        continue;
      }
      if (k + 1 < a.size()) store(*o, std::string(a.substr(k + 1)));
      else if (i + 1 < args.size()) store(*o, args[++i]);
      else {
        *err = std::string("flag '-") + a[k] + "' needs a value (" +
               std::string(o->value_name) + ")";
        return false;
      }
      break;
    }
  }
  return true;
}

std::string Flags::get(std::string_view name, std::string_view fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

const std::vector<std::string>& Flags::all(std::string_view name) const {
  static const std::vector<std::string> none;
  auto it = values_.find(name);
  return it == values_.end() ? none : it->second;
}

void Flags::set_default(std::string_view name, std::string value) {
  if (!has(name)) values_[std::string(name)] = {std::move(value)};
}

void Flags::prepend(std::string_view name, const std::vector<std::string>& values) {
  auto& slot = values_[std::string(name)];
  slot.insert(slot.begin(), values.begin(), values.end());
  if (slot.empty()) values_.erase(std::string(name));  // nothing given is not "given"
}

void Flags::set_all(std::string_view name, std::vector<std::string> values) {
  if (values.empty()) values_.erase(std::string(name));
  else values_[std::string(name)] = std::move(values);
}

std::string format_options(std::span<const Option> options) {
  std::string out;
  for (const Option& o : options) {
    std::string left = "  ";
    left += o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    left += "--" + std::string(o.name);
    if (!o.value_name.empty()) left += " " + std::string(o.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "  ";
    out += left + std::string(o.help) + "\n";
  }
  out += "      --help                Show this help\n";
  return out;
}

}  // namespace ctk

#include "init/users.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace ctk::init {

namespace {

// The lines of a passwd or group file as fields; comments and short lines skipped.
std::vector<std::vector<std::string>> entries(const std::string& text, size_t min_fields) {
  std::vector<std::vector<std::string>> out;
  for (const std::string& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() >= min_fields) out.push_back(std::move(fields));
  }
  return out;
}

bool parse_id(const std::string& s, uint32_t* id) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long v = std::stoul(s);
  if (v > 0xffffffffUL) return false;
  *id = uint32_t(v);
  return true;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool resolve_user(const std::string& spec, const std::string& passwd, const std::string& group,
                  ResolvedUser* out, std::string* err) {
  *out = {};
  size_t colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::string grp = colon == std::string::npos ? "" : spec.substr(colon + 1);
  uint32_t number;
  bool numeric_user = parse_id(user, &number);
  if (user.empty() || (colon != std::string::npos && grp.empty())) {
    *err = "user '" + spec + "': want USER[:GROUP]";
    return false;
  }
  std::string matched;  // the passwd entry's name, for group membership
  // passwd: name:password:uid:gid:gecos:home:shell
  for (const auto& f : entries(passwd, 4)) {
    uint32_t uid, gid;
    if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid)) continue;
    if (numeric_user ? uid != number : f[0] != user) continue;
    out->uid = uid;
    out->gid = gid;
    out->home = f.size() > 5 ? f[5] : "";
    matched = f[0];
    break;
  }
  if (matched.empty()) {
    if (!numeric_user) {
      *err = "unable to find user " + user + ": no matching entries in passwd file";
      return false;
    }
    out->uid = number;
  }
  // group: name:password:gid:member,member
  auto groups = entries(group, 3);
  if (!grp.empty()) {
    bool numeric_group = parse_id(grp, &number);
    for (const auto& f : groups) {
      uint32_t gid;
      if (parse_id(f[2], &gid) && (numeric_group ? gid == number : f[0] == grp)) {
        out->gid = gid;
        return true;
      }
    }
    if (!numeric_group) {
      *err = "unable to find group " + grp + ": no matching entries in group file";
      return false;
    }
    out->gid = number;
    return true;
  }
  if (matched.empty()) return true;
  for (const auto& f : groups) {
    uint32_t gid;
    if (f.size() < 4 || !parse_id(f[2], &gid)) continue;
    for (const std::string& member : split(f[3], ','))
      if (member == matched) {
        out->additional_gids.push_back(gid);
        break;
      }
  }
  return true;
}

std::map<uint32_t, std::string> user_names(const std::string& root) {
  std::map<uint32_t, std::string> names;
  for (const auto& f : entries(read_all(root + "/etc/passwd"), 3)) {
    uint32_t uid;
    if (parse_id(f[2], &uid)) names.emplace(uid, f[0]);  // the first entry of a uid names it
  }
  return names;
}

bool resolve_groups(const std::vector<std::string>& names, const std::string& group, std::vector<gid_t>* out,
                    std::string* err) {
  auto groups = entries(group, 3);
  for (const std::string& name : names) {
    uint32_t number, gid;
    bool numeric = parse_id(name, &number), found = numeric;
    for (const auto& f : groups)
      if (!numeric && f[0] == name && parse_id(f[2], &gid)) {
        number = gid;
        found = true;
        break;
      }
    if (!found) {
      *err = "unable to find group " + name + ": no matching entries in group file";
      return false;
    }
    if (std::find(out->begin(), out->end(), number) == out->end()) out->push_back(number);
  }
  return true;
}

bool resolve_process_user(const std::string& root, ProcessSpec* p, std::string* err) {
  if (p->user.empty() && p->group_add.empty()) return true;
  std::string group = read_all(root + "/etc/group");
  if (!p->user.empty()) {
    ResolvedUser u;
    if (!resolve_user(p->user, read_all(root + "/etc/passwd"), group, &u, err)) return false;
    p->uid = u.uid;
    p->gid = u.gid;
    p->additional_gids = u.additional_gids;
    p->home = u.home;
  }
  return resolve_groups(p->group_add, group, &p->additional_gids, err);
}

}  // namespace ctk::init

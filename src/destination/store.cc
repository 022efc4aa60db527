#include "destination/store.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "destination/authority.h"
#include "destination/endpoint_diff.h"

namespace lmesh::destination {
namespace {

std::string profile_line(const std::optional<discovery::Profile>& profile) {
  static const std::string kDefault = discovery::to_json(discovery::Profile{}).dump();
  return profile ? discovery::to_json(*profile).dump() : kDefault;
}

std::string resolve_line(const discovery::ResolveUpdate& update) {
  return discovery::to_json(update).dump();
}

Result<void> normalize_spec(ServiceSpec& spec) {
  auto authority = normalize_authority(spec.authority);
  if (!authority) return fail(authority.error());
  spec.authority = std::move(*authority);
  for (std::string& alias : spec.aliases) {
    auto normalized = normalize_authority(alias);
    if (!normalized) {
      return fail(Error::wrap(normalized.error(), "an alias of service " + spec.authority));
    }
    alias = std::move(*normalized);
  }
  // One endpoint per address (a Kubernetes service may list an address in two EndpointSlices
  // while it moves): the first wins, so a follower never gets two adds for one address.
  std::unordered_set<net::SocketAddress> seen;
  std::erase_if(spec.endpoints,
                [&seen](const discovery::Endpoint& e) { return !seen.insert(e.address).second; });
  return {};
}

}  // namespace

Result<void> normalize_names(std::vector<ServiceSpec>& specs) {
  std::unordered_map<std::string, size_t> owner;  // name -> index of the service it names
  for (size_t i = 0; i < specs.size(); ++i) {
    if (auto ok = normalize_spec(specs[i]); !ok) return ok;
    if (!owner.emplace(specs[i].authority, i).second) {
      return fail(ErrorCode::kInvalidArgument, "service " + specs[i].authority + " is given twice");
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    for (const std::string& alias : specs[i].aliases) {
      auto [it, fresh] = owner.emplace(alias, i);
      if (fresh) continue;
      return fail(ErrorCode::kInvalidArgument, "alias " + alias + " of service " +
                                                   specs[i].authority + " already names service " +
                                                   specs[it->second].authority);
    }
  }
  return {};
}

Store::Store(DestinationMetrics& metrics) : metrics_(metrics) {
  update_gauges();
}

Store::~Store() = default;

Result<void> Store::set_service(ServiceSpec spec) {
  std::vector<ServiceSpec> one;
  one.push_back(std::move(spec));
  if (auto ok = normalize_names(one); !ok) return ok;
  ServiceSpec& s = one.front();
  // Against the other services: one name, one service.
  if (auto it = aliases_.find(s.authority); it != aliases_.end()) {
    return fail(ErrorCode::kInvalidArgument,
                "service " + s.authority + " is already an alias of service " + it->second);
  }
  for (const std::string& alias : s.aliases) {
    if (services_.contains(alias)) {
      return fail(ErrorCode::kInvalidArgument,
                  "alias " + alias + " of service " + s.authority + " is a service itself");
    }
    auto it = aliases_.find(alias);
    if (it != aliases_.end() && it->second != s.authority) {
      return fail(ErrorCode::kInvalidArgument, "alias " + alias + " of service " + s.authority +
                                                   " is already an alias of service " + it->second);
    }
  }
  bool aliases_lost = false;
  if (auto it = services_.find(s.authority); it != services_.end()) {
    for (const std::string& old : it->second.spec.aliases) {
      if (std::find(s.aliases.begin(), s.aliases.end(), old) == s.aliases.end()) {
        aliases_.erase(old);
        aliases_lost = true;
      }
    }
  }
  for (const std::string& alias : s.aliases) aliases_[alias] = s.authority;
  apply(std::move(s));
  if (aliases_lost) finish_misdirected();
  update_gauges();
  return {};
}

bool Store::remove_service(std::string_view authority) {
  auto normalized = normalize_authority(authority);
  if (!normalized || !services_.contains(*normalized)) return false;
  drop(*normalized);
  update_gauges();
  return true;
}

Result<void> Store::replace_all(std::vector<ServiceSpec> services) {
  if (auto ok = normalize_names(services); !ok) return ok;
  std::unordered_set<std::string_view> keep;
  for (const ServiceSpec& s : services) keep.insert(s.authority);
  std::vector<std::string> gone;
  for (const auto& [authority, _] : services_) {
    if (!keep.contains(authority)) gone.push_back(authority);
  }
  for (const std::string& authority : gone) drop(authority);
  ByName<std::string> aliases;
  for (const ServiceSpec& s : services) {
    for (const std::string& alias : s.aliases) aliases.emplace(alias, s.authority);
  }
  bool aliases_changed = aliases != aliases_;
  aliases_ = std::move(aliases);
  for (ServiceSpec& s : services) apply(std::move(s));
  if (aliases_changed) finish_misdirected();
  update_gauges();
  return {};
}

Result<void> Store::replace_all(std::vector<ServiceSpec> services, std::vector<PodSpec> pods) {
  PodMap by_name;
  for (PodSpec& pod : pods) {
    std::pair key{pod.ns, pod.name};
    if (by_name.contains(key)) {
      return fail(ErrorCode::kInvalidArgument,
                  "pod " + pod.name + " is given twice in namespace " + pod.ns);
    }
    by_name.emplace(std::move(key), std::move(pod));
  }
  if (auto ok = replace_all(std::move(services)); !ok) return ok;
  pods_ = std::move(by_name);
  metrics_.set_pods(pods_.size());
  return {};
}

void Store::set_pod(PodSpec pod) {
  std::pair key{pod.ns, pod.name};
  pods_.insert_or_assign(std::move(key), std::move(pod));
  metrics_.set_pods(pods_.size());
}

bool Store::remove_pod(const std::string& ns, const std::string& name) {
  bool removed = pods_.erase(std::pair{ns, name}) > 0;
  metrics_.set_pods(pods_.size());
  return removed;
}

std::vector<const ServiceSpec*> Store::services() const {
  std::vector<const ServiceSpec*> out;
  out.reserve(services_.size());
  for (const auto& [_, service] : services_) out.push_back(&service.spec);
  return out;
}

const ServiceSpec* Store::find(std::string_view authority) const {
  auto normalized = normalize_authority(authority);
  if (!normalized) return nullptr;
  auto it = services_.find(*normalized);
  return it == services_.end() ? nullptr : &it->second.spec;
}

void Store::apply(ServiceSpec spec) {
  auto it = services_.find(spec.authority);
  if (it == services_.end()) {
    endpoint_count_ += spec.endpoints.size();
    Service service;
    service.profile_line = profile_line(spec.profile);
    std::string authority = spec.authority;
    service.spec = std::move(spec);
    services_.emplace(std::move(authority), std::move(service));
    return;
  }
  Service& service = it->second;
  std::vector<std::string> resolve_lines;
  if (!service.followers[static_cast<size_t>(StreamKind::kResolve)].empty()) {
    for (const auto& update : diff_endpoints(service.spec.endpoints, spec.endpoints)) {
      resolve_lines.push_back(resolve_line(update));
    }
  }
  std::string profile = profile_line(spec.profile);
  bool profile_changed = profile != service.profile_line;
  endpoint_count_ = endpoint_count_ - service.spec.endpoints.size() + spec.endpoints.size();
  service.spec = std::move(spec);
  broadcast(service, StreamKind::kResolve, resolve_lines);
  if (profile_changed) {
    service.profile_line = std::move(profile);
    broadcast(service, StreamKind::kProfile, {service.profile_line});
  }
}

void Store::drop(std::string_view authority) {
  auto it = services_.find(authority);
  if (it == services_.end()) return;
  for (auto& followers : it->second.followers) {
    std::vector<SubscriptionId> ids(followers.begin(), followers.end());
    for (SubscriptionId id : ids) finish(id);
  }
  for (const std::string& alias : it->second.spec.aliases) aliases_.erase(alias);
  endpoint_count_ -= it->second.spec.endpoints.size();
  services_.erase(it);
}

void Store::broadcast(Service& service, StreamKind kind, const std::vector<std::string>& lines) {
  auto& followers = service.followers[static_cast<size_t>(kind)];
  if (lines.empty() || followers.empty()) return;
  // A copy of the ids: a sink must not call back into the store, but if a stream ends while
  // this runs, its id is simply not found any more.
  std::vector<SubscriptionId> ids(followers.begin(), followers.end());
  uint64_t sent = 0;
  for (SubscriptionId id : ids) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) continue;
    for (const std::string& line : lines) it->second.sink->send_line(line);
    sent += lines.size();
  }
  metrics_.sent(kind, sent);
}

void Store::finish(SubscriptionId id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  Subscriber sub = std::move(it->second);
  subscribers_.erase(it);
  if (auto s = services_.find(sub.authority); s != services_.end()) {
    s->second.followers[static_cast<size_t>(sub.kind)].erase(id);
  }
  if (sub.kind == StreamKind::kResolve) {
    sub.sink->send_line(resolve_line(initial_update({})));  // {"no_endpoints":true}
    metrics_.sent(sub.kind, 1);
  }
  sub.sink->end();
}

void Store::finish_misdirected() {
  std::vector<SubscriptionId> ids;
  for (const auto& [id, sub] : subscribers_) {
    if (sub.asked != sub.authority && resolve_name(sub.asked) != sub.authority) ids.push_back(id);
  }
  for (SubscriptionId id : ids) finish(id);
}

std::string Store::resolve_name(const std::string& normalized) const {
  if (services_.contains(normalized)) return normalized;
  auto it = aliases_.find(normalized);
  return it == aliases_.end() ? std::string() : it->second;
}

Result<std::string> Store::lookup(std::string_view name) const {
  auto normalized = normalize_authority(name);
  if (!normalized) return fail(normalized.error());
  std::string authority = resolve_name(*normalized);
  if (authority.empty()) {
    return fail(ErrorCode::kNotFound, "no service is named " + *normalized);
  }
  return authority;
}

Result<SubscriptionId> Store::subscribe(StreamKind kind, std::string_view name,
                                        std::unique_ptr<StreamSink> sink) {
  auto authority = lookup(name);
  if (!authority) return fail(authority.error());
  Service& service = services_.find(*authority)->second;
  sink->send_line(kind == StreamKind::kResolve
                      ? resolve_line(initial_update(service.spec.endpoints))
                      : service.profile_line);
  metrics_.sent(kind, 1);
  SubscriptionId id = next_id_++;
  Subscriber sub{kind, *normalize_authority(name), std::move(*authority), std::move(sink),
                 metrics::GaugeGuard(metrics_.subscribers(kind))};
  subscribers_.emplace(id, std::move(sub));
  service.followers[static_cast<size_t>(kind)].insert(id);
  return id;
}

void Store::unsubscribe(SubscriptionId id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  if (auto s = services_.find(it->second.authority); s != services_.end()) {
    s->second.followers[static_cast<size_t>(it->second.kind)].erase(id);
  }
  // Moved out first: the sink's destructor may run code that looks at the store.
  Subscriber sub = std::move(it->second);
  subscribers_.erase(it);
}

void Store::update_gauges() {
  metrics_.set_services(services_.size());
  metrics_.set_endpoints(endpoint_count_);
}

}  // namespace lmesh::destination
